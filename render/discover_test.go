package render

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeFiles writes a repository of files (slash-separated path → content)
// into a temporary directory.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// summary is a cluster as the tests compare it.
type summary struct {
	ID             string
	Infrastructure string
	Root           string
	Resources      []string // "Kind name source"
}

func summarize(repo *Repository) []summary {
	var out []summary
	for _, c := range repo.Clusters {
		s := summary{ID: clusterID(c.Namespace, c.Name), Infrastructure: c.InfrastructureKind, Root: c.Root}
		for _, r := range c.Resources {
			src := r.Source.Path
			if r.Source.Line > 0 {
				src += ":" + strconv.Itoa(r.Source.Line)
			}
			if r.Source.Kustomization != "" {
				src += " (" + r.Source.Kustomization + ")"
			}
			s.Resources = append(s.Resources, r.Object.GetKind()+" "+r.Object.GetName()+" "+src)
		}
		out = append(out, s)
	}
	return out
}

const capaCluster = `apiVersion: cluster.x-k8s.io/v1beta1
kind: Cluster
metadata:
  name: peu01
  namespace: org-acme
  labels:
    release.giantswarm.io/version: "30.1.0"
spec:
  controlPlaneRef:
    apiVersion: controlplane.cluster.x-k8s.io/v1beta1
    kind: KubeadmControlPlane
    name: peu01-cp
  infrastructureRef:
    apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
    kind: AWSCluster
    name: peu01
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSCluster
metadata:
  name: peu01
  namespace: org-acme
---
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata:
  name: peu01-cp
  namespace: org-acme
spec:
  machineTemplate:
    infrastructureRef:
      apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
      kind: AWSMachineTemplate
      name: peu01-cp
`

const workers = `apiVersion: cluster.x-k8s.io/v1beta1
kind: MachineDeployment
metadata:
  name: peu01-md-0
  namespace: org-acme
spec:
  clusterName: peu01
  template:
    spec:
      bootstrap:
        configRef:
          apiVersion: bootstrap.cluster.x-k8s.io/v1beta1
          kind: KubeadmConfigTemplate
          name: peu01-md-0
      infrastructureRef:
        apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
        kind: AWSMachineTemplate
        name: peu01-md-0
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSMachineTemplate
metadata:
  name: peu01-md-0
  namespace: org-acme
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSMachineTemplate
metadata:
  name: peu01-cp
  namespace: org-acme
---
apiVersion: bootstrap.cluster.x-k8s.io/v1beta1
kind: KubeadmConfigTemplate
metadata:
  name: peu01-md-0
  namespace: org-acme
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSMachineTemplate
metadata:
  name: unused
  namespace: org-acme
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: peu01-values
  namespace: org-acme
  labels:
    cluster.x-k8s.io/cluster-name: peu01
`

