package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// zone loads a time zone the tests need.
func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("loading time zone %s: %v", name, err)
	}
	return loc
}

// utc parses an RFC 3339 time ("2026-03-29T01:00:00Z").
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return v
}

// mustParse parses a policy that must be valid.
func mustParse(t testing.TB, src string) *File {
	t.Helper()
	f, err := Parse([]byte(src), FileName)
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror:\n%v", src, err)
	}
	return f
}

// settings parses a policy and returns the settings of a cluster no rule
// selects.
func settings(t testing.TB, src string) Settings {
	t.Helper()
	return mustParse(t, src).For(Cluster{Name: "unmatched"})
}

// golden compares got with testdata/name, rewriting it when UPDATE=1.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if os.Getenv("UPDATE") == "1" {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading golden file (UPDATE=1 writes it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (UPDATE=1 rewrites it)\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

// fmtTime writes a time in its zone with the offset, for readable failures.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return strings.TrimSpace(t.Format("2006-01-02 15:04:05 MST (-07:00)"))
}
