package offline

import (
	"errors"
	"fmt"
)

// anchor is the kind of a patch key: a plain key or one of Kyverno's anchors.
type anchor int

const (
	plainKey    anchor = iota
	condition          // (key): the patch applies only where the value matches
	global             // <(key): the whole patch applies only where it matches
	addIfAbsent        // +(key): set only when the resource has no such key
	equality           // =(key): validation only
	existence          // ^(key): validation only
	negation           // X(key): validation only
)

// parseKey splits a patch key into its anchor and the key it names.
func parseKey(k string) (anchor, string) {
	if len(k) < 3 || k[len(k)-1] != ')' {
		return plainKey, k
	}
	a, rest := condition, k
	switch k[0] {
	case '<':
		a, rest = global, k[1:]
	case '+':
		a, rest = addIfAbsent, k[1:]
	case '=':
		a, rest = equality, k[1:]
	case '^':
		a, rest = existence, k[1:]
	case 'X':
		a, rest = negation, k[1:]
	}
	if len(rest) < 3 || rest[0] != '(' {
		return plainKey, k
	}
	return a, rest[1 : len(rest)-1]
}

// isConditional reports whether a is a condition of either kind.
func isConditional(a anchor) bool { return a == condition || a == global }

// conditionFailed says that a condition anchor did not match. A failed
// global condition, or any failed condition outside a list item, means the
// patch is not applied at all; a failed condition inside a list item only
// leaves that item out.
type conditionFailed struct{ global bool }

func (c *conditionFailed) Error() string {
	if c.global {
		return "global condition not met"
	}
	return "condition not met"
}

// resolveAnchors returns the plain strategic merge patch Kyverno applies to
// obj, following Kyverno's patchStrategicMerge preprocessing. patch is not
// modified; the result shares nothing with it. skip is true when a condition
// does not hold and the patch must not be applied at all.
func resolveAnchors(patch, obj map[string]any) (resolved map[string]any, skip bool, err error) {
	p := deepCopy(patch).(map[string]any)
	if err := resolveMap(p, obj); err != nil {
		if _, ok := errors.AsType[*conditionFailed](err); ok {
			return nil, true, nil
		}
		return nil, false, err
	}
	pruneMap(p)
	return p, false, nil
}

// resolve resolves the anchors of the patch value p, a private copy, against
// the resource's value r (has says whether the resource has it). It returns
// p, or the list that replaces it.
func resolve(p, r any, has bool) (any, error) {
	switch p := p.(type) {
	case map[string]any:
		return p, resolveMap(p, r)
	case []any:
		return resolveList(p, r, has)
	}
	return p, nil
}

// pathError is an error in the patch at a field path, which is built only
// when there is an error.
type pathError struct {
	path string // "a.b[1].c"; "" at the top
	msg  string
}

