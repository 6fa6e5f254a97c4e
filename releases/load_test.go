package releases_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/test/fixtures"
)

var cmpVersion = cmp.Comparer(func(a, b *semver.Version) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.String() == b.String()
})

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestLoadCatalog(t *testing.T) {
	t.Parallel()
	c := loadTestdata(t, "catalog")
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %q, want none", w)
	}
	if diff := cmp.Diff([]string{"azure", "capa"}, c.Providers()); diff != "" {
		t.Errorf("Providers() (-want +got):\n%s", diff)
	}
	wantVersions := map[string][]string{
		"capa":  {"30.0.0", "30.1.0", "31.0.0", "31.1.0", "32.0.0", "32.1.0 (archived)", "33.0.0"},
		"azure": {"31.0.0"},
		"docs":  {},
	}
	for p, want := range wantVersions {
		if diff := cmp.Diff(want, versions(c.List(p))); diff != "" {
			t.Errorf("List(%s) (-want +got):\n%s", p, diff)
		}
	}

	tests := []struct {
		version string
		want    *releases.Release
	}{{
		version: "31.0.0",
		want: &releases.Release{
			Provider: "capa", Version: version("31.0.0"), Name: "aws-31.0.0", Dir: "capa/v31.0.0",
			Date: date("2025-08-19T08:45:10Z"), State: releases.StateActive,
			ChangelogURL: "https://example.com/capa/v31.0.0/README.md",
			Components: []releases.Component{
				{Name: "cluster-aws", Version: "3.0.0", Catalog: "cluster"},
				{Name: "flatcar", Version: "4081.2.0"},
				{Name: "kubernetes", Version: "1.31.4"},
			},
			Apps: []releases.App{
				{Name: "cilium", Version: "0.31.1"},
				{Name: "coredns", Version: "1.25.0", DependsOn: []string{"cilium"}},
				{Name: "aws-nth-bundle", Version: "1.2.0"},
			},
			Patches: map[string]releases.Patch{
				"kubeadmcontrolplane": {
					Kind: "kubeadmcontrolplane", ConfigMap: "kubeadmcontrolplane-31-0-0", Path: "capa/v31.0.0/base/kubeadmcontrolplane.yaml",
					Data: "spec:\n  version: v1.31.4\n  kubeadmConfigSpec:\n    files:\n    - path: /etc/kubernetes/policies/audit-policy.yaml\n      content: |\n        apiVersion: audit.k8s.io/v1\n        kind: Policy\n",
				},
				"machinepool": {
					Kind: "machinepool", ConfigMap: "machinepool-31-0-0", Path: "capa/v31.0.0/base/workers.yml",
					Data: "spec:\n  template:\n    spec:\n      version: v1.31.4\n",
				},
				"awsmachinepool": {
					Kind: "awsmachinepool", ConfigMap: "awsmachinepool-31-0-0", Path: "capa/v31.0.0/base/workers.yml",
					Data: "spec:\n  awsLaunchTemplate:\n    +(instanceType): m6i.xlarge\n",
				},
			},
		},
	}, {
		// releases.json marks it deprecated; release.yaml says active.
		version: "30.0.0",
		want: &releases.Release{
			Provider: "capa", Version: version("30.0.0"), Name: "aws-30.0.0", Dir: "capa/v30.0.0",
			Date: date("2025-04-08T09:30:05Z"), EndOfLife: date("2025-12-31T00:00:00Z"), State: releases.StateDeprecated,
			ChangelogURL: "https://example.com/capa/v30.0.0/README.md",
			Components: []releases.Component{
				{Name: "cluster-aws", Version: "2.6.0", Catalog: "cluster"},
				{Name: "kubernetes", Version: "1.30.9"},
			},
			Apps: []releases.App{
				{Name: "cilium", Version: "0.28.0"},
				{Name: "coredns", Version: "1.23.0", DependsOn: []string{"cilium"}},
			},
		},
	}, {
		// No spec.state: releases.json says it is not stable.
		version: "32.0.0",
		want: &releases.Release{
			Provider: "capa", Version: version("32.0.0"), Name: "aws-32.0.0", Dir: "capa/v32.0.0",
			Date: date("2026-01-20T16:02:58Z"), State: releases.StatePreview,
			ChangelogURL: "https://example.com/capa/v32.0.0/README.md",
			Components:   []releases.Component{{Name: "kubernetes", Version: "1.32.2"}},
		},
	}, {
		version: "32.1.0",
		want: &releases.Release{
			Provider: "capa", Version: version("32.1.0"), Name: "aws-32.1.0", Dir: "capa/archived/v32.1.0", Archived: true,
			Date: date("2026-02-10T10:00:00Z"), State: releases.StateDeprecated,
			Components: []releases.Component{{Name: "kubernetes", Version: "1.32.3"}},
		},
	}, {
		// An unquoted date, which YAML reads as a timestamp.
		version: "v33.0.0",
		want: &releases.Release{
			Provider: "capa", Version: version("33.0.0"), Name: "aws-33.0.0", Dir: "capa/v33.0.0",
			Date: date("2026-03-01T00:00:00Z"), State: releases.StateWIP,
			Components: []releases.Component{{Name: "kubernetes", Version: "1.33.1"}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			got := get(t, c, "capa", tc.version)
			if diff := cmp.Diff(tc.want, got, cmpVersion); diff != "" {
				t.Errorf("Get(capa, %s) (-want +got):\n%s", tc.version, diff)
			}
		})
	}
}

