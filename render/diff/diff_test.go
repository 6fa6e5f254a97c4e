package diff

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aymanbagabas/go-udiff"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func object(t testing.TB, text string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		t.Fatalf("parsing test object: %v", err)
	}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON(j); err != nil {
		t.Fatalf("parsing test object: %v", err)
	}
	return &obj
}

const kcpBefore = `apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata:
  name: demo
  namespace: org-acme
  labels:
    release.giantswarm.io/version: 30.1.0
  resourceVersion: "100"
  uid: 0b5d2a4e-1111-2222-3333-444455556666
  generation: 3
  creationTimestamp: "2025-01-01T00:00:00Z"
  managedFields:
  - manager: flux
spec:
  replicas: 3
  version: v1.30.4
  kubeadmConfigSpec:
    files:
    - path: /etc/a
      content: a
    - path: /etc/b
      content: b
    preKubeadmCommands: [one, two]
    users:
    - {sudo: x}
status:
  ready: true
`

// kcpAfter differs from kcpBefore in the version, a label, one file's
// content, an added file, a command list, the item of an unkeyed list, and
// in fields that do not count (volatile metadata, status).
const kcpAfter = `apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata:
  name: demo
  namespace: org-acme
  labels:
    release.giantswarm.io/version: 31.0.0
  resourceVersion: "200"
  uid: 0b5d2a4e-1111-2222-3333-444455556666
  generation: 4
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"whatever": true}'
spec:
  replicas: 3
  version: v1.31.2
  kubeadmConfigSpec:
    files:
    - path: /etc/a
      content: a2
    - path: /etc/b
      content: b
    - path: /etc/c
      content: c
    preKubeadmCommands: [one, three]
    users:
    - {sudo: z}
status:
  ready: false
`

func TestObjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		before, after string
		status        Status
		changes       []FieldChange
	}{
		{
			name:   "changed",
			before: kcpBefore,
			after:  kcpAfter,
			status: StatusChanged,
			changes: []FieldChange{
				{Path: `metadata.labels["release.giantswarm.io/version"]`, Before: "30.1.0", After: "31.0.0"},
				{Path: "spec.kubeadmConfigSpec.files[path=/etc/a].content", Before: "a", After: "a2"},
				{Path: "spec.kubeadmConfigSpec.files[path=/etc/c]", After: `{"content":"c","path":"/etc/c"}`},
				{Path: "spec.kubeadmConfigSpec.preKubeadmCommands", Before: `["one","two"]`, After: `["one","three"]`},
				{Path: "spec.kubeadmConfigSpec.users[0].sudo", Before: "x", After: "z"},
				{Path: "spec.version", Before: "v1.30.4", After: "v1.31.2"},
			},
		},
		{
			name:   "volatile metadata, last-applied and status are ignored",
			before: kcpBefore,
			after: strings.NewReplacer(`resourceVersion: "100"`, `resourceVersion: "101"`, "ready: true", "ready: false",
				"generation: 3", "generation: 9\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{}'").Replace(kcpBefore),
			status: StatusUnchanged,
		},
		{
			name:   "added",
			after:  kcpAfter,
			status: StatusAdded,
		},
		{
			name:   "removed",
			before: kcpBefore,
			status: StatusRemoved,
		},
		{
			name:   "numbers, booleans and removed fields",
			before: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\nspec: {num: 1, f: 1.5, b: true, gone: {deep: [1]}}\n",
			after:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\nspec: {num: 2, f: 2.5, b: false, \"a b\": null}\n",
			status: StatusChanged,
			changes: []FieldChange{
				{Path: "spec.b", Before: "true", After: "false"},
				{Path: "spec.f", Before: "1.5", After: "2.5"},
				{Path: "spec.gone", Before: `{"deep":[1]}`},
				{Path: "spec.num", Before: "1", After: "2"},
				{Path: `spec["a b"]`, After: "null"},
			},
		},
		{
			name:   "lists keyed by name, items added and removed",
			before: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {containers: [{name: a, image: x}, {name: b, image: img-b}]}\n",
			after:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {containers: [{name: c, image: z}, {name: a, image: x2}]}\n",
			status: StatusChanged,
			changes: []FieldChange{
				{Path: "spec.containers[name=a].image", Before: "x", After: "x2"},
				{Path: "spec.containers[name=b]", Before: `{"image":"img-b","name":"b"}`},
				{Path: "spec.containers[name=c]", After: `{"image":"z","name":"c"}`},
			},
		},
		{
			name:   "long values are shortened",
			before: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\n",
			after:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: " + strings.Repeat("é", 300) + "}\n",
			status: StatusChanged,
			changes: []FieldChange{
				{Path: "data.a", Before: "x", After: strings.Repeat("é", 200) + "…"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var before, after *unstructured.Unstructured
			if tt.before != "" {
				before = object(t, tt.before)
			}
			if tt.after != "" {
				after = object(t, tt.after)
			}
			var beforeCopy, afterCopy *unstructured.Unstructured
			if before != nil {
				beforeCopy = before.DeepCopy()
			}
			if after != nil {
				afterCopy = after.DeepCopy()
			}
			got, err := Objects(before, after)
			if err != nil {
				t.Fatalf("Objects: %v", err)
			}
			if got.Status != tt.status {
				t.Errorf("Status = %q, want %q", got.Status, tt.status)
			}
			if d := cmp.Diff(tt.changes, got.Changes); d != "" {
				t.Errorf("Changes (-want +got):\n%s", d)
			}
			if (got.Unified == "") != (tt.status == StatusUnchanged) {
				t.Errorf("Unified = %q for status %s", got.Unified, got.Status)
			}
			if before != nil && !cmp.Equal(beforeCopy.Object, before.Object) {
				t.Error("Objects modified before")
			}
			if after != nil && !cmp.Equal(afterCopy.Object, after.Object) {
				t.Error("Objects modified after")
			}
		})
	}
}

