package offline

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/filters/patchstrategicmerge"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// apply applies the entry's patch to object the way Kyverno's
// patchStrategicMerge does: anchors resolved against the object, then a kyaml
// strategic merge. applied is false when a condition of the patch does not
// hold. Only the part of the object the patch reaches is merged, and merges
// of equal parts are done once (see the package documentation).
func (e *patchEntry) apply(object map[string]any) (out map[string]any, applied bool, err error) {
	part := &partial{keys: map[*yaml.Node][]string{}}
	var res *yaml.Node
	if hasDirective(e.patch) {
		res, err = toNode(object) // $patch at the top needs the whole object
	} else {
		res, err = part.build(object, e.patch)
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the object: %w", err)
	}
	key := fingerprint(res)
	m, ok := e.merges.get(key)
	if !ok {
		m = merge(e.patch, res, part)
		e.merges.put(key, m)
	}
	if m.err != nil {
		return nil, false, m.err
	}
	if m.skip {
		return nil, false, nil
	}
	if _, isPartial := m.part.keys[m.merged]; !isPartial {
		v, err := fromNode(m.merged)
		if err != nil {
			return nil, false, fmt.Errorf("reading the merged object: %w", err)
		}
		return v.(map[string]any), true, nil
	}
	if out, err = copyObject(object); err != nil {
		return nil, false, fmt.Errorf("copying the object: %w", err)
	}
	if err := m.part.overlay(out, m.merged); err != nil {
		return nil, false, fmt.Errorf("reading the merged object: %w", err)
	}
	return out, true, nil
}

// merged is the outcome of merging a patch into the partial object it
// reaches. It is shared between renders and never modified.
type merged struct {
	merged *yaml.Node // the merged partial object
	part   *partial   // the partial maps of merged
	skip   bool       // a condition did not hold
	err    error
}

func merge(patch, res *yaml.Node, part *partial) *merged {
	p := yaml.CopyYNode(patch)
	skip, err := resolveAnchors(p, res)
	if err != nil {
		return &merged{err: fmt.Errorf("resolving anchors: %w", err)}
	}
	if skip {
		return &merged{skip: true}
	}
	out, err := patchstrategicmerge.Filter{Patch: yaml.NewRNode(p)}.Filter([]*yaml.RNode{yaml.NewRNode(res)})
	if err != nil {
		return &merged{err: fmt.Errorf("merging: %w", err)}
	}
	if len(out) == 0 || out[0].IsNil() || out[0].YNode().Kind != yaml.MappingNode {
		return &merged{err: fmt.Errorf("the patch deletes the whole object")}
	}
	return &merged{merged: out[0].YNode(), part: part}
}

// memoLimit bounds the merges remembered per patch; past it, merges are
// still done, just not remembered.
const memoLimit = 1024

// memo remembers merges by the fingerprint of the partial object.
type memo struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]*merged
}

func (c *memo) get(k [sha256.Size]byte) (*merged, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.m[k]
	return m, ok
}

func (c *memo) put(k [sha256.Size]byte, m *merged) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[sha256.Size]byte]*merged{}
	}
	if len(c.m) < memoLimit {
		c.m[k] = m
	}
}

// fingerprint hashes everything about a node tree that a merge reads: kinds,
// tags, values and order.
func fingerprint(n *yaml.Node) [sha256.Size]byte {
	return sha256.Sum256(appendNode(nil, n))
}

func appendNode(b []byte, n *yaml.Node) []byte {
	b = append(b, byte(n.Kind))
	b = binary.AppendUvarint(b, uint64(len(n.Tag)))
	b = append(b, n.Tag...)
	b = binary.AppendUvarint(b, uint64(len(n.Value)))
	b = append(b, n.Value...)
	b = binary.AppendUvarint(b, uint64(len(n.Content)))
	for _, c := range n.Content {
		b = appendNode(b, c)
	}
	return b
}

// partial is the part of an object a patch can reach, as nodes: the maps on
// the patch's paths hold only the fields the patch names (plus apiVersion and
// kind, which select a schema), and every other value is complete. keys
// records the fields each of those partial maps started with.
type partial struct {
	keys map[*yaml.Node][]string
}

func (pt *partial) build(obj map[string]any, patch *yaml.Node) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: yaml.NodeTagMap}
	var keys []string
	add := func(name string, pv *yaml.Node) error {
		if slices.Contains(keys, name) {
			return nil
		}
		v, ok := obj[name]
		if !ok {
			return nil
		}
		var vn *yaml.Node
		var err error
		if sub, isMap := v.(map[string]any); isMap && pv != nil && pv.Kind == yaml.MappingNode && !hasDirective(pv) {
			vn, err = pt.build(sub, pv)
		} else {
			vn, err = toNode(v)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		keys = append(keys, name)
		n.Content = append(n.Content, strNode(name), vn)
		return nil
	}
	for i := 0; i+1 < len(patch.Content); i += 2 {
		_, name := parseKey(patch.Content[i].Value)
		if err := add(name, patch.Content[i+1]); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"apiVersion", "kind"} {
		if err := add(name, nil); err != nil {
			return nil, err
		}
	}
	pt.keys[n] = keys
	return n, nil
}

// hasDirective reports whether a patch map holds a strategic merge directive
// such as $patch: replace, which needs the complete value to merge into.
func hasDirective(n *yaml.Node) bool {
	for i := 0; i < len(n.Content); i += 2 {
		if strings.HasPrefix(n.Content[i].Value, "$") {
			return true
		}
	}
	return false
}

// overlay writes the merged partial map m over dst, the complete object:
// fields the merge removed are deleted, partial maps are overlaid in turn and
// every other merged value replaces the one in dst. kyaml merges a map in
// place, so a partial map is recognised by its node.
func (pt *partial) overlay(dst map[string]any, m *yaml.Node) error {
	for _, k := range pt.keys[m] {
		if field(m, k) == nil {
			delete(dst, k)
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, m.Content[i+1]
		if _, isPartial := pt.keys[v]; isPartial && v.Kind == yaml.MappingNode {
			if sub, ok := dst[k].(map[string]any); ok {
				if err := pt.overlay(sub, v); err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
				continue
			}
		}
		val, err := fromNode(v)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		dst[k] = val
	}
	return nil
}
