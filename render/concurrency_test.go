package render

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentUse runs what the bot runs for every cluster, for all
// clusters at once (run it with -race): locate, bump, rebuild, over
// kustomize roots sharing a base and plain files.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"kustomize-shared-base", "multi-document", "kustomize-common-labels"} {
		repo, err := Discover(t.Context(), filepath.Join("testdata", "bump", c, "input"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4*len(repo.Clusters))
		for range 2 {
			for _, cl := range repo.Clusters {
				wg.Go(func() {
					if err := planOne(t.Context(), repo, cl); err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%s: %v", c, err)
		}
	}
}

func planOne(ctx context.Context, repo *Repository, c *Cluster) error {
	locs, err := Label{}.Locate(ctx, repo, c)
	if err != nil {
		return err
	}
	changes, err := Bump(repo, locs, "31.0.0")
	if err != nil {
		return err
	}
	after, err := repo.Rebuild(ctx, c, changes)
	if err != nil {
		return err
	}
	if v := after.Labels[DefaultVersionLabel]; canonical(v) != "31.0.0" {
		return &VersionConflictError{Cluster: c.Name, Locations: locs}
	}
	return nil
}

func TestCustomVersionLabel(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"c.yaml": `apiVersion: cluster.x-k8s.io/v1beta1
kind: Cluster
metadata:
  name: c
  labels:
    example.com/release: "2.0.0"
    release.giantswarm.io/version: "30.1.0"
`})
	repo, err := Discover(t.Context(), dir, Options{VersionLabel: "example.com/release"})
	if err != nil {
		t.Fatal(err)
	}
	c := repo.Clusters[0]
	for _, l := range []Label{{}, {Key: "example.com/release"}} {
		locs, err := l.Locate(t.Context(), repo, c)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := Version(c, locs); err != nil || v != "2.0.0" {
			t.Errorf("Label{%q}: Version = %q, %v; want 2.0.0", l.Key, v, err)
		}
	}
	// Discovery keeps only the repository's version label; another key is
	// refused rather than reported as missing.
	if _, err := (Label{Key: DefaultVersionLabel}).Locate(t.Context(), repo, c); err == nil || !strings.Contains(err.Error(), "example.com/release") {
		t.Errorf("Label with another key: err = %v, want the repository's label named", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Discover(ctx, dir, Options{}); err == nil {
		t.Error("Discover with a canceled context: want an error")
	}
}
