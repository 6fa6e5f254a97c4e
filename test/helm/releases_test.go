package helm

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// TestExampleReleasesKustomization builds deploy/releases the way
// `kubectl apply -k` does, checks that it lists every file of the example
// releases, installs it on a real API server, and reads the catalog back
// from the server: it is the catalog the directory holds.
func TestExampleReleasesKustomization(t *testing.T) {
	t.Parallel()
	root, err := kube.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "examples", "releases")

	// Every release.yaml and base ConfigMap is listed, nothing else.
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct{ Resources []string }
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pattern := range []string{"*/v*/release.yaml", "*/v*/base/*.yaml"} {
		found, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			rel, _ := filepath.Rel(dir, f)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(files)), slices.Sorted(slices.Values(k.Resources))); diff != "" {
		t.Errorf("examples/releases/kustomization.yaml does not list the directory's files (-on disk +listed):\n%s", diff)
	}

	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(root, "deploy", "releases"))
	if err != nil {
		t.Fatalf("building deploy/releases: %v", err)
	}
	env := kube.Start(t)
	ctx := kube.Context(t, 2*time.Minute)
	// The namespace first, as kubectl apply orders it.
	objs := m.Resources()
	slices.SortStableFunc(objs, func(a, b *resource.Resource) int {
		return boolCmp(b.GetKind() == "Namespace", a.GetKind() == "Namespace")
	})
	for _, r := range objs {
		mo, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		o := &unstructured.Unstructured{Object: mo}
		if err := env.Client.Patch(ctx, o, client.Apply, client.FieldOwner("releases-test"), client.ForceOwnership, client.FieldValidation("Strict")); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}

	want, err := releases.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	dyn, _ := env.Dynamic(t)
	got, err := releases.FromCluster(ctx, dyn, "capa")
	if err != nil {
		t.Fatal(err)
	}
	describe := func(c *releases.Catalog) []string {
		var out []string
		for _, r := range c.List("capa") {
			var kinds []string
			for kind, p := range r.Patches {
				kinds = append(kinds, kind+"="+p.ConfigMap+":"+strings.TrimSpace(p.Data))
			}
			slices.Sort(kinds)
			out = append(out, r.Version.String()+" "+r.State+" "+strings.Join(kinds, " "))
		}
		return out
	}
	if diff := cmp.Diff(describe(want), describe(got)); diff != "" {
		t.Errorf("the catalog read back from the cluster (-directory +cluster):\n%s", diff)
	}
	if len(want.List("capa")) < 5 {
		t.Errorf("the example catalog has %d releases", len(want.List("capa")))
	}
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
