package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/diff"
)

const (
	peu01File  = "management-clusters/mc-demo/organizations/org-acme/workload-clusters/peu01/cluster.yaml"
	peu02Kust  = "management-clusters/mc-demo/organizations/org-acme/workload-clusters/peu02/kustomization.yaml"
	pus01Patch = "management-clusters/mc-demo/organizations/org-globex/workload-clusters/pus01/release.yaml"
)

// TestPlanGolden plans the example repository and compares the three
// output formats with golden files (UPDATE=1 regenerates them).
func TestPlanGolden(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{"peu01-v31.0.0", Request{Clusters: []string{"peu01"}, Target: "v31.0.0"}},
		{"peu02-v30.1.0", Request{Clusters: []string{"org-acme/peu02"}, Target: "30.1.0"}},
		{"pus01-v31.1.0", Request{Clusters: []string{"pus01"}, Target: "v31.1.0"}},
		{"all-v31.0.0", Request{All: true, Target: "v31.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := newPlanner(t).Plan(context.Background(), exampleGitOps, tt.req)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			writeGoldens(t, "plan/"+tt.name, plan)
		})
	}
}

// TestPlanPlainFile checks the plan of a cluster written as plain
// resources: every label is bumped in place and nothing else changes.
func TestPlanPlainFile(t *testing.T) {
	plan, err := newPlanner(t).Plan(context.Background(), exampleGitOps, Request{Clusters: []string{"peu01"}, Target: "v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Clusters) != 1 {
		t.Fatalf("planned %d clusters, want 1", len(plan.Clusters))
	}
	c := plan.Clusters[0]
	if c.Status != StatusUpgrade || c.From != "30.1.0" || c.To != "31.0.0" || c.Provider != "capa" || c.ID() != "org-acme/peu01" {
		t.Fatalf("plan = %s %s %s→%s (%s), want org-acme/peu01 upgrade 30.1.0→31.0.0 (capa)", c.ID(), c.Status, c.From, c.To, c.Provider)
	}
	if c.Branch() != "upgrade-bot/peu01/v31.0.0" {
		t.Errorf("branch = %s", c.Branch())
	}
	if len(c.Locations) != 6 {
		t.Errorf("found the version in %d places, want 6 (every resource of the file): %v", len(c.Locations), c.Locations)
	}
	if len(c.Changes) != 1 || c.Changes[0].Path != peu01File {
		t.Fatalf("changes = %v, want one change of %s", c.Changes, peu01File)
	}
	before, after := string(c.Changes[0].Before), string(c.Changes[0].After)
	if want := strings.ReplaceAll(before, "30.1.0", "31.0.0"); after != want {
		t.Errorf("the bump changed more than the version:\n%s", c.Files[0].Unified)
	}
	for _, quoted := range []string{`version: "31.0.0" # keep in sync`, `version: 31.0.0`, `version: '31.0.0'`} {
		if !strings.Contains(after, quoted) {
			t.Errorf("the bumped file lost the quoting of %q", quoted)
		}
	}

	byKind := map[string]diff.Resource{}
	for _, r := range c.Resources {
		byKind[r.Kind+"/"+r.Name] = r
	}
	if len(byKind) != 6 {
		t.Errorf("rendered %d resources, want 6: %v", len(byKind), byKind)
	}
	kcp, ok := byKind["KubeadmControlPlane/peu01"]
	if !ok || kcp.Status != diff.StatusChanged {
		t.Fatalf("KubeadmControlPlane not rendered as changed: %+v", kcp)
	}
	if !hasField(kcp.Changes, "spec.version") {
		t.Errorf("the KubeadmControlPlane diff does not change spec.version: %+v", kcp.Changes)
	}
	if !strings.Contains(kcp.Unified, "v1.31") {
		t.Errorf("the KubeadmControlPlane diff does not show Kubernetes 1.31:\n%s", kcp.Unified)
	}
	if !hasChange(c, "kubernetes") {
		t.Errorf("release changes do not list kubernetes: %+v", c.Release)
	}
}

// TestPlanKustomize checks clusters whose version is written once in a
// kustomization: the labels transformer (peu02) and a patch (pus01).
func TestPlanKustomize(t *testing.T) {
	p := newPlanner(t)
	tests := []struct {
		cluster, to, file string
		resources         int
	}{
		{"peu02", "v30.1.0", peu02Kust, 7},
		{"pus01", "v31.1.0", pus01Patch, 4},
	}
	for _, tt := range tests {
		t.Run(tt.cluster, func(t *testing.T) {
			plan, err := p.Plan(context.Background(), exampleGitOps, Request{Clusters: []string{tt.cluster}, Target: tt.to})
			if err != nil {
				t.Fatal(err)
			}
			c := plan.Clusters[0]
			if c.Status != StatusUpgrade {
				t.Fatalf("status %s (%s), want upgrade", c.Status, c.Reason)
			}
			if len(c.Changes) != 1 || c.Changes[0].Path != tt.file {
				t.Fatalf("changes = %+v, want one change of %s", c.Changes, tt.file)
			}
			if want := strings.ReplaceAll(string(c.Changes[0].Before), c.From, c.To); string(c.Changes[0].After) != want {
				t.Errorf("the bump changed more than the version:\n%s", c.Files[0].Unified)
			}
			if len(c.Resources) != tt.resources {
				t.Errorf("rendered %d resources, want %d", len(c.Resources), tt.resources)
			}
			changed := 0
			for _, r := range c.Resources {
				if r.Status == diff.StatusChanged {
					changed++
				}
				if r.Status == diff.StatusAdded || r.Status == diff.StatusRemoved {
					t.Errorf("%s %s is %s; a bump must not add or remove resources", r.Kind, r.Name, r.Status)
				}
			}
			if changed == 0 {
				t.Errorf("no resource changes between v%s and v%s", c.From, c.To)
			}
		})
	}
}

func TestPlanAllReportsCurrentClusters(t *testing.T) {
	plan, err := newPlanner(t).Plan(context.Background(), exampleGitOps, Request{All: true, Target: "v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ClusterStatus{}
	for _, c := range plan.Clusters {
		got[c.ID()] = c.Status
	}
	want := map[string]ClusterStatus{"org-acme/peu01": StatusUpgrade, "org-acme/peu02": StatusUpgrade, "org-globex/pus01": StatusCurrent}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s: status %q, want %q (all: %v)", id, got[id], st, got)
		}
	}
	if up, cur, skip := plan.Counts(); up != 2 || cur != 1 || skip != 0 {
		t.Errorf("counts = %d, %d, %d; want 2, 1, 0", up, cur, skip)
	}
}

// TestPlanBadInput covers what a person can get wrong: each is refused with
// a message that names the thing and what to do, as ErrInvalidRequest.
func TestPlanBadInput(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(t *testing.T, dir string)
		req   Request
		wants []string
	}{
		{name: "unknown target", req: Request{Clusters: []string{"peu01"}, Target: "v31.0.5"}, wants: []string{"v31.0.5", "v31.0.0", "v31.1.0"}},
		{name: "target not a version", req: Request{Clusters: []string{"peu01"}, Target: "latest"}, wants: []string{`"latest"`, "31.0.0"}},
		{name: "no target", req: Request{Clusters: []string{"peu01"}}, wants: []string{"--to"}},
		{name: "all and clusters", req: Request{All: true, Clusters: []string{"peu01"}, Target: "v31.0.0"}, wants: []string{"--all", "peu01"}},
		{name: "unknown cluster", req: Request{Clusters: []string{"peu1"}, Target: "v31.0.0"}, wants: []string{"peu1", "peu01"}},
		{name: "no cluster named", req: Request{Target: "v31.0.0"}, wants: []string{"3 clusters", "--cluster", "org-acme/peu01"}},
		{name: "downgrade", req: Request{Clusters: []string{"pus01"}, Target: "v30.1.0"}, wants: []string{"downgrade", "v31.0.0"}},
		{name: "skipped major", req: Request{Clusters: []string{"peu01"}, Target: "v32.0.0"}, wants: []string{"v30.1.0", "v32.0.0", "v31"}},
		{name: "unknown provider", req: Request{Clusters: []string{"peu01"}, Target: "v31.0.0", Provider: "azure"}, wants: []string{"azure", "capa"}},
		{
			name: "cluster without version",
			edit: func(t *testing.T, dir string) {
				writeFile(t, dir, "extra/nolabel.yaml", "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: nolabel\n  namespace: org-acme\nspec:\n  infrastructureRef:\n    kind: AWSCluster\n    name: nolabel\n")
			},
			req:   Request{Clusters: []string{"nolabel"}, Target: "v31.0.0"},
			wants: []string{"nolabel", "release.giantswarm.io/version"},
		},
		{
			name: "two versions for one cluster",
			edit: func(t *testing.T, dir string) {
				replaceInFile(t, dir, peu01File, "release.giantswarm.io/version: 30.1.0", "release.giantswarm.io/version: 30.0.0")
			},
			req:   Request{Clusters: []string{"peu01"}, Target: "v31.0.0"},
			wants: []string{"30.0.0", "30.1.0", peu01File},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := exampleGitOps
			if tt.edit != nil {
				dir = copyDir(t, exampleGitOps)
				tt.edit(t, dir)
			}
			plan, err := newPlanner(t).Plan(context.Background(), dir, tt.req)
			if err == nil {
				t.Fatalf("Plan succeeded with %d clusters; want an error", len(plan.Clusters))
			}
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("error is not ErrInvalidRequest (exit 2): %v", err)
			}
			contains(t, "the error", err.Error(), tt.wants...)
		})
	}
}

