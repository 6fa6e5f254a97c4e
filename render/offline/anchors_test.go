package offline

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	sigsyaml "sigs.k8s.io/yaml"
)

// value reads YAML as a patch or an object is read: through JSON, numbers as
// after a JSON round trip.
func value(t testing.TB, text string) any {
	t.Helper()
	j, err := sigsyaml.YAMLToJSON([]byte(text))
	if err != nil {
		t.Fatalf("parsing %q: %v", text, err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("parsing %q: %v", text, err)
	}
	c, err := copyValue(v, true)
	if err != nil {
		t.Fatalf("parsing %q: %v", text, err)
	}
	return c
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		a    anchor
		name string
	}{
		{"name", plainKey, "name"},
		{"(name)", condition, "name"},
		{"<(name)", global, "name"},
		{"+(name)", addIfAbsent, "name"},
		{"=(name)", equality, "name"},
		{"^(name)", existence, "name"},
		{"X(name)", negation, "name"},
		{"()", plainKey, "()"},
		{"+()", plainKey, "+()"},
		{"(a)(b)", condition, "a)(b"},
		{"name(x)", plainKey, "name(x)"},
		{"$patch", plainKey, "$patch"},
		{"", plainKey, ""},
	}
	for _, tt := range tests {
		a, name := parseKey(tt.in)
		if a != tt.a || name != tt.name {
			t.Errorf("parseKey(%q) = %v, %q; want %v, %q", tt.in, a, name, tt.a, tt.name)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{`v1.30.*`, `v1.30.4`, true},
		{`v1.30.*`, `v1.31.0`, false},
		{`registry.k8s.io/*:v?.*`, `registry.k8s.io/pause:v3.9`, true},
		{`"*"`, `anything`, true},
		{`"*"`, `{a: b}`, true},
		{`"*"`, `null`, false},
		{`a | b`, `b`, true},
		{`a | b`, `c`, false},
		{`"!a"`, `b`, true},
		{`"!a"`, `a`, false},
		{`"!= a"`, `a`, false},
		{`">=3 & <5"`, `4`, true},
		{`">=3 & <5"`, `5`, false},
		{`">1.5"`, `2`, true},
		{`"<1"`, `x`, false},
		{`3`, `3`, true},
		{`3`, `3.0`, true},
		{`3`, `"3"`, false},
		{`"3"`, `3`, true},
		{`true`, `true`, true},
		{`true`, `false`, false},
		{`null`, `null`, true},
		{`{a: "1*"}`, `{a: "12", b: x}`, true},
		{`{a: "1*"}`, `{b: x}`, false},
		{`{(a): x}`, `{b: x}`, true},
		{`{(a): x}`, `{a: y}`, false},
		{`{X(a): null}`, `{b: x}`, true},
		{`{X(a): null}`, `{a: x}`, false},
		{`{a: x}`, `[x]`, false},
		{`[{name: "a*"}]`, `[{name: ab}, {name: ac}]`, true},
		{`[{name: "a*"}]`, `[{name: ab}, {name: b}]`, false},
		{`[a, b]`, `[a, b]`, true},
		{`[a, b]`, `[a]`, false},
		{`[a]`, `x`, false},
	}
	for _, tt := range tests {
		if got := match(value(t, tt.pattern), value(t, tt.value)); got != tt.want {
			t.Errorf("match(%s, %s) = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}

func TestWildcard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"", "", true},
		{"*", "", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*/*", "a/b/c", true},
		{"[x]", "[x]", true},
		{"**a", "bba", true},
		{"ü*", "über", true},
	}
	for _, tt := range tests {
		if got := wildcard(tt.pattern, tt.value); got != tt.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}

// TestResolveAnchors checks the patch anchors turn into, against a resource.
func TestResolveAnchors(t *testing.T) {
	t.Parallel()
	resource := `spec:
  replicas: 3
  containers:
  - name: a
    image: nginx
  - name: b
    image: envoy
    pull: Never
  - image: unnamed
  volumes: []
`
	tests := []struct {
		name  string
		patch string
		want  string // resolved patch; "" when skipped
	}{
		{
			name:  "plain patch",
			patch: "spec: {replicas: 5}",
			want:  "spec: {replicas: 5}",
		},
		{
			name:  "add-if-absent",
			patch: "spec: {+(replicas): 5, +(paused): true}",
			want:  "spec: {paused: true}",
		},
		{
			name:  "condition on a map key",
			patch: "spec: {(replicas): \">1\", paused: true}",
			want:  "spec: {paused: true}",
		},
		{
			name:  "failed condition",
			patch: "spec: {(replicas): 1, paused: true}",
		},
		{
			name:  "failed global condition",
			patch: "spec: {<(replicas): 1, paused: true}",
		},
		{
			name:  "condition value with add-if-absent resolves it instead of checking",
			patch: "spec: {(containers): {+(x): y}, paused: true}",
			want:  "spec: {containers: {x: y}, paused: true}",
		},
		{
			name:  "list items by condition, unnamed items left out",
			patch: "spec: {containers: [{(image): \"*\", +(pull): Always}]}",
			want:  "spec: {containers: [{pull: Always, name: a}]}",
		},
		{
			name:  "global condition in a list holds",
			patch: "spec: {containers: [{<(name): b}], paused: true}",
			want:  "spec: {paused: true}",
		},
		{
			name:  "global condition in a list fails",
			patch: "spec: {containers: [{<(name): c}], paused: true}",
		},
		{
			name:  "global condition on a list the resource lacks",
			patch: "spec: {initContainers: [{<(name): x}], paused: true}",
		},
		{
			name:  "global condition on an empty list holds",
			patch: "spec: {volumes: [{<(name): x}], paused: true}",
			want:  "spec: {paused: true}",
		},
		{
			name:  "condition on a list the resource lacks",
			patch: "spec: {initContainers: [{(name): x, image: y}], paused: true}",
			want:  "spec: {paused: true}",
		},
		{
			name:  "plain list items stay",
			patch: "spec: {containers: [{name: c, image: redis}, {(name): a, image: nginx2}]}",
			want:  "spec: {containers: [{name: c, image: redis}, {image: nginx2, name: a}]}",
		},
		{
			name:  "condition keys with content become plain keys",
			patch: "{(spec): {replicas: 3}, metadata: {a: b}}",
			want:  "{spec: {replicas: 3}, metadata: {a: b}}",
		},
		{
			name:  "a list of maps as a condition must match every item",
			patch: "spec: {(containers): [{name: \"?\"}], paused: true}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			patch := value(t, tt.patch).(map[string]any)
			before := deepCopy(patch)
			got, skip, err := resolveAnchors(patch, value(t, resource).(map[string]any))
			if err != nil {
				t.Fatalf("resolveAnchors: %v", err)
			}
			if d := cmp.Diff(before, patch); d != "" {
				t.Errorf("resolveAnchors modified the patch (-before +after):\n%s", d)
			}
			if tt.want == "" {
				if !skip {
					t.Errorf("patch applies as %v, want it skipped", got)
				}
				return
			}
			if skip {
				t.Fatal("patch skipped, want it applied")
			}
			if d := cmp.Diff(value(t, tt.want), any(got)); d != "" {
				t.Errorf("resolved patch (-want +got):\n%s", d)
			}
		})
	}
}
