package offline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/filters/patchstrategicmerge"
	"sigs.k8s.io/kustomize/kyaml/filtersutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/upgrade-bot/upgrade-bot/test/fixtures"
)

// wholeObjectMerge renders obj the plain way: anchors resolved, kyaml's
// filter over the whole object. Render must agree with it.
func wholeObjectMerge(t *testing.T, obj *unstructured.Unstructured, patch string) map[string]any {
	t.Helper()
	p, err := parsePatch(patch)
	if err != nil {
		t.Fatalf("parsing patch: %v", err)
	}
	res, err := copyObject(obj.Object, true)
	if err != nil {
		t.Fatalf("copying object: %v", err)
	}
	resolved, skip, err := resolveAnchors(p, res)
	if err != nil {
		t.Fatalf("resolving anchors: %v", err)
	}
	if skip {
		return obj.DeepCopy().Object
	}
	out, err := mergeKyaml(res, resolved)
	if err != nil {
		t.Fatalf("merging: %v", err)
	}
	return out
}

// referenceCases add to renderCases objects whose untouched parts hold what
// kyaml might normalise: nulls, empty maps and lists.
func referenceCases() []renderCase {
	odd := strings.Replace(deployment, "spec:\n  template:\n", "spec:\n  paused: null\n  strategy: {}\n  selector:\n    matchLabels: {}\n    matchExpressions: []\n  template:\n", 1) +
		"      volumes:\n      - name: v\n        emptyDir: {}\n      - name: w\n        hostPath: {path: /x}\n      initContainers:\n      - name: i\n        args: [null, \"1\"]\n"
	cases := renderCases()
	for _, p := range []string{
		"spec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:2\n",
		"metadata:\n  annotations: {a: b}\n",
		"spec:\n  template:\n    spec:\n      volumes:\n      - name: w\n        emptyDir: {}\n",
		"spec:\n  template:\n    metadata:\n      labels: {x: z}\n",
	} {
		cases = append(cases, renderCase{name: "odd deployment: " + p, in: odd, patch: p})
	}
	for _, p := range []string{
		"$patch: replace\nkind: KubeadmControlPlane\napiVersion: x/v1\nspec: {replicas: 1}\n",
		"apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nspec: {replicas: 1}\n",
		"spec:\n  kubeadmConfigSpec:\n    clusterConfiguration:\n      apiServer:\n        $patch: replace\n        certSANs: [a]\n",
		"spec:\n  nothere: null\n  machineTemplate: {infrastructureRef: {name: x}}\n",
		"metadata: null\n",
	} {
		cases = append(cases, renderCase{name: "kcp: " + p, in: kcp, patch: p})
	}
	return cases
}

// TestRenderMatchesWholeObjectMerge checks that Render, which merges custom
// resources natively, gives what kyaml's merge of the whole object gives.
func TestRenderMatchesWholeObjectMerge(t *testing.T) {
	t.Parallel()
	for _, tt := range referenceCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := object(t, tt.in)
			want := wholeObjectMerge(t, in, tt.patch)
			r := New(label, patches(map[string]string{in.GetKind() + " 31.0.0": tt.patch}))
			for range 2 { // the second render uses the cached patch
				got, err := r.Render(t.Context(), in)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if d := cmp.Diff(want, got.Object.Object); d != "" {
					t.Errorf("Render differs from a whole-object merge (-whole +Render):\n%s", d)
				}
			}
		})
	}
}

// TestRenderMatchesKyvernoPath checks the conversions: for patches without
// anchors, Render agrees with the way Kyverno calls kyaml, on JSON text.
func TestRenderMatchesKyvernoPath(t *testing.T) {
	t.Parallel()
	for _, tt := range referenceCases() {
		if strings.Contains(tt.patch, "(") || strings.Contains(tt.patch, "{}") {
			continue // anchors and empty maps are preprocessed first
		}
		patchJSON, err := sigsyaml.YAMLToJSON([]byte(tt.patch))
		if err != nil {
			t.Fatal(err)
		}
		if string(patchJSON) == "null" {
			continue // Kyverno has no empty patches
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := object(t, tt.in)
			objJSON, err := json.Marshal(in.Object)
			if err != nil {
				t.Fatal(err)
			}
			doc := &jsonDoc{data: objJSON}
			if err := filtersutil.ApplyToJSON(patchstrategicmerge.Filter{Patch: yaml.MustParse(string(patchJSON))}, doc); err != nil {
				t.Fatalf("kyaml on JSON: %v", err)
			}
			var want unstructured.Unstructured
			if err := want.UnmarshalJSON(doc.data); err != nil {
				t.Fatal(err)
			}
			got, err := New(label, patches(map[string]string{in.GetKind() + " 31.0.0": tt.patch})).Render(t.Context(), in)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if d := cmp.Diff(want.Object, got.Object.Object); d != "" {
				t.Errorf("Render differs from kyaml on JSON (-kyaml +Render):\n%s", d)
			}
		})
	}
}

// jsonDoc is the JSON marshaller filtersutil.ApplyToJSON works on.
type jsonDoc struct{ data []byte }

func (d *jsonDoc) UnmarshalJSON(b []byte) error { d.data = append([]byte(nil), b...); return nil }
func (d *jsonDoc) MarshalJSON() ([]byte, error) { return d.data, nil }

// TestRenderFixture renders the KubeadmControlPlane of the Cluster API AWS
// cluster template (a real public manifest) under a release patch.
func TestRenderFixture(t *testing.T) {
	t.Parallel()
	path := filepath.Join(fixtures.Shared(t, "capi-manifests"), "cluster-api-provider-aws", "templates", "cluster-template.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in *unstructured.Unstructured
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if strings.Contains(doc, "\nkind: KubeadmControlPlane\n") {
			// ${CONTROL_PLANE_MACHINE_COUNT} is not YAML until substituted.
			in = object(t, strings.ReplaceAll(doc, "${CONTROL_PLANE_MACHINE_COUNT}", "3"))
		}
	}
	if in == nil {
		t.Fatal("no KubeadmControlPlane in the fixture")
	}
	in.SetLabels(map[string]string{label: "v31.0.0"})
	patch := `spec:
  version: v1.31.2
  kubeadmConfigSpec:
    clusterConfiguration:
      apiServer:
        extraArgs:
          +(cloud-provider): external
          audit-log-maxage: "30"
    joinConfiguration:
      nodeRegistration:
        kubeletExtraArgs:
          (cloud-provider): external
          node-labels: giantswarm.io/release=31.0.0
`
	got, err := New(label, patches(map[string]string{"KubeadmControlPlane 31.0.0": patch})).Render(t.Context(), in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := in.DeepCopy()
	unstructured.SetNestedField(want.Object, "v1.31.2", "spec", "version")
	unstructured.SetNestedStringMap(want.Object, map[string]string{"cloud-provider": "external", "audit-log-maxage": "30"}, "spec", "kubeadmConfigSpec", "clusterConfiguration", "apiServer", "extraArgs")
	unstructured.SetNestedField(want.Object, "giantswarm.io/release=31.0.0", "spec", "kubeadmConfigSpec", "joinConfiguration", "nodeRegistration", "kubeletExtraArgs", "node-labels")
	if d := cmp.Diff(want.Object, got.Object.Object); d != "" {
		t.Errorf("rendered fixture (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wholeObjectMerge(t, in, patch), got.Object.Object); d != "" {
		t.Errorf("Render differs from a whole-object merge (-whole +Render):\n%s", d)
	}
}
