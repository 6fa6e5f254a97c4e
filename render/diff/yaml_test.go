package diff

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// checkYAML compares marshalYAML with sigs.k8s.io/yaml.Marshal, output and
// failure, and reports whether the fast writer handled v.
func checkYAML(t *testing.T, v map[string]any) (fast bool) {
	t.Helper()
	want, wantErr := yaml.Marshal(v)
	got, err := marshalYAML(v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("marshalYAML error = %v, yaml.Marshal error = %v, for %#v", err, wantErr, v)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("marshalYAML differs from yaml.Marshal for %#v\ngot:\n%s\nwant:\n%s", v, got, want)
	}
	fastOut, ok := appendYAML(nil, v)
	if ok && !bytes.Equal(fastOut, want) {
		t.Fatalf("appendYAML differs from yaml.Marshal for %#v\ngot:\n%s\nwant:\n%s", v, fastOut, want)
	}
	return ok
}

// trickyStrings are strings yaml.v2 quotes, folds, escapes or writes as
// block scalars, and some it writes plain.
var trickyStrings = []string{
	"", " ", "a", "name", "release.giantswarm.io/version", "/etc/kubernetes/pki/ca.crt",
	"true", "True", "TRUE", "false", "yes", "Yes", "no", "NO", "on", "On", "off", "OFF", "y", "Y", "n", "N",
	"null", "Null", "NULL", "~", "nil", "none",
	"0", "1", "-1", "+1", "0600", "0x1F", "0X1F", "0o17", "0b101", "-0b101", "0b2", "1_000", "_1", "1__0",
	"1e3", "1E3", "1e+3", "1e", "e3", "1.5", ".5", "5.", "-.5", "+.5", ".", "-", "+", "1.2.3", "1.31.2", "v1.31.2", "30.1.0",
	"123456789012345678901234567890", "9223372036854775807", "9223372036854775808", "18446744073709551616", "-9223372036854775809",
	".inf", ".Inf", "-.inf", "+.INF", ".nan", ".NaN", "inf", "nan", "+inf", "Infinity",
	"1:20", "190:20:30.15", "12:30", "-1:30", "1:60", "1_0:30", "1:30.5_", "a:1",
	"2025-01-01", "2025-1-1", "2025-01-01T00:00:00Z", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2025-13-45", "20250101",
	"a: b", "a:b", ":a", ": a", ":", "a:", "a: ", "a #b", "a#b", "#a", "# a", "- a", "-a", "--", "---", "--- a", "----", "...", "....", ".. .",
	"*a", "&a", "!a", "!!str", "%a", "@a", "`a", "|", "|-", ">", ">-", "'", "\"", "a'b", "a\"b", "'a'", "[a]", "a[0]", "{a}", "a{b}",
	"a,b", ",a", "?a", "? a", "?", "a?", "a ?", "<<", "=", "a=b", "${VAR}", "{{ .Values.x }}", "a\\b", "\\",
	" a", "a ", "  ", "a  b", "a \tb", "\ta", "a\t", "a\tb",
	"a\nb", "a\n", "a\n\n", "a\n\n\n", "\n", "\n\n", "\na", " a\nb", "a \nb", "a\n b", "a\n\tb", "\ta\nb", "a\n ", "a\r\nb\r\n", "a\rb", "\r",
	"é", "日本語", "café au lait", "a\u0085b", "\u0085", "a\u00a0b", "\u00a0", "a\u2028b", "a\u2029b\n", "\u2028", "\ufeffa", "a\ufeff", "\ufeff",
	"😀", "a😀b", "a\x00b", "\x01", "\x1b[0m", "\x08\x0b\x0c", "a\ufffdb", "\ue000", "\ud7ff",
	strings.Repeat("word ", 30) + "end",
	strings.Repeat("x", 200),
	strings.Repeat("long words with  double  spaces ", 5),
	strings.Repeat("'quoted' ", 20),
	strings.Repeat("\"dq\" \\ ", 20),
	"true " + strings.Repeat("a ", 60),
	strings.Repeat("tab\there ", 15),
	strings.Repeat("é ", 60),
	"#!/bin/bash\nset -euo pipefail\necho " + strings.Repeat("word ", 30) + "\n",
	"line one\n  indented two\n\nafter blank\n",
	"trailing spaces   \nnext\n",
	"  leading\nnext",
	"a\n" + strings.Repeat("very long line ", 10) + "\n\n",
	"\ufeff" + strings.Repeat("bom ", 30),
	"[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n",
}