func TestReleasePatchAndComponent(t *testing.T) {
	t.Parallel()
	r := get(t, loadTestdata(t, "catalog"), "capa", "31.0.0")
	for _, kind := range []string{"KubeadmControlPlane", "kubeadmcontrolplane", "MachinePool", "AWSMachinePool"} {
		if p, ok := r.Patch(kind); !ok || !strings.EqualFold(p.Kind, kind) {
			t.Errorf("Patch(%s) = %+v, %v; want the %s patch", kind, p, ok, strings.ToLower(kind))
		}
	}
	for _, kind := range []string{"AWSCluster", "KubeadmControlPlaneTemplate", ""} {
		if p, ok := r.Patch(kind); ok {
			t.Errorf("Patch(%s) = %+v, want none", kind, p)
		}
	}
	if c, ok := r.Component("kubernetes"); !ok || c.Version != "1.31.4" {
		t.Errorf("Component(kubernetes) = %+v, %v; want 1.31.4", c, ok)
	}
	if c, ok := r.Component("etcd"); ok {
		t.Errorf("Component(etcd) = %+v, want none", c)
	}
	empty := &releases.Release{Provider: "capa", Version: version("1.0.0")}
	if _, ok := empty.Patch("Cluster"); ok {
		t.Error("Patch on a release without patches found one")
	}
}

