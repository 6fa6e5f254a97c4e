package offline

import (
	"errors"
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/yaml"
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
type conditionFailed struct {
	global bool
	path   string
	reason string
}

func (c *conditionFailed) Error() string {
	return fmt.Sprintf("condition at %s not met: %s", c.path, c.reason)
}

// resolveAnchors rewrites patch, a private copy, into the plain strategic
// merge patch Kyverno applies to resource, following Kyverno's
// patchStrategicMerge preprocessing. skip is true when a condition does not
// hold and the patch must not be applied at all.
func resolveAnchors(patch, resource *yaml.Node) (skip bool, err error) {
	if err := resolve(patch, resource, ""); err != nil {
		if _, ok := errors.AsType[*conditionFailed](err); ok {
			return true, nil
		}
		return false, err
	}
	pruneMap(patch)
	return false, nil
}

func resolve(p, r *yaml.Node, path string) error {
	switch p.Kind {
	case yaml.MappingNode:
		return resolveMap(p, r, path)
	case yaml.SequenceNode:
		return resolveList(p, r, path)
	}
	return nil
}

func resolveMap(p, r *yaml.Node, path string) error {
	if r != nil && r.Kind != yaml.MappingNode {
		r = nil
	}
	resolveAddIfAbsent(p, r)
	for _, want := range []anchor{global, condition} {
		for i := 0; i < len(p.Content); i += 2 {
			a, key := parseKey(p.Content[i].Value)
			if a != want {
				continue
			}
			if err := checkCondition(p.Content[i+1], field(r, key), a == global, join(path, key)); err != nil {
				return err
			}
		}
	}
	for i := 0; i < len(p.Content); i += 2 {
		a, key := parseKey(p.Content[i].Value)
		switch a {
		case plainKey:
			if err := resolve(p.Content[i+1], field(r, key), join(path, key)); err != nil {
				return err
			}
		case equality, existence, negation:
			return fmt.Errorf("%s: anchor %q is not supported in a patch (use (key), <(key) or +(key))", path, p.Content[i].Value)
		}
	}
	return nil
}

// checkCondition checks one condition anchor. A condition whose value is a
// map holding +(key) anchors is not checked; those anchors are resolved
// instead, as Kyverno does.
func checkCondition(want, have *yaml.Node, isGlobal bool, path string) error {
	if have == nil {
		return &conditionFailed{global: isGlobal, path: path, reason: "the resource has no such field"}
	}
	if want.Kind == yaml.MappingNode && resolveAddIfAbsent(want, have) > 0 {
		return nil
	}
	if reason := match(want, have); reason != "" {
		return &conditionFailed{global: isGlobal, path: path, reason: reason}
	}
	return nil
}

// resolveAddIfAbsent drops the +(key) fields of p that r already has and
// turns the others into plain keys. It returns how many it saw.
func resolveAddIfAbsent(p, r *yaml.Node) int {
	n := 0
	out := p.Content[:0]
	for i := 0; i < len(p.Content); i += 2 {
		k, v := p.Content[i], p.Content[i+1]
		if a, key := parseKey(k.Value); a == addIfAbsent {
			n++
			if field(r, key) != nil {
				continue
			}
			k.Value = key
		}
		out = append(out, k, v)
	}
	p.Content = out
	return n
}

// resolveList handles a list of maps in the patch. Items without anchors are
// left as they are. An item with anchors is matched against every item of the
// resource's list; for each match (when the resource item has a name) a plain
// copy carrying that name is added to the patch list, and the anchored item
// itself is removed later by pruning. Items with global anchors add nothing:
// they only decide whether the patch applies.
func resolveList(p, r *yaml.Node, path string) error {
	if len(p.Content) == 0 || p.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	var items []*yaml.Node
	if r != nil && !isNull(r) {
		if r.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: the patch has a list where the resource has %s", path, kindName(r))
		}
		items = r.Content
	}
	original := p.Content // named copies are appended to p.Content below
	for i, item := range original {
		if !hasAnchors(item, isAnyAnchor) {
			continue
		}
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		hasGlobal := hasAnchors(item, func(a anchor) bool { return a == global })
		globalPassed := false
		var globalErr error
		for _, ri := range items {
			c := yaml.CopyYNode(item)
			if err := resolve(c, ri, itemPath); err != nil {
				cf, ok := errors.AsType[*conditionFailed](err)
				if !ok {
					return err
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
			addNamedCopy(p, c, ri)
		}
		if r == nil { // the resource has no such list (null or [] count as items: none)
			c := yaml.CopyYNode(item)
			if err := resolve(c, nil, itemPath); err != nil {
				cf, ok := errors.AsType[*conditionFailed](err)
				if !ok || cf.global {
					return err
				}
				continue
			}
			globalPassed = globalPassed || hasGlobal
		}
		if !globalPassed && globalErr != nil {
			return globalErr
		}
	}
	return nil
}

// addNamedCopy appends to list a plain copy of the resolved item c, named as
// the resource item it matched, so that a merge by name updates that item.
func addNamedCopy(list, c, resourceItem *yaml.Node) {
	name := field(resourceItem, "name")
	if name == nil || isNull(name) || (name.Kind == yaml.ScalarNode && name.Value == "") {
		return
	}
	c = yaml.CopyYNode(c)
	if c.Kind != yaml.MappingNode || pruneMap(c) {
		return
	}
	setField(c, "name", yaml.CopyYNode(name))
	list.Content = append(list.Content, c)
}

// isAnyAnchor reports the anchors that make a list item conditional.
func isAnyAnchor(a anchor) bool { return isConditional(a) || a == addIfAbsent }

// hasAnchors reports whether n holds, at any depth, a key with an anchor
// that pred accepts. Scalar values written like a condition ("(x)") count,
// as they do in Kyverno.
func hasAnchors(n *yaml.Node, pred func(anchor) bool) bool {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			if a, _ := parseKey(n.Content[i].Value); a != plainKey && pred(a) {
				return true
			}
			if hasAnchors(n.Content[i+1], pred) {
				return true
			}
		}
	case yaml.SequenceNode:
		for _, e := range n.Content {
			if hasAnchors(e, pred) {
				return true
			}
		}
	case yaml.ScalarNode:
		a, _ := parseKey(n.Value)
		return isConditional(a) && pred(a)
	}
	return false
}

