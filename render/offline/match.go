package offline

import (
	"encoding/json"
	"strconv"
	"strings"
)

// match reports whether a resource value matches the value of a condition
// anchor. It covers the part of Kyverno's pattern language that release
// patches use:
//
//   - maps: every key of the pattern must match; (key) and =(key) match when
//     the key is absent, X(key) requires it to be absent;
//   - lists: a list of maps matches when every resource item matches the
//     first pattern item; other lists match item by item;
//   - strings: "*" and "?" wildcards, alternatives "a | b", conjunctions
//     "a & b", negation "!a", and numeric comparisons ">1", ">=1", "<1",
//     "<=1"; a number or boolean is compared as its JSON text;
//   - other scalars (numbers, booleans, null) match equal values.
func match(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		return matchMap(w, have)
	case []any:
		return matchList(w, have)
	default:
		return matchScalar(w, have)
	}
}

func matchMap(want map[string]any, have any) bool {
	hm, ok := have.(map[string]any)
	if !ok {
		return false
	}
	for k, w := range want {
		a, key := parseKey(k)
		v, has := hm[key]
		switch a {
		case negation:
			if has {
				return false
			}
			continue
		case condition, global, equality:
			if !has {
				continue
			}
		default:
			if !has {
				return false
			}
		}
		if !match(w, v) {
			return false
		}
	}
	return true
}

func matchList(want []any, have any) bool {
	hl, ok := have.([]any)
	if !ok {
		return false
	}
	if len(want) > 0 {
		if _, isMap := want[0].(map[string]any); isMap {
			for _, item := range hl {
				if !match(want[0], item) {
					return false
				}
			}
			return true
		}
	}
	if len(want) != len(hl) {
		return false
	}
	for i := range want {
		if !match(want[i], hl[i]) {
			return false
		}
	}
	return true
}

func matchScalar(want, have any) bool {
	if w, ok := want.(string); ok {
		if w == "*" && have != nil {
			return true
		}
		text, ok := scalarText(have)
		return ok && matchPattern(w, text)
	}
	switch have.(type) {
	case map[string]any, []any:
		return false
	}
	if wf, ok := number(want); ok {
		hf, ok := number(have)
		return ok && wf == hf
	}
	return want == have
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

// scalarText is the text of a scalar in the resource's JSON form; ok is
// false for null, maps and lists.
func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		b, err := json.Marshal(v)
		return string(b), err == nil
	}
	return "", false
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
