package bot

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// TestDashboardGolden renders the dashboard of the example repository
// under policies, at fixed times, as golden files (UPDATE=1 regenerates
// them).
func TestDashboardGolden(t *testing.T) {
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
	tests := []struct {
		name    string
		policy  string
		now     time.Time
		dash    Dashboard
		problem string // a broken policy file, reported on the dashboard
	}{
		{name: "defaults", now: noon, dash: Dashboard{
			Open: map[string]vcs.PullRequest{"org-acme/peu02": {Number: 7, Head: "upgrade-bot/peu02/v30.1.0", URL: "https://github.com/acme/gitops/pull/7"}},
		}},
		{name: "night-window", now: noon, policy: "timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * 1-5\"]\n"},
		{name: "holiday-freeze", now: time.Date(2026, 12, 24, 10, 0, 0, 0, time.UTC),
			policy: "freezes:\n  - {start: 2026-12-20, end: 2027-01-06, reason: holidays}\n"},
		{name: "limited-declined-broken-policy", now: noon,
			dash:    Dashboard{Limited: []string{"org-globex/pus01"}, Declined: []string{"org-acme/peu02"}, ConcurrentLimit: 10, HourlyLimit: 2},
			problem: "prHourlyLimit: lots\nschedule: [\"* 25 * * *\"]\n"},
		{name: "automerge", now: noon, policy: "automerge: {updates: [minor], approvals: 1}\n", dash: Dashboard{
			Open:     map[string]vcs.PullRequest{"org-globex/pus01": {Number: 8, Head: "upgrade-bot/pus01/v31.1.0", URL: "https://github.com/acme/gitops/pull/8"}},
			Unmerged: map[string]string{"org-globex/pus01": "waiting for approvals: 0 of 1"},
			Merged:   map[string]vcs.PullRequest{"org-acme/peu02": {Number: 7, Head: "upgrade-bot/peu02/v30.1.0", URL: "https://github.com/acme/gitops/pull/7"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pf := policy.Default()
			if tt.policy != "" {
				if pf, err = policy.Parse([]byte(tt.policy), policy.FileName); err != nil {
					t.Fatal(err)
				}
			}
			d := tt.dash
			if tt.problem != "" {
				if _, d.PolicyProblem = policy.Parse([]byte(tt.problem), policy.FileName); d.PolicyProblem == nil {
					t.Fatal("the broken policy parses")
				}
			}
			d.Decisions = (&Decider{Catalog: catalog, Policy: pf}).Decide(repo, tt.now)
			body := d.Render(CommentLimit)
			golden(t, "dashboard/"+tt.name+".md", []byte(body))
			// Every box of the dashboard is one a tick turns into a request
			// for its cluster and target.
			ticked := strings.ReplaceAll(body, "- [ ] ", "- [x] ")
			var want []DashboardRequest
			for _, dec := range d.Decisions {
				_, open := d.Open[dec.Name]
				_, merged := d.Merged[dec.Name]
				if !open && !merged && cmp.Or(dec.Target, dec.Requestable) != "" {
					want = append(want, DashboardRequest{Cluster: dec.Name, Target: cmp.Or(dec.Target, dec.Requestable)})
				}
			}
			got := TickedRequests(ticked)
			slices.SortFunc(got, func(a, b DashboardRequest) int { return strings.Compare(a.Cluster, b.Cluster) })
			slices.SortFunc(want, func(a, b DashboardRequest) int { return strings.Compare(a.Cluster, b.Cluster) })
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("the requests of every box ticked (-want +got):\n%s", diff)
			}
			if len(TickedRequests(body)) != 0 {
				t.Errorf("a fresh dashboard has ticked boxes")
			}
		})
	}
}

// TestDashboardLimit: a fleet too large for one issue is summarized
// within the limit, every count still right and no cluster's box cut in
// half.
func TestDashboardLimit(t *testing.T) {
	t.Parallel()
	var d Dashboard
	for i := range 5000 {
		action, reason := ActionWait, "waiting for window Tue 02:00 Europe/Berlin"
		if i%3 == 0 {
			action, reason = ActionSkip, "major upgrade v30.1.0 → v31.0.0 is not allowed automatically; ask for it with /upgrade v31.0.0"
		}
		d.Decisions = append(d.Decisions, Decision{Name: fmt.Sprintf("org-fleet/c%04d", i), Current: "v30.1.0", Available: "v31.0.0", Target: "v31.0.0", Action: action, Reason: reason})
	}
	const limit = 60000
	body := d.Render(limit)
	if len(body) > limit {
		t.Fatalf("the dashboard is %d bytes, over the limit of %d", len(body), limit)
	}
	for _, want := range []string{"**5000 clusters**", "## Waiting (3333)", "## Not proposed by the policy (1667)", "more, left out to keep this issue within the forge's size limit", dashboardMarker} {
		if !strings.Contains(body, want) {
			t.Errorf("the summarized dashboard lacks %q", want)
		}
	}
	boxes := strings.Count(body, "- [ ] ")
	if boxes == 0 || boxes != len(TickedRequests(strings.ReplaceAll(body, "- [ ] ", "- [x] "))) {
		t.Errorf("%d boxes, and not every one reads back as a request", boxes)
	}
	// The same fleet with room for all of it lists every cluster.
	if full := d.Render(10 << 20); strings.Count(full, "- [ ] ") != 5000 {
		t.Errorf("with room enough, %d boxes, want 5000", strings.Count(full, "- [ ] "))
	}
}

func TestTickedRequests(t *testing.T) {
	t.Parallel()
	body := "intro\n" +
		"- [x] " + requestBox("org-acme/peu01", "v31.0.0") + " **org-acme/peu01** v30.1.0 → v31.0.0: waiting\n" +
		"- [ ] " + requestBox("org-acme/peu02", "v30.1.0") + " not ticked\n" +
		"* [X] " + requestBox("org-globex/pus01", "v31.1.0") + " ticked with a capital X\n" +
		"- [x] " + requestBox("org-acme/peu01", "v31.0.0") + " the same twice\n" +
		"> - [x] " + requestBox("org-acme/quoted", "v31.0.0") + " a quote of the dashboard is not a request\n" +
		"- [x] <!-- upgrade-bot:request org-acme/peu03@latest --> not a version\n"
	want := []DashboardRequest{{"org-acme/peu01", "v31.0.0"}, {"org-globex/pus01", "v31.1.0"}}
	if diff := gocmp.Diff(want, TickedRequests(body)); diff != "" {
		t.Errorf("TickedRequests (-want +got):\n%s", diff)
	}
}