// TestLoadWarnings checks that every problem in testdata/broken is reported
// with its path and line, and that loading goes on past each.
func TestLoadWarnings(t *testing.T) {
	t.Parallel()
	c := loadTestdata(t, "broken")
	base := filepath.Join("testdata", "broken")
	want := []string{
		"azure/releases.json:3: reading the release index: invalid character '}' looking for beginning of object key string; ignored",
		"azure/v1.0.0/release.yaml: spec.state is not set and releases.json does not list the release; treated as active",
		"capa/v31.0.0/base/bad-syntax.yaml:5: reading the ConfigMaps: did not find expected key",
		"capa/v31.0.0/base/names.yaml:15: ConfigMap machinepool-30-1-0 is named for release 30.1.0, but it is in release 31.0.0; skipped",
		`capa/v31.0.0/base/names.yaml:24: ConfigMap "machinepool" is not named <kind>-31-0-0 (the resource kind in lowercase, then the release version with dashes); skipped`,
		"capa/v31.0.0/base/names.yaml:29: a v1 Secret, not a v1 ConfigMap; skipped",
		"capa/v31.0.0/base/names.yaml:37: ConfigMap awscluster-31-0-0 is in namespace default, but release ConfigMaps are read from giantswarm; skipped",
		"capa/v31.0.0/base/names.yaml:46: ConfigMap machinedeployment-31-0-0 has no data.patch; skipped",
		"capa/v31.0.0/base/names.yaml:58: ConfigMap kubeadmcontrolplane-31-0-0: data.patch is not valid YAML: mapping values are not allowed in this context",
		"capa/v31.0.0/base/names.yaml:65: ConfigMap kubeadmconfigtemplate-31-0-0: data.patch must be a YAML mapping of the fields to set; skipped",
		"capa/v31.0.0/base/names.yaml:71: ConfigMap cluster-31-0-0 is defined twice; the first, at " + filepath.Join(base, "capa/v31.0.0/base/names.yaml") + ":4, is used",
		"capa/v31.1.0/release.yaml:7: reading the release: did not find expected ',' or ']'",
		"capa/v31.2.0: no release.yaml; skipped",
		`capa/v31.3.0/release.yaml:4: metadata.name "aws-31.3.1" does not end in the directory's version 31.3.0`,
		"capa/v31.3.0/release.yaml:9: spec.components[1] has no name; ignored",
		"capa/v31.3.0/release.yaml:10: spec.components lists kubernetes twice (also on line 7); the first is used",
		"capa/v31.3.0/release.yaml:12: spec.components: flatcar has no version",
		"capa/v31.3.0/release.yaml:14: spec.components[4]: cannot unmarshal !!map into string",
		"capa/v31.3.0/release.yaml:16: spec.apps must be a list; ignored",
		`capa/v31.3.0/release.yaml:17: spec.date "yesterday" is not a date such as 2025-07-15T10:00:00Z`,
		`capa/v31.3.0/release.yaml:18: spec.endOfLifeDate "2026-13-01" is not a date such as 2025-07-15T10:00:00Z`,
		`capa/v31.3.0/release.yaml:19: spec.state "beta" is not one of active, deprecated, wip, preview`,
		"capa/v31.4.0/release.yaml:1: a v1 ConfigMap, not a release.giantswarm.io Release; skipped",
		`capa/v31.x: "v31.x" is not a release version: expected X.Y.Z such as 31.0.0 (invalid semantic version); skipped`,
		"capa/archived/v31.0.0: v31.0.0 is also in capa/v31.0.0; that one is used",
		"capa/releases.json:4: v35.0.0 is listed, but there is no capa/v35.0.0/release.yaml; entry ignored",
		`capa/releases.json:5: "latest" is not a release version: expected X.Y.Z such as 31.0.0 (invalid semantic version); entry ignored`,
	}
	for i, w := range want {
		want[i] = filepath.Join(base, w)
	}
	if diff := cmp.Diff(want, c.Warnings()); diff != "" {
		t.Errorf("Warnings() (-want +got):\n%s", diff)
	}

	// What could be read was read.
	if diff := cmp.Diff([]string{"31.0.0", "31.3.0"}, versions(c.List("capa"))); diff != "" {
		t.Errorf("List(capa) (-want +got):\n%s", diff)
	}
	r := get(t, c, "capa", "31.0.0")
	if got := len(r.Patches); got != 1 {
		t.Errorf("v31.0.0 has %d patches, want 1 (cluster): %v", got, r.Patches)
	}
	if p, ok := r.Patch("Cluster"); !ok || !strings.Contains(p.Data, "release.giantswarm.io/notes") {
		t.Errorf("Patch(Cluster) = %+v, %v; want the first cluster-31-0-0", p, ok)
	}
	if r.ChangelogURL != "https://example.com/v31.0.0" {
		t.Errorf("ChangelogURL = %q: releases.json was not applied", r.ChangelogURL)
	}
	bad := get(t, c, "capa", "31.3.0")
	wantComps := []releases.Component{{Name: "kubernetes", Version: "1.31.7"}, {Name: "flatcar"}}
	if diff := cmp.Diff(wantComps, bad.Components); diff != "" {
		t.Errorf("v31.3.0 components (-want +got):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	providerDir := filepath.Join("testdata", "catalog", "capa")
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	onlyBroken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(onlyBroken, "capa", "v1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir string
		want      []string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope"), []string{"reading the releases directory"}},
		{"a file", file, []string{"is not a directory"}},
		{"no providers", empty, []string{"no releases found: expected <provider>/v<X.Y.Z>/release.yaml"}},
		{"only broken releases", onlyBroken, []string{"no releases found", "problems found (1)", "capa/v1.0.0: no release.yaml"}},
		{"a provider directory", providerDir, []string{"this looks like one provider's directory", "pass the directory above it"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := releases.Load(t.Context(), tc.dir)
			if err == nil {
				t.Fatalf("Load(%s) = %v, want an error", tc.dir, c.Providers())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%s) error %q does not contain %q", tc.dir, err, w)
				}
			}
			if tc.name == "missing" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Load(%s) error %q does not wrap fs.ErrNotExist", tc.dir, err)
			}
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := releases.Load(ctx, filepath.Join("testdata", "catalog")); err == nil {
			t.Error("Load with a cancelled context succeeded")
		}
	})
}