func (e *pathError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

// under puts err (a pathError; other errors pass) under a field or, for
// "[i]", a list item.
func under(elem string, err error) error {
	pe, ok := err.(*pathError)
	if !ok {
		return err
	}
	switch {
	case pe.path == "":
		return &pathError{path: elem, msg: pe.msg}
	case pe.path[0] == '[':
		return &pathError{path: elem + pe.path, msg: pe.msg}
	default:
		return &pathError{path: elem + "." + pe.path, msg: pe.msg}
	}
}

// resolveMap resolves the anchors of p in place. Where several fields fail,
// the first in key order decides (as when the patch was walked in order):
// conditions of this map first, global ones before the others.
func resolveMap(p map[string]any, r any) error {
	rm, _ := r.(map[string]any)
	resolveAddIfAbsent(p, rm)
	for _, want := range []anchor{global, condition} {
		for k, v := range p {
			if a, key := parseKey(k); a == want {
				rv, has := rm[key]
				if err := checkCondition(v, rv, has, a == global); err != nil {
					return err
				}
			}
		}
	}
	var firstKey string
	var firstErr error
	for k, v := range p {
		if firstErr != nil && k > firstKey {
			continue
		}
		var err error
		switch a, key := parseKey(k); a {
		case plainKey:
			rv, has := rm[key]
			var nv any
			if nv, err = resolve(v, rv, has); err == nil {
				p[k] = nv
			}
			err = under(key, err)
		case equality, existence, negation:
			err = &pathError{msg: fmt.Sprintf("anchor %q is not supported in a patch (use (key), <(key) or +(key))", k)}
		}
		if err != nil {
			firstKey, firstErr = k, err
		}
	}
	return firstErr
}

// checkCondition checks one condition anchor. A condition whose value is a
// map holding +(key) anchors is not checked; those anchors are resolved
// instead, as Kyverno does.
func checkCondition(want, have any, has, isGlobal bool) error {
	if !has {
		return &conditionFailed{global: isGlobal}
	}
	if w, ok := want.(map[string]any); ok {
		hm, _ := have.(map[string]any)
		if resolveAddIfAbsent(w, hm) > 0 {
			return nil
		}
	}
	if !match(want, have) {
		return &conditionFailed{global: isGlobal}
	}
	return nil
}

// resolveAddIfAbsent drops the +(key) fields of p that r already has and
// turns the others into plain keys (a plain key written next to it wins).
// It returns how many it saw.
func resolveAddIfAbsent(p, r map[string]any) int {
	n := 0
	var added map[string]any
	for k, v := range p {
		a, key := parseKey(k)
		if a != addIfAbsent {
			continue
		}
		n++
		delete(p, k)
		if _, has := r[key]; !has {
			if added == nil {
				added = map[string]any{}
			}
			added[key] = v
		}
	}
	for k, v := range added {
		if _, taken := p[k]; !taken {
			p[k] = v
		}
	}
	return n
}

// resolveList handles a list of maps in the patch. Items without anchors are
// left as they are. An item with anchors is matched against every item of the
// resource's list; for each match (when the resource item has a name) a plain
// copy carrying that name is added to the patch list, and the anchored item
// itself is removed later by pruning. Items with global anchors add nothing:
// they only decide whether the patch applies.
func resolveList(p []any, r any, has bool) ([]any, error) {
	if len(p) == 0 {
		return p, nil
	}
	if _, ok := p[0].(map[string]any); !ok {
		return p, nil
	}
	var items []any
	if has && r != nil {
		l, ok := r.([]any)
		if !ok {
			return nil, &pathError{msg: "the patch has a list where the resource has " + kindName(r)}
		}
		items = l
	}
	out := p
	for i, item := range p {
		if !hasAnchors(item, isAnyAnchor) {
			continue
		}
		hasGlobal := hasAnchors(item, func(a anchor) bool { return a == global })
		globalPassed := false
		var globalErr error
		for _, ri := range items {
			c, err := resolve(deepCopy(item), ri, true)
			if err != nil {
				cf, ok := errors.AsType[*conditionFailed](err)
				if !ok {
					return nil, under(fmt.Sprintf("[%d]", i), err)
				}
				if cf.global {
					globalErr = err
				}
				continue
			}
			if hasGlobal {
				globalPassed = true
				continue
			}
			out = addNamedCopy(out, c, ri)
		}
		if !has { // the resource has no such list (null or [] count as items: none)
			if _, err := resolve(deepCopy(item), nil, false); err != nil {
				cf, ok := errors.AsType[*conditionFailed](err)
				if !ok || cf.global {
					return nil, under(fmt.Sprintf("[%d]", i), err)
				}
				continue
			}
			globalPassed = globalPassed || hasGlobal
		}
		if !globalPassed && globalErr != nil {
			return nil, globalErr
		}
	}
	return out, nil
}

// addNamedCopy appends to list the resolved item c, a private copy, named as
// the resource item it matched, so that a merge by name updates that item.
func addNamedCopy(list []any, c, resourceItem any) []any {
	rm, _ := resourceItem.(map[string]any)
	name, ok := rm["name"]
	if !ok || name == nil || name == "" {
		return list
	}
	m, ok := c.(map[string]any)
	if !ok || pruneMap(m) {
		return list
	}
	m["name"] = deepCopy(name)
	return append(list, m)
}

// isAnyAnchor reports the anchors that make a list item conditional.
func isAnyAnchor(a anchor) bool { return isConditional(a) || a == addIfAbsent }

// hasAnchors reports whether v holds, at any depth, a key with an anchor
// that pred accepts. String values written like a condition ("(x)") count,
// as they do in Kyverno.
func hasAnchors(v any, pred func(anchor) bool) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if a, _ := parseKey(k); a != plainKey && pred(a) {
				return true
			}
			if hasAnchors(e, pred) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasAnchors(e, pred) {
				return true
			}
		}
	case string:
		a, _ := parseKey(v)
		return isConditional(a) && pred(a)
	}
	return false
}

// prune removes what is left of the anchors once they are resolved. It
// returns the pruned value and whether it should be dropped from its parent:
// a scalar that only served as a condition (dropScalar), a map or list that
// is left empty.
func prune(v any, dropScalar bool) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return v, pruneMap(v)
	case []any:
		return pruneList(v)
	}
	return v, dropScalar
}

// pruneMap drops the condition fields of a map that only held conditions,
// turns the remaining condition keys into plain keys (a plain key written
// next to one wins), drops empty values and reports whether the map is left
// empty.
func pruneMap(m map[string]any) bool {
	var renamed map[string]any
	for k, v := range m {
		a, key := parseKey(k)
		if !isConditional(a) {
			continue
		}
		delete(m, k)
		if v, drop := prune(v, true); !drop {
			if renamed == nil {
				renamed = map[string]any{}
			}
			renamed[key] = v
		}
	}
	for k, v := range renamed {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	for k, v := range m {
		if v, drop := prune(v, false); drop {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return len(m) == 0
}

// pruneList drops the anchored items of a list (their resolved copies were
// added by name) and items left empty, and reports whether a list that had
// items is left with none.
func pruneList(l []any) ([]any, bool) {
	if len(l) == 0 {
		return l, false
	}
	out := l[:0]
	for _, e := range l {
		if hasAnchors(e, isAnyAnchor) {
			continue
		}
		if e, drop := prune(e, false); !drop {
			out = append(out, e)
		}
	}
	return out, len(out) == 0
}

// hasAnyAnchor reports whether a patch holds anything anchor resolution
// depends on the resource for.
func hasAnyAnchor(v any) bool { return hasAnchors(v, func(anchor) bool { return true }) }

// checkLists does for a patch without anchors what resolving would check:
// that a list of maps in the patch meets a list (or nothing) in the resource.
func checkLists(p, r any, has bool) error {
	switch p := p.(type) {
	case map[string]any:
		rm, _ := r.(map[string]any)
		var firstKey string
		var firstErr error
		for k, v := range p {
			rv, has := rm[k]
			if err := checkLists(v, rv, has); err != nil && (firstErr == nil || k < firstKey) {
				firstKey, firstErr = k, under(k, err)
			}
		}
		return firstErr
	case []any:
		if len(p) == 0 || !has || r == nil {
			return nil
		}
		if _, ok := p[0].(map[string]any); !ok {
			return nil
		}
		if _, ok := r.([]any); !ok {
			return &pathError{msg: "the patch has a list where the resource has " + kindName(r)}
		}
	}
	return nil
}

func kindName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	default:
		return "a scalar"
	}
}
