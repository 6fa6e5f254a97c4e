package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
)

// TestDecide applies policies to the example repository (peu01 on
// v30.1.0, peu02 on v30.0.0, pus01 on v31.0.0) and the example releases
// (up to v31.1.0 active, v32.0.0 work in progress) at fixed times.
func TestDecide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	catalog, err := releases.Load(ctx, "../examples/releases")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := render.Discover(ctx, "../examples/gitops", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // a Wednesday
	type want struct {
		action Action
		target string
		reason string
		until  string // RFC 3339, "" for none
	}
	tests := []struct {
		name   string
		policy string
		now    time.Time
		since  map[string]time.Time
		want   map[string]want
	}{
		{
			name: "defaults: patch and minor at any time", now: noon,
			want: map[string]want{
				"org-acme/peu01":   {ActionSkip, "", "major upgrade v30.1.0 → v31.1.0 is not allowed automatically", ""},
				"org-acme/peu02":   {ActionPropose, "v30.1.0", "the minor update v30.0.0 → v30.1.0 is allowed and the window is open", ""},
				"org-globex/pus01": {ActionPropose, "v31.1.0", "the minor update", ""},
			},
		},
		{
			name: "a night schedule in Berlin", now: noon,
			policy: "timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * *\"]\n",
			want: map[string]want{
				"org-acme/peu02": {ActionWait, "v30.1.0", "schedule", "2026-11-25T21:00:00Z"},
			},
		},
		{
			name: "inside the night schedule", now: time.Date(2026, 11, 25, 22, 30, 0, 0, time.UTC),
			policy: "timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * *\"]\n",
			want: map[string]want{
				"org-acme/peu02": {ActionPropose, "v30.1.0", "window is open", ""},
			},
		},
		{
			name: "release too young", now: time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC),
			policy: "minimumReleaseAge: 3d\n",
			want: map[string]want{
				"org-globex/pus01": {ActionWait, "v31.1.0", "release v31.1.0 is younger than 3d", "2025-10-17T11:20:37Z"},
				"org-acme/peu02":   {ActionPropose, "v30.1.0", "allowed", ""},
			},
		},
		{
			name: "holiday freeze", now: time.Date(2026, 12, 24, 10, 0, 0, 0, time.UTC),
			policy: "freezes:\n  - {start: 2026-12-20, end: 2027-01-06, reason: holidays}\n",
			want: map[string]want{
				"org-acme/peu02": {ActionWait, "v30.1.0", "holidays", "2027-01-07T00:00:00Z"},
			},
		},
		{
			name: "majors allowed, prod after dev", now: noon,
			policy: "allowedUpdates: [patch, minor, major]\nrollout:\n  soak: 48h\n  waves:\n    - {name: dev, match: {organizations: [globex]}}\n    - {name: prod, match: {}}\n",
			want: map[string]want{
				"org-globex/pus01": {ActionPropose, "v31.1.0", "the minor update", ""},
				"org-acme/peu02":   {ActionWait, "v31.1.0", "waiting for wave dev: org-globex/pus01 is not on v31.1.0 yet", ""},
			},
		},
		{
			name: "prod waits while dev is not on the target", now: noon,
			policy: "allowedUpdates: [patch, minor, major]\nrollout:\n  soak: 48h\n  waves:\n    - {name: dev, match: {organizations: [acme]}}\n    - {name: prod, match: {}}\n",
			since:  map[string]time.Time{"org-acme/peu01": noon.Add(-24 * time.Hour), "org-acme/peu02": noon.Add(-72 * time.Hour)},
			want: map[string]want{
				// pus01 (prod) targets v31.1.0; dev (peu01, peu02) is on v30.x: not there yet.
				"org-globex/pus01": {ActionWait, "v31.1.0", "waiting for wave dev", ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pf := policy.Default()
			if tt.policy != "" {
				var err error
				if pf, err = policy.Parse([]byte(tt.policy), policy.FileName); err != nil {
					t.Fatal(err)
				}
			}
			d := &Decider{Catalog: catalog, Policy: pf, Since: func(c string) (time.Time, bool) {
				s, ok := tt.since[c]
				return s, ok
			}}
			got := map[string]Decision{}
			for _, dec := range d.Decide(repo, tt.now) {
				got[dec.Name] = dec
			}
			for name, w := range tt.want {
				g, ok := got[name]
				if !ok {
					t.Fatalf("no decision for %s", name)
				}
				until := ""
				if g.Until != nil {
					until = g.Until.UTC().Format(time.RFC3339)
				}
				if g.Action != w.action || g.Target != w.target || !strings.Contains(g.Reason, w.reason) || until != w.until {
					t.Errorf("%s: got %s %s until %q (%s), want %s %s until %q (reason containing %q)", name, g.Action, g.Target, until, g.Reason, w.action, w.target, w.until, w.reason)
				}
			}
		})
	}
}

// TestDecideSoak: a wave whose clusters are on the target waits for the
// soak time of the wave before it, from when they got there.
func TestDecideSoak(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	catalog, err := releases.Load(ctx, "../examples/releases")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := render.Discover(ctx, "../examples/gitops", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// dev is pus01 (on v31.0.0); prod is peu01 (v30.1.0): with majors
	// allowed prod would go to v31.1.0, which dev is not on; pinning to
	// 31.0.x makes v31.0.0 the target dev is on.
	pf, err := policy.Parse([]byte("allowedUpdates: [patch, minor, major]\npin: \"31.0.x\"\nrollout:\n  soak: 48h\n  waves:\n    - {name: dev, match: {organizations: [globex]}}\n    - {name: prod, match: {}}\n"), policy.FileName)
	if err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		since  time.Time
		known  bool
		action Action
		reason string
	}{
		{noon.Add(-24 * time.Hour), true, ActionWait, "waiting for wave dev to soak on v31.0.0 until 2026-11-26T12:00:00Z"},
		{noon.Add(-72 * time.Hour), true, ActionPropose, "the major update v30.1.0 → v31.0.0"},
		{time.Time{}, false, ActionWait, "when org-globex/pus01 reached v31.0.0 is unknown"},
	} {
		d := &Decider{Catalog: catalog, Policy: pf, Since: func(string) (time.Time, bool) { return tc.since, tc.known }}
		for _, dec := range d.Decide(repo, noon) {
			if dec.Name != "org-acme/peu01" {
				continue
			}
			if dec.Action != tc.action || !strings.Contains(dec.Reason, tc.reason) {
				t.Errorf("since %v (known %v): got %s (%s), want %s containing %q", tc.since, tc.known, dec.Action, dec.Reason, tc.action, tc.reason)
			}
		}
	}
}
