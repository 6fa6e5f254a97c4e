package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
	"github.com/upgrade-bot/upgrade-bot/render/offline"
)

// Renderer makes of a cluster's resources what the management cluster's
// admission chain makes of them: each object is rendered under the release
// its version label names.
type Renderer interface {
	Render(ctx context.Context, provider string, objs []*unstructured.Unstructured) (rendered []*unstructured.Unstructured, warnings []string, err error)
}

// OfflineRenderer renders with the release ConfigMaps of a catalog, the way
// the shipped Kyverno policy applies them, with no cluster at hand.
type OfflineRenderer struct {
	catalog *releases.Catalog
	label   string

	mu        sync.Mutex
	renderers map[string]*offline.Renderer // by provider
}

var _ Renderer = (*OfflineRenderer)(nil)

// NewOfflineRenderer returns a renderer reading patches from catalog for
// objects carrying label.
func NewOfflineRenderer(catalog *releases.Catalog, label string) *OfflineRenderer {
	return &OfflineRenderer{catalog: catalog, label: label, renderers: map[string]*offline.Renderer{}}
}

func (o *OfflineRenderer) forProvider(provider string) *offline.Renderer {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r, ok := o.renderers[provider]; ok {
		return r
	}
	r := offline.New(o.label, func(_ context.Context, kind, version string) (string, string, bool, error) {
		rel, err := o.catalog.Get(provider, version)
		if err != nil {
			return "", "", false, fmt.Errorf("looking up the release ConfigMap for %s: %w", kind, err)
		}
		p, ok := rel.Patch(kind)
		if !ok {
			return "", "", false, nil
		}
		return p.Data, fmt.Sprintf("ConfigMap %s (%s)", p.ConfigMap, p.Path), true, nil
	})
	o.renderers[provider] = r
	return r
}

// Render applies the release patches to each object.
func (o *OfflineRenderer) Render(ctx context.Context, provider string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []string, error) {
	r := o.forProvider(provider)
	out := make([]*unstructured.Unstructured, 0, len(objs))
	var warnings []string
	for _, obj := range objs {
		// An object on a release the catalog does not know is rendered as
		// written; the planner says so once for the whole cluster.
		if v := obj.GetLabels()[o.label]; v != "" {
			if _, err := o.catalog.Get(provider, v); err != nil {
				out = append(out, obj.DeepCopy())
				continue
			}
		}
		res, err := r.Render(ctx, obj)
		if err != nil {
			return nil, nil, fmt.Errorf("rendering %s %s: %w", obj.GetKind(), objectName(obj), err)
		}
		out = append(out, res.Object)
		warnings = append(warnings, res.Warnings...)
	}
	return out, warnings, nil
}

func objectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}

func objectKey(obj *unstructured.Unstructured) string {
	return strings.Join([]string{obj.GetAPIVersion(), obj.GetKind(), obj.GetNamespace(), obj.GetName()}, "|")
}

// ObjectRenderer renders objects through something that applies admission,
// like dryrun.Renderer does through a management cluster.
type ObjectRenderer interface {
	Render(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error)
}

// currentRenderer is a Renderer that can show objects as they are now
// (the live objects on a management cluster) rather than render their
// current manifests; the planner takes that as the "before" of a diff.
type currentRenderer interface {
	Current(ctx context.Context, provider string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []string, error)
}

// LiveObjects is an ObjectRenderer that can also read the live objects.
type LiveObjects interface {
	ObjectRenderer
	Current(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error)
}

// ClusterRenderer renders through a management cluster's admission chain:
// the release ConfigMaps there, applied by the real Kyverno policy.
type ClusterRenderer struct {
	Objects ObjectRenderer
}

var _ Renderer = ClusterRenderer{}

// Render implements Renderer. An admission denial is the request's
// problem, not the tool's: it is marked invalid, so --all reports the
// cluster as skipped with the webhook's message.
func (c ClusterRenderer) Render(ctx context.Context, _ string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []string, error) {
	out, err := c.Objects.Render(ctx, objs)
	var denied *dryrun.DeniedError
	if errors.As(err, &denied) {
		return nil, nil, invalid(err)
	}
	return out, nil, err
}

// Current implements currentRenderer when Objects can read live objects:
// "before" is then the live object (the dry-run of the manifest where it
// does not exist yet), which is what the upgrade is applied to.
func (c ClusterRenderer) Current(ctx context.Context, provider string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []string, error) {
	live, ok := c.Objects.(LiveObjects)
	if !ok {
		return c.Render(ctx, provider, objs)
	}
	out, err := live.Current(ctx, objs)
	var denied *dryrun.DeniedError
	if errors.As(err, &denied) {
		return nil, nil, invalid(err)
	}
	return out, nil, err
}
