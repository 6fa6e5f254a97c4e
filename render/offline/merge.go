package offline

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/api/filters/patchstrategicmerge"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// errDeletesObject is the error of a patch that deletes the whole object.
var errDeletesObject = errors.New("the patch deletes the whole object")

// apply applies the entry's patch to object the way Kyverno's
// patchStrategicMerge does: anchors resolved against the object, then a
// strategic merge. applied is false when a condition of the patch does not
// hold. out shares nothing with object or the patch.
func (r *Renderer) apply(e *patchEntry, object map[string]any) (out map[string]any, applied bool, err error) {
	out, viaKyaml, err := r.readObject(object)
	if err != nil {
		return nil, false, fmt.Errorf("reading the object: %w", err)
	}
	patch := e.plain
	if patch == nil {
		var skip bool
		if patch, skip, err = resolveAnchors(e.patch, out); err != nil {
			return nil, false, fmt.Errorf("resolving anchors: %w", err)
		}
		if skip {
			return nil, false, nil
		}
	} else if e.listsOfMaps {
		if err := checkLists(e.patch, out, true); err != nil {
			return nil, false, fmt.Errorf("resolving anchors: %w", err)
		}
	}
	if e.viaKyaml || viaKyaml {
		out, err = mergeKyaml(out, patch)
	} else {
		out, err = mergeNative(out, patch)
	}
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// readObject copies obj as copyObject(obj, true) does. viaKyaml reports
// whether only kyaml's merge can merge into it (see the package
// documentation): obj itself or a map reached from it through maps (kyaml
// does not walk into lists without a schema) names an apiVersion and kind
// kyaml has the OpenAPI schema of (Kubernetes' own kinds), or has an empty
// key.
func (r *Renderer) readObject(obj map[string]any) (out map[string]any, viaKyaml bool, err error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	_, emptyKey := obj[""]
	viaKyaml = emptyKey || r.hasSchema(apiVersion, kind)
	out = make(map[string]any, len(obj))
	for k, v := range obj {
		var c any
		if m, ok := v.(map[string]any); ok {
			var t bool
			c, t, err = r.readObject(m)
			viaKyaml = viaKyaml || t
		} else {
			c, err = copyValue(v, true)
		}
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = c
	}
	return out, viaKyaml, nil
}

// patchViaKyaml is readObject's viaKyaml for a patch: kind and apiVersion
// written with an anchor, or with other than strings, count too.
func (r *Renderer) patchViaKyaml(patch map[string]any) bool {
	if _, emptyKey := patch[""]; emptyKey {
		return true
	}
	var apiVersion, kind any
	var anchored bool
	for k, v := range patch {
		a, key := parseKey(k)
		switch key {
		case "apiVersion":
			apiVersion, anchored = v, anchored || a != plainKey
		case "kind":
			kind, anchored = v, anchored || a != plainKey
		}
	}
	if apiVersion != nil && kind != nil {
		a, aok := apiVersion.(string)
		k, kok := kind.(string)
		if anchored || !aok || !kok || r.hasSchema(a, k) {
			return true
		}
	}
	for _, v := range patch {
		if m, ok := v.(map[string]any); ok && r.patchViaKyaml(m) {
			return true
		}
	}
	return false
}

// hasSchema reports whether kyaml has the OpenAPI schema of a kind. Its
// schemas are of Kubernetes' own API groups (and kustomize's), so no other
// group is looked up: that spares reading kyaml's schema, which takes a
// while, where no object needs it.
func (r *Renderer) hasSchema(apiVersion, kind string) bool {
	if apiVersion == "" || kind == "" || !kubernetesGroup(apiVersion) {
		return false
	}
	t := yaml.TypeMeta{APIVersion: apiVersion, Kind: kind}
	if v, ok := r.schemas.Load(t); ok {
		return v.(bool)
	}
	has := openapi.SchemaForResourceType(t) != nil
	r.schemas.Store(t, has)
	return has
}

// kubernetesGroup reports whether apiVersion may be of one of Kubernetes'
// own API groups: the core group, groups without a dot (apps, batch) and
// groups under k8s.io (networking.k8s.io; not x-k8s.io).
func kubernetesGroup(apiVersion string) bool {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return true
	}
	return !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io")
}

// mergeKyaml merges patch into obj with kyaml's merge, as Kyverno does.
func mergeKyaml(obj, patch map[string]any) (map[string]any, error) {
	res, err := toNode(obj)
	if err != nil {
		return nil, fmt.Errorf("reading the object: %w", err)
	}
	p, err := toNode(patch)
	if err != nil {
		return nil, fmt.Errorf("reading the patch: %w", err)
	}
	out, err := patchstrategicmerge.Filter{Patch: yaml.NewRNode(p)}.Filter([]*yaml.RNode{yaml.NewRNode(res)})
	if err != nil {
		return nil, fmt.Errorf("merging: %w", err)
	}
	if len(out) == 0 || out[0].IsNil() || out[0].YNode().Kind != yaml.MappingNode {
		return nil, errDeletesObject
	}
	v, err := fromNode(out[0].YNode())
	if err != nil {
		return nil, fmt.Errorf("reading the merged object: %w", err)
	}
	return v.(map[string]any), nil
}

