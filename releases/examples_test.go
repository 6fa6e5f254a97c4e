package releases_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

// baseKinds are the kinds every example release has a ConfigMap for.
var baseKinds = []string{"awscluster", "awsmachinepool", "awsmachinetemplate", "cluster", "kubeadmconfigtemplate", "kubeadmcontrolplane", "machinedeployment", "machinepool"}

// TestExamples checks the demo catalog in examples/releases, which the
// demo, the golden tests and the benchmark rely on.
func TestExamples(t *testing.T) {
	t.Parallel()
	c, err := releases.Load(t.Context(), filepath.Join(repoRoot(t), "examples", "releases"))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %q, want none", w)
	}
	if diff := cmp.Diff([]string{"capa"}, c.Providers()); diff != "" {
		t.Errorf("Providers() (-want +got):\n%s", diff)
	}
	type want struct {
		version, state, kubernetes string
		endOfLife                  bool
	}
	wants := []want{
		{"29.6.1", releases.StateDeprecated, "1.29.13", true},
		{"30.0.0", releases.StateDeprecated, "1.30.9", false},
		{"30.1.0", releases.StateActive, "1.30.11", false},
		{"31.0.0", releases.StateActive, "1.31.4", false},
		{"31.1.0", releases.StateActive, "1.31.6", false},
		{"32.0.0", releases.StateWIP, "1.32.2", false},
	}
	rels := c.List("capa")
	if len(rels) != len(wants) {
		t.Fatalf("List(capa) = %v, want %d releases", versions(rels), len(wants))
	}
	for i, r := range rels {
		w := wants[i]
		t.Run(w.version, func(t *testing.T) {
			if r.Version.String() != w.version || r.State != w.state || r.Name != "aws-"+w.version || r.Archived {
				t.Errorf("got v%s %s %s archived=%v, want v%s %s aws-%s", r.Version, r.State, r.Name, r.Archived, w.version, w.state, w.version)
			}
			if k, _ := r.Component("kubernetes"); k.Version != w.kubernetes {
				t.Errorf("kubernetes %q, want %s", k.Version, w.kubernetes)
			}
			if r.Date.Year() < 2025 || r.Date.Year() > 2026 || r.ChangelogURL == "" || r.EndOfLife.IsZero() == w.endOfLife {
				t.Errorf("date %v, changelog %q, end of life %v", r.Date, r.ChangelogURL, r.EndOfLife)
			}
			kinds := slices.Sorted(func(yield func(string) bool) {
				for k := range r.Patches {
					if !yield(k) {
						return
					}
				}
			})
			wantKinds := baseKinds
			if w.version == "29.6.1" {
				// On purpose, to show the missing-ConfigMap warning.
				wantKinds = slices.DeleteFunc(slices.Clone(baseKinds), func(k string) bool { return k == "awsmachinepool" })
			}
			if diff := cmp.Diff(wantKinds, kinds); diff != "" {
				t.Errorf("patch kinds (-want +got):\n%s", diff)
			}
			for kind, p := range r.Patches {
				dashed := strings.ReplaceAll(w.version, ".", "-")
				if p.ConfigMap != kind+"-"+dashed || p.Path != "capa/v"+w.version+"/base/"+kind+".yaml" {
					t.Errorf("%s: ConfigMap %s in %s", kind, p.ConfigMap, p.Path)
				}
				if n := strings.Count(p.Data, "\n"); n < 10 || n > 40 {
					t.Errorf("%s: the patch has %d lines, want 10 to 40", kind, n)
				}
			}
			if kcp, _ := r.Patch("KubeadmControlPlane"); !strings.Contains(kcp.Data, "version: v"+w.kubernetes+"\n") {
				t.Errorf("the KubeadmControlPlane patch does not set version v%s:\n%s", w.kubernetes, kcp.Data)
			}
		})
	}

	// v30.1.0 → v31.0.0 is the demo's upgrade: a large change.
	big := releases.Compare(get(t, c, "capa", "30.1.0"), get(t, c, "capa", "31.0.0"))
	for _, want := range []releases.Change{
		{Kind: "component", Name: "cluster-aws", From: "2.6.2", To: "3.0.0", Type: releases.ChangeUpgraded},
		{Kind: "component", Name: "flatcar", From: "3975.2.1", To: "4081.2.0", Type: releases.ChangeUpgraded},
		{Kind: "component", Name: "kubernetes", From: "1.30.11", To: "1.31.4", Type: releases.ChangeUpgraded},
		{Kind: "app", Name: "aws-nth-bundle", To: "1.2.0", Type: releases.ChangeAdded},
		{Kind: "app", Name: "net-exporter", From: "1.22.0", Type: releases.ChangeRemoved},
	} {
		if !slices.Contains(big, want) {
			t.Errorf("Compare(v30.1.0, v31.0.0) lacks %+v", want)
		}
	}
	small := releases.Compare(get(t, c, "capa", "31.0.0"), get(t, c, "capa", "31.1.0"))
	if len(small) == 0 || len(small) > len(big)/2 {
		t.Errorf("Compare(v31.0.0, v31.1.0) has %d changes, want a few (v30.1.0 → v31.0.0 has %d)", len(small), len(big))
	}

	warnings, err := releases.CheckUpgrade(c, get(t, c, "capa", "30.1.0"), get(t, c, "capa", "31.0.0"), get(t, c, "capa", "32.0.0").Date)
	if err != nil || len(warnings) != 0 {
		t.Errorf("CheckUpgrade(v30.1.0, v31.0.0) = %q, %v; want no warning or error", warnings, err)
	}
}