// TestPlanAllSkipsBrokenClusters: with --all one broken cluster or file
// must not stop the others, and both are reported.
func TestPlanAllSkipsBrokenClusters(t *testing.T) {
	dir := copyDir(t, exampleGitOps)
	replaceInFile(t, dir, peu01File, "release.giantswarm.io/version: 30.1.0", "release.giantswarm.io/version: 30.0.0")
	writeFile(t, dir, "broken/cluster.yaml", "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: broken\n  labels: [unclosed\n")
	plan, err := newPlanner(t).Plan(context.Background(), dir, Request{All: true, Target: "v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	var skipped *ClusterPlan
	for _, c := range plan.Clusters {
		if c.Name == "peu01" {
			skipped = c
		}
	}
	if skipped == nil || skipped.Status != StatusSkipped || !strings.Contains(skipped.Reason, "30.0.0") {
		t.Errorf("peu01 with two versions is not skipped with a reason: %+v", skipped)
	}
	if up, _, _ := plan.Counts(); up != 1 {
		t.Errorf("%d clusters to upgrade, want 1 (peu02)", up)
	}
	if len(plan.Problems) != 1 || !strings.HasPrefix(plan.Problems[0], "broken/cluster.yaml:") {
		t.Errorf("problems = %q, want one naming broken/cluster.yaml with its line", plan.Problems)
	}
	var b bytes.Buffer
	if err := WriteText(&b, plan); err != nil {
		t.Fatal(err)
	}
	contains(t, "the text plan", b.String(), "broken/cluster.yaml:", "skipped", "1 cluster to upgrade")
}

func TestPlanForceKeepsWarning(t *testing.T) {
	plan, err := newPlanner(t).Plan(context.Background(), exampleGitOps, Request{Clusters: []string{"pus01"}, Target: "v30.1.0", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	c := plan.Clusters[0]
	if c.Status != StatusUpgrade {
		t.Fatalf("status %s, want upgrade", c.Status)
	}
	if len(c.Warnings) == 0 || !strings.HasPrefix(c.Warnings[0], "forced:") || !strings.Contains(c.Warnings[0], "downgrade") {
		t.Errorf("warnings = %q, want the forced downgrade first", c.Warnings)
	}
}

func TestPlanWarnings(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(t *testing.T, dir string)
		req   Request
		wants []string
	}{
		{
			name:  "target is wip",
			req:   Request{Clusters: []string{"pus01"}, Target: "v32.0.0"},
			wants: []string{"v32.0.0", "wip"},
		},
		{
			name: "current release lacks a base ConfigMap",
			edit: func(t *testing.T, dir string) {
				replaceInFile(t, dir, peu01File, "30.1.0", "29.6.1")
			},
			req:   Request{Clusters: []string{"peu01"}, Target: "v30.0.0"},
			wants: []string{"AWSMachinePool", "v29.6.1"},
		},
		{
			name: "current release not in the catalog",
			edit: func(t *testing.T, dir string) {
				replaceInFile(t, dir, peu01File, "30.1.0", "30.0.7")
			},
			req:   Request{Clusters: []string{"peu01"}, Target: "v31.0.0"},
			wants: []string{"v30.0.7", "not in the capa catalog"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := exampleGitOps
			if tt.edit != nil {
				dir = copyDir(t, exampleGitOps)
				tt.edit(t, dir)
			}
			plan, err := newPlanner(t).Plan(context.Background(), dir, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			c := plan.Clusters[0]
			if c.Status != StatusUpgrade {
				t.Fatalf("status %s (%s), want upgrade", c.Status, c.Reason)
			}
			contains(t, "the warnings", strings.Join(c.Warnings, "\n"), tt.wants...)
		})
	}
}

// TestPlanNeverShowsSecrets: SOPS-encrypted files in the repository never
// reach any output.
func TestPlanNeverShowsSecrets(t *testing.T) {
	plan, err := newPlanner(t).Plan(context.Background(), exampleGitOps, Request{All: true, Target: "v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, w := range []func() error{
		func() error { return WriteText(&b, plan) },
		func() error { return WriteMarkdown(&b, plan) },
		func() error { return WriteJSON(&b, plan) },
	} {
		if err := w(); err != nil {
			t.Fatal(err)
		}
	}
	for _, secret := range []string{"ENC[AES256_GCM", "BEGIN PGP MESSAGE", "sops-gpg-pus01"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("the plan output shows %q from a SOPS-encrypted file", secret)
		}
	}
}

func TestPlanJSONShape(t *testing.T) {
	plan, err := newPlanner(t).Plan(context.Background(), exampleGitOps, Request{Clusters: []string{"peu01"}, Target: "v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, plan); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Clusters []struct {
			Name, Namespace, Provider, From, To string
			Files                               []struct{ Path, Diff string }
			Resources                           []struct{ Kind, Name, Diff string }
			Warnings                            []string
		}
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("the JSON does not parse: %v", err)
	}
	if len(got.Clusters) != 1 {
		t.Fatalf("%d clusters in the JSON", len(got.Clusters))
	}
	c := got.Clusters[0]
	if c.Name != "peu01" || c.Namespace != "org-acme" || c.Provider != "capa" || c.From != "v30.1.0" || c.To != "v31.0.0" {
		t.Errorf("cluster = %+v", c)
	}
	if len(c.Files) != 1 || c.Files[0].Path != peu01File || !strings.Contains(c.Files[0].Diff, `+    release.giantswarm.io/version: "31.0.0"`) {
		t.Errorf("files = %+v", c.Files)
	}
	if len(c.Resources) != 6 || c.Resources[0].Kind != "Cluster" || c.Warnings == nil {
		t.Errorf("resources = %d (first %+v), warnings %v", len(c.Resources), c.Resources[0], c.Warnings)
	}
}

func hasField(changes []diff.FieldChange, path string) bool {
	for _, c := range changes {
		if c.Path == path {
			return true
		}
	}
	return false
}

func hasChange(c *ClusterPlan, name string) bool {
	for _, ch := range c.Release {
		if ch.Name == name {
			return true
		}
	}
	return false
}

func TestCheckBumped(t *testing.T) {
	obj := func(kind, version string) *render.Resource {
		u := &unstructured.Unstructured{}
		u.SetKind(kind)
		u.SetName("c1")
		if version != "" {
			u.SetLabels(map[string]string{render.DefaultVersionLabel: version})
		}
		return &render.Resource{Object: u, Source: render.Source{Path: "c1.yaml"}}
	}
	target := semver.MustParse("31.0.0")
	ok := &render.Cluster{Resources: []*render.Resource{obj("Cluster", "31.0.0"), obj("KubeadmControlPlane", "v31.0.0"), obj("AWSCluster", "")}}
	locators := render.DetectLocators("")
	if err := checkBumped(ok, render.DefaultVersionLabel, locators, target); err != nil {
		t.Errorf("a fully bumped cluster: %v", err)
	}
	stale := &render.Cluster{Resources: []*render.Resource{obj("Cluster", "31.0.0"), obj("MachinePool", "30.1.0")}}
	err := checkBumped(stale, render.DefaultVersionLabel, locators, target)
	if err == nil {
		t.Fatal("a MachinePool left on 30.1.0 passed")
	}
	contains(t, "the error", err.Error(), "MachinePool c1", "30.1.0", "c1.yaml")

	// An App of a release chart left on the old version, where the
	// app-version locator reads it.
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "application.giantswarm.io/v1alpha1", "kind": "App",
		"metadata": map[string]any{"name": "c1-release", "namespace": "org-a"},
		"spec":     map[string]any{"name": "release-aws", "version": "30.1.0"},
	}}
	withApp := &render.Cluster{Resources: []*render.Resource{obj("Cluster", "31.0.0"), {Object: app, Source: render.Source{Path: "apps.yaml"}}}}
	err = checkBumped(withApp, render.DefaultVersionLabel, locators, target)
	if err == nil {
		t.Fatal("a release App left on 30.1.0 passed")
	}
	contains(t, "the error", err.Error(), "App c1-release", "spec.version: 30.1.0", "apps.yaml")
	if err := checkBumped(withApp, render.DefaultVersionLabel, []render.Locator{render.Label{}}, target); err != nil {
		t.Errorf("the label locator alone does not read the App's version, yet: %v", err)
	}
}

// TestWriteJSONFraming: WriteJSON assembles the document from clusters
// encoded in parallel; it must be byte-identical to encoding the whole plan
// at once, with and without clusters and problems.
func TestWriteJSONFraming(t *testing.T) {
	plan, err := newPlanner(t).Plan(context.Background(), exampleGitOps, Request{All: true, Target: "v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	withProblems := *plan
	withProblems.Problems = []string{"a.yaml:3: <bad> & \"quoted\""}
	withProblems.CatalogWarnings = []string{"capa/v1.0.0/release.yaml: odd"}
	empty := Plan{Target: "31.0.0"}
	for name, p := range map[string]*Plan{"plan": plan, "problems": &withProblems, "empty": &empty} {
		t.Run(name, func(t *testing.T) {
			var got bytes.Buffer
			if err := WriteJSON(&got, p); err != nil {
				t.Fatal(err)
			}
			whole := struct {
				Target          string        `json:"target"`
				Clusters        []jsonCluster `json:"clusters"`
				Problems        []string      `json:"problems"`
				CatalogWarnings []string      `json:"catalogWarnings"`
			}{Target: "v" + p.Target, Clusters: []jsonCluster{}, Problems: nonNil(p.Problems), CatalogWarnings: nonNil(p.CatalogWarnings)}
			for _, c := range p.Clusters {
				whole.Clusters = append(whole.Clusters, jsonClusterOf(c))
			}
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(whole); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("WriteJSON differs from encoding the plan at once:\n got: %s\nwant: %s", got.String(), want.String())
			}
		})
	}
}
