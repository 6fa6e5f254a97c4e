package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// TestPlanThroughManagementCluster runs `plan --kubeconfig` against a real
// API server with the real Kyverno: the releases come from the cluster
// (Release resources and ConfigMaps), every resource is rendered by a
// dry-run through the policy, and nothing is written.
func TestPlanThroughManagementCluster(t *testing.T) {
	env, ctx := startManagementCluster(t)
	c := env.Client

	args := []string{"plan", "--repo", "../../test/kyverno/testdata/gitops", "--kubeconfig", env.Kubeconfig, "--cluster", "pe2e01", "--to", "v31.0.0"}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
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

	// With the AWSCluster live on the management cluster, "before" is the
	// live object: a region changed there by hand shows up as what the
	// upgrade's apply of the manifest changes back.
	live := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSCluster",
		"metadata": map[string]any{"name": "pe2e01", "namespace": "org-acme", "labels": map[string]any{
			"cluster.x-k8s.io/cluster-name": "pe2e01", "release.giantswarm.io/version": "30.1.0"}},
		"spec": map[string]any{"region": "eu-central-1", "controlPlaneLoadBalancer": map[string]any{"loadBalancerType": "nlb"}},
	}}
	if err := c.Create(ctx, live); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"-  region: eu-central-1", "+  region: eu-west-1", "+    healthCheckProtocol: HTTPS"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("with the AWSCluster live, the plan does not show %q:\n%s", want, stdout)
		}
	}

	code, _, stderr = runCLI(t, "plan", "--repo", gitops, "--kubeconfig", filepath.Join(t.TempDir(), "missing"), "--to", "v31.0.0")
	if code != exitInput || !strings.Contains(stderr, "--kubeconfig") {
		t.Errorf("a missing kubeconfig: exit %d, %q", code, stderr)
	}
}

// startManagementCluster starts the API server and Kyverno with the example
// releases v30.1.0, v31.0.0 and v31.1.0 installed as a management cluster
// holds them (Release resources, labelled ConfigMaps) and the shipped policy.
func startManagementCluster(t *testing.T) (*kube.Env, context.Context) {
	t.Helper()
	env := kube.StartWithKyverno(t)
	ctx := kube.Context(t, 3*time.Minute)
	env.InstallExampleReleases(ctx, t, "30.1.0", "31.0.0", "31.1.0")
	env.InstallPolicy(ctx, t, "31.0.0")
	return env, ctx
}

// TestApplyPatchesTheLabel is the old workflow: apply shows the diff and
// patches the label of the live resources, which Kyverno then mutates into
// the new release; a label changed meanwhile is a conflict.
func TestApplyPatchesTheLabel(t *testing.T) {
	env, ctx := startManagementCluster(t)
	c := env.Client
	b, err := os.ReadFile("../../test/kyverno/testdata/gitops/clusters/pe2e01/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s: %v", obj.GetKind(), err)
		}
	}
	// As kubectl does, apply finds the management cluster through
	// $KUBECONFIG when --kubeconfig is not given.
	t.Setenv("KUBECONFIG", env.Kubeconfig)
	base := []string{"apply", "-n", "org-acme", "--cluster", "pe2e01", "--to", "v31.0.0"}

	code, stdout, stderr := runCLI(t, base...)
	if code != exitInput || !strings.Contains(stderr, "--yes") {
		t.Errorf("apply without --yes and without a terminal: exit %d, %q", code, stderr)
	}
	if !strings.Contains(stdout, "v30.1.0 → v31.0.0") {
		t.Errorf("the preview was not shown before refusing:\n%s", stdout)
	}

	code, out, stderr := runCLI(t, append(base, "--yes")...)
	if code != 0 {
		t.Fatalf("apply: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"+    healthCheckProtocol: HTTPS", "patched AWSCluster pe2e01", "patched Cluster pe2e01\nCluster org-acme/pe2e01 is upgrading to v31.0.0."} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output does not say %q:\n%s", want, out)
		}
	}
	aws := &unstructured.Unstructured{}
	aws.SetAPIVersion("infrastructure.cluster.x-k8s.io/v1beta2")
	aws.SetKind("AWSCluster")
	if err := c.Get(ctx, client.ObjectKey{Namespace: "org-acme", Name: "pe2e01"}, aws); err != nil {
		t.Fatal(err)
	}
	hc, _, _ := unstructured.NestedString(aws.Object, "spec", "controlPlaneLoadBalancer", "healthCheckProtocol")
	if aws.GetLabels()["release.giantswarm.io/version"] != "31.0.0" || hc != "HTTPS" {
		t.Errorf("after apply the AWSCluster has label %q and healthCheckProtocol %q, want 31.0.0 and HTTPS", aws.GetLabels()["release.giantswarm.io/version"], hc)
	}

	// The label is 31.0.0 now: a patch expecting 30.1.0 is a conflict.
	dyn, mapper := env.Dynamic(t)
	r := dryrun.New(dyn, mapper, 1)
	_, err = r.PatchLabel(ctx, aws, "release.giantswarm.io/version", "30.1.0", "31.1.0", false)
	var conflict *dryrun.ConflictError
	if !errors.As(err, &conflict) {
		t.Errorf("patching a label that changed meanwhile: %v, want a ConflictError", err)
	}

	code, _, _ = runCLI(t, append(base, "--yes")...)
	if code != 0 {
		t.Errorf("apply to the release the cluster is on: exit %d, want 0 (nothing to do)", code)
	}

	// --at schedules instead: the Cluster gets the upgrade-schedule-operator
	// annotations, the label stays.
	next := []string{"apply", "--kubeconfig", env.Kubeconfig, "-n", "org-acme", "--cluster", "pe2e01", "--to", "v31.1.0", "--yes"}
	code, _, stderr = runCLI(t, append(next, "--at", time.Now().Add(5*time.Minute).UTC().Format("2006-01-02 15:04"))...)
	if code != exitInput || !strings.Contains(stderr, "too soon") {
		t.Errorf("--at in 5 minutes: exit %d, %q; want a refusal", code, stderr)
	}
	at := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Minute)
	code, out, stderr = runCLI(t, append(next, "--at", at.Format("2006-01-02 15:04"))...)
	if code != 0 || !strings.Contains(out, "scheduled to upgrade to v31.1.0") {
		t.Fatalf("apply --at: exit %d, %s%s", code, out, stderr)
	}
	cl := &unstructured.Unstructured{}
	cl.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	cl.SetKind("Cluster")
	if err := c.Get(ctx, client.ObjectKey{Namespace: "org-acme", Name: "pe2e01"}, cl); err != nil {
		t.Fatal(err)
	}
	ann := cl.GetAnnotations()
	if ann["alpha.giantswarm.io/update-schedule-target-release"] != "31.1.0" || ann["alpha.giantswarm.io/update-schedule-target-time"] != at.Format(time.RFC822) || cl.GetLabels()["release.giantswarm.io/version"] != "31.0.0" {
		t.Errorf("after apply --at: annotations %v, label %q", ann, cl.GetLabels()["release.giantswarm.io/version"])
	}
}
