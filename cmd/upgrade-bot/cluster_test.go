package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// TestPlanThroughManagementCluster runs `plan --kubeconfig` against a real
// API server with the real Kyverno: the releases come from the cluster
// (Release resources and ConfigMaps), every resource is rendered by a
// dry-run through the policy, and nothing is written.
func TestPlanThroughManagementCluster(t *testing.T) {
	env := kube.StartWithKyverno(t)
	ctx := kube.Context(t, 3*time.Minute)
	c := env.Client
	for _, ns := range []string{"giantswarm", "org-acme"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(releasesDir, "capa")
	for _, v := range []string{"30.1.0", "31.0.0"} {
		rel := readYAML(t, filepath.Join(dir, "v"+v, "release.yaml"))
		rel.SetName("aws-" + v)
		if err := c.Create(ctx, rel); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "v"+v, "base", "*.yaml"))
		for _, f := range files {
			if err := c.Create(ctx, readYAML(t, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := env.CreatePolicy(ctx, readYAML(t, "../../deploy/kyverno/clusterpolicy.yaml")); err != nil {
		t.Fatal(err)
	}

	args := []string{"plan", "--repo", "../../test/kyverno/testdata/gitops", "--kubeconfig", env.Kubeconfig, "--cluster", "pe2e01", "--to", "v31.0.0"}
	var stdout, stderr string
	for {
		var code int
		code, stdout, stderr = runCLI(t, args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		// Kyverno updates its webhooks shortly after the policy is ready.
		if strings.Contains(stdout, "healthCheckProtocol") || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, want := range []string{"Cluster org-acme/pe2e01 (capa): v30.1.0 → v31.0.0", "kubernetes", "1.31.4", "+    healthCheckProtocol: HTTPS"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the plan does not show %q:\n%s", want, stdout)
		}
	}
	// Nothing was written.
	var list unstructured.UnstructuredList
	list.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	list.SetKind("ClusterList")
	if err := c.List(ctx, &list); err != nil || len(list.Items) != 0 {
		t.Errorf("after plan the cluster holds %d Clusters (%v), want none", len(list.Items), err)
	}

	code, _, stderr := runCLI(t, "plan", "--repo", gitops, "--kubeconfig", filepath.Join(t.TempDir(), "missing"), "--to", "v31.0.0")
	if code != exitInput || !strings.Contains(stderr, "--kubeconfig") {
		t.Errorf("a missing kubeconfig: exit %d, %q", code, stderr)
	}
}

func readYAML(t *testing.T, path string) *unstructured.Unstructured {
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