func TestObjectsUnified(t *testing.T) {
	t.Parallel()
	before := object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata: {a: \"1\", b: \"2\", c: \"3\", d: \"4\", e: \"5\", f: \"6\"}\n")
	after := object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata: {a: \"1\", b: \"2\", c: \"3\", d: \"4\", e: \"5\", f: \"7\"}\n")
	tests := []struct {
		name          string
		before, after *unstructured.Unstructured
		want          string
	}{
		{
			name:   "changed",
			before: before,
			after:  after,
			want: `--- a/ConfigMap/ns/c
+++ b/ConfigMap/ns/c
@@ -5,7 +5,7 @@
   c: "3"
   d: "4"
   e: "5"
-  f: "6"
+  f: "7"
 kind: ConfigMap
 metadata:
   name: c
`,
		},
		{
			name:  "added",
			after: object(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n"),
			want: `--- /dev/null
+++ b/Namespace/ns1
@@ -0,0 +1,4 @@
+apiVersion: v1
+kind: Namespace
+metadata:
+  name: ns1
`,
		},
		{
			name:   "removed",
			before: object(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n"),
			want: `--- a/Namespace/ns1
+++ /dev/null
@@ -1,4 +0,0 @@
-apiVersion: v1
-kind: Namespace
-metadata:
-  name: ns1
`,
		},
	}
	for _, tt := range tests {
		got, err := Objects(tt.before, tt.after)
		if err != nil {
			t.Fatalf("%s: Objects: %v", tt.name, err)
		}
		if d := cmp.Diff(tt.want, got.Unified); d != "" {
			t.Errorf("%s: Unified (-want +got):\n%s", tt.name, d)
		}
	}
}

func TestObjectsNeitherSide(t *testing.T) {
	t.Parallel()
	if _, err := Objects(nil, nil); err == nil {
		t.Error("Objects(nil, nil) succeeded, want an error")
	}
}

// secretValues are the plain and base64 forms of the values in the test
// Secrets; none may appear in any output.
var secretTexts = []string{"hunter2", "aHVudGVyMg==", "correct-horse", "Y29ycmVjdC1ob3JzZQ==", "s3cr3t-token", "czNjcjN0LXRva2Vu", "old-only", "b2xkLW9ubHk="}

// TestSecretsNeverShow diffs Secrets every way and checks that no secret
// value appears in the resource, its JSON, the markdown or the text.
func TestSecretsNeverShow(t *testing.T) {
	t.Parallel()
	before := object(t, `apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: org-acme
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"aHVudGVyMg=="},"stringData":{"token":"s3cr3t-token"}}'
type: Opaque
data:
  password: aHVudGVyMg==
  same: Y29ycmVjdC1ob3JzZQ==
  removed: b2xkLW9ubHk=
stringData:
  token: s3cr3t-token
`)
	after := object(t, `apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: org-acme
type: Opaque
data:
  password: Y29ycmVjdC1ob3JzZQ==
  same: Y29ycmVjdC1ob3JzZQ==
  added: czNjcjN0LXRva2Vu
stringData:
  token: correct-horse
`)
	beforeCopy, afterCopy := before.DeepCopy(), after.DeepCopy()
	var rs []Resource
	for _, pair := range [][2]*unstructured.Unstructured{{before, after}, {nil, after}, {before, nil}, {before, before}} {
		r, err := Objects(pair[0], pair[1])
		if err != nil {
			t.Fatalf("Objects: %v", err)
		}
		rs = append(rs, r)
	}
	if !cmp.Equal(beforeCopy.Object, before.Object) || !cmp.Equal(afterCopy.Object, after.Object) {
		t.Error("Objects modified a Secret it was given")
	}
	changed := rs[0]
	if changed.Status != StatusChanged {
		t.Fatalf("Status = %s, want changed", changed.Status)
	}
	wantChanges := []FieldChange{
		{Path: "data.added", After: sensitive},
		{Path: "data.password", Before: sensitive, After: sensitiveChanged},
		{Path: "data.removed", Before: sensitive},
		{Path: "stringData.token", Before: sensitive, After: sensitiveChanged},
	}
	if d := cmp.Diff(wantChanges, changed.Changes); d != "" {
		t.Errorf("Changes (-want +got):\n%s", d)
	}
	js, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	masked, err := json.Marshal(MaskSecret(before))
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"JSON":            string(js),
		"markdown":        Markdown(rs, MarkdownOptions{}),
		"short markdown":  Markdown(rs, MarkdownOptions{MaxBytes: 600}),
		"text":            Text(rs),
		"MaskSecret JSON": string(masked),
	}
	for name, out := range outputs {
		for _, s := range secretTexts {
			if strings.Contains(out, s) {
				t.Errorf("%s holds the secret value %q:\n%s", name, s, out)
			}
		}
	}
	if !strings.Contains(changed.Unified, "+  password: (sensitive, changed)") {
		t.Errorf("the diff does not show the changed password:\n%s", changed.Unified)
	}
}

func TestMaskSecret(t *testing.T) {
	t.Parallel()
	secret := object(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YQ==}\nstringData: {b: c}\n")
	got := MaskSecret(secret)
	want := object(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: (sensitive)}\nstringData: {b: (sensitive)}\n")
	if d := cmp.Diff(want.Object, got.Object); d != "" {
		t.Errorf("MaskSecret (-want +got):\n%s", d)
	}
	if v, _, _ := unstructured.NestedString(secret.Object, "data", "a"); v != "YQ==" {
		t.Errorf("MaskSecret modified its input: data.a = %q", v)
	}
	odd := object(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: not-a-map\n")
	if v, _, _ := unstructured.NestedString(MaskSecret(odd).Object, "data"); v != sensitive {
		t.Errorf("a data field that is not a map is %q, want it masked", v)
	}
	cm := object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata: {a: b}\n")
	if d := cmp.Diff(cm.Object, MaskSecret(cm).Object); d != "" {
		t.Errorf("MaskSecret changed a ConfigMap (-want +got):\n%s", d)
	}
	other := object(t, "apiVersion: example.com/v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: b}\n")
	if d := cmp.Diff(other.Object, MaskSecret(other).Object); d != "" {
		t.Errorf("MaskSecret changed a Secret of another group (-want +got):\n%s", d)
	}
	if MaskSecret(nil) != nil {
		t.Error("MaskSecret(nil) is not nil")
	}
}

func TestFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		before, after string
		want          string
	}{
		{
			name:   "equal",
			before: "a\nb\n",
			after:  "a\nb\n",
		},
		{
			name:   "one line changed",
			before: "metadata:\n  labels:\n    release.giantswarm.io/version: 30.1.0\n",
			after:  "metadata:\n  labels:\n    release.giantswarm.io/version: 31.0.0\n",
			want:   "--- a/clusters/demo.yaml\n+++ b/clusters/demo.yaml\n@@ -1,3 +1,3 @@\n metadata:\n   labels:\n-    release.giantswarm.io/version: 30.1.0\n+    release.giantswarm.io/version: 31.0.0\n",
		},
		{
			name:   "CRLF kept",
			before: "a: 1\r\nb: 2\r\n",
			after:  "a: 1\r\nb: 3\r\n",
			want:   "--- a/clusters/demo.yaml\n+++ b/clusters/demo.yaml\n@@ -1,2 +1,2 @@\n a: 1\r\n-b: 2\r\n+b: 3\r\n",
		},
		{
			name:   "no newline at the end",
			before: "a: 1\nb: 2",
			after:  "a: 1\nb: 3",
			want:   "--- a/clusters/demo.yaml\n+++ b/clusters/demo.yaml\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n\\ No newline at end of file\n+b: 3\n\\ No newline at end of file\n",
		},
		{
			name:   "newline added at the end",
			before: "a: 1",
			after:  "a: 1\n",
			want:   "--- a/clusters/demo.yaml\n+++ b/clusters/demo.yaml\n@@ -1 +1 @@\n-a: 1\n\\ No newline at end of file\n+a: 1\n",
		},
		{
			name:  "new file",
			after: "a: 1\n",
			want:  "--- a/clusters/demo.yaml\n+++ b/clusters/demo.yaml\n@@ -0,0 +1 @@\n+a: 1\n",
		},
	}
	for _, tt := range tests {
		got := Files("clusters/demo.yaml", []byte(tt.before), []byte(tt.after))
		if got.Path != "clusters/demo.yaml" {
			t.Errorf("%s: Path = %q", tt.name, got.Path)
		}
		if d := cmp.Diff(tt.want, got.Unified); d != "" {
			t.Errorf("%s: Unified (-want +got):\n%s", tt.name, d)
		}
		if tt.want != "" {
			checkApplies(t, tt.before, tt.after, got.Unified)
		}
	}
}

