package offline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

const label = "release.giantswarm.io/version"

// object parses a YAML object for a test.
func object(t testing.TB, text string) *unstructured.Unstructured {
	t.Helper()
	j, err := sigsyaml.YAMLToJSON([]byte(text))
	if err != nil {
		t.Fatalf("parsing test object: %v", err)
	}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON(j); err != nil {
		t.Fatalf("parsing test object: %v", err)
	}
	return &obj
}

// patches is a Lookup over a map from "Kind version" to patch text.
func patches(m map[string]string) Lookup {
	return func(_ context.Context, kind, version string) (string, string, bool, error) {
		p, ok := m[kind+" "+version]
		return p, fmt.Sprintf("ConfigMap %s-%s", strings.ToLower(kind), strings.ReplaceAll(version, ".", "-")), ok, nil
	}
}

const kcp = `apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata:
  name: demo
  namespace: org-acme
  labels:
    release.giantswarm.io/version: 31.0.0
  annotations:
    owner: team-a
spec:
  replicas: 3
  version: v1.30.4
  kubeadmConfigSpec:
    clusterConfiguration:
      apiServer:
        extraArgs:
          cloud-provider: external
          audit-log-maxage: "30"
    files:
    - path: /etc/a
      content: a
      permissions: "0600"
    - path: /etc/b
      content: b
    users:
    - name: giantswarm
      sudo: ALL=(ALL) NOPASSWD:ALL
    - name: ops
      shell: /bin/bash
`

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    release.giantswarm.io/version: v31.0.0
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.27
      - name: sidecar
        image: envoy:1.30
      - name: debug
        image: busybox
