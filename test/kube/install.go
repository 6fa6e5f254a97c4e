package kube

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// ReadObject reads the YAML object in path.
func ReadObject(t testing.TB, path string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &obj.Object); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}

// Dynamic returns a dynamic client on e.Config and a REST mapper that
// discovers the server's kinds.
func (e *Env) Dynamic(t testing.TB) (dynamic.Interface, meta.RESTMapper) {
	t.Helper()
	client, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	return client, restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
}

// InstallExampleReleases makes the server hold the given example releases
// (examples/releases/capa) as a management cluster does: the namespaces
// giantswarm and org-acme, a Release resource named aws-<version> and the
// release's ConfigMaps.
func (e *Env) InstallExampleReleases(ctx context.Context, t testing.TB, versions ...string) {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"giantswarm", "org-acme"} {
		if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "examples", "releases", "capa")
	for _, v := range versions {
		rel := ReadObject(t, filepath.Join(dir, "v"+v, "release.yaml"))
		rel.SetName("aws-" + v)
		if err := e.Client.Create(ctx, rel); err != nil {
			t.Fatalf("creating Release %s: %v", v, err)
		}
		files, err := filepath.Glob(filepath.Join(dir, "v"+v, "base", "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no ConfigMaps for v%s: %v", v, err)
		}
		for _, f := range files {
			if err := e.Client.Create(ctx, ReadObject(t, f)); err != nil {
				t.Fatalf("creating %s: %v", f, err)
			}
		}
	}
}

// InstallPolicy creates the shipped Kyverno policy and waits until Kyverno
// mutates a resource labelled with version, one of the installed releases:
// Kyverno updates its webhooks shortly after the policy is ready.
func (e *Env) InstallPolicy(ctx context.Context, t testing.TB, version string) {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreatePolicy(ctx, ReadObject(t, filepath.Join(root, "deploy", "kyverno", "clusterpolicy.yaml"))); err != nil {
		t.Fatal(err)
	}
	for {
		probe := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSCluster",
			"metadata": map[string]any{"name": "probe", "namespace": "org-acme", "labels": map[string]any{"release.giantswarm.io/version": version}},
			"spec":     map[string]any{"region": "eu-west-1"},
		}}
		if err := e.Client.Create(ctx, probe, client.DryRunAll); err != nil {
			t.Fatal(err)
		}
		if len(probe.GetAnnotations()) > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("Kyverno never mutated a labelled resource")
		case <-time.After(250 * time.Millisecond):
		}
	}
}
