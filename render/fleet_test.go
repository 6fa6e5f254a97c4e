package render

import (
	"fmt"
	"testing"
)

func TestGenerateFleet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	versions := []string{"30.1.0", "v31.0.0", "29.4.2"}
	if err := GenerateFleet(dir, 20, versions); err != nil {
		t.Fatal(err)
	}
	repo, err := Discover(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Problems) > 0 {
		t.Fatalf("problems: %v", repo.Problems)
	}
	if len(repo.Clusters) != 20 {
		t.Fatalf("found %d clusters, want 20", len(repo.Clusters))
	}
	for _, c := range repo.Clusters {
		var i int
		if _, err := fmt.Sscanf(c.Name, "wc%05d", &i); err != nil {
			t.Fatalf("unexpected cluster name %q", c.Name)
		}
		if c.Namespace != "org-0" {
			t.Errorf("%s: namespace %q, want org-0 (20 clusters make one organization)", c.Name, c.Namespace)
		}
		if len(c.Resources) != 3 || c.InfrastructureKind != "AWSCluster" {
			t.Errorf("%s: %d resources, infrastructure %q; want 3, AWSCluster", c.Name, len(c.Resources), c.InfrastructureKind)
		}
		locs, err := Label{}.Locate(t.Context(), repo, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Version(c, locs)
		if err != nil {
			t.Fatal(err)
		}
		if want := canonical(versions[i%len(versions)]); canonical(got) != want {
			t.Errorf("%s: version %q, want %q", c.Name, got, want)
		}
	}
}

func TestGenerateFleetDeterministicAndOrganizations(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if err := GenerateFleet(d, 120, []string{"30.1.0"}); err != nil {
			t.Fatal(err)
		}
	}
	ra, err := Discover(t.Context(), a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Discover(t.Context(), b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	namespaces := map[string]int{}
	for i, c := range ra.Clusters {
		namespaces[c.Namespace]++
		if got, want := string(rb.files[c.Root].data), string(ra.files[c.Root].data); got != want {
			t.Fatalf("%s differs between two generations", c.Root)
		}
		_ = i
	}
	if len(namespaces) != 3 {
		t.Errorf("120 clusters spread over %d organizations, want 3", len(namespaces))
	}
	if err := GenerateFleet(t.TempDir(), 1, nil); err == nil {
		t.Error("no versions: want an error")
	}
}

// benchFleet generates the benchmark fleet: 5,000 clusters, 15,000
// documents in 5,000 files.
func benchFleet(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if err := GenerateFleet(dir, 5000, []string{"30.1.0", "31.0.0", "29.4.2"}); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkDiscover discovers the benchmark fleet, then locates and bumps
// every cluster.
func BenchmarkDiscover(b *testing.B) {
	dir := benchFleet(b)
	for b.Loop() {
		repo, err := Discover(b.Context(), dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(repo.Clusters) != 5000 {
			b.Fatalf("found %d clusters", len(repo.Clusters))
		}
		for _, c := range repo.Clusters {
			locs, err := Label{}.Locate(b.Context(), repo, c)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Bump(repo, locs, "32.0.0"); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRebuild rebuilds every cluster of the benchmark fleet after its
// bump.
func BenchmarkRebuild(b *testing.B) {
	dir := benchFleet(b)
	repo, err := Discover(b.Context(), dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	changes := make([][]FileChange, len(repo.Clusters))
	for i, c := range repo.Clusters {
		locs, err := Label{}.Locate(b.Context(), repo, c)
		if err != nil {
			b.Fatal(err)
		}
		if changes[i], err = Bump(repo, locs, "32.0.0"); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		for i, c := range repo.Clusters {
			if _, err := repo.Rebuild(b.Context(), c, changes[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
