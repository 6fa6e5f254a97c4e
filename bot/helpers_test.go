package bot

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/test/fixtures"
)

// The example repository and releases written for make demo; the tests plan
// on them so that what the README shows is what is tested.
const (
	exampleGitOps   = "../examples/gitops"
	exampleReleases = "../examples/releases"
)

// testNow is the fixed "now" of the tests: release ages and ends of life are
// judged against it.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func loadCatalog(t testing.TB) *releases.Catalog {
	t.Helper()
	c, err := releases.Load(context.Background(), exampleReleases)
	if err != nil {
		t.Fatalf("loading the example releases: %v", err)
	}
	return c
}

func newPlanner(t testing.TB) *Planner {
	t.Helper()
	return &Planner{Catalog: loadCatalog(t), Now: func() time.Time { return testNow }}
}

// copyDir copies a directory tree into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	return fixtures.CopyDir(t, src)
}

// writeFile writes content to dir/rel, creating directories.
func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceInFile replaces old by new in dir/rel, failing when old is absent.
func replaceInFile(t *testing.T, dir, rel, old, new string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", rel, old)
	}
	if err := os.WriteFile(p, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// golden compares got with testdata/<name>; UPDATE=1 rewrites the file.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if os.Getenv("UPDATE") != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading golden file (run with UPDATE=1 to create it): %v", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs from the output (-want +got; UPDATE=1 regenerates it):\n%s", p, d)
	}
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, s)
		}
	}
}
