package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

var clusters = schema.GroupVersionResource{Group: "cluster.x-k8s.io", Version: "v1beta2", Resource: "clusters"}

// TestFollowTheManagementCluster runs the bot beside a real API server: a
// version label changed there by hand (outside git) gets a pull request
// that brings git in line; once that pull request is merged, the bot
// follows the cluster and comments the outcome.
func TestFollowTheManagementCluster(t *testing.T) {
	t.Parallel()
	env := kube.Start(t)
	ctx := t.Context()
	env.InstallExampleReleases(ctx, t, "30.0.0")
	client, mapper := env.Dynamic(t)
	cluster := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
		"metadata": map[string]any{"name": "peu02", "namespace": "org-acme",
			"labels": map[string]any{render.DefaultVersionLabel: "30.0.0"}},
		"spec": map[string]any{"clusterNetwork": map[string]any{"pods": map[string]any{"cidrBlocks": []any{"10.1.0.0/16"}}}},
	}}
	if _, err := client.Resource(clusters).Namespace("org-acme").Create(ctx, cluster, metav1.CreateOptions{FieldManager: "kustomize-controller"}); err != nil {
		t.Fatal(err)
	}

	f := newGitHubForge(t)
	h := startBot(t, f)
	mc := dryrun.New(client, mapper, 2)
	h.svc.Follow = bot.Following{Clusters: mc, Interval: 50 * time.Millisecond, Timeout: time.Minute}
	watchCtx, stop := context.WithCancel(ctx)
	ready := make(chan struct{})
	watched := make(chan error, 1)
	go func() {
		watched <- mc.WatchLabel(watchCtx, render.DefaultVersionLabel, ready, func(ch dryrun.LabelChange) {
			if err := h.svc.Drift(watchCtx, f.provider(), repo, ch); err != nil {
				t.Errorf("drift: %v", err)
			}
		})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-watched; err != nil {
			t.Errorf("watch: %v", err)
		}
	})
	<-ready

	// Someone upgrades by hand on the management cluster.
	patch := []byte(`{"metadata":{"labels":{"` + render.DefaultVersionLabel + `":"31.0.0"}}}`)
	if _, err := client.Resource(clusters).Namespace("org-acme").Patch(ctx, "peu02", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-label"}); err != nil {
		t.Fatal(err)
	}
	var pr pull
	deadline := time.Now().Add(60 * time.Second)
	for pr.Number == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no pull request within 60 s after the label changed on the management cluster")
		}
		for _, p := range f.pulls(t) {
			pr = p
		}
		time.Sleep(50 * time.Millisecond)
	}
	if pr.Head != "upgrade-bot/peu02/v31.0.0" || !strings.Contains(pr.Body, "on the management cluster, outside git") || !strings.Contains(pr.Body, "kubectl-label") {
		t.Errorf("the pull request does not say the change came from the management cluster and who made it: %+v", pr)
	}
	if d := f.git(t, "diff", "main", pr.Head); !strings.Contains(d, "+      release.giantswarm.io/version: 31.0.0") {
		t.Errorf("the pull request's change:\n%s", d)
	}
	waitComment(t, f, vcs.Thread{Number: pr.Number, PullRequest: true}, "Rendered change of org-acme/peu02: v30.0.0 → v31.0.0")

	// The pull request is merged; the cluster becomes ready.
	f.(*githubForge).s.MergePullRequest(ctx, t, repo, pr.Number, "alice")
	time.Sleep(200 * time.Millisecond) // a few polls see the cluster not ready yet
	status := map[string]any{"conditions": []any{map[string]any{
		"type": "Available", "status": "True", "reason": "Available", "message": "",
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339), "observedGeneration": int64(1),
	}}}
	live, err := client.Resource(clusters).Namespace("org-acme").Get(ctx, "peu02", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(live.Object, status, "status"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Resource(clusters).Namespace("org-acme").UpdateStatus(ctx, live, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := waitComment(t, f, vcs.Thread{Number: pr.Number, PullRequest: true}, "org-acme/peu02 is on release v31.0.0: the upgrade finished")
	t.Log(c.Body)

	// An upgrade that does not finish in time is reported too: peu01 is
	// not on this management cluster at all.
	h2 := startBot(t, f)
	h2.svc.Follow = bot.Following{Clusters: mc, Interval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond}
	issue := vcs.Thread{Number: f.issue(t, "alice")}
	id, _ := f.comment(t, issue, "alice", "/upgrade v31.0.0 peu01")
	if got := waitReaction(t, f, issue, id); got != "rocket" {
		t.Fatalf("reaction = %s", got)
	}
	var peu01 pull
	for _, p := range f.pulls(t) {
		if p.Head == "upgrade-bot/peu01/v31.0.0" {
			peu01 = p
		}
	}
	f.(*githubForge).s.MergePullRequest(ctx, t, repo, peu01.Number, "alice")
	c = waitComment(t, f, vcs.Thread{Number: peu01.Number, PullRequest: true}, "org-acme/peu01 has not finished upgrading to v31.0.0 500ms after the merge")
	if !strings.Contains(c.Body, "the management cluster has no Cluster org-acme/peu01") {
		t.Errorf("the report does not say why:\n%s", c.Body)
	}
}
