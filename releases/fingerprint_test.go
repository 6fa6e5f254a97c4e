package releases_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

// TestFingerprint checks that the fingerprint changes with the files Load
// reads, and only with them.
func TestFingerprint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot(t), "examples", "releases"))); err != nil {
		t.Fatal(err)
	}
	fp := func() string {
		t.Helper()
		s, err := releases.Fingerprint(t.Context(), dir)
		if err != nil {
			t.Fatalf("Fingerprint: %v", err)
		}
		return s
	}
	last := fp()
	if again := fp(); again != last {
		t.Fatalf("two fingerprints of the same directory differ: %s, %s", last, again)
	}
	// Each step changes the directory; changed tells whether Load reads
	// what changed.
	later := time.Now().Add(time.Hour)
	steps := []struct {
		name    string
		change  func() error
		changed bool
	}{
		{"a README at the top", func() error { return os.WriteFile(filepath.Join(dir, "README.md"), []byte("# releases\n"), 0o644) }, false},
		{"a file in .git", func() error { return os.MkdirAll(filepath.Join(dir, ".git", "objects"), 0o755) }, false},
		{"a release's README", func() error {
			return os.WriteFile(filepath.Join(dir, "capa", "v32.0.0", "README.md"), []byte("notes\n"), 0o644)
		}, false},
		{"release.yaml touched", func() error {
			return os.Chtimes(filepath.Join(dir, "capa", "v32.0.0", "release.yaml"), later, later)
		}, true},
		{"a base file rewritten, same size", func() error {
			p := filepath.Join(dir, "capa", "v31.0.0", "base", "cluster.yaml")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return err
			}
			return os.Chtimes(p, later, later.Add(time.Second))
		}, true},
		{"releases.json", func() error {
			return os.Chtimes(filepath.Join(dir, "capa", "releases.json"), later, later)
		}, true},
		{"a new release directory", func() error { return os.Mkdir(filepath.Join(dir, "capa", "v33.0.0"), 0o755) }, true},
		{"an archived release", func() error {
			return os.MkdirAll(filepath.Join(dir, "capa", "archived", "v28.0.0"), 0o755)
		}, true},
		{"a release removed", func() error { return os.RemoveAll(filepath.Join(dir, "capa", "v29.6.1")) }, true},
	}
	for _, st := range steps {
		if err := st.change(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		now := fp()
		if changed := now != last; changed != st.changed {
			t.Errorf("%s: fingerprint changed = %v, want %v", st.name, changed, st.changed)
		}
		last = now
	}
	if _, err := releases.Fingerprint(t.Context(), filepath.Join(dir, "nope")); err == nil {
		t.Error("Fingerprint of a missing directory did not fail")
	}
}
