package offline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// bothMerges merges patch into obj natively and through kyaml, after
// resolving anchors, and fails the test where they differ: in the result, in
// whether they fail, or when either modifies its input or the native result
// shares anything with the patch. skipped is true when a condition of the
// patch did not hold or anchors could not be resolved (there is nothing to
// merge).
func bothMerges(t testing.TB, obj, patch map[string]any) (skipped bool) {
	t.Helper()
	r := New(label, nil)
	obj, typed, err := r.readObject(obj)
	if err != nil {
		t.Fatalf("reading the object: %v", err)
	}
	if typed || r.patchViaKyaml(patch) {
		t.Fatalf("the object or the patch names a kind kyaml has a schema for: only kyaml merges those")
	}
	resolved, skip, err := resolveAnchors(patch, obj)
	if skip || err != nil {
		return true
	}
	objBefore, patchBefore := deepCopy(obj), deepCopy(resolved)

	want, kerr := mergeKyaml(obj, resolved)
	if d := cmp.Diff(objBefore, any(obj)); d != "" {
		t.Fatalf("kyaml merge modified the object (-before +after):\n%s", d)
	}
	got, nerr := mergeNative(deepCopy(obj).(map[string]any), resolved)
	if d := cmp.Diff(patchBefore, any(resolved)); d != "" {
		t.Fatalf("native merge modified the patch (-before +after):\n%s", d)
	}
	if (kerr == nil) != (nerr == nil) {
		t.Fatalf("kyaml error: %v\nnative error: %v\nobject: %s\npatch: %s", kerr, nerr, show(obj), show(resolved))
	}
	if kerr != nil {
		if errors.Is(kerr, errDeletesObject) != errors.Is(nerr, errDeletesObject) {
			t.Fatalf("kyaml error: %v\nnative error: %v", kerr, nerr)
		}
		return false
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("native merge differs from kyaml (-kyaml +native):\n%s\nobject: %s\npatch: %s", d, show(obj), show(resolved))
	}
	scribble(got)
	if d := cmp.Diff(patchBefore, any(resolved)); d != "" {
		t.Fatalf("the native result shares values with the patch (-before +after):\n%s", d)
	}
	return false
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// scribble changes every map and list in v in place.
func scribble(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			scribble(e)
		}
		v["scribbled"] = true
	case []any:
		for i, e := range v {
			scribble(e)
			if _, isMap := e.(map[string]any); !isMap {
				v[i] = "scribbled"
			}
		}
	}
}

