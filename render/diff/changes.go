package diff

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxValueRunes bounds the Before and After of a field change; the unified
// diff holds the whole values.
const maxValueRunes = 200

// fieldChanges lists the changed leaf fields between two objects, sorted by
// path. A field added or removed with everything under it is one change.
func fieldChanges(before, after map[string]any) []FieldChange {
	var out []FieldChange
	walk(&out, "", before, after, true, true)
	slices.SortFunc(out, func(a, b FieldChange) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
	return out
}

func walk(out *[]FieldChange, path string, b, a any, hasB, hasA bool) {
	if hasB && hasA && equal(b, a) {
		return
	}
	bm, bIsMap := b.(map[string]any)
	am, aIsMap := a.(map[string]any)
	if hasB && hasA && bIsMap && aIsMap {
		// In any order: fieldChanges sorts the changes by path.
		for k, bv := range bm {
			av, inA := am[k]
			walk(out, join(path, k), bv, av, true, inA)
		}
		for k, av := range am {
			if _, inB := bm[k]; !inB {
				walk(out, join(path, k), nil, av, false, true)
			}
		}
		return
	}
	bl, bIsList := b.([]any)
	al, aIsList := a.([]any)
	if hasB && hasA && bIsList && aIsList && walkList(out, path, bl, al) {
		return
	}
	c := FieldChange{Path: path}
	if hasB {
		c.Before = compact(b)
	}
	if hasA {
		c.After = compact(a)
	}
	*out = append(*out, c)
}

// walkList compares lists of maps item by item, by key when the items have
// one and by index otherwise. Lists of scalars are not walked: they change
// as a whole.
func walkList(out *[]FieldChange, path string, b, a []any) bool {
	if !allMaps(b) || !allMaps(a) {
		return false
	}
	if key := listKey(b, a); key != "" {
		bi, ai := indexBy(b, key), indexBy(a, key)
		for _, id := range unionIDs(b, a, key) {
			bv, inB := bi[id]
			av, inA := ai[id]
			walk(out, path+"["+key+"="+id+"]", bv, av, inB, inA)
		}
		return true
	}
	for i := range max(len(b), len(a)) {
		var bv, av any
		if i < len(b) {
			bv = b[i]
		}
		if i < len(a) {
			av = a[i]
		}
		walk(out, path+"["+strconv.Itoa(i)+"]", bv, av, i < len(b), i < len(a))
	}
	return true
}

func allMaps(l []any) bool {
	for _, v := range l {
		if _, ok := v.(map[string]any); !ok {
			return false
		}
	}
	return true
}

// listKey returns the field that identifies the items of both lists: the
// first of the usual ones that every item has, as a scalar, with no value
// repeated on a side; "" when there is none.
func listKey(b, a []any) string {
	for _, key := range []string{"name", "path", "key", "mountPath", "devicePath", "containerPort", "port", "type"} {
		if keyed(b, key) && keyed(a, key) {
			return key
		}
	}
	return ""
}

// keyed reports whether every item has a distinct scalar value for key.
func keyed(l []any, key string) bool {
	if len(l) <= 8 {
		// Short lists, the most, without a map.
		for i, v := range l {
			id, ok := itemID(v.(map[string]any), key)
			if !ok {
				return false
			}
			for _, before := range l[:i] {
				if other, _ := itemID(before.(map[string]any), key); other == id {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[string]bool, len(l))
	for _, v := range l {
		id, ok := itemID(v.(map[string]any), key)
		if !ok || seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}

func itemID(m map[string]any, key string) (string, bool) {
	switch v := m[key].(type) {
	case string:
		return v, true
	case int64, float64, bool:
		return compact(v), true
	}
	return "", false
}

func indexBy(l []any, key string) map[string]any {
	m := make(map[string]any, len(l))
	for _, v := range l {
		id, _ := itemID(v.(map[string]any), key)
		m[id] = v
	}
	return m
}

// unionIDs lists the item keys of before in order, then the new ones of
// after.
func unionIDs(b, a []any, key string) []string {
	var ids []string
	seen := map[string]bool{}
	for _, l := range [][]any{b, a} {
		for _, v := range l {
			id, _ := itemID(v.(map[string]any), key)
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func join(path, key string) string {
	if !isPlainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// isPlainKey reports whether a map key is written as is in a path, matching
// ^[A-Za-z_][A-Za-z0-9_-]*$; others are quoted.
func isPlainKey(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return key != ""
}

// compact writes a value for a field change: strings as they are, anything
// else as JSON, cut at maxValueRunes.
func compact(v any) string {
	s, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			s = fmt.Sprint(v)
		} else {
			s = string(b)
		}
	}
	if utf8.RuneCountInString(s) <= maxValueRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxValueRunes]) + "…"
}
