// Package kyverno tests the shipped Kyverno policy with the real Kyverno CLI
// and checks that it renders exactly what upgrade-bot's offline renderer
// renders.
package kyverno

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// KyvernoVersion is the Kyverno the tests run; the Makefile builds the same.
const KyvernoVersion = "v1.19.1"

const (
	policyName = "upgrade-bot-release-defaults"
	ruleName   = "apply-release-configmap"
)

// cli returns the path of kubectl-kyverno, or skips the test.
func cli(t *testing.T, root string) string {
	t.Helper()
	p := filepath.Join(root, ".cache", "tools", "kyverno-"+KyvernoVersion, "kubectl-kyverno")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("the Kyverno CLI is not built (%v): run `make test-assets` (once; cached under .cache/), or `make test`", err)
	}
	return p
}

// TestPolicyAgreesWithOfflineRenderer runs the shipped ClusterPolicy with
// the real Kyverno CLI over every resource of the example clusters, under
// their own release and under two others, with the example releases'
// ConfigMaps as cluster resources, and requires Kyverno's result to be
// exactly what the offline renderer produces.
func TestPolicyAgreesWithOfflineRenderer(t *testing.T) {
	root, err := kube.Root()
	if err != nil {
		t.Fatal(err)
	}
	bin := cli(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	catalog, err := releases.Load(ctx, filepath.Join(root, "examples", "releases"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := render.Discover(ctx, filepath.Join(root, "examples", "gitops"), render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyFile(t, filepath.Join(root, "deploy", "kyverno", "clusterpolicy.yaml"), filepath.Join(dir, "policy.yaml"))

	renderer := bot.NewOfflineRenderer(catalog, render.DefaultVersionLabel)
	var resources bytes.Buffer
	var results []map[string]any
	n := 0
	for _, c := range repo.Clusters {
		for _, version := range []string{"", "30.0.0", "31.1.0"} {
			for _, r := range c.Resources {
				obj := r.Object.DeepCopy()
				labels := obj.GetLabels()
				if _, ok := labels[render.DefaultVersionLabel]; !ok {
					continue
				}
				if version != "" {
					labels[render.DefaultVersionLabel] = version
					obj.SetLabels(labels)
					obj.SetName(obj.GetName() + "-" + strings.ReplaceAll(version, ".", "-"))
				}
				want, _, err := renderer.Render(ctx, "capa", []*unstructured.Unstructured{obj})
				if err != nil {
					t.Fatal(err)
				}
				n++
				writeDoc(t, &resources, obj.Object)
				patched := fmt.Sprintf("patched-%03d.yaml", n)
				var b bytes.Buffer
				writeDoc(t, &b, want[0].Object)
				if err := os.WriteFile(filepath.Join(dir, patched), b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				results = append(results, map[string]any{
					"policy": policyName, "rule": ruleName, "kind": obj.GetKind(), "result": "pass",
					"resources":        []string{obj.GetNamespace() + "/" + obj.GetName()},
					"patchedResources": patched,
				})
			}
		}
	}
	namespaces := map[string]bool{}
	for _, c := range repo.Clusters {
		namespaces[c.Namespace] = true
	}
	writeClusterResources(t, filepath.Join(root, "examples", "releases"), dir, namespaces)
	if n < 30 {
		t.Fatalf("only %d labelled resources in the examples; the test would prove little", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "resources.yaml"), resources.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	test := map[string]any{
		"apiVersion": "cli.kyverno.io/v1alpha1", "kind": "Test",
		"metadata":         map[string]any{"name": "upgrade-bot-release-defaults"},
		"policies":         []string{"policy.yaml"},
		"resources":        []string{"resources.yaml"},
		"clusterResources": []string{"cluster-resources.yaml"},
		"results":          results,
	}
	var tb bytes.Buffer
	writeDoc(t, &tb, test)
	if err := os.WriteFile(filepath.Join(dir, "kyverno-test.yaml"), tb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(ctx, bin, "test", dir, "--detailed-results")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl-kyverno test failed (%v); the policy and the offline renderer disagree or the policy is broken:\n%s", err, out)
	}
	m := regexp.MustCompile(`(\d+) tests passed and (\d+) tests failed`).FindSubmatch(out)
	if m == nil || string(m[1]) != fmt.Sprint(n) || string(m[2]) != "0" {
		t.Fatalf("kubectl-kyverno test did not pass all %d resources:\n%s", n, out)
	}
}

// writeClusterResources writes the release ConfigMaps, their namespace and
// the clusters' namespaces as the CLI's cluster resources.
func writeClusterResources(t *testing.T, releasesDir, dir string, namespaces map[string]bool) {
	t.Helper()
	resources := []any{map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": releases.Namespace}}}
	for ns := range namespaces {
		resources = append(resources, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}})
	}
	files, err := filepath.Glob(filepath.Join(releasesDir, "*", "v*", "base", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no release ConfigMaps under %s (%v)", releasesDir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if obj["kind"] == "ConfigMap" {
				resources = append(resources, obj)
			}
		}
	}
	var b bytes.Buffer
	writeDoc(t, &b, map[string]any{
		"apiVersion": "cli.kyverno.io/v1alpha1", "kind": "ClusterResource",
		"metadata": map[string]any{"name": "release-configmaps"},
		"spec":     map[string]any{"resources": resources},
	})
	if err := os.WriteFile(filepath.Join(dir, "cluster-resources.yaml"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeDoc(t *testing.T, b *bytes.Buffer, v any) {
	t.Helper()
	y, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() > 0 {
		b.WriteString("---\n")
	}
	b.Write(y)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
