package offline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

// Lookup returns the patch for kind (e.g. "KubeadmControlPlane") under
// release version (canonical, "31.0.0"). found is false when the release has
// no ConfigMap for that kind. source describes the patch for messages, e.g.
// "ConfigMap kubeadmcontrolplane-31-0-0 (capa/v31.0.0/base/kubeadmcontrolplane.yaml)".
type Lookup func(ctx context.Context, kind, version string) (patch, source string, found bool, err error)

// Renderer applies release patches to objects. It is safe for concurrent use:
// each kind and version is looked up and parsed once, and every render works
// on its own copy of the parsed patch. Patches are kept for the renderer's
// life (failed lookups are not); a new renderer sees changed releases.
type Renderer struct {
	label  string
	lookup Lookup

	mu    sync.Mutex
	cache map[patchKey]*patchEntry

	schemas sync.Map // yaml.TypeMeta → bool: whether kyaml has its schema
}

type patchKey struct{ kind, version string }

// patchEntry is a looked-up patch. done is closed once the other fields are
// set; lookupErr entries are dropped from the cache so that a later render
// asks again.
type patchEntry struct {
	done      chan struct{}
	source    string
	found     bool
	parseErr  error
	lookupErr error

	// patch is the parsed patch, never modified; nil unless found.
	patch map[string]any
	// plain is, for a patch without anchors, the patch as anchor
	// resolution leaves it whatever the object (empty values dropped);
	// nil when the patch has anchors. Never modified.
	plain map[string]any
	// listsOfMaps is set when the patch holds a list of maps, which anchor
	// resolution checks against the object even without anchors.
	listsOfMaps bool
	// viaKyaml is set when only kyaml's merge can apply the patch (see
	// Renderer.readObject).
	viaKyaml bool
}

// New returns a renderer that reads each object's release version from the
// label label and its patches from lookup.
func New(label string, lookup Lookup) *Renderer {
	return &Renderer{label: label, lookup: lookup, cache: map[patchKey]*patchEntry{}}
}

// Result is a rendered object.
type Result struct {
	// Object is the rendered object, a new object that shares nothing with
	// the input.
	Object *unstructured.Unstructured
	// Applied are the sources of the patches applied.
	Applied []string
	// Warnings say why an object was rendered as written although it
	// names a release.
	Warnings []string
}

// Render applies the patch for obj's kind under the release its label
// names. Objects without the label are returned as written, as the policy
// does not touch them; so are objects whose release has no patch for their
// kind, with a warning. obj is not modified.
func (r *Renderer) Render(ctx context.Context, obj *unstructured.Unstructured) (Result, error) {
	if obj == nil {
		return Result{}, fmt.Errorf("rendering: no object")
	}
	version := strings.TrimPrefix(labelValue(obj, r.label), "v")
	if version == "" {
		return asWritten(obj, nil)
	}
	kind := obj.GetKind()
	e, err := r.patch(ctx, kind, version)
	if err != nil {
		return Result{}, fmt.Errorf("looking up the patch for %s in v%s: %w", kind, version, err)
	}
	if !e.found {
		return asWritten(obj, []string{fmt.Sprintf("no release ConfigMap for %s in v%s: rendered as written", kind, version)})
	}
	if e.parseErr != nil {
		return Result{}, e.parseErr
	}
	out, applied, err := r.apply(e, obj.Object)
	if err != nil {
		return Result{}, fmt.Errorf("applying the patch in %s: %w", e.source, err)
	}
	if !applied {
		return asWritten(obj, nil)
	}
	return Result{Object: &unstructured.Unstructured{Object: out}, Applied: []string{e.source}}, nil
}

// asWritten is the result for an object the policy leaves alone: a copy.
func asWritten(obj *unstructured.Unstructured, warnings []string) (Result, error) {
	c, err := copyObject(obj.Object, false)
	if err != nil {
		return Result{}, fmt.Errorf("copying %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return Result{Object: &unstructured.Unstructured{Object: c}, Warnings: warnings}, nil
}

// labelValue reads a label without copying the object's labels.
func labelValue(obj *unstructured.Unstructured, label string) string {
	labels, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "metadata", "labels")
	m, _ := labels.(map[string]any)
	v, _ := m[label].(string)
	return v
}

// patch returns the cached entry for kind and version, looking it up the
// first time. Concurrent renders of the same kind and version wait for one
// lookup.
func (r *Renderer) patch(ctx context.Context, kind, version string) (*patchEntry, error) {
	key := patchKey{kind, version}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r.mu.Lock()
		e, ok := r.cache[key]
		if !ok {
			e = &patchEntry{done: make(chan struct{})}
			r.cache[key] = e
			r.mu.Unlock()
			r.load(ctx, e, kind, version)
			if e.lookupErr != nil {
				return nil, e.lookupErr
			}
			return e, nil
		}
		r.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.lookupErr == nil {
			return e, nil
		}
		// The lookup of whoever loaded the entry failed (its context may
		// have ended); the entry is gone, so try again.
	}
}

func (r *Renderer) load(ctx context.Context, e *patchEntry, kind, version string) {
	defer close(e.done)
	defer func() {
		if e.lookupErr != nil {
			r.mu.Lock()
			if r.cache[patchKey{kind, version}] == e {
				delete(r.cache, patchKey{kind, version})
			}
			r.mu.Unlock()
		}
	}()
	text, source, found, err := r.lookup(ctx, kind, version)
	if err != nil {
		e.lookupErr = err
		return
	}
	e.source, e.found = source, found
	if !found {
		return
	}
	e.patch, err = parsePatch(text)
	if err != nil {
		e.parseErr = fmt.Errorf("parsing the patch in %s: %w", source, err)
		return
	}
	if !hasAnyAnchor(e.patch) {
		e.plain = deepCopy(e.patch).(map[string]any)
		pruneMap(e.plain)
	}
	e.listsOfMaps = hasListOfMaps(e.patch)
	e.viaKyaml = r.patchViaKyaml(e.patch)
}

// hasListOfMaps reports whether v holds a list whose first item is a map.
func hasListOfMaps(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if hasListOfMaps(e) {
				return true
			}
		}
	case []any:
		if len(v) > 0 {
			if _, ok := v[0].(map[string]any); ok {
				return true
			}
		}
	}
	return false
}

// parsePatch parses a patch as Kyverno reads it: YAML turned into JSON, so
// that aliases, merge keys and YAML 1.1 scalars resolve as they do there.
// Numbers are read as copyValue makes them after a JSON round trip.
func parsePatch(text string) (map[string]any, error) {
	j, err := sigsyaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return copyObject(v, true)
	default:
		return nil, fmt.Errorf("the patch is a %s, want a map of fields", jsonKind(v))
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "boolean"
	default:
		return "number"
	}
}