// TestNativeMergeMatchesKyamlOnExamples merges every example release patch
// into every example resource both ways.
func TestNativeMergeMatchesKyamlOnExamples(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "examples")
	var patchTexts, objects []map[string]any
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		docs, err := yamlDocs(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, doc := range docs {
			if strings.Contains(path, "releases") {
				if data, _ := doc["data"].(map[string]any); data != nil {
					if p, ok := data["patch"].(string); ok {
						pm, err := parsePatch(p)
						if err != nil {
							return fmt.Errorf("%s: %w", path, err)
						}
						patchTexts = append(patchTexts, pm)
					}
				}
				continue
			}
			objects = append(objects, doc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(patchTexts) < 40 || len(objects) < 10 {
		t.Fatalf("found %d patches and %d objects in %s, want more", len(patchTexts), len(objects), root)
	}
	r := New(label, nil)
	merged := 0
	for _, obj := range objects {
		if _, typed, _ := r.readObject(obj); typed {
			continue // Kubernetes' own kinds (a Secret, a ConfigMap) are merged by kyaml
		}
		for _, p := range patchTexts {
			if !bothMerges(t, obj, p) {
				merged++
			}
		}
	}
	if merged < len(patchTexts)*10 {
		t.Errorf("only %d merges ran", merged)
	}
}

// yamlDocs reads the maps of a multi-document YAML file.
func yamlDocs(data []byte) ([]map[string]any, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []map[string]any
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
}

// TestNativeMergeMatchesKyamlOnRandomValues merges generated objects and
// patches both ways.
func TestNativeMergeMatchesKyamlOnRandomValues(t *testing.T) {
	t.Parallel()
	n := 20000
	if testing.Short() {
		n = 2000
	}
	merged := 0
	for i := range n {
		g := gen{rand.New(rand.NewPCG(uint64(i), 7))}
		obj, patch := g.object(), g.patch()
		if !bothMerges(t, obj, patch) {
			merged++
		}
	}
	if merged < n/2 {
		t.Errorf("only %d of %d patches were merged; the generator makes too many that do not apply", merged, n)
	}
}

// FuzzNativeMerge merges an object and a patch, both YAML, both ways.
func FuzzNativeMerge(f *testing.F) {
	for i := range 20 {
		g := gen{rand.New(rand.NewPCG(uint64(i), 7))}
		f.Add(show(g.object()), show(g.patch()))
	}
	f.Add(kcp, "spec:\n  kubeadmConfigSpec:\n    files:\n    - path: /x\n      $patch: delete\n    $patch: replace\n")
	f.Add(kcp, "spec:\n  new: {$patch: bogus, a: null, b: {$patch: delete}}\n")
	f.Fuzz(func(t *testing.T, objText, patchText string) {
		obj, ok1 := fuzzMap(objText)
		patch, ok2 := fuzzMap(patchText)
		if !ok1 || !ok2 {
			return
		}
		r := New(label, nil)
		if _, typed, err := r.readObject(obj); err != nil || typed || r.patchViaKyaml(patch) {
			return
		}
		bothMerges(t, obj, patch)
	})
}

// fuzzMap reads YAML as a patch is read, or reports that it is not a map.
func fuzzMap(text string) (map[string]any, bool) {
	m, err := parsePatch(text)
	return m, err == nil
}

// gen generates objects and patches from a small vocabulary, so that keys
// meet and kinds clash often.
type gen struct{ r *rand.Rand }

var (
	genKeys    = []string{"a", "b", "c", "name", "spec", "1", "true", "$patch"}
	genAnchors = []string{"+(a)", "+(b)", "(a)", "(name)", "<(c)", "+(name)"}
	genScalars = []any{"x", "y", "", "1", "1.5", "true", "yes", "null", "~", "(x)", "*", "x*", "delete",
		int64(0), int64(1), int64(-3), 1.5, 1e20, true, false, nil}
	genDirectives = []any{"delete", "replace", "merge", "bogus", nil, int64(1), map[string]any{"a": int64(1)}}
)

func (g gen) object() map[string]any {
	m := g.mapOf(3, false)
	m["apiVersion"], m["kind"] = "example.x-k8s.io/v1", "Thing"
	return m
}

func (g gen) patch() map[string]any { return g.mapOf(3, true) }

func (g gen) pick(s []any) any { return s[g.r.IntN(len(s))] }

func (g gen) key(patch bool) string {
	if patch && g.r.IntN(6) == 0 {
		return genAnchors[g.r.IntN(len(genAnchors))]
	}
	k := genKeys[g.r.IntN(len(genKeys))]
	if k == "$patch" && g.r.IntN(2) == 0 {
		k = "a"
	}
	return k
}

func (g gen) mapOf(depth int, patch bool) map[string]any {
	m := map[string]any{}
	for range g.r.IntN(5) {
		k := g.key(patch)
		if k == "$patch" {
			m[k] = g.pick(genDirectives)
			continue
		}
		m[k] = g.value(depth-1, patch)
	}
	return m
}

func (g gen) value(depth int, patch bool) any {
	n := 6
	if depth <= 0 {
		n = 3
	}
	switch g.r.IntN(n) {
	case 0, 1, 2:
		return g.pick(genScalars)
	case 3:
		return map[string]any{}
	case 4:
		l := []any{}
		mapItems := g.r.IntN(2) == 0
		for range g.r.IntN(4) {
			if mapItems {
				l = append(l, g.mapOf(depth-1, patch))
			} else {
				l = append(l, g.pick(genScalars))
			}
		}
		return l
	default:
		return g.mapOf(depth, patch)
	}
}

// TestViaKyaml checks which objects and patches kyaml must merge: those
// naming Kubernetes' own kinds or holding an empty key, at the top or in a
// map reached through maps.
func TestViaKyaml(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		obj, patch string
		want       bool
	}{
		{name: "custom resource", obj: kcp, patch: "spec: {replicas: 1}"},
		{name: "Deployment", obj: deployment, patch: "spec: {replicas: 1}", want: true},
		{name: "embedded Pod", obj: kcp + "  template: {apiVersion: v1, kind: Pod}\n", patch: "spec: {replicas: 1}", want: true},
		{name: "embedded Pod in a list", obj: kcp + "  templates: [{apiVersion: v1, kind: Pod}]\n", patch: "spec: {replicas: 1}"},
		{name: "reference to a custom resource", obj: kcp + "  ref: {apiVersion: x.io/v1, kind: Thing}\n", patch: "spec: {replicas: 1}"},
		{name: "Pod in the patch", obj: kcp, patch: "spec: {template: {apiVersion: v1, kind: Pod}}", want: true},
		{name: "anchored kind in the patch", obj: kcp, patch: "spec: {template: {apiVersion: x.io/v1, +(kind): Thing}}", want: true},
		{name: "custom kind in the patch", obj: kcp, patch: "spec: {template: {apiVersion: x.io/v1, kind: Thing}}"},
		{name: "empty key in the object", obj: kcp + "  x: {\"\": 1}\n", patch: "spec: {replicas: 1}", want: true},
		{name: "empty key in a list item of the object", obj: kcp + "  x: [{\"\": 1}]\n", patch: "spec: {replicas: 1}"},
		{name: "empty key in the patch", obj: kcp, patch: "spec: {x: {\"\": 1}}", want: true},
		{name: "kind that is not a string", obj: kcp, patch: "spec: {template: {apiVersion: v1, kind: 1}}", want: true},
	}
	for _, tt := range tests {
		r := New(label, nil)
		p, err := parsePatch(tt.patch)
		if err != nil {
			t.Fatal(err)
		}
		_, typed, err := r.readObject(object(t, tt.obj).Object)
		if err != nil {
			t.Fatal(err)
		}
		if got := typed || r.patchViaKyaml(p); got != tt.want {
			t.Errorf("%s: via kyaml = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestKubernetesGroups checks that every kind kyaml has a schema for is of
// a group kubernetesGroup accepts, so that hasSchema looks it up.
func TestKubernetesGroups(t *testing.T) {
	t.Parallel()
	seen := 0
	for name, d := range openapi.Schema().Definitions {
		gvks, _ := d.Extensions["x-kubernetes-group-version-kind"].([]any)
		for _, gvk := range gvks {
			m, _ := gvk.(map[string]any)
			group, _ := m["group"].(string)
			version, _ := m["version"].(string)
			apiVersion := version
			if group != "" {
				apiVersion = group + "/" + version
			}
			seen++
			if !kubernetesGroup(apiVersion) {
				t.Errorf("%s: kyaml has a schema for apiVersion %s, which kubernetesGroup rejects", name, apiVersion)
			}
		}
	}
	if seen < 100 {
		t.Errorf("found %d kinds in kyaml's schema, want more", seen)
	}
	for _, v := range []string{"cluster.x-k8s.io/v1beta1", "infrastructure.cluster.x-k8s.io/v1beta2", "example.com/v1"} {
		if kubernetesGroup(v) {
			t.Errorf("kubernetesGroup(%q) = true, want false", v)
		}
	}
}

// TestParsePatchReadsJSON keeps the generator honest: what it produces is
// what parsePatch reads from its JSON text.
func TestParsePatchReadsJSON(t *testing.T) {
	t.Parallel()
	g := gen{rand.New(rand.NewPCG(1, 7))}
	for range 100 {
		p := g.patch()
		got, err := parsePatch(show(p))
		if err != nil {
			t.Fatal(err)
		}
		want, err := copyObject(p, true)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("(-generated +parsed):\n%s", d)
		}
	}
}
