package bot

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/test/fixtures"
)

// fixturePlanner plans with the real Giant Swarm releases.
func fixturePlanner(t *testing.T) *Planner {
	t.Helper()
	catalog, err := releases.Load(context.Background(), fixtures.Shared(t, "giantswarm-releases"))
	if err != nil {
		t.Fatal(err)
	}
	return &Planner{Catalog: catalog, Now: func() time.Time { return testNow }}
}

// TestPlanFixtureGitopsTemplate plans every cluster of the real
// gitops-template to a later real release: as it is (its cluster_release
// is the unused placeholder 0.8.1, so the upgrade must be forced and the
// plan says the variable changes nothing), and as a team that uses the
// variable has it (v33.1.1 → v34.1.1: the Flux variable is bumped, the
// values ConfigMap is rendered with the new release, the release's
// component changes are listed).
func TestPlanFixtureGitopsTemplate(t *testing.T) {
	t.Run("as-is", func(t *testing.T) {
		dir := fixtures.Shared(t, "gitops-template")
		plan, err := fixturePlanner(t).Plan(t.Context(), dir, Request{All: true, Target: "v34.1.1", Force: true})
		if err != nil {
			t.Fatal(err)
		}
		writeGoldens(t, "plan/gitops-template-as-is", plan)
		for _, cp := range plan.Clusters {
			if cp.ID() == "org-org-name/hello-app-prod-eu-central" {
				if cp.Status != StatusSkipped || !strings.Contains(cp.Reason, "no release version where upgrade-bot looks") {
					t.Errorf("%s: %s %s, want skipped for having no version", cp.ID(), cp.Status, cp.Reason)
				}
				continue
			}
			if cp.Status != StatusUpgrade {
				t.Errorf("%s: %s %s, want a forced upgrade", cp.ID(), cp.Status, cp.Reason)
				continue
			}
			contains(t, cp.ID()+" warnings", strings.Join(cp.Warnings, "\n"), "uses ${cluster_release}", "TODO placeholders", "not in the capa catalog")
		}
	})
	t.Run("adopted", func(t *testing.T) {
		dir := fixtures.GitopsTemplateOn(t, "33.1.1")
		plan, err := fixturePlanner(t).Plan(t.Context(), dir, Request{All: true, Target: "v34.1.1"})
		if err != nil {
			t.Fatal(err)
		}
		writeGoldens(t, "plan/gitops-template-adopted", plan)
		if len(plan.Clusters) != 5 {
			t.Fatalf("planned %d clusters, want the fixture's 5", len(plan.Clusters))
		}
		for _, cp := range plan.Clusters {
			if cp.Status != StatusUpgrade || cp.From != "33.1.1" || cp.To != "34.1.1" {
				t.Errorf("%s: %s %s→%s %s, want an upgrade 33.1.1→34.1.1", cp.ID(), cp.Status, cp.From, cp.To, cp.Reason)
				continue
			}
			if len(cp.Changes) != 1 || !strings.HasPrefix(cp.Changes[0].Path, fixtures.WorkloadClusters) || strings.Contains(strings.TrimPrefix(cp.Changes[0].Path, fixtures.WorkloadClusters), "/") {
				t.Errorf("%s: changes %v, want only its own Flux Kustomization", cp.ID(), changedPaths(cp))
			}
			if len(cp.Locations) != 1 || cp.Locations[0].Locator != "flux-substitute" {
				t.Errorf("%s: locations %v, want the Flux variable", cp.ID(), cp.Locations)
			}
			if len(cp.Release) == 0 {
				t.Errorf("%s: no release changes listed", cp.ID())
			}
			var values bool
			for _, r := range cp.Resources {
				if r.Kind == "ConfigMap" && strings.HasSuffix(r.Name, "-config") && strings.Contains(r.Unified, "34.1.1") {
					values = true
				}
			}
			if !values {
				t.Errorf("%s: the rendered values ConfigMap does not show the new release", cp.ID())
			}
		}
	})
}

