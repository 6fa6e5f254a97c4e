package kube

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const versionLabel = "release.giantswarm.io/version"

func cluster(name, version string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cluster.x-k8s.io/v1beta2",
		"kind":       "Cluster",
		"metadata": map[string]any{
			"name":      name,
			"namespace": "org-acme",
			"labels":    map[string]any{versionLabel: version},
		},
		"spec": map[string]any{
			"clusterNetwork": map[string]any{"pods": map[string]any{"cidrBlocks": []any{"100.64.0.0/12"}}},
		},
	}}
	return u
}

// TestDryRunThroughTheRealAPIServer proves the harness: the Cluster API
// and CAPA CRDs are served, and dry-run requests return the object as the
// API server would store it while persisting nothing.
func TestDryRunThroughTheRealAPIServer(t *testing.T) {
	env := Start(t)
	ctx := Context(t, time.Minute)
	c := env.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "org-acme"}}); err != nil {
		t.Fatal(err)
	}

	// A dry-run create returns the object and stores nothing.
	obj := cluster("peu01", "30.1.0")
	if err := c.Create(ctx, obj, client.DryRunAll); err != nil {
		t.Fatalf("dry-run create of a Cluster: %v", err)
	}
	if obj.GetUID() == "" {
		t.Error("the dry-run create did not return the object as the server made it")
	}
	err := c.Get(ctx, types.NamespacedName{Namespace: "org-acme", Name: "peu01"}, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster"}})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("after a dry-run create, GET = %v, want NotFound", err)
	}

	// A dry-run patch of the label returns the new label; the stored
	// object keeps the old one and its resourceVersion.
	live := cluster("peu01", "30.1.0")
	if err := c.Create(ctx, live); err != nil {
		t.Fatalf("creating a Cluster: %v", err)
	}
	rv := live.GetResourceVersion()
	patched := live.DeepCopy()
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"`+versionLabel+`":"31.0.0"}}}`))
	if err := c.Patch(ctx, patched, patch, client.DryRunAll); err != nil {
		t.Fatalf("dry-run patch: %v", err)
	}
	if got := patched.GetLabels()[versionLabel]; got != "31.0.0" {
		t.Errorf("dry-run patch returned label %q, want 31.0.0", got)
	}
	stored := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster"}}
	if err := c.Get(ctx, client.ObjectKeyFromObject(live), stored); err != nil {
		t.Fatal(err)
	}
	if stored.GetLabels()[versionLabel] != "30.1.0" || stored.GetResourceVersion() != rv {
		t.Errorf("the dry-run patch was persisted: label %q, resourceVersion %s (was %s)", stored.GetLabels()[versionLabel], stored.GetResourceVersion(), rv)
	}

	// The infrastructure provider's kinds are served too.
	aws := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
		"kind":       "AWSCluster",
		"metadata":   map[string]any{"name": "peu01", "namespace": "org-acme"},
		"spec":       map[string]any{"region": "eu-west-1"},
	}}
	if err := c.Create(ctx, aws, client.DryRunAll); err != nil {
		t.Errorf("dry-run create of an AWSCluster: %v", err)
	}
}
