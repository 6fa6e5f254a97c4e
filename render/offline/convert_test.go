package offline

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestConvertLikeJSON checks that object → node → object gives what a JSON
// round trip gives.
func TestConvertLikeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"string that looks like a number", "1.30", "1.30"},
		{"string that looks like a bool", "yes", "yes"},
		{"empty string", "", ""},
		{"int64", int64(42), int64(42)},
		{"int", 7, int64(7)},
		{"negative", int64(-3), int64(-3)},
		{"large int64", int64(math.MaxInt64), int64(math.MaxInt64)},
		{"fraction", 1.5, 1.5},
		{"whole float", 2.0, int64(2)},
		{"huge float", 1e30, 1e30},
		{"tiny float", 1e-9, 1e-9},
		{"json.Number int", json.Number("12"), int64(12)},
		{"json.Number float", json.Number("1.25"), 1.25},
		{"bool", true, true},
		{"null", nil, nil},
		{
			"nested",
			map[string]any{"a": []any{map[string]any{"b": nil}, "x", int64(1)}, "m": map[string]any{}},
			map[string]any{"a": []any{map[string]any{"b": nil}, "x", int64(1)}, "m": map[string]any{}},
		},
	}
	for _, tt := range tests {
		n, err := toNode(tt.in)
		if err != nil {
			t.Errorf("%s: toNode: %v", tt.name, err)
			continue
		}
		got, err := fromNode(n)
		if err != nil {
			t.Errorf("%s: fromNode: %v", tt.name, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []any{math.Inf(1), math.NaN(), struct{}{}, map[string]any{"a": []any{uint8(1)}}} {
		if _, err := toNode(in); err == nil {
			t.Errorf("toNode(%#v) succeeded, want an error", in)
		}
	}
	for _, text := range []string{".inf", "[.nan]"} {
		if _, err := fromNode(yaml.MustParse(text).YNode()); err == nil {
			t.Errorf("fromNode(%s) succeeded, want an error", text)
		}
	}
}

func TestParsePatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     any
		wantErr  bool
	}{
		{name: "empty", in: "", want: map[string]any{}},
		{name: "comments only", in: "# x\n", want: map[string]any{}},
		{name: "YAML 1.1 booleans", in: "a: yes\nb: off\n", want: map[string]any{"a": true, "b": false}},
		{name: "YAML 1.1 boolean keys", in: "y: 1\n", want: map[string]any{"true": int64(1)}},
		{name: "aliases and merge keys", in: "base: &b {x: 1}\nc:\n  <<: *b\n  z: 2\n", want: map[string]any{"base": map[string]any{"x": int64(1)}, "c": map[string]any{"x": int64(1), "z": int64(2)}}},
		{name: "numbers", in: "i: 3\nf: 1.50\nw: 2.0\n", want: map[string]any{"i": int64(3), "f": 1.5, "w": int64(2)}},
		{name: "scalar", in: "just text", wantErr: true},
		{name: "list", in: "- a", wantErr: true},
		{name: "broken", in: "a: [b", wantErr: true},
	}
	for _, tt := range tests {
		n, err := parsePatch(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("%s: parsePatch succeeded, want an error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: parsePatch: %v", tt.name, err)
			continue
		}
		if d := cmp.Diff(tt.want, any(n)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}