func TestDiscover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		files    map[string]string
		want     []summary
		problems []string
	}{
		{
			name: "resources grouped by label, clusterName and references",
			files: map[string]string{
				"clusters/peu01/cluster.yaml": capaCluster,
				"clusters/peu01/workers.yaml": workers,
				"clusters/README.md":          "not YAML",
			},
			want: []summary{{
				ID: "org-acme/peu01", Infrastructure: "AWSCluster", Root: "clusters/peu01/cluster.yaml",
				Resources: []string{
					"Cluster peu01 clusters/peu01/cluster.yaml:1",
					"AWSCluster peu01 clusters/peu01/cluster.yaml:18",
					"AWSMachineTemplate peu01-cp clusters/peu01/workers.yaml:26",
					"AWSMachineTemplate peu01-md-0 clusters/peu01/workers.yaml:20",
					"KubeadmConfigTemplate peu01-md-0 clusters/peu01/workers.yaml:32",
					"KubeadmControlPlane peu01-cp clusters/peu01/cluster.yaml:24",
					"MachineDeployment peu01-md-0 clusters/peu01/workers.yaml:1",
				},
			}},
		},
		{
			name: "sorted by namespace and name, CRLF and BOM",
			files: map[string]string{
				"b.yaml": "\ufeffapiVersion: cluster.x-k8s.io/v1beta1\r\nkind: Cluster\r\nmetadata:\r\n  name: zz\r\n  namespace: a\r\n",
				"a.yml":  "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: aa\n  namespace: b\n---\napiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: yy\n  namespace: a\n",
			},
			want: []summary{
				{ID: "a/yy", Root: "a.yml", Resources: []string{"Cluster yy a.yml:7"}},
				{ID: "a/zz", Root: "b.yaml", Resources: []string{"Cluster zz b.yaml:1"}},
				{ID: "b/aa", Root: "a.yml", Resources: []string{"Cluster aa a.yml:1"}},
			},
		},
		{
			name: "malformed file reported, the others read",
			files: map[string]string{
				"good.yaml": "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: good\n",
				"bad.yaml":  "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: bad\n  labels: [unclosed\n",
				"dup.yaml":  "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: good\n",
			},
			want: []summary{{ID: "good", Root: "dup.yaml", Resources: []string{"Cluster good dup.yaml:1"}}},
			problems: []string{
				"bad.yaml:5: invalid YAML: did not find expected ',' or ']'",
				"good.yaml:1: Cluster good is declared again (first at dup.yaml:1); this one is ignored",
			},
		},
		{
			name: "SOPS, hidden directories, node_modules and other groups are skipped",
			files: map[string]string{
				"secret.enc.yaml":          "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: enc\nsops:\n  version: 3.8.1\n",
				"sops.yaml":                "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: ENC[AES256_GCM,data:abc]\nsops:\n  version: 3.8.1\n",
				".github/c.yaml":           "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: hidden\n",
				"node_modules/x/c.yaml":    "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: npm\n",
				"flux.yaml":                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cluster.x-k8s.io\n",
				"notcapi.yaml":             "apiVersion: example.com/v1\nkind: Cluster\nmetadata:\n  name: other\n  labels:\n    cluster.x-k8s.io/cluster-name: x\n",
				"templates/broken.yaml":    "{{ .Values.x }}: [\n",
				"clusters/real/real.yaml":  "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: real\n",
				"clusters/real/empty.yaml": "",
			},
			want: []summary{{ID: "real", Root: "clusters/real/real.yaml", Resources: []string{"Cluster real clusters/real/real.yaml:1"}}},
		},
		{
			name: "kustomize overlay: namespace, origin, base not built alone",
			files: map[string]string{
				"base/kustomization.yaml":          "resources:\n  - cluster.yaml\n",
				"base/cluster.yaml":                capaCluster,
				"overlays/prod/kustomization.yaml": "namespace: org-prod\nresources:\n  - ../../base\n  - workers.yaml\n  - secret.enc.yaml\n",
				"overlays/prod/workers.yaml":       strings.ReplaceAll(workers, "org-acme", "org-prod"),
				"overlays/prod/secret.enc.yaml":    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  a: ENC[x]\nsops:\n  version: 3\n",
				"overlays/prod/unlisted.yaml":      "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: unlisted\n",
			},
			want: []summary{{
				ID: "org-prod/peu01", Infrastructure: "AWSCluster", Root: "overlays/prod",
				Resources: []string{
					"Cluster peu01 base/cluster.yaml:1 (overlays/prod)",
					"AWSCluster peu01 base/cluster.yaml:18 (overlays/prod)",
					"AWSMachineTemplate peu01-cp overlays/prod/workers.yaml:26 (overlays/prod)",
					"AWSMachineTemplate peu01-md-0 overlays/prod/workers.yaml:20 (overlays/prod)",
					"KubeadmConfigTemplate peu01-md-0 overlays/prod/workers.yaml:32 (overlays/prod)",
					"KubeadmControlPlane peu01-cp base/cluster.yaml:24 (overlays/prod)",
					"MachineDeployment peu01-md-0 overlays/prod/workers.yaml:1 (overlays/prod)",
				},
			}},
		},
		{
			name: "failing and remote kustomizations reported, the others built",
			files: map[string]string{
				"broken/kustomization.yaml": "resources:\n  - missing.yaml\n",
				"remote/kustomization.yaml": "resources:\n  - https://github.com/example/repo//base?ref=v1\n",
				"ok/kustomization.yaml":     "buildMetadata: [originAnnotations]\nresources:\n  - c.yaml\n",
				"ok/c.yaml":                 "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: ok\n  annotations:\n    keep: me\n",
			},
			want: []summary{{ID: "ok", Root: "ok", Resources: []string{"Cluster ok ok/c.yaml:1 (ok)"}}},
			problems: []string{
				"broken/kustomization.yaml: kustomize build failed: accumulating resources: accumulation err='accumulating resources from 'missing.yaml': open broken/missing.yaml: no such file or directory': must build at directory: not a valid directory: evalsymlink failure on 'broken/missing.yaml' : lstat broken/missing.yaml: no such file or directory",
				`remote/kustomization.yaml: kustomization uses the remote resource "https://github.com/example/repo//base?ref=v1", which upgrade-bot does not fetch; the clusters built from remote are skipped`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo, err := Discover(t.Context(), writeFiles(t, tt.files), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summarize(repo)); diff != "" {
				t.Errorf("clusters (-want +got):\n%s", diff)
			}
			var problems []string
			for _, p := range repo.Problems {
				problems = append(problems, p.String())
			}
			if diff := cmp.Diff(tt.problems, problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, c := range repo.Clusters {
				for _, r := range c.Resources {
					if _, ok := r.Object.GetAnnotations()[originAnnotation]; ok {
						t.Errorf("%s %s keeps the origin annotation", r.Object.GetKind(), r.Object.GetName())
					}
					// DeepCopy panics on values unstructured cannot hold.
					_ = r.Object.DeepCopy()
				}
			}
		})
	}
}