func TestYAMLStrings(t *testing.T) {
	t.Parallel()
	for _, s := range trickyStrings {
		values := map[string]any{
			"v":    s,
			"deep": map[string]any{"a": map[string]any{"bb": []any{s, []any{s, []any{s}}, map[string]any{"c": s, "list": []any{s}}}}},
			"a-very-long-key-name-that-pushes-the-value-to-the-right-of-the-line": s,
		}
		// JSON leaves NEL as it is, and YAML reads it as a line break.
		nel := strings.Contains(s, "\u0085")
		if fast := checkYAML(t, values); fast == nel {
			t.Errorf("%q as a value: fast writer used = %t, want %t", s, fast, !nel)
		}
		keys := map[string]any{s: "x", "nested": map[string]any{s: []any{s}, "z": map[string]any{s: map[string]any{}}}}
		fast := checkYAML(t, keys)
		complexKey := len(s) > maxSimpleKey || strings.ContainsAny(s, "\r\n\u0085\u2028\u2029")
		if fast == complexKey {
			t.Errorf("%q as a key: fast writer used = %t, want %t", s, fast, !complexKey)
		}
	}
}

func TestYAMLValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		value    any
		fallback bool // the fast writer leaves it to yaml.Marshal
	}{
		{"nil", nil, false},
		{"true", true, false},
		{"false", false, false},
		{"int64", int64(-42), false},
		{"max int64", int64(math.MaxInt64), false},
		{"min int64", int64(math.MinInt64), false},
		{"int", 7, false},
		{"int8", int8(-8), false},
		{"int16", int16(16), false},
		{"int32", int32(32), false},
		{"uint", uint(1), false},
		{"uint8", uint8(255), false},
		{"uint16", uint16(65535), false},
		{"uint32", uint32(math.MaxUint32), false},
		{"max uint64", uint64(math.MaxUint64), false},
		{"float zero", 0.0, false},
		{"negative zero", math.Copysign(0, -1), false},
		{"float one", 1.0, false},
		{"float half", 0.5, false},
		{"float third", 1.0 / 3, false},
		{"float tenth", 0.1, false},
		{"float negative", -2.75, false},
		{"float integral", 123456789.0, false},
		{"float 1e20", 1e20, false},
		{"float 2^60", 1152921504606846976.0, false},
		{"float below 2^63", 9223372036854774784.0, false},
		{"float below 2^64", 18446744073709549568.0, false},
		{"float above -2^63", -9223372036854774784.0, false},
		{"float 1e21", 1e21, false},
		{"float 1e22", 1e22, false},
		{"float 2^53+", 9007199254740993.0, false},
		{"float 2^63", 9223372036854775808.0, false},
		{"float -2^63", -9223372036854775808.0, false},
		{"float 2^64", 18446744073709551616.0, false},
		{"float -2^64", -18446744073709551616.0, false},
		{"float 1e-6", 1e-6, false},
		{"float 1e-7", 1e-7, false},
		{"float 1.5e-7", 1.5e-7, false},
		{"float 1e300", 1e300, false},
		{"float smallest", math.SmallestNonzeroFloat64, false},
		{"float max", math.MaxFloat64, false},
		{"NaN", math.NaN(), true},
		{"+Inf", math.Inf(1), true},
		{"-Inf", math.Inf(-1), true},
		{"float32", float32(0.1), true},
		{"empty map", map[string]any{}, false},
		{"nil map", map[string]any(nil), false},
		{"empty list", []any{}, false},
		{"nil list", []any(nil), false},
		{"list of empties", []any{map[string]any{}, []any{}, nil, []any{[]any{}}}, false},
		{"list of lists", []any{[]any{"a", []any{"b", map[string]any{"c": []any{"d"}}}}, []any{}}, false},
		{"list of maps", []any{map[string]any{"a": 1, "b": []any{"x"}, "c": map[string]any{}}, map[string]any{"z": nil}}, false},
		{"map of strings", map[string]string{"a": "b"}, true},
		{"list of strings", []string{"a"}, true},
		{"json number", json.Number("1.0"), true},
		{"struct", struct{ A int }{1}, true},
		{"channel", make(chan int), true},
		{"invalid UTF-8", "a\xffb", true},
		{"DEL", "a\x7fb", true},
		{"C1 control", "a\u0080b", true},
		{"U+FFFE", "\ufffe", true},
		{"U+FFFF", "a\uffff", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := map[string]any{"value": tt.value, "list": []any{tt.value}, "nested": map[string]any{"deeper": map[string]any{"value": tt.value}}}
			if fast := checkYAML(t, v); fast == tt.fallback {
				t.Errorf("fast writer used = %t, want %t", fast, !tt.fallback)
			}
		})
	}
	if !checkYAML(t, nil) {
		t.Error("a nil map: the fast writer fell back to yaml.Marshal")
	}
	if !checkYAML(t, map[string]any{}) {
		t.Error("an empty map: the fast writer fell back to yaml.Marshal")
	}
}

