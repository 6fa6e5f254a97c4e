package render

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// bumpCase is testdata/bump/<case>/case.yaml.
type bumpCase struct {
	// Cluster is the cluster to bump, as given to Find.
	Cluster string `yaml:"cluster"`
	// To is the target version.
	To string `yaml:"to"`
	// Error, when set, is a substring of the error locating must return.
	Error string `yaml:"error"`
	// Shared lists the clusters the locations must name as sharing them.
	Shared []string `yaml:"shared"`
	// Locations is the number of locations expected, when more than one.
	Locations int `yaml:"locations"`
	// Locators are the locators to locate with (label when empty):
	// label, flux-substitute, app-version, values, or detect (all).
	Locators []string `yaml:"locators"`
	// Warnings are substrings the warnings (Warnings) must contain, one
	// each.
	Warnings []string `yaml:"warnings"`
}

// caseLocators are the locators of a case.
func caseLocators(t testing.TB, tc bumpCase) []Locator {
	t.Helper()
	if len(tc.Locators) == 0 {
		return []Locator{Label{}}
	}
	var out []Locator
	for _, name := range tc.Locators {
		switch name {
		case "label":
			out = append(out, Label{})
		case "flux-substitute":
			out = append(out, FluxSubstitute{})
		case "app-version":
			out = append(out, AppVersion{})
		case "values":
			out = append(out, Values{})
		case "detect":
			out = append(out, DetectLocators("")...)
		default:
			t.Fatalf("unknown locator %q", name)
		}
	}
	return out
}

func readBumpCase(t testing.TB, dir string) bumpCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "case.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tc bumpCase
	if err := yaml.Unmarshal(data, &tc); err != nil {
		t.Fatalf("reading case.yaml: %v", err)
	}
	return tc
}