// prune removes what is left of the anchors once they are resolved and
// reports whether n itself should be dropped from its parent: a scalar that
// only served as a condition (dropScalar), a map or list that is left empty.
func prune(n *yaml.Node, dropScalar bool) bool {
	switch n.Kind {
	case yaml.MappingNode:
		return pruneMap(n)
	case yaml.SequenceNode:
		return pruneList(n)
	case yaml.ScalarNode:
		return dropScalar
	}
	return false
}

// pruneMap drops the condition fields of a map that only held conditions,
// turns the remaining condition keys into plain keys, drops empty values and
// reports whether the map is left empty.
func pruneMap(n *yaml.Node) bool {
	out := n.Content[:0]
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		a, key := parseKey(k.Value)
		if isConditional(a) {
			if prune(v, true) {
				continue
			}
			k.Value = key
		}
		out = append(out, k, v)
	}
	n.Content = out
	out = n.Content[:0]
	for i := 0; i < len(n.Content); i += 2 {
		if !prune(n.Content[i+1], false) {
			out = append(out, n.Content[i], n.Content[i+1])
		}
	}
	n.Content = out
	return len(n.Content) == 0
}

// pruneList drops the anchored items of a list (their resolved copies were
// added by name) and items left empty, and reports whether a list that had
// items is left with none.
func pruneList(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return false
	}
	out := n.Content[:0]
	for _, e := range n.Content {
		if hasAnchors(e, isAnyAnchor) || prune(e, false) {
			continue
		}
		out = append(out, e)
	}
	n.Content = out
	return len(n.Content) == 0
}

// field returns the value of key in map n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func setField(n *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content[i+1] = v
			return
		}
	}
	n.Content = append(n.Content, strNode(key), v)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == yaml.NodeTagNull
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a scalar"
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
