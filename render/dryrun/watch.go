package dryrun

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// clusterKind is Cluster API's Cluster.
var clusterKind = schema.GroupKind{Group: "cluster.x-k8s.io", Kind: "Cluster"}

// LabelChange is a Cluster whose label changed on the management cluster.
type LabelChange struct {
	Namespace, Name string
	From, To        string
	// Managers are the field managers that own the label now (kubectl,
	// kustomize-controller, ...): who changed it, as far as the API
	// server knows.
	Managers []string
}

// WatchLabel calls onChange for every change of label on a Cluster while
// ctx lasts, also for a label added or removed. Clusters that exist when
// the watch starts are not reported; onChange runs on one goroutine, in
// the order of the changes. ready, when not nil, is closed once the
// initial list is read.
func (r *Renderer) WatchLabel(ctx context.Context, label string, ready chan<- struct{}, onChange func(LabelChange)) error {
	m, err := r.mapper.RESTMapping(clusterKind)
	if err != nil {
		return fmt.Errorf("finding the Cluster resource: %w", err)
	}
	factory := dynamicinformer.NewDynamicSharedInformerFactory(r.client, 30*time.Minute)
	informer := factory.ForResource(m.Resource).Informer()
	_, err = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			before, ok1 := oldObj.(*unstructured.Unstructured)
			after, ok2 := newObj.(*unstructured.Unstructured)
			if !ok1 || !ok2 {
				return
			}
			from, to := before.GetLabels()[label], after.GetLabels()[label]
			if from == to {
				return
			}
			onChange(LabelChange{Namespace: after.GetNamespace(), Name: after.GetName(), From: from, To: to, Managers: labelManagers(after, label)})
		},
	})
	if err != nil {
		return fmt.Errorf("watching Clusters: %w", err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		factory.Shutdown()
		return fmt.Errorf("listing Clusters: %w", ctx.Err())
	}
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	factory.Shutdown()
	return nil
}

// labelManagers are the field managers whose managed fields hold the
// label.
func labelManagers(obj *unstructured.Unstructured, label string) []string {
	key := fmt.Sprintf(`"f:%s"`, label)
	var out []string
	for _, mf := range obj.GetManagedFields() {
		if mf.FieldsV1 != nil && strings.Contains(string(mf.FieldsV1.Raw), key) {
			out = append(out, mf.Manager)
		}
	}
	return out
}

// ClusterState is where a Cluster's rollout stands.
type ClusterState struct {
	// Label is the Cluster's version label.
	Label string
	// Ready is the Cluster's Ready (or, on v1beta1, Ready) condition.
	Ready bool
	// Conditions that are not true, as "Type: reason message".
	NotReady []string
	// ControlPlaneVersion is the control plane's status.version;
	// ControlPlaneDesired its spec.version.
	ControlPlaneVersion, ControlPlaneDesired string
	// RollingOut are the machine pools and deployments whose replicas
	// are not all updated and ready, as "Kind name: n of m".
	RollingOut []string
}

// Settled reports whether the cluster carries the label value and has
// finished rolling out.
func (s ClusterState) Settled(label string) bool {
	return s.Label == label && s.Ready && len(s.RollingOut) == 0 &&
		(s.ControlPlaneDesired == "" || s.ControlPlaneVersion == s.ControlPlaneDesired)
}

// State reads a Cluster, its control plane and its machine pools and
// deployments.
func (r *Renderer) State(ctx context.Context, namespace, name, label string) (ClusterState, error) {
	kinds := []schema.GroupKind{
		clusterKind,
		{Group: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane"},
		{Group: "cluster.x-k8s.io", Kind: "MachinePool"},
		{Group: "cluster.x-k8s.io", Kind: "MachineDeployment"},
	}
	objs, err := r.Live(ctx, namespace, name, kinds)
	if err != nil {
		return ClusterState{}, err
	}
	var st ClusterState
	found := false
	for _, o := range objs {
		switch o.GetKind() {
		case "Cluster":
			if o.GetName() != name {
				continue
			}
			found = true
			st.Label = o.GetLabels()[label]
			conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
			for _, c := range conds {
				cm, _ := c.(map[string]any)
				typ, _ := cm["type"].(string)
				status, _ := cm["status"].(string)
				if typ == "Ready" || typ == "Available" {
					st.Ready = status == "True"
				}
				if status != "True" && typ != "" {
					reason, _ := cm["reason"].(string)
					msg, _ := cm["message"].(string)
					st.NotReady = append(st.NotReady, strings.TrimSpace(fmt.Sprintf("%s: %s %s", typ, reason, msg)))
				}
			}
		case "KubeadmControlPlane":
			st.ControlPlaneDesired, _, _ = unstructured.NestedString(o.Object, "spec", "version")
			st.ControlPlaneVersion, _, _ = unstructured.NestedString(o.Object, "status", "version")
		case "MachinePool", "MachineDeployment":
			want, ok, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
			if !ok {
				continue
			}
			updated, _, _ := unstructured.NestedInt64(o.Object, "status", "updatedReplicas")
			ready, _, _ := unstructured.NestedInt64(o.Object, "status", "readyReplicas")
			if o.GetKind() == "MachinePool" {
				updated = ready // MachinePools report no updatedReplicas
			}
			if updated < want || ready < want {
				st.RollingOut = append(st.RollingOut, fmt.Sprintf("%s %s: %d of %d", o.GetKind(), o.GetName(), min(updated, ready), want))
			}
		}
	}
	if !found {
		return st, fmt.Errorf("the management cluster has no Cluster %s", objectName(namespace, name))
	}
	return st, nil
}
