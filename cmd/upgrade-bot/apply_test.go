package main

import (
	"testing"
	"time"
)

func TestParseAt(t *testing.T) {
	want := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	for _, in := range []string{"2026-12-01 02:00", "2026-12-01T02:00", "2026-12-01T03:00:00+01:00", "01 Dec 26 02:00 UTC", "2026-12-01 02:00 UTC"} {
		got, err := parseAt(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseAt(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"tomorrow", "2026-13-01 02:00", "02:00", ""} {
		if _, err := parseAt(in); err == nil {
			t.Errorf("parseAt(%q) succeeded, want an error", in)
		}
	}
}