`

// renderCase is an object, a patch for its kind under release 31.0.0, and
// the rendered object.
type renderCase struct {
	name    string
	in      string
	patch   string
	want    string // expected object; "" means unchanged
	applied bool
}

func renderCases() []renderCase {
	return []renderCase{
		{
			name:    "maps merge",
			in:      kcp,
			patch:   "metadata:\n  annotations:\n    release: managed\nspec:\n  kubeadmConfigSpec:\n    clusterConfiguration:\n      apiServer:\n        extraArgs:\n          feature-gates: A=true\n",
			want:    strings.Replace(strings.Replace(kcp, "    owner: team-a\n", "    owner: team-a\n    release: managed\n", 1), "          audit-log-maxage: \"30\"\n", "          audit-log-maxage: \"30\"\n          feature-gates: A=true\n", 1),
			applied: true,
		},
		{
			name:    "scalars replace",
			in:      kcp,
			patch:   "spec:\n  version: v1.31.2\n  replicas: 5\n",
			want:    strings.Replace(strings.Replace(kcp, "v1.30.4", "v1.31.2", 1), "replicas: 3", "replicas: 5", 1),
			applied: true,
		},
		{
			name:    "null deletes a key",
			in:      kcp,
			patch:   "metadata:\n  annotations:\n    owner: null\n",
			want:    strings.Replace(kcp, "  annotations:\n    owner: team-a\n", "  annotations: {}\n", 1),
			applied: true,
		},
		{
			name:    "$patch: delete deletes a map",
			in:      kcp,
			patch:   "spec:\n  kubeadmConfigSpec:\n    clusterConfiguration:\n      $patch: delete\n",
			want:    strings.Replace(kcp, "    clusterConfiguration:\n      apiServer:\n        extraArgs:\n          cloud-provider: external\n          audit-log-maxage: \"30\"\n", "", 1),
			applied: true,
		},
		{
			name:    "$patch: replace replaces a map",
			in:      kcp,
			patch:   "spec:\n  kubeadmConfigSpec:\n    clusterConfiguration:\n      apiServer:\n        extraArgs:\n          $patch: replace\n          v: \"2\"\n",
			want:    strings.Replace(kcp, "          cloud-provider: external\n          audit-log-maxage: \"30\"\n", "          v: \"2\"\n", 1),
			applied: true,
		},
		{
			name:  "named list of a Kubernetes kind merges by name, the patch's items first",
			in:    deployment,
			patch: "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.28\n      - name: init\n        image: alpine\n",
			want: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    release.giantswarm.io/version: v31.0.0
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.28
      - name: init
        image: alpine
      - name: sidecar
        image: envoy:1.30
      - name: debug
        image: busybox
`,
			applied: true,
		},
		{
			name:    "$patch: delete removes a named item of a Kubernetes kind",
			in:      deployment,
			patch:   "spec:\n  template:\n    spec:\n      containers:\n      - name: debug\n        $patch: delete\n",
			want:    strings.Replace(deployment, "      - name: debug\n        image: busybox\n", "", 1),
			applied: true,
		},
		{
			name:    "named list of a custom resource is replaced",
			in:      kcp,
			patch:   "spec:\n  kubeadmConfigSpec:\n    users:\n    - name: ops\n      shell: /bin/zsh\n",
			want:    strings.Replace(kcp, "    - name: giantswarm\n      sudo: ALL=(ALL) NOPASSWD:ALL\n    - name: ops\n      shell: /bin/bash\n", "    - name: ops\n      shell: /bin/zsh\n", 1),
			applied: true,
		},
		{
			name:    "list keyed by path of a custom resource is replaced",
			in:      kcp,
			patch:   "spec:\n  kubeadmConfigSpec:\n    files:\n    - path: /etc/b\n      content: b2\n",
			want:    strings.Replace(kcp, "    - path: /etc/a\n      content: a\n      permissions: \"0600\"\n    - path: /etc/b\n      content: b\n", "    - path: /etc/b\n      content: b2\n", 1),
			applied: true,
		},
		{
			name:    "$patch: delete in a list item of a custom resource is kept as written",
			in:      kcp,
			patch:   "spec:\n  kubeadmConfigSpec:\n    users:\n    - name: ops\n      $patch: delete\n",
			want:    strings.Replace(kcp, "    - name: giantswarm\n      sudo: ALL=(ALL) NOPASSWD:ALL\n    - name: ops\n      shell: /bin/bash\n", "    - name: ops\n      $patch: delete\n", 1),
			applied: true,
		},
		{
			name:    "+(key) absent is added",
			in:      kcp,
			patch:   "spec:\n  +(rolloutAfter): \"2025-01-01T00:00:00Z\"\n",
			want:    strings.Replace(kcp, "  replicas: 3\n", "  replicas: 3\n  rolloutAfter: \"2025-01-01T00:00:00Z\"\n", 1),
			applied: true,
		},
		{
			name:    "+(key) present is left alone",
			in:      kcp,
			patch:   "spec:\n  +(replicas): 1\n  version: v1.31.2\n",
			want:    strings.Replace(kcp, "v1.30.4", "v1.31.2", 1),
			applied: true,
		},
		{
			name:    "condition in a map matches",
			in:      kcp,
			patch:   "spec:\n  (version): v1.30.*\n  replicas: 5\n",
			want:    strings.Replace(kcp, "replicas: 3", "replicas: 5", 1),
			applied: true,
		},
		{
			name:  "condition in a map does not match: nothing applies",
			in:    kcp,
			patch: "metadata:\n  annotations:\n    x: y\nspec:\n  (version): v1.29.*\n  replicas: 5\n",
		},
		{
			name:  "condition on a missing key does not match",
			in:    kcp,
			patch: "spec:\n  (paused): true\n  replicas: 5\n",
		},
		{
			name:  "condition in list items selects the items to patch",
			in:    deployment,
			patch: "spec:\n  template:\n    spec:\n      containers:\n      - (image): \"nginx:* | busybox\"\n        imagePullPolicy: Always\n",
			want: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    release.giantswarm.io/version: v31.0.0
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.27
        imagePullPolicy: Always
      - name: debug
        image: busybox
        imagePullPolicy: Always
      - name: sidecar
        image: envoy:1.30
`,
			applied: true,
		},
		{
			name:    "condition in list items that matches none changes nothing",
			in:      deployment,
			patch:   "spec:\n  template:\n    spec:\n      containers:\n      - (image): redis*\n        imagePullPolicy: Always\n",
			want:    deployment,
			applied: true,
		},
		{
			name:  "several conditional list items each select their items",
			in:    deployment,
			patch: "spec:\n  template:\n    spec:\n      containers:\n      - (name): app\n        image: nginx:1.28\n      - (name): debug\n        image: busybox:1.37\n",
			want: strings.Replace(strings.Replace(deployment, "nginx:1.27", "nginx:1.28", 1),
				"      - name: sidecar\n        image: envoy:1.30\n      - name: debug\n        image: busybox\n",
				"      - name: debug\n        image: busybox:1.37\n      - name: sidecar\n        image: envoy:1.30\n", 1),
			applied: true,
		},
		{
			name:    "condition in list items of a custom resource replaces the list with the matching items",
			in:      kcp,
			patch:   "spec:\n  kubeadmConfigSpec:\n    users:\n    - (name): ops\n      shell: /bin/zsh\n",
			want:    strings.Replace(kcp, "    - name: giantswarm\n      sudo: ALL=(ALL) NOPASSWD:ALL\n    - name: ops\n      shell: /bin/bash\n", "    - name: ops\n      shell: /bin/zsh\n", 1),
			applied: true,
		},
		{
			name:  "+(key) in list items is decided per item",
			in:    strings.Replace(deployment, "        image: envoy:1.30\n", "        image: envoy:1.30\n        imagePullPolicy: Never\n", 1),
			patch: "spec:\n  template:\n    spec:\n      containers:\n      - (name): \"*\"\n        +(imagePullPolicy): IfNotPresent\n",
			want: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    release.giantswarm.io/version: v31.0.0
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.27
        imagePullPolicy: IfNotPresent
      - name: debug
        image: busybox
        imagePullPolicy: IfNotPresent
      - name: sidecar
        image: envoy:1.30
        imagePullPolicy: Never
`,
			applied: true,
		},
		{
			name:    "global condition in list items holds",
			in:      deployment,
			patch:   "metadata:\n  annotations:\n    mesh: \"on\"\nspec:\n  template:\n    spec:\n      containers:\n      - <(name): sidecar\n",
			want:    strings.Replace(deployment, "  name: web\n", "  name: web\n  annotations:\n    mesh: \"on\"\n", 1),
			applied: true,
		},
		{
			name:  "global condition in list items fails: nothing applies",
			in:    deployment,
			patch: "metadata:\n  annotations:\n    mesh: \"on\"\nspec:\n  template:\n    spec:\n      containers:\n      - <(name): linkerd\n",
		},
		{
			name:    "empty maps in a patch create nothing",
			in:      kcp,
			patch:   "spec:\n  machineTemplate: {}\n  version: v1.31.2\n",
			want:    strings.Replace(kcp, "v1.30.4", "v1.31.2", 1),
			applied: true,
		},
		{
			name:    "patch values are read as JSON would read them",
			in:      kcp,
			patch:   "spec:\n  replicas: 3.0\n  extra:\n    enabled: yes\n    ratio: 1.50\n    count: 0x10\n",
			want:    strings.Replace(kcp, "  replicas: 3\n", "  replicas: 3\n  extra:\n    enabled: true\n    ratio: 1.5\n    count: 16\n", 1),
			applied: true,
		},
		{
			name:    "empty patch changes nothing",
			in:      kcp,
			patch:   "# nothing yet\n",
			want:    kcp,
			applied: true,
		},
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	for _, tt := range renderCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := object(t, tt.in)
			before := in.DeepCopy()
			kind := in.GetKind()
			r := New(label, patches(map[string]string{kind + " 31.0.0": tt.patch}))
			got, err := r.Render(t.Context(), in)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			want := before
			if tt.want != "" {
				want = object(t, tt.want)
			}
			if d := cmp.Diff(want.Object, got.Object.Object); d != "" {
				t.Errorf("rendered object (-want +got):\n%s", d)
			}
			if d := cmp.Diff(before.Object, in.Object); d != "" {
				t.Errorf("input was modified (-before +after):\n%s", d)
			}
			var wantApplied []string
			if tt.applied {
				wantApplied = []string{"ConfigMap " + strings.ToLower(kind) + "-31-0-0"}
			}
			if d := cmp.Diff(wantApplied, got.Applied); d != "" {
				t.Errorf("Applied (-want +got):\n%s", d)
			}
			if len(got.Warnings) > 0 {
				t.Errorf("Warnings = %q, want none", got.Warnings)
			}
		})
	}
}

