package kyverno

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// TestAdmissionThroughRealKyverno runs the shipped policy in the real
// Kyverno admission controller in front of a real API server: a dry-run
// create of a labelled Cluster and AWSCluster comes back mutated by the
// release ConfigMaps exactly where the offline renderer mutates it, and
// nothing is stored.
func TestAdmissionThroughRealKyverno(t *testing.T) {
	env := kube.StartWithKyverno(t)
	root, err := kube.Root()
	if err != nil {
		t.Fatal(err)
	}
	ctx := kube.Context(t, 3*time.Minute)
	c := env.Client
	catalog, err := releases.Load(ctx, filepath.Join(root, "examples", "releases"))
	if err != nil {
		t.Fatal(err)
	}
	env.InstallExampleReleases(ctx, t, "31.0.0")
	env.InstallPolicy(ctx, t, "31.0.0")

	renderer := bot.NewOfflineRenderer(catalog, render.DefaultVersionLabel)
	for _, obj := range []*unstructured.Unstructured{
		object("cluster.x-k8s.io/v1beta2", "Cluster", map[string]any{
			"clusterNetwork": map[string]any{"pods": map[string]any{"cidrBlocks": []any{"10.1.0.0/16"}}},
		}),
		object("infrastructure.cluster.x-k8s.io/v1beta2", "AWSCluster", map[string]any{
			"region":                   "eu-west-1",
			"controlPlaneLoadBalancer": map[string]any{"loadBalancerType": "nlb", "healthCheckProtocol": "TCP"},
		}),
	} {
		want, _, err := renderer.Render(ctx, "capa", []*unstructured.Unstructured{obj})
		if err != nil {
			t.Fatal(err)
		}
		got := obj.DeepCopy()
		if err := c.Create(ctx, got, client.DryRunAll); err != nil {
			t.Fatalf("dry-run create of %s: %v", obj.GetKind(), err)
		}
		if path, ok := subset(want[0].Object, got.Object, ""); !ok {
			t.Errorf("%s: Kyverno's result differs from the offline render at %s\noffline: %v\nkyverno: %v", obj.GetKind(), path, want[0].Object, got.Object)
		}
		err = c.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopy())
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s: after a dry-run create GET = %v, want NotFound", obj.GetKind(), err)
		}
	}
}

// TestDenialIsNamed: when a policy of the management cluster refuses the
// bumped resource, the dry-run renderer says which webhook refused it and
// why, and the planner marks it as the request's problem.
func TestDenialIsNamed(t *testing.T) {
	env := kube.StartWithKyverno(t)
	ctx := kube.Context(t, 3*time.Minute)
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "org-acme"}}); err != nil {
		t.Fatal(err)
	}
	deny := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: no-release-99
spec:
  validationFailureAction: Enforce
  background: false
  rules:
    - name: refuse-99
      match:
        any:
          - resources:
              kinds: [cluster.x-k8s.io/*/Cluster]
      validate:
        message: "release 99.0.0 is withdrawn; pick another"
        deny:
          conditions:
            any:
              - key: "{{ request.object.metadata.labels.\"release.giantswarm.io/version\" || '' }}"
                operator: Equals
                value: "99.0.0"
`), &deny.Object); err != nil {
		t.Fatal(err)
	}
	if err := env.CreatePolicy(ctx, deny); err != nil {
		t.Fatal(err)
	}
	dyn, mapper := env.Dynamic(t)
	r := bot.ClusterRenderer{Objects: dryrun.New(dyn, mapper, 2)}
	obj := object("cluster.x-k8s.io/v1beta2", "Cluster", map[string]any{
		"clusterNetwork": map[string]any{"pods": map[string]any{"cidrBlocks": []any{"10.1.0.0/16"}}},
	})
	obj.SetLabels(map[string]string{render.DefaultVersionLabel: "99.0.0"})
	var err error
	for {
		_, _, err = r.Render(ctx, "capa", []*unstructured.Unstructured{obj})
		if err != nil || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond) // Kyverno has not updated its webhooks yet
	}
	var denied *dryrun.DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("render = %v, want a DeniedError", err)
	}
	if !errors.Is(err, bot.ErrInvalidRequest) {
		t.Errorf("a denial is not marked as the request's problem: %v", err)
	}
	for _, want := range []string{"no-release-99", "withdrawn", "Cluster org-acme/peu01"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the denial does not say %q: %v", want, err)
		}
	}
}

func object(apiVersion, kind string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{
			"name": "peu01", "namespace": "org-acme",
			"labels": map[string]any{render.DefaultVersionLabel: "31.0.0", "cluster.x-k8s.io/cluster-name": "peu01"},
		},
		"spec": spec,
	}}
}

// subset reports whether every field of want is in got with the same value
// (lists compared whole), and the first path where it is not. The API
// server adds fields of its own (uid, timestamps, defaults).
func subset(want, got any, path string) (string, bool) {
	wm, ok := want.(map[string]any)
	if !ok {
		return path, reflect.DeepEqual(normalize(want), normalize(got))
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return path, false
	}
	for k, v := range wm {
		if p, ok := subset(v, gm[k], path+"."+k); !ok {
			return p, false
		}
	}
	return "", true
}

// normalize makes numbers comparable across JSON decoders.
func normalize(v any) any {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