// TestYAMLKeyOrder checks keys that yaml.v2 orders other than bytewise:
// numbers inside keys by value, letters before other characters.
func TestYAMLKeyOrder(t *testing.T) {
	t.Parallel()
	sets := [][]string{
		{"a10", "a2", "a1", "a02", "a002", "a20", "a", "b", "B", "_a", "-a", "0", "00", "1", "10", "9"},
		{"x0", "x00", "x01", "x1", "x10", "x010", "x1_", "x1-", "x9"},
		{"x1a", "x1A", "x1", "x1b", "xa", "xB", "x"},
		{"10a", "9a", "09a", "0009", "1.10", "1.9", "1.09", "v1.10.0", "v1.9.0", "v1.9.10"},
		{"é", "e", "z", "ä1", "ä10", "ä2", "日本", "本", "١٢", "٣", "Ⅳ", "x١", "x2"},
		{"99999999999999999999", "9999999999999999999", "100000000000000000000", "1"},
		{"A", "a", "Z", "z", "[", "`", "{", "~", " ", "!", "/", ":", "@"},
	}
	for _, keys := range sets {
		m := map[string]any{}
		for _, k := range keys {
			m[k] = k
		}
		// yaml.v2's order is not transitive for some keys ("x01" < "x10"
		// < "x1A" < "x01"), and then depends on the map's iteration order.
		first, _ := yaml.Marshal(m)
		for range 30 {
			if again, _ := yaml.Marshal(m); !bytes.Equal(again, first) {
				t.Fatalf("keys %q: yaml.Marshal is not deterministic, the test cannot compare", keys)
			}
		}
		if !checkYAML(t, m) {
			t.Errorf("keys %q: the fast writer fell back to yaml.Marshal", keys)
		}
	}
}

func TestIsYAMLFloat(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
	for _, s := range []string{"", "1", "+1", "-", "+", ".", ".5", "5.", "5.5", "1e3", "1e", "1e+", "1e+3", "1E-3", ".e3", ".5e3", "5.e3",
		"1.2.3", "e3", "1e3.5", "--1", "1 ", " 1", "1_0", "0x1", "+.5", "-5.", "١"} {
		if got, want := isYAMLFloat(s), re.MatchString(s); got != want {
			t.Errorf("isYAMLFloat(%q) = %t, want %t", s, got, want)
		}
	}
}

