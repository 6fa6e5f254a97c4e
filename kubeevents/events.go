// Package kubeevents records what the bot did to a workload cluster as a
// Kubernetes Event on its Cluster resource, so that `kubectl get events`
// and `kubectl describe cluster` on the management cluster show that an
// upgrade pull request was opened or merged.
package kubeevents

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Component is the events' source.
const Component = "upgrade-bot"

var events = schema.GroupVersionResource{Version: "v1", Resource: "events"}

// Mapper finds the served version of the Cluster kind.
type Mapper interface {
	RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error)
}

// Recorder writes Events on Cluster resources.
type Recorder struct {
	client dynamic.Interface
	mapper Mapper
	now    func() time.Time
}

// New returns a Recorder writing through client.
func New(client dynamic.Interface, mapper Mapper) *Recorder {
	return &Recorder{client: client, mapper: mapper, now: time.Now}
}

// Record writes a Normal Event with reason and message on the Cluster
// namespace/name. A Cluster that is not on the management cluster (the
// repository is ahead of it) is an error the caller logs.
func (r *Recorder) Record(ctx context.Context, namespace, name, reason, message string) error {
	m, err := r.mapper.RESTMapping(schema.GroupKind{Group: "cluster.x-k8s.io", Kind: "Cluster"})
	if err != nil {
		return fmt.Errorf("finding the Cluster kind on the management cluster: %w", err)
	}
	c, err := r.client.Resource(m.Resource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading Cluster %s/%s for its event: %w", namespace, name, err)
	}
	now := r.now().UTC()
	ev := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Event",
		"metadata": map[string]any{
			"name":      fmt.Sprintf("%s.%x", name, now.UnixNano()),
			"namespace": namespace,
		},
		"involvedObject": map[string]any{
			"apiVersion":      c.GetAPIVersion(),
			"kind":            "Cluster",
			"namespace":       namespace,
			"name":            name,
			"uid":             string(c.GetUID()),
			"resourceVersion": c.GetResourceVersion(),
		},
		"reason":             reason,
		"message":            message,
		"type":               "Normal",
		"source":             map[string]any{"component": Component},
		"reportingComponent": Component,
		"reportingInstance":  Component,
		"firstTimestamp":     now.Format(time.RFC3339),
		"lastTimestamp":      now.Format(time.RFC3339),
		"count":              int64(1),
	}}
	if _, err := r.client.Resource(events).Namespace(namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("recording event %s on Cluster %s/%s: %w", reason, namespace, name, err)
	}
	return nil
}
