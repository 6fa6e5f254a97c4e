package releases

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// NewRelease is a release that appeared on a management cluster.
type NewRelease struct {
	Provider, Version string
	// Source is the resource it was seen in, e.g. "Release aws-31.0.0".
	Source string
}

// Watcher reports releases that appear on a management cluster: a new
// Release resource, or the first ConfigMap of a version the cluster had no
// Release or ConfigMap of.
type Watcher struct {
	client          dynamic.Interface
	defaultProvider string

	mu    sync.Mutex
	seen  map[string]bool // "provider/version"
	ready chan struct{}
}

// NewWatcher watches through client; ConfigMaps of versions without a
// Release resource count for defaultProvider.
func NewWatcher(client dynamic.Interface, defaultProvider string) *Watcher {
	return &Watcher{client: client, defaultProvider: defaultProvider, seen: map[string]bool{}, ready: make(chan struct{})}
}

// Ready is closed once the watch has read what the cluster already holds:
// releases appearing after it are reported.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Run watches until ctx ends, calling onNew once for each release that
// appears after the watch started (releases already there are not new). It
// returns nil when ctx ends, or an error when the cluster cannot be watched.
func (w *Watcher) Run(ctx context.Context, onNew func(NewRelease)) error {
	withReleases := true
	if _, err := w.client.Resource(ReleaseResource).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		if !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
			return fmt.Errorf("watching the Release resources: %w", err)
		}
		withReleases = false // the cluster does not serve them
	}
	cms := dynamicinformer.NewFilteredDynamicSharedInformerFactory(w.client, 10*time.Minute, Namespace, func(o *metav1.ListOptions) { o.LabelSelector = VersionLabel })
	informers := []cache.SharedIndexInformer{cms.ForResource(configMaps).Informer()}
	var rels dynamicinformer.DynamicSharedInformerFactory
	if withReleases {
		rels = dynamicinformer.NewDynamicSharedInformerFactory(w.client, 10*time.Minute)
		informers = append(informers, rels.ForResource(ReleaseResource).Informer())
	}
	for _, inf := range informers {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(obj any, initial bool) { w.added(obj, initial, onNew) },
		}); err != nil {
			return fmt.Errorf("watching releases: %w", err)
		}
	}
	cms.Start(ctx.Done())
	if rels != nil {
		rels.Start(ctx.Done())
	}
	synced := make([]cache.InformerSynced, 0, len(informers))
	for _, inf := range informers {
		synced = append(synced, inf.HasSynced)
	}
	if cache.WaitForCacheSync(ctx.Done(), synced...) {
		close(w.ready)
	}
	<-ctx.Done()
	cms.Shutdown()
	if rels != nil {
		rels.Shutdown()
	}
	return nil
}

func (w *Watcher) added(obj any, initial bool, onNew func(NewRelease)) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	var nr NewRelease
	switch u.GetKind() {
	case "Release":
		m := releaseNameRE.FindStringSubmatch(u.GetName())
		if m == nil {
			return
		}
		provider, ok := releaseProviders[m[1]]
		if !ok {
			provider = m[1]
		}
		v, err := ParseVersion(m[2])
		if err != nil {
			return
		}
		nr = NewRelease{Provider: provider, Version: v.String(), Source: "Release " + u.GetName()}
	default:
		v, err := ParseVersion(u.GetLabels()[VersionLabel])
		if err != nil || w.defaultProvider == "" {
			return
		}
		nr = NewRelease{Provider: w.defaultProvider, Version: v.String(), Source: "ConfigMap " + u.GetNamespace() + "/" + u.GetName()}
	}
	key := nr.Provider + "/" + nr.Version
	w.mu.Lock()
	seen := w.seen[key]
	w.seen[key] = true
	w.mu.Unlock()
	if !seen && !initial {
		onNew(nr)
	}
}
