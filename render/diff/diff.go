// Package diff compares files and rendered Kubernetes resources and presents
// the differences: unified text for terminals and git, markdown for pull
// request comments, and per-field changes for JSON.
//
// Secret values never leave this package: before a core v1 Secret is
// written or compared field by field, every value of its data and
// stringData is replaced by "(sensitive)", or by "(sensitive, changed)" where
// it differs from the value before, so that a change shows but no value.
package diff

import (
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Status says how a resource differs between before and after.
type Status string

// The statuses of a resource.
const (
	StatusChanged   Status = "changed"
	StatusUnchanged Status = "unchanged"
	StatusAdded     Status = "added"
	StatusRemoved   Status = "removed"
)

// FieldChange is one changed field of a resource.
type FieldChange struct {
	// Path is the field, dotted, with list items by key or index:
	// spec.kubeadmConfigSpec.files[path=/etc/x].content, metadata.labels["a/b"].
	Path string `json:"path"`
	// Before and After are the values, strings as they are and anything
	// else as compact JSON, shortened when long; "" on the side where the
	// field is absent.
	Before string `json:"before"`
	After  string `json:"after"`
}

// Resource is the difference of one resource.
type Resource struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Namespace  string        `json:"namespace"`
	Name       string        `json:"name"`
	Status     Status        `json:"status"`
	Unified    string        `json:"diff"` // unified diff of the YAML; "" when unchanged
	Changes    []FieldChange `json:"changes"`
}

// ID is "Kind namespace/name", or "Kind name" for cluster-scoped resources.
func (r Resource) ID() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Objects compares a resource before and after. Either may be nil: the
// resource is then added or removed. Volatile metadata, the last-applied
// annotation and status are ignored, and Secret values are masked.
func Objects(before, after *unstructured.Unstructured) (Resource, error) {
	id := after
	if id == nil {
		id = before
	}
	if id == nil {
		return Resource{}, fmt.Errorf("diffing resources: neither before nor after is given")
	}
	r := Resource{APIVersion: id.GetAPIVersion(), Kind: id.GetKind(), Namespace: id.GetNamespace(), Name: id.GetName()}
	b, a := clean(before), clean(after)
	maskSecretPair(b, a)
	if b != nil && a != nil && equal(b.Object, a.Object) {
		r.Status = StatusUnchanged // without writing YAML, which is slow
		return r, nil
	}

	oldText, err := toYAML(b)
	if err != nil {
		return Resource{}, fmt.Errorf("diffing %s: writing the old version: %w", r.ID(), err)
	}
	newText, err := toYAML(a)
	if err != nil {
		return Resource{}, fmt.Errorf("diffing %s: writing the new version: %w", r.ID(), err)
	}
	oldLabel, newLabel := "a/"+resourcePath(r), "b/"+resourcePath(r)
	switch {
	case b == nil:
		r.Status, oldLabel = StatusAdded, "/dev/null"
	case a == nil:
		r.Status, newLabel = StatusRemoved, "/dev/null"
	case oldText == newText:
		r.Status = StatusUnchanged
		return r, nil
	default:
		r.Status = StatusChanged
		r.Changes = fieldChanges(b.Object, a.Object)
	}
	r.Unified, err = unified(oldLabel, newLabel, oldText, newText)
	if err != nil {
		return Resource{}, fmt.Errorf("diffing %s: %w", r.ID(), err)
	}
	return r, nil
}

func resourcePath(r Resource) string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// clean returns obj without the fields that change on their own: the
// metadata the API server sets, the last-applied annotation, status. It
// copies the maps it removes fields from and shares everything else with
// obj, which nothing in this package changes (maskSecretPair copies the
// maps it masks).
func clean(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj == nil {
		return nil
	}
	c := make(map[string]any, len(obj.Object))
	for k, v := range obj.Object {
		if k != "status" {
			c[k] = v
		}
	}
	if md, ok := c["metadata"].(map[string]any); ok {
		c["metadata"] = cleanMetadata(md)
	}
	return &unstructured.Unstructured{Object: c}
}

