package policy

import (
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	tests := []struct {
		name, src, from, to string
		ok                  bool
		why                 string
		automerge           bool
	}{
		{"patch by default", "", "31.0.0", "v31.0.2", true, "patch upgrade v31.0.0 → v31.0.2 is allowed", false},
		{"minor by default", "", "v31.0.2", "31.1.0", true, "minor upgrade v31.0.2 → v31.1.0 is allowed", false},
		{"major not by default", "", "31.1.0", "32.0.0", false, "major upgrade v31.1.0 → v32.0.0 is not allowed automatically (allowedUpdates: patch, minor)", false},
		{"major when allowed", "allowedUpdates: [major]", "31.1.0", "32.0.0", true, "major upgrade v31.1.0 → v32.0.0 is allowed", false},
		{"nothing allowed", "allowedUpdates: []", "31.1.0", "31.1.1", false, "patch upgrade v31.1.0 → v31.1.1: no upgrades are proposed automatically (allowedUpdates: [])", false},
		{"same version", "", "31.1.0", "31.1.0", false, "v31.1.0 is not newer than v31.1.0", false},
		{"downgrade", "", "31.1.0", "31.0.9", false, "v31.0.9 is not newer than v31.1.0", false},
		{"pre-release", "allowedUpdates: [major]", "31.1.0", "32.0.0-rc.1", false, "v32.0.0-rc.1 is a pre-release; pre-releases are never proposed automatically", false},
		{"not a version", "", "31.1.0", "latest", false, `"latest" is not a release version: expected X.Y.Z such as 31.0.0 (invalid semantic version)`, false},
		{"ignored exact", `ignoreVersions: ["v31.1.1"]`, "31.1.0", "31.1.1", false, "v31.1.1 is ignored (ignoreVersions: v31.1.1)", false},
		{"ignored tilde", `ignoreVersions: ["v32.0.0", "~31.2"]`, "31.1.0", "31.2.5", false, "v31.2.5 is ignored (ignoreVersions: ~31.2)", false},
		{"tilde does not reach the next minor", `ignoreVersions: ["~31.2"]`, "31.1.0", "31.3.0", true, "minor upgrade v31.1.0 → v31.3.0 is allowed", false},
		{"inside the pin", `pin: "v31.x"`, "31.1.0", "31.4.0", true, "minor upgrade v31.1.0 → v31.4.0 is allowed", false},
		{"outside the pin", "pin: \"v31.x\"\nallowedUpdates: [major]", "31.1.0", "32.0.0", false, "v32.0.0 is outside the pin v31.x", false},
		{"pin range", `pin: ">=31.1, <31.3"`, "31.1.0", "31.3.0", false, "v31.3.0 is outside the pin >=31.1, <31.3", false},
		{"automerged patch", "automerge: {updates: [patch]}", "31.1.0", "31.1.1", true, "patch upgrade v31.1.0 → v31.1.1 is allowed", true},
		{"allowed minor not automerged", "automerge: {updates: [patch]}", "31.1.0", "31.2.0", true, "minor upgrade v31.1.0 → v31.2.0 is allowed", false},
		{"ignored patch not automerged", "automerge: {updates: [patch]}\nignoreVersions: [31.1.1]", "31.1.0", "31.1.1", false, "v31.1.1 is ignored (ignoreVersions: 31.1.1)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings(t, tt.src)
			ok, why := s.Allowed(tt.from, tt.to)
			if ok != tt.ok || why != tt.why {
				t.Errorf("Allowed(%s, %s) = %v, %q\nwant %v, %q", tt.from, tt.to, ok, why, tt.ok, tt.why)
			}
			if got := s.Automerge(tt.from, tt.to); got != tt.automerge {
				t.Errorf("Automerge(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.automerge)
			}
		})
	}
}

func TestOldEnough(t *testing.T) {
	released := utc(t, "2026-06-01T10:00:00Z")
	tests := []struct {
		name     string
		age      string
		released time.Time
		now      string
		ok       bool
		ready    time.Time
	}{
		{"no minimum age", "0", released, "2026-06-01T10:00:00Z", true, released},
		{"a nanosecond short", "3d", released, "2026-06-04T09:59:59.999999999Z", false, released.Add(72 * time.Hour)},
		{"exactly old enough", "3d", released, "2026-06-04T10:00:00Z", true, released.Add(72 * time.Hour)},
		{"days are 24 hours even across DST", "1d12h", utc(t, "2026-03-28T12:00:00Z"), "2026-03-30T00:00:00Z", true, utc(t, "2026-03-30T00:00:00Z")},
		{"released in the future", "1h", released, "2026-06-01T09:00:00Z", false, released.Add(time.Hour)},
		{"no release date", "3d", time.Time{}, "2026-06-04T10:00:00Z", false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings(t, "timezone: Europe/Berlin\nminimumReleaseAge: "+tt.age+"\n")
			ok, ready := s.OldEnough(tt.released, utc(t, tt.now))
			if ok != tt.ok || !ready.Equal(tt.ready) {
				t.Errorf("OldEnough(%s, %s) = %v, %s; want %v, %s", fmtTime(tt.released), tt.now, ok, fmtTime(ready), tt.ok, fmtTime(tt.ready))
			}
		})
	}
}