// FuzzFiles checks that the diff of any two texts turns the first into the
// second, its context lines included.
func FuzzFiles(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nB\nc\n")
	f.Add("a\r\nb", "a\r\nb\r\n")
	f.Add("", "x")
	f.Add("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\nten")
	f.Fuzz(func(t *testing.T, before, after string) {
		u, err := udiff.ToUnifiedDiff("a/f", "b/f", before, udiff.Lines(before, after), udiff.DefaultContextLines)
		if err != nil {
			t.Fatal(err)
		}
		fixHunkStarts(u.Hunks)
		if ours, theirs := writeUnified(u), u.String(); ours != theirs {
			t.Fatalf("writeUnified = %q, go-udiff writes %q", ours, theirs)
		}
		got := Files("f", []byte(before), []byte(after))
		if (got.Unified == "") != (before == after) {
			t.Fatalf("Unified = %q for before %q, after %q", got.Unified, before, after)
		}
		if got.Unified != "" {
			checkApplies(t, before, after, got.Unified)
		}
	})
}

// checkApplies applies a unified diff to before, checking every context and
// removed line against it, and compares the outcome with after.
func checkApplies(t *testing.T, before, after, diff string) {
	t.Helper()
	src := strings.SplitAfter(before, "\n")
	if src[len(src)-1] == "" {
		src = src[:len(src)-1]
	}
	lines := strings.SplitAfter(diff, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		t.Fatalf("no diff headers in %q", diff)
	}
	var out strings.Builder
	next := 0 // next line of src
	for i := 2; i < len(lines) && lines[i] != ""; i++ {
		l := lines[i]
		if strings.HasPrefix(l, "@@ ") {
			var from int
			if _, err := fmt.Sscanf(l, "@@ -%d", &from); err != nil {
				t.Fatalf("bad hunk header %q: %v", l, err)
			}
			for ; next < from-1; next++ {
				out.WriteString(src[next])
			}
			continue
		}
		text := l[1:]
		if i+1 < len(lines) && lines[i+1] == "\\ No newline at end of file\n" {
			text = strings.TrimSuffix(text, "\n")
			i++
		}
		switch l[0] {
		case ' ', '-':
			if next >= len(src) || src[next] != text {
				t.Fatalf("line %d of the diff (%q) does not match the source at line %d\ndiff:\n%s", i+1, l, next+1, diff)
			}
			next++
			if l[0] == ' ' {
				out.WriteString(text)
			}
		case '+':
			out.WriteString(text)
		default:
			t.Fatalf("unexpected diff line %q", l)
		}
	}
	for ; next < len(src); next++ {
		out.WriteString(src[next])
	}
	if out.String() != after {
		t.Fatalf("applying the diff gives %q, want %q\ndiff:\n%s", out.String(), after, diff)
	}
}