// readTree reads every file under dir, by slash-separated relative path.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeTree(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBumpCases walks testdata/bump: each case's input tree is discovered,
// the cluster's version located and bumped, and the result compared with
// the expected tree (UPDATE=1 rewrites it). The bumped repository must
// read back with the new version, in place (Rebuild) and from disk.
func TestBumpCases(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(filepath.Join("testdata", "bump"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		dir := filepath.Join("testdata", "bump", e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			tc := readBumpCase(t, dir)
			input := filepath.Join(dir, "input")
			repo, err := Discover(t.Context(), input, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(repo.Problems) > 0 {
				t.Fatalf("problems: %v", repo.Problems)
			}
			c, err := repo.Find(tc.Cluster)
			if err != nil {
				t.Fatal(err)
			}
			locators := caseLocators(t, tc)
			locs, err := LocateAll(t.Context(), repo, c, locators)
			if err == nil && tc.Error != "" {
				_, err = Version(c, locs)
			}
			if tc.Error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.Error) {
					t.Fatalf("Locate: error %v, want one containing %s", err, tc.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Locate: %v", err)
			}
			version, err := Version(c, locs)
			if err != nil {
				t.Fatalf("Version: %v", err)
			}
			if canonical(version) != "30.1.0" {
				t.Errorf("Version = %q, want 30.1.0 (every case starts there)", version)
			}
			if tc.Locations > 0 && len(locs) != tc.Locations {
				t.Errorf("%d locations, want %d: %v", len(locs), tc.Locations, locs)
			}
			var shared []string
			for _, l := range locs {
				shared = append(shared, l.Shared...)
			}
			if diff := cmp.Diff(tc.Shared, shared); diff != "" {
				t.Errorf("Shared (-want +got):\n%s", diff)
			}
			warnings := Warnings(repo, c, locs)
			for _, w := range tc.Warnings {
				if !slices.ContainsFunc(warnings, func(got string) bool { return strings.Contains(got, w) }) {
					t.Errorf("no warning contains %q: %q", w, warnings)
				}
			}

			changes, err := Bump(repo, locs, tc.To)
			if err != nil {
				t.Fatalf("Bump: %v", err)
			}
			checkOnlyValuesChanged(t, changes, locs)
			got := readTree(t, input)
			for _, ch := range changes {
				if !bytes.Equal(got[ch.Path], ch.Before) {
					t.Errorf("%s: FileChange.Before is not the file", ch.Path)
				}
				got[ch.Path] = ch.After
			}
			expected := filepath.Join(dir, "expected")
			if os.Getenv("UPDATE") != "" {
				writeTree(t, expected, got)
			}
			want := readTree(t, expected)
			for _, p := range sortedPaths(got, want) {
				if diff := cmp.Diff(string(want[p]), string(got[p])); diff != "" {
					t.Errorf("%s (-want +got):\n%s", p, diff)
				}
			}

			after, err := repo.Rebuild(t.Context(), c, changes)
			if err != nil {
				t.Fatalf("Rebuild: %v", err)
			}
			if len(tc.Locators) == 0 {
				checkVersionApplied(t, c, after, tc.To)
			}
			for _, l := range locators {
				if stale := l.Stale(after, tc.To); len(stale) > 0 {
					t.Errorf("after the bump, %s finds stale resources: %v", l.Name(), stale)
				}
			}

			reread, err := Discover(t.Context(), expected, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rc, err := reread.Find(tc.Cluster)
			if err != nil {
				t.Fatal(err)
			}
			rlocs, err := LocateAll(t.Context(), reread, rc, locators)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := Version(rc, rlocs); err != nil || canonical(v) != tc.To {
				t.Errorf("after the bump, Version = %q, %v; want %s", v, err, tc.To)
			}
		})
	}
}

func sortedPaths(a, b map[string][]byte) []string {
	var out []string
	for p := range a {
		out = append(out, p)
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// checkOnlyValuesChanged checks that each change keeps every byte outside
// the located values.
func checkOnlyValuesChanged(t *testing.T, changes []FileChange, locs []Location) {
	t.Helper()
	for _, ch := range changes {
		var spans []Location
		for _, l := range locs {
			if l.Path == ch.Path {
				spans = append(spans, l)
			}
		}
		slices.SortFunc(spans, func(a, b Location) int { return a.Offset - b.Offset })
		before, after := ch.Before, ch.After
		pos := 0
		for _, s := range spans {
			seg := before[pos:s.Offset]
			if !bytes.HasPrefix(after, seg) {
				t.Fatalf("%s: bytes before offset %d changed", ch.Path, s.Offset)
			}
			after = after[len(seg):]
			// The new value: label characters.
			n := 0
			for n < len(after) && strings.IndexByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", after[n]) >= 0 {
				n++
			}
			after = after[n:]
			pos = s.Offset + s.Length
		}
		if !bytes.Equal(after, before[pos:]) {
			t.Fatalf("%s: bytes after the last value changed", ch.Path)
		}
	}
}

// checkVersionApplied checks that every resource of before carrying the
// label carries the new version in after.
func checkVersionApplied(t *testing.T, before, after *Cluster, to string) {
	t.Helper()
	label := before.VersionLabel
	if v := after.Labels[label]; canonical(v) != to {
		t.Errorf("rebuilt Cluster label %s = %q, want %s", label, v, to)
	}
	if len(after.Resources) != len(before.Resources) {
		t.Fatalf("rebuilt cluster has %d resources, want %d", len(after.Resources), len(before.Resources))
	}
	for i, r := range before.Resources {
		old, ok := r.Object.GetLabels()[label]
		if !ok {
			continue
		}
		a := after.Resources[i].Object
		if a.GetKind() != r.Object.GetKind() || a.GetName() != r.Object.GetName() {
			t.Fatalf("resource %d: %s %s, want %s %s", i, a.GetKind(), a.GetName(), r.Object.GetKind(), r.Object.GetName())
		}
		if v := a.GetLabels()[label]; canonical(v) != to {
			t.Errorf("rebuilt %s %s: label %s = %q (was %q), want %s", a.GetKind(), a.GetName(), label, v, old, to)
		}
	}
}

// TestRebuildFastPath checks that Rebuild's fast path for label-only edits
// gives what parsing the changed files again gives, and that it is taken
// for Bump's edits (and not for other edits).
func TestRebuildFastPath(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(filepath.Join("testdata", "bump"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		dir := filepath.Join("testdata", "bump", e.Name())
		tc := readBumpCase(t, dir)
		if tc.Error != "" || strings.HasPrefix(e.Name(), "kustomize") || len(tc.Locators) > 0 {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			repo, err := Discover(t.Context(), filepath.Join(dir, "input"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := repo.Find(tc.Cluster)
			if err != nil {
				t.Fatal(err)
			}
			locs, err := Label{}.Locate(t.Context(), repo, c)
			if err != nil {
				t.Fatal(err)
			}
			changes, err := Bump(repo, locs, tc.To)
			if err != nil {
				t.Fatal(err)
			}
			changed := map[string][]byte{}
			for _, ch := range changes {
				changed[ch.Path] = ch.After
			}
			u := repo.units[c]
			fast, ok := repo.rebuildLabelsOnly(c, u, changed)
			if wantFast := e.Name() != "anchors"; ok != wantFast {
				t.Fatalf("fast path taken: %v, want %v", ok, wantFast)
			}
			if !ok {
				return
			}
			g, err := repo.reparse(u, changed)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(g.clusters, func(x *Cluster) bool { return x.Name == c.Name && x.Namespace == c.Namespace })
			if diff := cmp.Diff(g.clusters[i], fast); diff != "" {
				t.Errorf("fast path (-parsed +fast):\n%s", diff)
			}

			// Any other edit takes the slow path.
			for p, after := range changed {
				changed[p] = append(slices.Clone(after), "\n# more\n"...)
			}
			if _, ok := repo.rebuildLabelsOnly(c, u, changed); ok {
				t.Error("fast path taken for an edit that is not a label value")
			}
		})
	}
}