// cleanMetadata returns a copy of md without the volatile fields and the
// last-applied annotation, and without annotations when none are left.
func cleanMetadata(md map[string]any) map[string]any {
	c := make(map[string]any, len(md))
	for k, v := range md {
		switch k {
		case "resourceVersion", "uid", "generation", "creationTimestamp", "managedFields", "selfLink":
			continue // set by the API server
		}
		if a, ok := v.(map[string]any); ok && k == "annotations" {
			if _, found := a[lastApplied]; found {
				a = maps.Clone(a)
				delete(a, lastApplied)
			}
			if len(a) == 0 {
				continue
			}
			v = a
		}
		c[k] = v
	}
	return c
}

func toYAML(obj *unstructured.Unstructured) (string, error) {
	if obj == nil {
		return "", nil
	}
	b, err := marshalYAML(obj.Object)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// marshalYAML writes obj as sigs.k8s.io/yaml.Marshal does: with the fast
// writer of yaml.go, or with yaml.Marshal itself where the fast writer
// leaves obj to it.
func marshalYAML(obj map[string]any) ([]byte, error) {
	if b, ok := appendYAML(make([]byte, 0, 1024), obj); ok {
		return b, nil
	}
	return yaml.Marshal(obj)
}

// unified is the unified diff of two texts with three lines of context, ""
// when they are equal.
func unified(oldLabel, newLabel, old, new string) (string, error) {
	if old == new {
		return "", nil
	}
	u, err := udiff.ToUnifiedDiff(oldLabel, newLabel, old, udiff.Lines(old, new), udiff.DefaultContextLines)
	if err != nil {
		return "", fmt.Errorf("computing the unified diff: %w", err)
	}
	fixHunkStarts(u.Hunks)
	return writeUnified(u), nil
}

// writeUnified is u.String() without fmt, which was a good part of the
// cost of a diff.
func writeUnified(u udiff.UnifiedDiff) string {
	if len(u.Hunks) == 0 {
		return ""
	}
	n := len(u.From) + len(u.To) + 10
	for _, h := range u.Hunks {
		n += 32
		for _, l := range h.Lines {
			n += len(l.Content) + 1
		}
	}
	b := make([]byte, 0, n)
	b = append(append(append(b, "--- "...), u.From...), '\n')
	b = append(append(append(b, "+++ "...), u.To...), '\n')
	for _, h := range u.Hunks {
		fromCount, toCount := 0, 0
		for _, l := range h.Lines {
			switch l.Kind {
			case udiff.Delete:
				fromCount++
			case udiff.Insert:
				toCount++
			default:
				fromCount++
				toCount++
			}
		}
		b = append(b, "@@ -"...)
		b = appendRange(b, h.FromLine, fromCount)
		b = append(b, " +"...)
		b = appendRange(b, h.ToLine, toCount)
		b = append(b, " @@\n"...)
		for _, l := range h.Lines {
			switch l.Kind {
			case udiff.Delete:
				b = append(b, '-')
			case udiff.Insert:
				b = append(b, '+')
			default:
				b = append(b, ' ')
			}
			b = append(b, l.Content...)
			if !strings.HasSuffix(l.Content, "\n") {
				b = append(b, "\n\\ No newline at end of file\n"...)
			}
		}
	}
	return string(b)
}

// appendRange writes the start and count of a hunk's side as go-udiff
// does: "start,count", "start" for one line, "0,0" for none at the start.
func appendRange(b []byte, start, count int) []byte {
	switch {
	case count > 1:
		b = strconv.AppendInt(b, int64(start), 10)
		b = append(b, ',')
		return strconv.AppendInt(b, int64(count), 10)
	case start == 1 && count == 0:
		return append(b, "0,0"...)
	}
	return strconv.AppendInt(b, int64(start), 10)
}

// fixHunkStarts recomputes where each hunk starts in the new text. go-udiff
// (like the x/tools code it comes from, golang/go#81453) forgets the
// unchanged lines it joins into a hunk, so every later hunk's "+start" is
// too small by their number. The "-start" is right, and a hunk starts in the
// new text where it starts in the old, moved by the lines that the hunks
// before it added or removed.
func fixHunkStarts(hunks []*udiff.Hunk) {
	shift := 0
	for _, h := range hunks {
		h.ToLine = h.FromLine + shift
		for _, l := range h.Lines {
			switch l.Kind {
			case udiff.Insert:
				shift++
			case udiff.Delete:
				shift--
			}
		}
	}
}

// File is the difference of one file in the repository.
type File struct {
	Path    string `json:"path"`
	Unified string `json:"diff"` // "" when the contents are equal
}

// Files compares two versions of the file at path (slash-separated,
// relative to the repository). Line endings are kept as they are; a missing
// final newline is marked as git marks it.
func Files(path string, before, after []byte) File {
	u, err := unified("a/"+path, "b/"+path, string(before), string(after))
	if err != nil {
		// The edits come from the same texts, so this does not happen;
		// a plain replacement is still a correct diff.
		u = replacement("a/"+path, "b/"+path, string(before), string(after))
	}
	return File{Path: path, Unified: u}
}

// replacement is a unified diff that removes all of old and adds all of new.
func replacement(oldLabel, newLabel, old, new string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n@@ -1,%d +1,%d @@\n", oldLabel, newLabel, countLines(old), countLines(new))
	writeLines(&b, "-", old)
	writeLines(&b, "+", new)
	return b.String()
}

func countLines(s string) int {
	n := strings.Count(s, "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}

func writeLines(b *strings.Builder, prefix, s string) {
	for line := range strings.Lines(s) {
		b.WriteString(prefix)
		b.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			b.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// Masks written in place of Secret values.
const (
	sensitive        = "(sensitive)"
	sensitiveChanged = "(sensitive, changed)"
)

// MaskSecret returns a copy of obj in which, when obj is a core v1 Secret,
// every value of data and stringData, and the last-applied-configuration
// annotation (which repeats them), is replaced by "(sensitive)". Other
// objects are copied as they are. nil gives nil.
func MaskSecret(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj == nil {
		return nil
	}
	c := deepCopy(obj)
	maskSecretPair(c, nil)
	if isSecret(c) {
		if _, ok, _ := unstructured.NestedFieldNoCopy(c.Object, "metadata", "annotations", lastApplied); ok {
			_ = unstructured.SetNestedField(c.Object, sensitive, "metadata", "annotations", lastApplied)
		}
	}
	return c
}

func isSecret(obj *unstructured.Unstructured) bool {
	return obj != nil && obj.GetKind() == "Secret" && (obj.GetAPIVersion() == "v1" || obj.GetAPIVersion() == "")
}

// maskSecretPair masks the Secret values of before and after in place. A
// value that differs from the one before is masked as changed, so that a
// change still shows.
func maskSecretPair(before, after *unstructured.Unstructured) {
	for _, field := range []string{"data", "stringData"} {
		b, a := secretValues(before, field), secretValues(after, field)
		for k, v := range a {
			if old, ok := b[k]; ok && !equal(old, v) {
				a[k] = sensitiveChanged
			} else {
				a[k] = sensitive
			}
		}
		for k := range b {
			b[k] = sensitive
		}
	}
}

// secretValues puts a copy of the map of values in field of a Secret in its
// place and returns it; nil for other objects. A field that is not a map is
// masked whole.
func secretValues(obj *unstructured.Unstructured, field string) map[string]any {
	if !isSecret(obj) {
		return nil
	}
	v, ok := obj.Object[field]
	if !ok || v == nil {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		obj.Object[field] = sensitive
		return nil
	}
	// The values are replaced: copy the map, which may be the caller's.
	m = maps.Clone(m)
	obj.Object[field] = m
	return m
}

// deepCopy copies the maps and lists of obj. Unlike obj.DeepCopy it does not
// panic on values of types JSON decoding does not produce; they are kept as
// they are (and reported when the object is written as YAML).
func deepCopy(obj *unstructured.Unstructured) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: copyValue(obj.Object).(map[string]any)}
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, val := range v {
			m[k] = copyValue(val)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, val := range v {
			s[i] = copyValue(val)
		}
		return s
	default:
		return v
	}
}

// equal reports whether two values are deeply equal, as reflect.DeepEqual
// does, without reflection for the types of unstructured objects.
func equal(a, b any) bool {
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return ok && a == b
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		if reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() {
			return true // the same map, as DeepEqual has it even with NaN inside
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		if len(a) > 0 && &a[0] == &b[0] {
			return true // the same list
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case int64:
		b, ok := b.(int64)
		return ok && a == b
	case float64:
		b, ok := b.(float64)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	}
	return reflect.DeepEqual(a, b)
}