// TestYAMLRealObjects writes every object of the example repository and
// releases, their release patches, and the public fixtures when they are
// there, and compares with yaml.Marshal. All of them must take the fast
// path.
func TestYAMLRealObjects(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	dirs := []string{filepath.Join(root, "examples")}
	shared := filepath.Join(root, "..", "shared", "fixtures")
	if _, err := os.Stat(shared); err == nil {
		dirs = append(dirs, shared)
	} else {
		t.Logf("skipping the public fixtures: %s is absent (it is not part of a clone)", shared)
	}
	n := 0
	for _, dir := range dirs {
		for _, obj := range yamlObjects(t, dir) {
			n++
			if !checkYAML(t, obj) {
				t.Errorf("the fast writer fell back to yaml.Marshal for %v", obj)
			}
			if data, ok := obj["data"].(map[string]any); ok {
				for _, v := range data {
					if patch, ok := v.(string); ok {
						for _, p := range parseDocuments(t, []byte(patch)) {
							n++
							checkYAML(t, p)
						}
					}
				}
			}
		}
	}
	t.Logf("compared %d objects", n)
	if n < 50 {
		t.Errorf("compared %d objects, want the examples' many more", n)
	}
}

// yamlObjects reads every YAML document in the files under dir as the
// unstructured package would hold it.
func yamlObjects(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		objs = append(objs, parseDocuments(t, b)...)
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return objs
}

// parseDocuments parses the documents of a YAML stream that are maps;
// others (templates that are not YAML, lists, scalars) are skipped.
func parseDocuments(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var objs []map[string]any
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			return objs
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			continue
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(j, &obj); err != nil || obj == nil {
			continue
		}
		objs = append(objs, obj)
	}
}

// FuzzYAML compares the fast writer with yaml.Marshal on objects built
// from random keys, values and numbers, at several depths.
func FuzzYAML(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s, "value", "key,other,k10,k9", int64(1), 1.5)
	}
	f.Add("a", "a\nb", "x", int64(-7), 1e21)
	f.Add("long", strings.Repeat("ab ", 40), "k1,k01,k001", int64(math.MaxInt64), 0.1)
	f.Fuzz(func(t *testing.T, s, v, keys string, n int64, x float64) {
		list := []any{v, s, n, x, []any{v, []any{s}}, map[string]any{s: v, "n": n}, map[string]any{}, []any{}, nil, true}
		many := map[string]any{}
		for i, k := range strings.Split(keys, ",") {
			many[k] = list[i%len(list)]
		}
		obj := map[string]any{
			s:      v,
			"list": list,
			"deep": map[string]any{"a": map[string]any{"b": map[string]any{s: list, "v": v}}},
			"many": many,
			v:      many,
		}
		want, wantErr := yaml.Marshal(obj)
		got, ok := appendYAML(nil, obj)
		if !ok {
			return // left to yaml.Marshal
		}
		if wantErr != nil {
			t.Fatalf("appendYAML wrote %q where yaml.Marshal fails: %v", got, wantErr)
		}
		if !bytes.Equal(got, want) {
			for range 20 {
				// With some sets of keys the order of yaml.v2's sort
				// depends on the order of Go's map iteration.
				if again, _ := yaml.Marshal(obj); !bytes.Equal(again, want) {
					t.Skip("yaml.Marshal is not deterministic for these keys")
				}
			}
			t.Fatalf("appendYAML differs from yaml.Marshal\ngot:\n%s\nwant:\n%s", got, want)
		}
	})
}

func TestIsPlainKey(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	for _, k := range []string{"", "a", "A", "_", "-", "1", "a1", "1a", "a-b", "-a", "a_b", "a.b", "a b", "a/b", "é", "aé", "a-", "_-_", "Z9", "a:b"} {
		if got, want := isPlainKey(k), re.MatchString(k); got != want {
			t.Errorf("isPlainKey(%q) = %t, want %t", k, got, want)
		}
	}
}

// BenchmarkYAML writes a KubeadmControlPlane with marshalYAML and, for
// comparison, with yaml.Marshal.
func BenchmarkYAML(b *testing.B) {
	obj := object(b, kcpAfter).Object
	for _, bm := range []struct {
		name    string
		marshal func(any) ([]byte, error)
	}{
		{"fast", func(v any) ([]byte, error) { return marshalYAML(v.(map[string]any)) }},
		{"yaml.Marshal", yaml.Marshal},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.marshal(obj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