func TestLoadFS(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"capa/v1.0.0/release.yaml": {Data: []byte("apiVersion: release.giantswarm.io/v1alpha1\nkind: Release\nmetadata:\n  name: aws-1.0.0\nspec:\n  state: active\n")},
		"capa/v1.0.0/base/cluster.yaml": {Data: []byte(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-1-0-0\ndata:\n  patch: |\n    spec:\n      paused: [\n")},
	}
	c, err := releases.LoadFS(t.Context(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	// Lines inside a block scalar are counted as lines of the file; paths
	// are relative to the file system.
	want := []string{"capa/v1.0.0/base/cluster.yaml:8: ConfigMap cluster-1-0-0: data.patch is not valid YAML: did not find expected node content"}
	if diff := cmp.Diff(want, c.Warnings()); diff != "" {
		t.Errorf("Warnings() (-want +got):\n%s", diff)
	}
}

// TestLoadRealFixtures loads a snapshot of github.com/giantswarm/releases.
func TestLoadRealFixtures(t *testing.T) {
	t.Parallel()
	dir := fixtures.Shared(t, "giantswarm-releases")
	c, err := releases.Load(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"32.3.0", "32.4.0", "33.1.1", "33.4.0", "34.0.0", "34.1.0", "34.1.1", "34.2.0 (archived)", "34.3.0 (archived)"}
	if diff := cmp.Diff(want, versions(c.List("capa"))); diff != "" {
		t.Errorf("List(capa) (-want +got):\n%s", diff)
	}
	// releases.json lists releases whose folders are not in the snapshot.
	var missing []string
	for _, w := range c.Warnings() {
		if !strings.Contains(w, "releases.json") || !strings.Contains(w, "is listed, but there is no") {
			t.Errorf("unexpected warning: %s", w)
		}
		missing = append(missing, w[strings.Index(w, ": v")+2:strings.Index(w, " is listed")])
	}
	if diff := cmp.Diff([]string{"v34.4.0", "v34.4.1", "v34.5.0"}, missing); diff != "" {
		t.Errorf("releases listed without a folder (-want +got):\n%s", diff)
	}
	for _, r := range c.List("capa") {
		if r.Name != "aws-"+r.Version.String() {
			t.Errorf("v%s: Name = %q", r.Version, r.Name)
		}
		if r.Date.Year() < 2025 {
			t.Errorf("v%s: Date = %v, want the date of the release", r.Version, r.Date)
		}
		k, ok := r.Component("kubernetes")
		if !ok || !strings.HasPrefix(k.Version, "1.") {
			t.Errorf("v%s: kubernetes component = %+v, %v", r.Version, k, ok)
		}
		if len(r.Apps) < 30 {
			t.Errorf("v%s: %d apps, want the full list", r.Version, len(r.Apps))
		}
		wantState := releases.StateActive
		if r.Archived {
			wantState = releases.StateDeprecated
		} else if r.ChangelogURL != "https://github.com/giantswarm/releases/blob/master/capa/v"+r.Version.String()+"/README.md" {
			t.Errorf("v%s: ChangelogURL = %q", r.Version, r.ChangelogURL)
		}
		if r.State != wantState {
			t.Errorf("v%s: State = %q, want %q", r.Version, r.State, wantState)
		}
		if len(r.Patches) != 0 {
			t.Errorf("v%s: %d patches, but the real releases have no base/ folder", r.Version, len(r.Patches))
		}
	}

	got := releases.Compare(get(t, c, "capa", "33.4.0"), get(t, c, "capa", "v34.0.0"))
	wantComps := []releases.Change{
		{Kind: "component", Name: "cluster-aws", From: "6.5.1", To: "7.2.5", Type: releases.ChangeUpgraded},
		{Kind: "component", Name: "flatcar", From: "4593.2.2", To: "4459.2.2", Type: releases.ChangeDowngraded},
		{Kind: "component", Name: "kubernetes", From: "1.33.6", To: "1.34.3", Type: releases.ChangeUpgraded},
		{Kind: "component", Name: "os-tooling", From: "1.31.0", To: "1.26.3", Type: releases.ChangeDowngraded},
		{Kind: "component", Name: "etcd", From: "3.5.29", Type: releases.ChangeRemoved},
	}
	if len(got) < len(wantComps) {
		t.Fatalf("Compare(v33.4.0, v34.0.0) = %+v", got)
	}
	if diff := cmp.Diff(wantComps, got[:len(wantComps)]); diff != "" {
		t.Errorf("Compare(v33.4.0, v34.0.0) components (-want +got):\n%s", diff)
	}
	apps := got[len(wantComps):]
	for _, want := range []releases.Change{
		{Kind: "app", Name: "cilium", From: "1.3.2", To: "1.3.4", Type: releases.ChangeUpgraded},
		{Kind: "app", Name: "node-problem-detector", To: "0.5.2", Type: releases.ChangeAdded},
	} {
		found := false
		for _, a := range apps {
			found = found || a == want
		}
		if !found {
			t.Errorf("Compare(v33.4.0, v34.0.0) lacks %+v", want)
		}
	}

	_, err = releases.CheckUpgrade(c, get(t, c, "capa", "32.4.0"), get(t, c, "capa", "34.1.1"), date("2026-06-01T00:00:00Z"))
	if err == nil || !strings.Contains(err.Error(), "upgrade to v33.x first (the newest is v33.4.0)") {
		t.Errorf("CheckUpgrade(v32.4.0, v34.1.1) = %v, want the skipped major named", err)
	}
}
