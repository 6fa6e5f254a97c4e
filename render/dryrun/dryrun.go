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
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
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
	return r.each(ctx, objs, r.render)
}

// Current returns each object as the management cluster has it now: the
// live object where it exists (one GET, no admission), else the dry-run
// create of the manifest (as Render). It is the "before" of a diff whose
// "after" is Render of the changed manifests: the live object is what the
// change is applied to, drift from git included.
func (r *Renderer) Current(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	return r.each(ctx, objs, func(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		ri, err := r.resource(obj)
		if err != nil {
			return nil, err
		}
		live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return r.render(ctx, obj)
		}
		if err != nil {
			return nil, r.explain(obj, err)
		}
		return live, nil
	})
}

// each runs f on every object, at most r.workers at a time, and returns
// the results in the order of objs.
func (r *Renderer) each(ctx context.Context, objs []*unstructured.Unstructured, f func(context.Context, *unstructured.Unstructured) (*unstructured.Unstructured, error)) ([]*unstructured.Unstructured, error) {
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
			out[i], errs[i] = f(ctx, obj)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// resource is the client for obj's resource.
func (r *Renderer) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("the management cluster does not serve %s (%s): %w", gvk.Kind, gvk.GroupVersion(), err)
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.client.Resource(mapping.Resource).Namespace(obj.GetNamespace()), nil
	}
	return r.client.Resource(mapping.Resource), nil
}

func (r *Renderer) render(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := r.resource(obj)
	if err != nil {
		return nil, err
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

// ConflictError is a label that changed between reading and patching it:
// someone else upgraded (or reverted) the resource meanwhile.
type ConflictError struct {
	Kind, Namespace, Name string
	Label, Expected       string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %s: label %s is no longer %q: it changed while upgrade-bot was working; look at the resource and run the command again", e.Kind, objectName(e.Namespace, e.Name), e.Label, e.Expected)
}

// PatchLabel sets label on the live obj from `from` to `to` with a JSON
// patch whose test operation checks the old value, so a concurrent change
// is detected instead of overwritten. With dryRun nothing is stored and the
// result is what admission would make of it.
func (r *Renderer) PatchLabel(ctx context.Context, obj *unstructured.Unstructured, label, from, to string, dryRun bool) (*unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("the management cluster does not serve %s (%s): %w", gvk.Kind, gvk.GroupVersion(), err)
	}
	var ri dynamic.ResourceInterface = r.client.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = r.client.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	p := "/metadata/labels/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(label)
	patch, err := json.Marshal([]map[string]string{
		{"op": "test", "path": p, "value": from},
		{"op": "replace", "path": p, "value": to},
	})
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	got, err := ri.Patch(ctx, obj.GetName(), types.JSONPatchType, patch, opts)
	if err != nil {
		// The API server answers a failed test operation with a bare 422:
		// read the label again to tell a concurrent change from a refusal.
		if apierrors.IsInvalid(err) || isTestFailure(err) {
			if live, gerr := ri.Get(ctx, obj.GetName(), metav1.GetOptions{}); gerr == nil && live.GetLabels()[label] != from {
				return nil, &ConflictError{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), Label: label, Expected: from}
			}
		}
		return nil, r.explain(obj, err)
	}
	return got, nil
}

// Live lists the live resources of a cluster: the Cluster itself and every
// resource of the given group kinds labelled cluster.x-k8s.io/cluster-name
// with its name. Kinds the cluster does not serve are left out.
func (r *Renderer) Live(ctx context.Context, namespace, name string, kinds []schema.GroupKind) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, gk := range kinds {
		mapping, err := r.mapper.RESTMapping(gk)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("finding %s on the management cluster: %w", gk, err)
		}
		ri := r.client.Resource(mapping.Resource).Namespace(namespace)
		if gk.Kind == "Cluster" {
			obj, err := ri.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("the management cluster has no Cluster %s: check --namespace and the name (list them with kubectl get clusters -A)", objectName(namespace, name))
			}
			if err != nil {
				return nil, r.explain(&unstructured.Unstructured{Object: map[string]any{"kind": "Cluster", "metadata": map[string]any{"name": name, "namespace": namespace}}}, err)
			}
			out = append(out, obj)
			continue
		}
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: "cluster.x-k8s.io/cluster-name=" + name})
		if err != nil {
			return nil, fmt.Errorf("listing %s of cluster %s: %w", gk.Kind, objectName(namespace, name), err)
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

// isTestFailure tells whether a JSON patch was refused because its test
// operation failed. The API server answers 422 with a generic message and
// says what failed in the status details.
func isTestFailure(err error) bool {
	text := err.Error()
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if d := status.Status().Details; d != nil {
			for _, c := range d.Causes {
				text += " " + c.Message
			}
		}
		text += " " + status.Status().Message
	}
	return strings.Contains(text, "testing value") || strings.Contains(text, "test failed")
}

// Annotate sets annotations on the live obj with a merge patch.
func (r *Renderer) Annotate(ctx context.Context, obj *unstructured.Unstructured, annotations map[string]string) error {
	gvk := obj.GroupVersionKind()
	mapping, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("the management cluster does not serve %s (%s): %w", gvk.Kind, gvk.GroupVersion(), err)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	_, err = r.client.Resource(mapping.Resource).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return r.explain(obj, err)
	}
	return nil
}
