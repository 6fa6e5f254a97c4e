package diff

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, rewriting the file with -update
// or UPDATE=1.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update || os.Getenv("UPDATE") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with UPDATE=1 to create it): %v", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-golden +got; UPDATE=1 rewrites it):\n%s", path, d)
	}
}

// planResources are the differences of a cluster's upgrade: every status,
// a Secret, and more changed fields than a table row names.
func planResources(t *testing.T) []Resource {
	t.Helper()
	pairs := [][2]string{
		{kcpBefore, kcpAfter},
		{
			"apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: demo\n  namespace: org-acme\n  labels: {release.giantswarm.io/version: 30.1.0}\nspec: {paused: false}\n",
			"apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: demo\n  namespace: org-acme\n  labels: {release.giantswarm.io/version: 31.0.0}\nspec: {paused: false}\n",
		},
		{
			"apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSCluster\nmetadata: {name: demo, namespace: org-acme}\nspec: {region: eu-west-1}\n",
			"apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSCluster\nmetadata: {name: demo, namespace: org-acme}\nspec: {region: eu-west-1}\n",
		},
		{
			"apiVersion: v1\nkind: Secret\nmetadata: {name: demo-ca, namespace: org-acme}\ndata: {tls.key: c2VjcmV0LWtleQ==}\n",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: demo-ca, namespace: org-acme}\ndata: {tls.key: bmV3LXNlY3JldC1rZXk=}\n",
		},
		{"", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo-audit, namespace: org-acme}\ndata: {policy.yaml: \"rules: []\\n\"}\n"},
		{"apiVersion: bootstrap.cluster.x-k8s.io/v1beta1\nkind: KubeadmConfigTemplate\nmetadata: {name: demo-md-0, namespace: org-acme}\nspec: {template: {spec: {}}}\n", ""},
		{
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: demo-reader}\nrules: []\n",
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: demo-reader}\nrules: []\n",
		},
	}
	var rs []Resource
	for _, p := range pairs {
		var before, after *unstructured.Unstructured
		if p[0] != "" {
			before = object(t, p[0])
		}
		if p[1] != "" {
			after = object(t, p[1])
		}
		r, err := Objects(before, after)
		if err != nil {
			t.Fatalf("Objects: %v", err)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestMarkdownGolden(t *testing.T) {
	t.Parallel()
	golden(t, "comment.md", Markdown(planResources(t), MarkdownOptions{}))
}

func TestTextGolden(t *testing.T) {
	t.Parallel()
	golden(t, "plan.txt", Text(planResources(t)))
}

func TestMarkdownNothingChanged(t *testing.T) {
	t.Parallel()
	rs := planResources(t)
	got := Markdown([]Resource{rs[2], rs[6]}, MarkdownOptions{})
	want := "No resource changes.\n\nUnchanged: AWSCluster org-acme/demo, ClusterRole demo-reader.\n\n"
	if got != want {
		t.Errorf("Markdown = %q, want %q", got, want)
	}
	if got := Markdown(nil, MarkdownOptions{}); got != "No resource changes.\n\n" {
		t.Errorf("Markdown(nil) = %q", got)
	}
}

// TestMarkdownMaxBytes checks every limit from nothing to more than the
// whole comment: the comment always fits, diffs go from the end first, and
// saying so.
func TestMarkdownMaxBytes(t *testing.T) {
	t.Parallel()
	rs := planResources(t)
	full := Markdown(rs, MarkdownOptions{})
	const note = "left out to keep the comment under the size limit; run `upgrade-bot plan` to see them all."
	sections := strings.Count(full, "<details>")
	for limit := 1; limit <= len(full)+10; limit++ {
		got := Markdown(rs, MarkdownOptions{MaxBytes: limit})
		if len(got) > limit {
			t.Fatalf("MaxBytes %d: comment has %d bytes", limit, len(got))
		}
		if limit >= len(full) {
			if got != full {
				t.Fatalf("MaxBytes %d: comment differs from the unlimited one", limit)
			}
			continue
		}
		if limit < len(tooLong(5)) {
			continue // too small to say anything whole
		}
		if !strings.HasSuffix(got, note+"\n") {
			t.Fatalf("MaxBytes %d: diffs left out without saying so:\n%s", limit, got)
		}
		if strings.Contains(got, "<details>") {
			// The table is whole and the diffs shown are the first ones.
			shown := got[:strings.LastIndex(got, "</details>")]
			if !strings.HasPrefix(full, shown) {
				t.Fatalf("MaxBytes %d: the comment is not the start of the full one:\n%s", limit, got)
			}
		}
	}
	// Just under the full size, only the last diff goes.
	got := Markdown(rs, MarkdownOptions{MaxBytes: len(full) - 1})
	if n := strings.Count(got, "<details>"); n != sections-1 {
		t.Errorf("just under the limit: %d diffs shown, want %d", n, sections-1)
	}
	if !strings.Contains(got, "1 diff "+note) {
		t.Errorf("just under the limit: the comment does not say one diff was left out:\n%s", got)
	}
	lastSummary := "<summary>KubeadmConfigTemplate org-acme/demo-md-0"
	if strings.Contains(got, lastSummary) || !strings.Contains(full, lastSummary) {
		t.Errorf("just under the limit: the last diff should be the one left out")
	}
}

func TestMarkdownFence(t *testing.T) {
	t.Parallel()
	r := Resource{Kind: "ConfigMap", Namespace: "ns", Name: "docs", Status: StatusChanged,
		Changes: []FieldChange{{Path: "data.readme"}},
		Unified: "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-```go\n+````\n"}
	got := Markdown([]Resource{r}, MarkdownOptions{})
	if !strings.Contains(got, "\n`````diff\n--- a/x\n") || !strings.Contains(got, "+````\n`````\n") {
		t.Errorf("the diff is not fenced with five backticks:\n%s", got)
	}
}

func TestMarkdownEscapes(t *testing.T) {
	t.Parallel()
	r := Resource{Kind: "Weird|Kind", Namespace: "ns", Name: "<b>x</b>", Status: StatusChanged,
		Changes: []FieldChange{{Path: "data[\"a|b\"]"}, {Path: "data[\"`q`\"]"}, {Path: "x"}, {Path: "y"}, {Path: "z"}},
		Unified: "--- a\n+++ b\n"}
	got := Markdown([]Resource{r}, MarkdownOptions{})
	row := strings.Split(got, "\n")[2]
	want := "| Weird\\|Kind ns/&lt;b&gt;x&lt;/b&gt; | changed | `data[\"a\\|b\"]`, ``data[\"`q`\"]``, `x` and 2 more |"
	if row != want {
		t.Errorf("table row\n got %s\nwant %s", row, want)
	}
	if !strings.Contains(got, "<summary>Weird|Kind ns/&lt;b&gt;x&lt;/b&gt; — 5 fields changed</summary>") {
		t.Errorf("summary not escaped:\n%s", got)
	}
}

func TestMarkdownPages(t *testing.T) {
	t.Parallel()
	var rs []Resource
	for i := range 12 {
		var b strings.Builder
		for j := range 40 + i*10 {
			fmt.Fprintf(&b, "-  replicas: %d\n+  replicas: %d\n", j, j+1)
		}
		rs = append(rs, Resource{Kind: "MachinePool", Namespace: "org-a", Name: fmt.Sprintf("pool-%02d", i), Status: StatusChanged,
			Changes: []FieldChange{{Path: "spec.replicas"}}, Unified: "@@ -1 +1 @@\n" + b.String()})
	}
	rs = append(rs, Resource{Kind: "Cluster", Namespace: "org-a", Name: "c", Status: StatusUnchanged})
	whole := Markdown(rs, MarkdownOptions{})

	for _, limit := range []int{0, len(whole), len(whole) - 1, 8000, 3000} {
		pages := MarkdownPages(rs, limit)
		if limit == 0 || limit >= len(whole) {
			if len(pages) != 1 || pages[0] != whole {
				t.Errorf("limit %d: got %d pages, want the whole comment as one", limit, len(pages))
			}
			continue
		}
		if len(pages) < 2 {
			t.Errorf("limit %d: got %d page, want it split", limit, len(pages))
		}
		for i, p := range pages {
			if len(p) > limit {
				t.Errorf("limit %d: page %d has %d bytes", limit, i+1, len(p))
			}
			if strings.Count(p, "<details>") != strings.Count(p, "</details>") {
				t.Errorf("limit %d: page %d splits a folded diff", limit, i+1)
			}
		}
		joined := strings.Join(pages, "")
		for _, r := range rs[:12] {
			if !strings.Contains(joined, "<summary>"+r.ID()) {
				t.Errorf("limit %d: the diff of %s is on no page", limit, r.ID())
			}
		}
		if limit >= 8000 && joined != whole {
			t.Errorf("limit %d: the pages put together differ from the whole comment", limit)
		}
		if limit == 3000 && !strings.Contains(joined, "more lines left out") {
			t.Errorf("limit %d: no diff was shortened, though some are longer than a page", limit)
		}
	}
}