func TestDiscoverUnreadableRoot(t *testing.T) {
	t.Parallel()
	if _, err := Discover(t.Context(), filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Error("missing root: want an error")
	}
	file := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(t.Context(), file, Options{}); err == nil {
		t.Error("root is a file: want an error")
	}
}

func TestObjectConversion(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"c.yaml": `apiVersion: cluster.x-k8s.io/v1beta1
kind: Cluster
metadata:
  name: c
  labels: &l {a: "1"}
spec:
  int: 3
  octal: 0o17
  float: 1.5
  bool: true
  null: ~
  str: !!str 12
  time: 2024-01-02
  merged:
    <<: {x: 1, y: 2}
    y: 3
  copy: *l
`})
	repo, err := Discover(t.Context(), dir, Options{})
	if err != nil || len(repo.Clusters) != 1 {
		t.Fatalf("Discover: %v, %d clusters, problems %v", err, len(repo.Clusters), repo.Problems)
	}
	got := repo.Clusters[0].Resources[0].Object.Object["spec"]
	want := map[string]any{
		"int": int64(3), "octal": int64(15), "float": 1.5, "bool": true, "null": nil, "str": "12", "time": "2024-01-02",
		"merged": map[string]any{"x": int64(1), "y": int64(3)},
		"copy":   map[string]any{"a": "1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

// TestDiscoverBillionLaughs checks that aliases expanding exponentially are
// a problem, not an exhausted machine.
func TestDiscoverBillionLaughs(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: lol\nspec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("  a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	repo, err := Discover(t.Context(), writeFiles(t, map[string]string{"lol.yaml": b.String()}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Clusters) != 0 || len(repo.Problems) != 1 || !strings.Contains(repo.Problems[0].Message, "too large") {
		t.Errorf("clusters %d, problems %v; want none and one problem", len(repo.Clusters), repo.Problems)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	var files = map[string]string{}
	for _, id := range []string{"org-acme/peu01", "org-acme/peu02", "org-beta/peu01", "org-beta/gaz07", "org-acme/production-eu"} {
		ns, name, _ := strings.Cut(id, "/")
		files[id+".yaml"] = "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\n"
	}
	repo, err := Discover(t.Context(), writeFiles(t, files), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		want        string // cluster ID found
		err         string
		suggestions []string
	}{
		{name: "peu02", want: "org-acme/peu02"},
		{name: "org-beta/peu01", want: "org-beta/peu01"},
		{name: "gaz07", want: "org-beta/gaz07"},
		{name: "peu01", err: `ambiguous cluster name: "peu01" is in 2 namespaces (org-acme/peu01, org-beta/peu01); name one as namespace/name`},
		{name: "peu1", suggestions: []string{"org-acme/peu01", "org-beta/peu01"},
			err: "no cluster \"peu1\" in the repository; did you mean org-acme/peu01 or org-beta/peu01? (5 clusters found; list them with `upgrade-bot plan --all`)"},
		{name: "gaz7", suggestions: []string{"gaz07"},
			err: "no cluster \"gaz7\" in the repository; did you mean gaz07? (5 clusters found; list them with `upgrade-bot plan --all`)"},
		{name: "production", suggestions: []string{"production-eu"}},
		{name: "peu0", suggestions: []string{"org-acme/peu01", "org-beta/peu01", "peu02"},
			err: "no cluster \"peu0\" in the repository; did you mean org-acme/peu01, org-beta/peu01 or peu02? (5 clusters found; list them with `upgrade-bot plan --all`)"},
		{name: "org-acme/gaz07", suggestions: []string{"org-beta/gaz07"}},
		{name: "zzzzzz", err: "no cluster \"zzzzzz\" in the repository (5 clusters found; list them with `upgrade-bot plan --all`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := repo.Find(tt.name)
			if tt.want != "" {
				if err != nil || clusterID(c.Namespace, c.Name) != tt.want {
					t.Fatalf("Find(%q) = %v, %v; want %s", tt.name, c, err, tt.want)
				}
				if !slices.Contains(repo.Clusters, c) {
					t.Error("Find returned a cluster not in repo.Clusters")
				}
				return
			}
			if err == nil {
				t.Fatalf("Find(%q): want an error", tt.name)
			}
			if tt.err != "" && err.Error() != tt.err {
				t.Errorf("error:\n got %s\nwant %s", err, tt.err)
			}
			var unknown *UnknownClusterError
			if errors.As(err, &unknown) {
				if diff := cmp.Diff(tt.suggestions, unknown.Suggestions); diff != "" {
					t.Errorf("suggestions (-want +got):\n%s", diff)
				}
			} else if tt.suggestions != nil {
				t.Errorf("error %T, want *UnknownClusterError", err)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	c := &Cluster{Name: "peu01", Namespace: "org-acme", Root: "clusters/peu01.yaml", VersionLabel: DefaultVersionLabel}
	loc := func(value string, line int) Location {
		return Location{Path: "clusters/peu01.yaml", Line: line, Column: 36, Value: value, Description: "label of Cluster"}
	}
	tests := []struct {
		name string
		locs []Location
		want string
		err  string
	}{
		{name: "one", locs: []Location{loc("30.1.0", 8)}, want: "30.1.0"},
		{name: "agree", locs: []Location{loc("v30.1.0", 8), loc("v30.1.0", 20)}, want: "v30.1.0"},
		{name: "differ only in v", locs: []Location{loc("v30.1.0", 8), loc("30.1.0", 20)}, want: "30.1.0"},
		{name: "conflict", locs: []Location{loc("30.1.0", 8), loc("29.0.0", 20)},
			err: "the version of cluster org-acme/peu01 is written differently in 2 places; make them agree:\n  clusters/peu01.yaml:8:36: \"30.1.0\" (label of Cluster)\n  clusters/peu01.yaml:20:36: \"29.0.0\" (label of Cluster)"},
		{name: "none", err: "no version: cluster org-acme/peu01 has no label release.giantswarm.io/version; add it under metadata.labels of its Cluster resource (in clusters/peu01.yaml), e.g. `release.giantswarm.io/version: \"30.1.0\"`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Version(c, tt.locs)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error:\n got %v\nwant %s", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Version = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := Version(c, nil); !errors.Is(err, ErrNoVersion) {
		t.Errorf("no locations: error %v, want ErrNoVersion", err)
	}
	var conflict *VersionConflictError
	if _, err := Version(c, []Location{loc("1.0.0", 1), loc("2.0.0", 2)}); !errors.As(err, &conflict) || len(conflict.Locations) != 2 {
		t.Errorf("conflict: error %v, want *VersionConflictError with 2 locations", err)
	}
}

// TestLocateFromDiscovery covers the errors the bot meets: a cluster
// without the label, a conflict between resources, and a version that
// kustomize takes from nowhere editable.
func TestLocateFromDiscovery(t *testing.T) {
	t.Parallel()
	repo, err := Discover(t.Context(), writeFiles(t, map[string]string{
		"nolabel.yaml": "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: nolabel\n",
		"conflict.yaml": "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: conflict\n  labels:\n    release.giantswarm.io/version: 30.1.0\n---\n" +
			"apiVersion: cluster.x-k8s.io/v1beta1\nkind: MachinePool\nmetadata:\n  name: mp\n  labels:\n    cluster.x-k8s.io/cluster-name: conflict\n    release.giantswarm.io/version: 29.0.0\n",
		"custom/kustomization.yaml": "resources: [c.yaml]\nlabels:\n  - pairs:\n      release.giantswarm.io/version: |-\n        30.1.0\n",
		"custom/c.yaml":             "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: blockinkust\n",
	}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"nolabel":     "no version: ",
		"conflict":    "written differently in 2 places",
		"blockinkust": "custom/kustomization.yaml:4: the version is written as a block scalar",
	} {
		c, err := repo.Find(name)
		if err != nil {
			t.Fatal(err)
		}
		locs, err := Label{}.Locate(t.Context(), repo, c)
		if err == nil {
			_, err = Version(c, locs)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, want)
		}
	}
}

func TestBumpErrors(t *testing.T) {
	t.Parallel()
	repo, err := Discover(t.Context(), writeFiles(t, map[string]string{"c.yaml": capaCluster}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	locs, err := Label{}.Locate(t.Context(), repo, repo.Clusters[0])
	if err != nil || len(locs) != 1 {
		t.Fatalf("Locate: %v, %v", locs, err)
	}
	stale := locs[0]
	stale.Offset++
	for name, tc := range map[string]struct {
		locs []Location
		to   string
	}{
		"invalid target": {locs, "31.0.0 # x"},
		"empty target":   {locs, ""},
		"stale location": {[]Location{stale}, "31.0.0"},
		"unknown file":   {[]Location{{Path: "other.yaml", Offset: 1, Length: 1, Value: "x"}}, "31.0.0"},
		"overlapping":    {[]Location{locs[0], {Path: locs[0].Path, Offset: locs[0].Offset + 1, Length: 2, Value: locs[0].Value[1:3]}}, "31.0.0"},
	} {
		if _, err := Bump(repo, tc.locs, tc.to); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	changes, err := Bump(repo, locs, "v30.1.0")
	if err != nil || len(changes) != 0 {
		t.Errorf("bump to the current version: %d changes, %v; want none", len(changes), err)
	}
}

func TestLineStartsAndOffsets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		data      string
		line, col int
		want      string // the text at the offset
	}{
		{"lf", "a: 1\nb: 2\n", 2, 4, "2\n"},
		{"crlf", "a: 1\r\nb: 2\r\n", 2, 4, "2\r\n"},
		{"cr", "a: 1\rb: 2\r", 2, 4, "2\r"},
		{"bom", "\ufeffa: 1\n", 1, 4, "1\n"},
		{"multibyte", "é☃: x\n", 1, 5, "x\n"},
		{"tab", "a:\t\tx\n", 1, 5, "x\n"},
		{"nel", "# \u0085a: x\n", 2, 4, "x\n"},
		{"line separator", "# \u2028a: x\n", 2, 4, "x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, problem := parseFile("f.yaml", []byte(tt.data))
			if problem != nil {
				t.Fatal(problem)
			}
			off := f.offset(tt.line, tt.col)
			if off < 0 || string(f.data[off:]) != tt.want {
				t.Errorf("offset(%d, %d) = %d, want the offset of %q", tt.line, tt.col, off, tt.want)
			}
			// The parser agrees: the last scalar starts there.
			top := f.docs[len(f.docs)-1].top
			v := top.Content[len(top.Content)-1]
			if v.Line != tt.line || v.Column != tt.col {
				t.Errorf("parser puts the value at %d:%d, the test at %d:%d", v.Line, v.Column, tt.line, tt.col)
			}
			if l, c := f.position(off); l != tt.line || c != tt.col {
				t.Errorf("position(%d) = %d:%d, want %d:%d", off, l, c, tt.line, tt.col)
			}
		})
	}
}

// TestKustomizeConfinedToRepository checks that a build cannot read files
// outside the repository, as Flux's builds cannot.
func TestKustomizeConfinedToRepository(t *testing.T) {
	t.Parallel()
	outer := writeFiles(t, map[string]string{
		"secret.yaml":             "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: outside\n",
		"repo/kustomization.yaml": "resources:\n  - ../secret.yaml\n",
	})
	repo, err := Discover(t.Context(), filepath.Join(outer, "repo"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Clusters) != 0 || len(repo.Problems) != 1 || !strings.Contains(repo.Problems[0].Message, "outside the repository") {
		t.Errorf("clusters %v, problems %v; want none and the build refused", summarize(repo), repo.Problems)
	}
}
