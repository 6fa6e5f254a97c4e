package render

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzBump checks, for arbitrary files, that a bump changes nothing but the
// bytes of the located values, and that reading the bumped file gives the
// new version. It is seeded with the single-file cases of testdata/bump.
func FuzzBump(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "bump"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		files := readTree(f, filepath.Join("testdata", "bump", e.Name(), "input"))
		if len(files) == 1 {
			for _, data := range files {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(capaCluster))
	f.Add([]byte("{apiVersion: cluster.x-k8s.io/v1beta1, kind: Cluster, metadata: {name: x, labels: {release.giantswarm.io/version: '30.1.0'}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		repo, err := Discover(t.Context(), dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range repo.Clusters {
			locs, err := Label{}.Locate(t.Context(), repo, c)
			if err != nil || len(locs) == 0 {
				continue // refusing to edit is allowed
			}
			current, err := Version(c, locs)
			if err != nil {
				continue
			}
			to := "31.0.0"
			if canonical(current) == to {
				to = "32.1.0"
			}
			changes, err := Bump(repo, locs, to)
			if err != nil {
				t.Fatalf("Bump(%v): %v", locs, err)
			}
			if len(changes) != 1 || changes[0].Path != "c.yaml" || string(changes[0].Before) != string(data) {
				t.Fatalf("want one change of c.yaml from the file as read, got %d", len(changes))
			}
			if want := expectedBump(data, locs, to); string(changes[0].After) != string(want) {
				t.Fatalf("bump changed more than the values:\n got %q\nwant %q", changes[0].After, want)
			}

			if err := os.WriteFile(file, changes[0].After, 0o644); err != nil {
				t.Fatal(err)
			}
			reread, err := Discover(t.Context(), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(reread.Clusters, func(x *Cluster) bool { return x.Name == c.Name && x.Namespace == c.Namespace })
			if i < 0 {
				t.Fatalf("cluster %s is gone after the bump; problems: %v", c.Name, reread.Problems)
			}
			rc := reread.Clusters[i]
			rlocs, err := Label{}.Locate(t.Context(), reread, rc)
			if err != nil {
				t.Fatalf("locating after the bump: %v", err)
			}
			if v, err := Version(rc, rlocs); err != nil || canonical(v) != to {
				t.Fatalf("after the bump: Version = %q, %v; want %s", v, err, to)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// expectedBump is data with the bytes of each location replaced by to
// (keeping a "v" prefix), written independently of Bump.
func expectedBump(data []byte, locs []Location, to string) []byte {
	locs = slices.Clone(locs)
	slices.SortFunc(locs, func(a, b Location) int { return b.Offset - a.Offset })
	out := slices.Clone(data)
	last := -1
	for _, l := range locs {
		if l.Offset == last {
			continue
		}
		last = l.Offset
		text := to
		if l.Value[0] == 'v' || l.Value[0] == 'V' {
			text = l.Value[:1] + to
		}
		out = slices.Concat(out[:l.Offset], []byte(text), out[l.Offset+l.Length:])
	}
	return out
}
