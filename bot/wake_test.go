package bot

import (
	"context"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
)

// TestNextWake: the reconcile's next wake is the earliest end of a wait,
// so a scheduler runs when a window opens rather than at its next
// interval.
func TestNextWake(t *testing.T) {
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
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // a Wednesday
	for _, tc := range []struct {
		name   string
		policy string
		now    time.Time
		want   time.Time // zero: no wake
	}{
		{"weeknights in Berlin", "timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * 1-5\"]\n", noon,
			time.Date(2026, 11, 25, 22, 0, 0, 0, berlin)},
		{"Friday noon waits for Monday night", "timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * 1-5\"]\n",
			time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 22, 0, 0, 0, berlin)},
		{"a freeze ends", "freezes:\n  - {start: 2026-11-20, end: 2026-11-30, reason: holidays}\n", noon,
			time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, // the end day is frozen too
		{"open now: nothing to wait for", "", noon, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pf := policy.Default()
			if tc.policy != "" {
				if pf, err = policy.Parse([]byte(tc.policy), policy.FileName); err != nil {
					t.Fatal(err)
				}
			}
			res := &ReconcileResult{Decisions: (&Decider{Catalog: catalog, Policy: pf}).Decide(repo, tc.now)}
			got, ok := res.NextWake(tc.now)
			if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Errorf("NextWake = %v, %v; want %v (decisions %+v)", got, ok, tc.want, res.Decisions)
			}
		})
	}
}
