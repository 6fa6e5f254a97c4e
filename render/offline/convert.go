package offline

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Objects travel between unstructured maps and kyaml nodes the way they travel
// through Kyverno: as JSON. Kyverno marshals the resource and the patch to
// JSON and parses that JSON into nodes; the converters here build the same
// nodes directly from Go values (no text in between), and turn nodes back into
// the values encoding/json would have produced (int64 for integers, float64
// for other numbers).

// toNode builds the node a YAML parser would produce from the JSON encoding of
// v. v holds the types of unstructured objects and of JSON decoding.
func toNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: yaml.NodeTagMap, Content: make([]*yaml.Node, 0, 2*len(v))}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			vn, err := toNode(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			n.Content = append(n.Content, strNode(k), vn)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: yaml.NodeTagSeq, Content: make([]*yaml.Node, 0, len(v))}
		for i, val := range v {
			vn, err := toNode(val)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			n.Content = append(n.Content, vn)
		}
		return n, nil
	case string:
		return strNode(v), nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagNull, Value: "null"}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagBool, Value: strconv.FormatBool(v)}, nil
	case int64:
		return intNode(strconv.FormatInt(v, 10)), nil
	case int:
		return intNode(strconv.Itoa(v)), nil
	case int32:
		return intNode(strconv.FormatInt(int64(v), 10)), nil
	case float64:
		return floatNode(v)
	case json.Number:
		return numberNode(string(v)), nil
	default:
		return nil, fmt.Errorf("unsupported value of type %T", v)
	}
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: s}
}

func intNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: s}
}

// floatNode writes f as encoding/json would, so that 2.0 becomes the
// integer 2 as it does after a JSON round trip.
func floatNode(f float64) (*yaml.Node, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("unsupported number %v", f)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encoding %v: %w", f, err)
	}
	return numberNode(string(b)), nil
}

func numberNode(s string) *yaml.Node {
	if strings.ContainsAny(s, ".eE") {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagFloat, Value: s}
	}
	return intNode(s)
}

// fromNode turns a node into the value encoding/json produces for its JSON
// form.
func fromNode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return fromNode(n.Content[0])
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("alias *%s has no anchor", n.Value)
		}
		return fromNode(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			val, err := fromNode(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.Value, err)
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			val, err := fromNode(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			s = append(s, val)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	default:
		return nil, fmt.Errorf("unsupported YAML node kind %d", n.Kind)
	}
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case yaml.NodeTagNull:
		return nil, nil
	case yaml.NodeTagBool:
		if b, err := strconv.ParseBool(n.Value); err == nil {
			return b, nil
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("decoding boolean %q: %w", n.Value, err)
		}
		return b, nil
	case yaml.NodeTagInt:
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i, nil
		}
		return floatValue(n)
	case yaml.NodeTagFloat:
		return floatValue(n)
	default:
		return n.Value, nil
	}
}

func floatValue(n *yaml.Node) (any, error) {
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil {
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("decoding number %q: %w", n.Value, err)
		}
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("number %q has no JSON form", n.Value)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		// JSON writes 2.0 as 2, which decodes as an integer.
		return int64(f), nil
	}
	return f, nil
}

// copyValue deep-copies an object's value as a JSON decoder would have made
// it: int and int32 become int64, json.Number a number. With roundTrip, it
// makes of it what a JSON round trip makes (as the merge through kyaml nodes
// does): a whole float such as 2.0 becomes the integer 2, and infinities and
// NaN, which JSON cannot hold, are an error. Unlike runtime.DeepCopyJSON it
// returns an error on other types instead of panicking.
func copyValue(v any, roundTrip bool) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, val := range v {
			c, err := copyValue(val, roundTrip)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = c
		}
		return m, nil
	case []any:
		s := make([]any, len(v))
		for i, val := range v {
			c, err := copyValue(val, roundTrip)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			s[i] = c
		}
		return s, nil
	case string, bool, int64, nil:
		return v, nil
	case float64:
		if roundTrip && (v == math.Trunc(v) || math.IsNaN(v)) {
			n, err := floatNode(v) // the text decides: 1e20 stays a float
			if err != nil {
				return nil, err
			}
			return scalarValue(n)
		}
		return v, nil
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case json.Number:
		return scalarValue(numberNode(string(v)))
	default:
		return nil, fmt.Errorf("unsupported value of type %T", v)
	}
}

// copyObject deep-copies an object (see copyValue).
func copyObject(obj map[string]any, roundTrip bool) (map[string]any, error) {
	c, err := copyValue(obj, roundTrip)
	if err != nil {
		return nil, err
	}
	return c.(map[string]any), nil
}

// deepCopy copies a value that holds only what copyValue returns.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}
