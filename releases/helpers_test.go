package releases_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

// loadTestdata loads the catalog testdata/<name>.
func loadTestdata(t testing.TB, name string) *releases.Catalog {
	t.Helper()
	c, err := releases.Load(t.Context(), filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("Load(testdata/%s): %v", name, err)
	}
	return c
}

// get returns a release that must exist.
func get(t testing.TB, c *releases.Catalog, provider, version string) *releases.Release {
	t.Helper()
	r, err := c.Get(provider, version)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", provider, version, err)
	}
	return r
}

// repoRoot is the directory holding go.mod, above the package directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
}

func version(s string) *semver.Version { return semver.MustParse(s) }

func versions(rels []*releases.Release) []string {
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = r.Version.String()
		if r.Archived {
			out[i] += " (archived)"
		}
	}
	return out
}