// TestPlanFixtureValues plans the gitops-template with the release
// written in each cluster's user values (global.release.version), the
// other place Giant Swarm's cluster charts read it: in a ConfigMap's
// literal block, in a file a configMapGenerator reads, and in a base two
// clusters share, which the plan must say.
func TestPlanFixtureValues(t *testing.T) {
	dir := fixtures.Copy(t, "gitops-template")
	edit := func(rel, old, new string) { t.Helper(); fixtures.Edit(t, dir, rel, old, new) }
	for _, wc := range []string{"WC_NAME", "WC_NAME_OUT_OF_BAND_FLUX_APP"} {
		edit(fixtures.WorkloadClusters+wc+"/mapi/cluster/cluster_user_config.yaml", "    global:\n", "    global:\n      release:\n        version: \"33.1.1\" # pinned by the platform team\n")
	}
	edit("bases/environments/stages/prod/hello_app_cluster/cluster_user_config.yaml", "global:\n", "global:\n  release:\n    version: 33.1.1\n")
	edit("bases/cluster_templates/hello_app_cluster/cluster/cluster_user_config.yaml", `  values: ""`, "  values: |\n    global:\n      release:\n        version: v33.1.1\n")
	plan, err := fixturePlanner(t).Plan(t.Context(), dir, Request{All: true, Target: "v34.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	writeGoldens(t, "plan/gitops-template-values", plan)
	for _, cp := range plan.Clusters {
		if cp.Status != StatusUpgrade || cp.From != "33.1.1" {
			t.Errorf("%s: %s from %s: %s, want an upgrade from 33.1.1", cp.ID(), cp.Status, cp.From, cp.Reason)
			continue
		}
		if len(cp.Locations) != 1 || cp.Locations[0].Locator != "values" {
			t.Errorf("%s: locations %v, want one in the values", cp.ID(), cp.Locations)
		}
	}
}

func changedPaths(cp *ClusterPlan) []string {
	var out []string
	for _, c := range cp.Changes {
		out = append(out, c.Path)
	}
	return out
}

// writeGoldens compares the plan's three formats with golden files. The
// warnings about the releases directory name it where it is on this
// machine; they are not part of the golden files.
func writeGoldens(t *testing.T, name string, plan *Plan) {
	t.Helper()
	plan.CatalogWarnings = nil
	for _, f := range []struct {
		ext   string
		write func(*bytes.Buffer) error
	}{
		{"txt", func(b *bytes.Buffer) error { return WriteText(b, plan) }},
		{"md", func(b *bytes.Buffer) error { return WriteMarkdown(b, plan) }},
		{"json", func(b *bytes.Buffer) error { return WriteJSON(b, plan) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			t.Fatalf("writing %s: %v", f.ext, err)
		}
		golden(t, name+"."+f.ext, b.Bytes())
	}
}

// TestDecideFixture decides about the gitops-template's clusters, whose
// versions no label carries: the decision reads them where the locators
// find them, and one without a version is skipped saying where to write
// it.
func TestDecideFixture(t *testing.T) {
	planner := fixturePlanner(t)
	for _, tc := range []struct {
		name, dir string
		want      map[string]string // cluster → current version, or the reason's start when skipped
	}{
		{"on v34.1.0", fixtures.GitopsTemplateOn(t, "34.1.0"), map[string]string{
			"org-org-name/capi-wc-name": "34.1.0", "org-org-name/hello-app-dev-1": "34.1.0", "org-org-name/hello-app-prod-eu-central": "34.1.0",
			"org-org-name/hello-app-staging-1": "34.1.0", "org-org-name/mapi-out-of-band-flux-app": "34.1.0",
		}},
		{"as is", fixtures.Shared(t, "gitops-template"), map[string]string{
			"org-org-name/capi-wc-name": "0.8.1", "org-org-name/hello-app-dev-1": "0.8.1", "org-org-name/hello-app-prod-eu-central": "no version: ",
			"org-org-name/hello-app-staging-1": "0.8.1", "org-org-name/mapi-out-of-band-flux-app": "0.8.1",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree, err := render.Discover(t.Context(), tc.dir, render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := &Decider{Catalog: planner.Catalog, Version: planner.VersionReader(t.Context(), tree)}
			got := map[string]string{}
			for _, dec := range d.Decide(tree, testNow) {
				got[dec.Name] = dec.Current
				if dec.Current == "" {
					got[dec.Name] = dec.Reason[:min(len(dec.Reason), len("no version: "))]
				}
				if dec.Current == "34.1.0" && (dec.Action != ActionPropose || dec.Target != "v34.1.1") {
					t.Errorf("%s: %s %s (%s), want a proposal of v34.1.1", dec.Name, dec.Action, dec.Target, dec.Reason)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
		})
	}
}
