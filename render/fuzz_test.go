package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
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

// valuesFile is a plain file with a cluster App and its values ConfigMap
// holding values (indented into a literal block).
func valuesFile(values []byte) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: application.giantswarm.io/v1alpha1\nkind: App\nmetadata:\n  name: c1\n  namespace: org-a\nspec:\n  name: cluster-aws\n  config:\n    configMap:\n      name: c1-config\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1-config\n  namespace: org-a\ndata:\n  values: |\n")
	for _, line := range strings.SplitAfter(string(values), "\n") {
		if line != "" {
			b.WriteString("    " + line)
		}
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		b.WriteString("\n")
	}
	b.WriteString("  other: kept\n")
	return b.Bytes()
}

// FuzzValuesBump checks, for arbitrary values documents embedded in a
// ConfigMap, that bumping global.release.version keeps every byte of the
// file outside the value, and that the embedded document read back is the
// one before with only that value changed.
func FuzzValuesBump(f *testing.F) {
	for _, seed := range []string{
		"global:\n  release:\n    version: 30.1.0\n",
		"global:\n  metadata:\n    name: c1 # keep\n  release:\n    # the release\n    version: \"30.1.0\"\n  nodePools: {a: {min: 1}}\n",
		"global: {release: {version: '30.1.0'}, x: [1, 2]}\n",
		"# values\nglobal:\n  release: &r\n    version: v30.1.0\nother: *r\n",
		"global:\n\trelease:\n    version: 30.1.0\n",
		"global:\n  release:\n    version: >-\n      30.1.0\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, values []byte) {
		data := valuesFile(values)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "c.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		repo, err := Discover(t.Context(), dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := repo.Find("org-a/c1")
		if err != nil {
			return // the values broke the file
		}
		locs, err := Values{}.Locate(t.Context(), repo, c)
		if err != nil || len(locs) == 0 {
			return // refusing to edit is allowed
		}
		current, err := Version(c, locs)
		if err != nil {
			return
		}
		to := "31.0.0"
		if canonical(current) == to {
			to = "32.1.0"
		}
		changes, err := Bump(repo, locs, to)
		if err != nil {
			return // not a label value
		}
		if len(changes) != 1 {
			t.Fatalf("%d changes, want 1", len(changes))
		}
		if want := expectedBump(data, locs, to); string(changes[0].After) != string(want) {
			t.Fatalf("bump changed more than the value:\n got %q\nwant %q", changes[0].After, want)
		}
		// The embedded document, read back, differs only in the value.
		before, err := embeddedValues(data)
		if err != nil {
			return // values a Go map cannot hold (a collection as a key)
		}
		after, err := embeddedValues(changes[0].After)
		if err != nil {
			t.Fatalf("the bumped file: %v", err)
		}
		global, _ := after["global"].(map[string]any)
		release, _ := global["release"].(map[string]any)
		if v, _ := release["version"].(string); canonical(v) != to {
			t.Fatalf("global.release.version read back is %q, want %s", v, to)
		}
		if !sameExcept(before, after, locs[0].Value, expectedBump([]byte(locs[0].Value), []Location{{Offset: 0, Length: len(locs[0].Value), Value: locs[0].Value}}, to)) {
			t.Fatalf("the embedded values changed beyond the version:\nbefore %v\nafter  %v", before, after)
		}
		if !bytes.Contains(changes[0].After, []byte("\n  other: kept\n")) {
			t.Fatal("the rest of the ConfigMap changed")
		}
	})
}

// embeddedValues decodes data.values of the ConfigMap of a valuesFile.
func embeddedValues(data []byte) (map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc map[string]any
	for range 2 {
		doc = nil
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("reading the file: %w", err)
		}
	}
	text, _ := doc["data"].(map[string]any)["values"].(string)
	var values map[string]any
	if err := yaml.Unmarshal([]byte(text), &values); err != nil {
		return nil, fmt.Errorf("reading the values: %w", err)
	}
	return normalize(values).(map[string]any), nil
}

// normalize turns the maps a YAML decoder makes for non-string keys
// (10: x) into maps keyed by the keys' text, so documents compare alike.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

// sameExcept reports whether a and b are the same document but for
// strings that are old in a and new in b (an alias carries the value to
// more places).
func sameExcept(a, b any, old string, new []byte) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameExcept(v, w, old, new) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameExcept(x[i], y[i], old, new) {
				return false
			}
		}
		return true
	}
	// A version written as a plain number (00, 30.1) becomes a string;
	// the bytes were checked to change only there.
	if _, isString := a.(string); !isString && a != nil && b == any(string(new)) {
		return true
	}
	if y, ok := b.(string); ok && y == string(new) && fmt.Sprint(a) == old {
		return true
	}
	return cmp.Equal(a, b)
}
