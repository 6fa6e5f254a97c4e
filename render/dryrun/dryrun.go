// Package dryrun renders cluster resources through a live management
// cluster: each object is sent as a server-side apply with dryRun=All, so
// the real admission chain — Kyverno reading the release ConfigMaps, Cluster
// API's own webhooks, CRD defaulting — produces the result and nothing is
// persisted.
//
// Both sides of a plan are rendered this way: "before" is the dry-run apply
// of the manifest as the repository has it, "after" of the bumped manifest.
// When the cluster is in sync with git, "before" equals the live object; when
// it is not, the diff still shows only what the upgrade changes, not drift.
package dryrun

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// FieldManager is the field manager of upgrade-bot's (dry-run) applies.
const FieldManager = "upgrade-bot"

// Renderer renders objects through an API server.
type Renderer struct {
	client dynamic.Interface
	mapper meta.RESTMapper
	// workers bounds the requests in flight.
	workers int
}

// New returns a renderer using client, with mapper to find each kind's
// resource, and at most workers requests in flight (4 when not positive).
func New(client dynamic.Interface, mapper meta.RESTMapper, workers int) *Renderer {
	if workers <= 0 {
		workers = 4
	}
	return &Renderer{client: client, mapper: mapper, workers: workers}
}

// DeniedError is an admission webhook refusing an object: a policy said no.
type DeniedError struct {
	Kind, Namespace, Name string
	// Webhook is the webhook that denied the request, when the API server
	// names it.
	Webhook string
	// Message is what the webhook said.
	Message string
}

func (e *DeniedError) Error() string {
	who := "the admission chain"
	if e.Webhook != "" {
		who = "admission webhook " + e.Webhook
	}
	return fmt.Sprintf("%s denied %s %s: %s", who, e.Kind, objectName(e.Namespace, e.Name), e.Message)
}

var deniedRE = regexp.MustCompile(`(?s)admission webhook "([^"]+)" denied the request:\s*(.*)`)

// Render returns each object as the API server would store it after
// admission, in the order of objs.
func (r *Renderer) Render(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, len(objs))
	errs := make([]error, len(objs))
	sem := make(chan struct{}, r.workers)
	var wg sync.WaitGroup
	for i, obj := range objs {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			out[i], errs[i] = r.render(ctx, obj)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *Renderer) render(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("the management cluster does not serve %s (%s): %w", gvk.Kind, gvk.GroupVersion(), err)
	}
	var ri dynamic.ResourceInterface = r.client.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = r.client.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	apply := obj.DeepCopy()
	apply.SetResourceVersion("")
	apply.SetManagedFields(nil)
	got, err := ri.Apply(ctx, obj.GetName(), apply, metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return nil, r.explain(obj, err)
	}
	return got, nil
}

// explain turns API errors into what the person needs to know.
func (r *Renderer) explain(obj *unstructured.Unstructured, err error) error {
	if m := deniedRE.FindStringSubmatch(err.Error()); m != nil {
		return &DeniedError{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), Webhook: m[1], Message: strings.Join(strings.Fields(m[2]), " ")}
	}
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("rendering %s %s: the management cluster refused the dry-run (%w): the credentials need the verbs get and patch on %s", obj.GetKind(), objectName(obj.GetNamespace(), obj.GetName()), err, obj.GroupVersionKind().GroupKind())
	case apierrors.IsInvalid(err):
		return fmt.Errorf("rendering %s %s: the management cluster finds the manifest invalid: %w", obj.GetKind(), objectName(obj.GetNamespace(), obj.GetName()), err)
	}
	return fmt.Errorf("rendering %s %s through the management cluster: %w", obj.GetKind(), objectName(obj.GetNamespace(), obj.GetName()), err)
}

func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