// The native merge below is what kyaml's merge2 (walk.Walker with
// merge2.Merger, list items of the patch prepended) does where it has no
// schema, on the values of a JSON round trip; see the package documentation
// for the rules. The names follow kyaml: dest is the object's value, origin
// the patch's.

// directiveKey is the strategic merge patch directive key.
const directiveKey = "$patch"

// directive is a map's $patch directive.
type directive int

const (
	dirMerge   directive = iota // no directive, or $patch: merge
	dirReplace                  // $patch: replace
	dirDelete                   // $patch: delete
	dirUnknown                  // any other value, kept as a field where kyaml ignores the error
)

// directiveOf reads the $patch directive of a patch map. A known directive
// is removed from the map by the merge; an unknown one is an error.
func directiveOf(m map[string]any) (directive, error) {
	v, ok := m[directiveKey]
	if !ok {
		return dirMerge, nil
	}
	switch v {
	case "merge":
		return dirMerge, nil
	case "replace":
		return dirReplace, nil
	case "delete":
		return dirDelete, nil
	}
	return dirUnknown, fmt.Errorf("unknown patch strategy %s", describe(v))
}

// mergeError is an error of the native merge at a field path.
type mergeError struct {
	path string
	err  error
}

func (e *mergeError) Error() string { return e.err.Error() + " (at " + e.path + ")" }
func (e *mergeError) Unwrap() error { return e.err }

// at puts err under key: a path grows from the field that failed outwards.
func at(key string, err error) error {
	if me, ok := errors.AsType[*mergeError](err); ok {
		return &mergeError{path: key + "." + me.path, err: me.err}
	}
	return &mergeError{path: key, err: err}
}

// mergeNative merges patch, which it does not modify, into obj, a private
// copy it modifies and returns.
func mergeNative(obj, patch map[string]any) (map[string]any, error) {
	d, err := directiveOf(patch)
	if err == nil {
		switch d {
		case dirDelete:
			return nil, errDeletesObject
		case dirReplace:
			obj, err = fresh(patch, false)
		default:
			err = mergeMap(obj, patch)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("merging: %w", err)
	}
	return obj, nil
}

// mergeMap merges the fields of origin into dest, in place. Fields only
// dest has are kept as they are. Where several fields fail, the first in key
// order is reported, as kyaml walks fields in order.
func mergeMap(dest, origin map[string]any) error {
	var firstKey string
	var firstErr error
	for k, ov := range origin {
		if k == directiveKey {
			continue // a known directive: the merge removes it
		}
		if firstErr != nil && k > firstKey {
			continue
		}
		dv, has := dest[k]
		v, keep, err := mergeField(dv, has, ov)
		switch {
		case err != nil:
			firstKey, firstErr = k, at(k, err)
		case keep:
			dest[k] = v
		default:
			delete(dest, k)
		}
	}
	return firstErr
}

// mergeField merges the patch's value origin of a field into the object's
// value dest (has is false when the object has no such field). keep is
// false when the field is to be removed.
func mergeField(dest any, has bool, origin any) (v any, keep bool, err error) {
	if origin == nil {
		return nil, false, nil // null deletes
	}
	if dest != nil && kindName(dest) != kindName(origin) {
		return nil, false, fmt.Errorf("wrong node kind: the patch has %s where the object has %s", kindName(origin), kindName(dest))
	}
	switch o := origin.(type) {
	case map[string]any:
		if dest == nil { // absent or null: the patch's map, its directives applied
			m, err := fresh(o, true)
			return m, m != nil, err
		}
		d, err := directiveOf(o)
		switch {
		case err != nil:
			return nil, false, err
		case d == dirDelete:
			return nil, false, nil
		case d == dirReplace:
			m, err := fresh(o, false)
			return m, m != nil, err
		}
		dm := dest.(map[string]any)
		return dm, true, mergeMap(dm, o)
	case []any:
		return deepCopy(o), true, nil // lists are replaced whole
	default:
		return o, true, nil
	}
}

// fresh returns what the merge makes of a patch map where the object has
// nothing to merge it with: a copy with its directives applied and its null
// fields removed; nil when $patch: delete removes it. lenient is kyaml's
// handling of the map itself where the object has no such field: an unknown
// directive is no error and is kept as a field.
func fresh(m map[string]any, lenient bool) (map[string]any, error) {
	d, err := directiveOf(m)
	if err != nil && !lenient {
		return nil, err
	}
	if d == dirDelete {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	var firstKey string
	var firstErr error
	for k, v := range m {
		if k == directiveKey && d != dirUnknown {
			continue
		}
		if firstErr != nil && k > firstKey {
			continue
		}
		var err error
		switch v := v.(type) {
		case nil:
		case map[string]any:
			var c map[string]any
			if c, err = fresh(v, false); c != nil {
				out[k] = c
			}
		case []any:
			out[k] = deepCopy(v)
		default:
			out[k] = v
		}
		if err != nil {
			firstKey, firstErr = k, at(k, err)
		}
	}
	return out, firstErr
}

// describe names a value in messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case map[string]any, []any:
		return kindName(v)
	default:
		return fmt.Sprint(v)
	}
}