func TestRenderAsWritten(t *testing.T) {
	t.Parallel()
	noLabel := strings.Replace(kcp, "    release.giantswarm.io/version: 31.0.0\n", "    other: x\n", 1)
	tests := []struct {
		name     string
		in       string
		warnings []string
	}{
		{name: "no label", in: noLabel},
		{name: "empty label", in: strings.Replace(kcp, "version: 31.0.0", `version: ""`, 1)},
		{name: "no labels at all", in: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"},
		{
			name:     "no ConfigMap for the kind",
			in:       strings.Replace(kcp, "version: 31.0.0", "version: v29.6.1", 1),
			warnings: []string{"no release ConfigMap for KubeadmControlPlane in v29.6.1: rendered as written"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			lookup := func(context.Context, string, string) (string, string, bool, error) {
				calls.Add(1)
				return "", "", false, nil
			}
			in := object(t, tt.in)
			got, err := New(label, lookup).Render(t.Context(), in)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if d := cmp.Diff(in.Object, got.Object.Object); d != "" {
				t.Errorf("rendered object differs from the input (-in +got):\n%s", d)
			}
			if d := cmp.Diff(tt.warnings, got.Warnings); d != "" {
				t.Errorf("Warnings (-want +got):\n%s", d)
			}
			if len(got.Applied) > 0 {
				t.Errorf("Applied = %q, want none", got.Applied)
			}
			if wantCalls := int32(len(tt.warnings)); calls.Load() != wantCalls {
				t.Errorf("lookup called %d times, want %d", calls.Load(), wantCalls)
			}
			// The copy shares nothing with the input.
			unstructured.SetNestedField(got.Object.Object, "changed", "metadata", "name")
			if in.GetName() == "changed" {
				t.Error("the rendered object shares maps with the input")
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	errLookup := errors.New("catalog unavailable")
	tests := []struct {
		name   string
		in     string
		patch  string
		lookup Lookup
		want   []string // substrings of the error
		is     error
	}{
		{
			name:  "patch is not YAML",
			in:    kcp,
			patch: "spec:\n  version: [v1\n",
			want:  []string{"parsing the patch in ConfigMap kubeadmcontrolplane-31-0-0"},
		},
		{
			name:  "patch is a list",
			in:    kcp,
			patch: "- a\n- b\n",
			want:  []string{"ConfigMap kubeadmcontrolplane-31-0-0", "the patch is a list"},
		},
		{
			name: "lookup fails",
			in:   kcp,
			lookup: func(context.Context, string, string) (string, string, bool, error) {
				return "", "", false, errLookup
			},
			want: []string{"looking up the patch for KubeadmControlPlane in v31.0.0"},
			is:   errLookup,
		},
		{
			name:  "validation anchor",
			in:    kcp,
			patch: "spec:\n  X(paused): true\n",
			want:  []string{"applying the patch in ConfigMap kubeadmcontrolplane-31-0-0", `anchor "X(paused)" is not supported`},
		},
		{
			name:  "scalar where the object has a map",
			in:    kcp,
			patch: "spec:\n  kubeadmConfigSpec: none\n",
			want:  []string{"applying the patch in ConfigMap kubeadmcontrolplane-31-0-0", "merging"},
		},
		{
			name:  "list of maps where the object has a map",
			in:    kcp,
			patch: "spec:\n  kubeadmConfigSpec:\n  - (name): x\n    a: b\n",
			want:  []string{"spec.kubeadmConfigSpec: the patch has a list where the resource has a map"},
		},
		{
			name:  "map where the object has a list",
			in:    kcp,
			patch: "spec:\n  kubeadmConfigSpec:\n    files:\n      $patch: delete\n",
			want:  []string{"merging: wrong node kind"},
		},
		{
			name:  "patch deletes the object",
			in:    kcp,
			patch: "$patch: delete\n",
			want:  []string{"the patch deletes the whole object"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lookup := tt.lookup
			if lookup == nil {
				lookup = patches(map[string]string{"KubeadmControlPlane 31.0.0": tt.patch})
			}
			in := object(t, tt.in)
			before := in.DeepCopy()
			_, err := New(label, lookup).Render(t.Context(), in)
			if err == nil {
				t.Fatal("Render succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %q", err, tt.is)
			}
			if d := cmp.Diff(before.Object, in.Object); d != "" {
				t.Errorf("input was modified (-before +after):\n%s", d)
			}
		})
	}
}

func TestRenderNilObject(t *testing.T) {
	t.Parallel()
	if _, err := New(label, patches(nil)).Render(t.Context(), nil); err == nil {
		t.Error("Render(nil) succeeded, want an error")
	}
}

// TestRenderLookupErrorsAreNotCached checks that a failed lookup is asked
// again, while a found patch is looked up once.
func TestRenderLookupErrorsAreNotCached(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	r := New(label, func(context.Context, string, string) (string, string, bool, error) {
		if calls.Add(1) == 1 {
			return "", "", false, errors.New("temporary")
		}
		return "spec:\n  replicas: 5\n", "src", true, nil
	})
	in := object(t, kcp)
	if _, err := r.Render(t.Context(), in); err == nil {
		t.Fatal("first Render succeeded, want the lookup error")
	}
	for range 3 {
		got, err := r.Render(t.Context(), in)
		if err != nil {
			t.Fatalf("Render after a failed lookup: %v", err)
		}
		if n, _, _ := unstructured.NestedInt64(got.Object.Object, "spec", "replicas"); n != 5 {
			t.Errorf("replicas = %d, want 5", n)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("lookup called %d times, want 2", calls.Load())
	}
}

func TestRenderCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New(label, patches(nil)).Render(ctx, object(t, kcp))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Render with a canceled context = %v, want context.Canceled", err)
	}
}

// TestRenderConcurrent renders the same and different objects from many
// goroutines (run it with -race) and checks every result against a
// sequential render, and that each patch is looked up once.
func TestRenderConcurrent(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	lookupPatches := patches(map[string]string{
		"KubeadmControlPlane 31.0.0": "spec:\n  version: v1.31.2\n  +(rolloutAfter): now\n",
		"KubeadmControlPlane 30.0.0": "spec:\n  version: v1.30.9\n",
		"Deployment 31.0.0":          "spec:\n  template:\n    spec:\n      containers:\n      - (name): \"*\"\n        imagePullPolicy: Always\n",
	})
	lookup := func(ctx context.Context, kind, version string) (string, string, bool, error) {
		calls.Add(1)
		return lookupPatches(ctx, kind, version)
	}
	var objs []*unstructured.Unstructured
	for i := range 20 {
		version := []string{"31.0.0", "30.0.0"}[i%2]
		o := object(t, strings.Replace(kcp, "version: 31.0.0", "version: "+version, 1))
		o.SetName(fmt.Sprintf("c%d", i))
		unstructured.SetNestedField(o.Object, int64(i%4), "spec", "replicas")
		objs = append(objs, o, object(t, deployment))
	}
	want := make([]Result, len(objs))
	seq := New(label, patches(nil))
	seq.lookup = lookupPatches
	for i, o := range objs {
		var err error
		if want[i], err = seq.Render(t.Context(), o); err != nil {
			t.Fatalf("sequential Render: %v", err)
		}
	}
	r := New(label, lookup)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for rep := range 10 {
				for i := range objs {
					i := (i + g + rep) % len(objs)
					got, err := r.Render(t.Context(), objs[i])
					if err != nil {
						t.Errorf("Render: %v", err)
						return
					}
					if d := cmp.Diff(want[i], got); d != "" {
						t.Errorf("concurrent render of object %d (-sequential +concurrent):\n%s", i, d)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if calls.Load() != 3 {
		t.Errorf("lookup called %d times, want 3 (once per kind and version)", calls.Load())
	}
}

// TestRenderGoValues renders objects built in Go rather than decoded from
// JSON: other integer types are accepted, unsupported values are an error
// and not a panic.
func TestRenderGoValues(t *testing.T) {
	t.Parallel()
	r := New(label, patches(map[string]string{"Thing 31.0.0": "spec:\n  b: 2\n"}))
	for _, labelled := range []bool{true, false} {
		labels := map[string]any{}
		if labelled {
			labels[label] = "31.0.0"
		}
		in := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "x/v1", "kind": "Thing",
			"metadata": map[string]any{"name": "t", "labels": labels},
			"spec":     map[string]any{"a": 1, "c": int32(3), "d": json.Number("4.5")},
		}}
		got, err := r.Render(t.Context(), in)
		if err != nil {
			t.Fatalf("labelled=%v: Render: %v", labelled, err)
		}
		want := map[string]any{"a": int64(1), "c": int64(3), "d": 4.5}
		if labelled {
			want["b"] = int64(2)
		}
		if d := cmp.Diff(want, got.Object.Object["spec"]); d != "" {
			t.Errorf("labelled=%v: spec (-want +got):\n%s", labelled, d)
		}

		in.Object["spec"].(map[string]any)["e"] = make(chan int)
		if _, err := r.Render(t.Context(), in); err == nil || !strings.Contains(err.Error(), "unsupported value of type chan int") {
			t.Errorf("labelled=%v: Render of a channel = %v, want an unsupported value error", labelled, err)
		}
	}
}
