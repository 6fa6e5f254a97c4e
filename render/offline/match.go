package offline

import (
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// match checks a resource value against the value of a condition anchor and
// returns why it does not match, or "" when it does. It covers the part of
// Kyverno's pattern language that release patches use:
//
//   - maps: every key of the pattern must match; (key) and =(key) match when
//     the key is absent, X(key) requires it to be absent;
//   - lists: a list of maps matches when every resource item matches the
//     first pattern item; other lists match item by item;
//   - strings: "*" and "?" wildcards, alternatives "a | b", conjunctions
//     "a & b", negation "!a", and numeric comparisons ">1", ">=1", "<1",
//     "<=1"; a number is compared as its text;
//   - other scalars (numbers, booleans, null) match equal values.
func match(want, have *yaml.Node) string {
	switch want.Kind {
	case yaml.MappingNode:
		return matchMap(want, have)
	case yaml.SequenceNode:
		return matchList(want, have)
	case yaml.ScalarNode:
		return matchScalar(want, have)
	}
	return fmt.Sprintf("unsupported pattern node kind %d", want.Kind)
}

func matchMap(want, have *yaml.Node) string {
	if have.Kind != yaml.MappingNode {
		return fmt.Sprintf("want a map, the resource has %s", kindName(have))
	}
	for i := 0; i < len(want.Content); i += 2 {
		a, key := parseKey(want.Content[i].Value)
		v := field(have, key)
		switch a {
		case negation:
			if v != nil {
				return fmt.Sprintf("%s must be absent", key)
			}
			continue
		case condition, global, equality:
			if v == nil {
				continue
			}
		default:
			if v == nil {
				return fmt.Sprintf("%s is missing", key)
			}
		}
		if reason := match(want.Content[i+1], v); reason != "" {
			return key + ": " + reason
		}
	}
	return ""
}

func matchList(want, have *yaml.Node) string {
	if have.Kind != yaml.SequenceNode {
		return fmt.Sprintf("want a list, the resource has %s", kindName(have))
	}
	if len(want.Content) > 0 && want.Content[0].Kind == yaml.MappingNode {
		for i, item := range have.Content {
			if reason := match(want.Content[0], item); reason != "" {
				return fmt.Sprintf("[%d]: %s", i, reason)
			}
		}
		return ""
	}
	if len(want.Content) != len(have.Content) {
		return fmt.Sprintf("want %d items, the resource has %d", len(want.Content), len(have.Content))
	}
	for i := range want.Content {
		if reason := match(want.Content[i], have.Content[i]); reason != "" {
			return fmt.Sprintf("[%d]: %s", i, reason)
		}
	}
	return ""
}

func matchScalar(want, have *yaml.Node) string {
	if want.ShortTag() == yaml.NodeTagString {
		if want.Value == "*" && !isNull(have) {
			return ""
		}
		if have.Kind != yaml.ScalarNode || isNull(have) {
			return fmt.Sprintf("want %q, the resource has %s", want.Value, describe(have))
		}
		if matchPattern(want.Value, have.Value) {
			return ""
		}
		return fmt.Sprintf("%q does not match %q", have.Value, want.Value)
	}
	if have.Kind != yaml.ScalarNode {
		return fmt.Sprintf("want %s, the resource has %s", want.Value, kindName(have))
	}
	wv, err1 := scalarValue(want)
	hv, err2 := scalarValue(have)
	if err1 == nil && err2 == nil && equalScalars(wv, hv) {
		return ""
	}
	return fmt.Sprintf("want %s, the resource has %s", want.Value, describe(have))
}

func equalScalars(a, b any) bool {
	if af, ok := number(a); ok {
		bf, ok := number(b)
		return ok && af == bf
	}
	return a == b
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	if isNull(n) {
		return "null"
	}
	return strconv.Quote(n.Value)
}

// matchPattern evaluates a string pattern against a value's text.
func matchPattern(pattern, value string) bool {
	for _, alt := range strings.Split(pattern, "|") {
		all := true
		for _, term := range strings.Split(alt, "&") {
			if !matchTerm(strings.TrimSpace(term), value) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func matchTerm(term, value string) bool {
	for _, op := range []string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(term, op); ok {
			return compare(op, strings.TrimSpace(rest), value)
		}
	}
	if rest, ok := strings.CutPrefix(term, "!="); ok {
		return !wildcard(strings.TrimSpace(rest), value)
	}
	if rest, ok := strings.CutPrefix(term, "!"); ok {
		return !wildcard(strings.TrimSpace(rest), value)
	}
	return wildcard(term, value)
}

func compare(op, bound, value string) bool {
	b, err1 := strconv.ParseFloat(bound, 64)
	v, err2 := strconv.ParseFloat(value, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	switch op {
	case ">=":
		return v >= b
	case "<=":
		return v <= b
	case ">":
		return v > b
	default:
		return v < b
	}
}

// wildcard matches * (any run of characters, "/" included) and ? (any one
// character).
func wildcard(pattern, value string) bool {
	p, v := []rune(pattern), []rune(value)
	star, mark := -1, 0 // last * seen in p, and where in v it started matching
	i, j := 0, 0
	for j < len(v) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == v[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			mark++
			i, j = star+1, mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}
