package releases_test

import (
	"path/filepath"
	"testing"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

func BenchmarkLoad(b *testing.B) {
	dir := filepath.Join(repoRoot(b), "examples", "releases")
	for b.Loop() {
		if _, err := releases.Load(b.Context(), dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet is the lookup the offline renderer makes for every resource.
func BenchmarkGet(b *testing.B) {
	c, err := releases.Load(b.Context(), filepath.Join(repoRoot(b), "examples", "releases"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := c.Get("capa", "31.0.0")
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := r.Patch("KubeadmControlPlane"); !ok {
			b.Fatal("no KubeadmControlPlane patch")
		}
	}
}