func TestResourceJSON(t *testing.T) {
	t.Parallel()
	r := Resource{Kind: "Cluster", Name: "c", Status: StatusChanged, Changes: []FieldChange{{Path: "spec.x", After: "1"}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"","kind":"Cluster","namespace":"","name":"c","status":"changed","diff":"","changes":[{"path":"spec.x","before":"","after":"1"}]}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
}

func TestJoin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ path, key, want string }{
		{"", "spec", "spec"},
		{"spec", "version", "spec.version"},
		{"metadata.labels", "app.kubernetes.io/name", `metadata.labels["app.kubernetes.io/name"]`},
		{"", "a b", `["a b"]`},
		{"x", `q"`, "x[" + strconv.Quote(`q"`) + "]"},
	} {
		if got := join(tt.path, tt.key); got != tt.want {
			t.Errorf("join(%q, %q) = %q, want %q", tt.path, tt.key, got, tt.want)
		}
	}
}

// TestObjectsGoValues diffs objects built in Go: other integer types work,
// values with no YAML form are an error and not a panic.
func TestObjectsGoValues(t *testing.T) {
	t.Parallel()
	obj := func(spec map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "x/v1", "kind": "Thing", "metadata": map[string]any{"name": "t"}, "spec": spec,
		}}
	}
	r, err := Objects(obj(map[string]any{"a": 1}), obj(map[string]any{"a": int32(2)}))
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	if d := cmp.Diff([]FieldChange{{Path: "spec.a", Before: "1", After: "2"}}, r.Changes); d != "" {
		t.Errorf("Changes (-want +got):\n%s", d)
	}
	if _, err := Objects(obj(map[string]any{"a": 1}), obj(map[string]any{"a": make(chan int)})); err == nil {
		t.Error("Objects with a channel value succeeded, want an error")
	}
	if got := MaskSecret(obj(map[string]any{"a": make(chan int)})); got == nil {
		t.Error("MaskSecret returned nil")
	}
}

// BenchmarkObjects diffs a changed KubeadmControlPlane.
func BenchmarkObjects(b *testing.B) {
	before, after := object(b, kcpBefore), object(b, kcpAfter)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Objects(before, after); err != nil {
			b.Fatal(err)
		}
	}
}
