package kubeevents_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/upgrade-bot/upgrade-bot/kubeevents"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// TestRecord writes an Event on a Cluster of the real API server and
// reads it back as `kubectl get events` does.
func TestRecord(t *testing.T) {
	t.Parallel()
	env := kube.Start(t)
	ctx := kube.Context(t, time.Minute)
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "org-acme"}}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	cluster := kube.ReadObject(t, filepath.Join("..", "examples", "gitops", "management-clusters", "mc-demo", "organizations", "org-acme", "workload-clusters", "peu01", "cluster.yaml"))
	cluster.SetNamespace("org-acme")
	if err := env.Client.Create(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	dyn, mapper := env.Dynamic(t)
	r := kubeevents.New(dyn, mapper)
	if err := r.Record(ctx, "org-acme", cluster.GetName(), "UpgradePullRequestOpened", "upgrade to release v31.0.0 proposed in https://github.com/acme/gitops/pull/7"); err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(env.Config)
	list, err := cs.CoreV1().Events("org-acme").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Cluster,involvedObject.name=" + cluster.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d events on the Cluster, want 1", len(list.Items))
	}
	ev := list.Items[0]
	if ev.Reason != "UpgradePullRequestOpened" || !strings.Contains(ev.Message, "pull/7") || ev.Source.Component != "upgrade-bot" ||
		ev.InvolvedObject.UID != cluster.GetUID() || ev.Type != "Normal" {
		t.Errorf("the event: %+v", ev)
	}
	if err := r.Record(ctx, "org-acme", "nowhere", "UpgradePullRequestOpened", "x"); err == nil || !strings.Contains(err.Error(), "org-acme/nowhere") {
		t.Errorf("an event on a missing Cluster: %v", err)
	}
}
