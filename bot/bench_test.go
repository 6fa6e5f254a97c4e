package bot

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/render"
)

// BenchmarkPlanFleet plans a generated fleet of 1,000 clusters to the next
// release and writes the JSON plan: the pipeline of `make bench` in one
// process, for profiling (-cpuprofile, -memprofile).
func BenchmarkPlanFleet(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "gitops")
	if err := render.GenerateFleet(dir, 1000, []string{"30.0.0", "30.1.0"}); err != nil {
		b.Fatal(err)
	}
	catalog := loadCatalog(b)
	b.ReportAllocs()
	for b.Loop() {
		p := &Planner{Catalog: catalog}
		plan, err := p.Plan(context.Background(), dir, Request{All: true, Target: "v31.0.0"})
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteJSON(io.Discard, plan); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideFleet is the decision part of the release
// scenario: a release published to 5,000 clusters in 200 repositories,
// each repository decided with a policy of 20 rules, a schedule, windows,
// freezes and three waves. It reports the time for the whole fleet (the
// target is under 2 s; reading the repositories and forge requests are not
// included).
func BenchmarkDecideFleet(b *testing.B) {
	catalog := loadCatalog(b)
	var pol strings.Builder
	pol.WriteString("timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * 1-5\"]\nmaintenanceWindows:\n  - {rrule: \"FREQ=WEEKLY;BYDAY=TU,WE,TH;BYHOUR=0\", duration: 5h}\nfreezes:\n  - {rrule: \"FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20\", duration: 18d, reason: holidays}\nminimumReleaseAge: 3d\nrollout:\n  soak: 2d\n  waves:\n    - {name: dev, match: {labels: {stage: dev}}}\n    - {name: staging, match: {labels: {stage: staging}}}\n    - {name: prod, match: {}}\nrules:\n")
	for i := range 20 {
		fmt.Fprintf(&pol, "  - match: {names: [\"c%d*\"], labels: {team: \"t%d\"}}\n    allowedUpdates: [patch, minor, major]\n", i, i%7)
	}
	pf, err := policy.Parse([]byte(pol.String()), policy.FileName)
	if err != nil {
		b.Fatal(err)
	}
	const repos, perRepo = 200, 25
	stages := []string{"dev", "staging", "prod"}
	versions := []string{"30.0.0", "30.1.0", "31.0.0"}
	fleet := make([]*render.Repository, repos)
	for r := range fleet {
		repo := &render.Repository{}
		for c := range perRepo {
			repo.Clusters = append(repo.Clusters, &render.Cluster{
				Name: fmt.Sprintf("c%d-%d", c, r), Namespace: fmt.Sprintf("org-o%d", r), InfrastructureKind: "AWSCluster",
				Labels: map[string]string{render.DefaultVersionLabel: versions[(r+c)%3], "stage": stages[c%3], "team": fmt.Sprintf("t%d", c%9)},
			})
		}
		fleet[r] = repo
	}
	now := time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC) // a Tuesday night in Berlin
	since := func(string) (time.Time, bool) { return now.Add(-72 * time.Hour), true }
	b.ReportAllocs()
	for b.Loop() {
		proposed := 0
		for _, repo := range fleet {
			d := &Decider{Catalog: catalog, Policy: pf, Since: since}
			for _, dec := range d.Decide(repo, now) {
				if dec.Action == ActionPropose {
					proposed++
				}
			}
		}
		if proposed == 0 {
			b.Fatal("no cluster would be proposed: the scenario tests nothing")
		}
	}
}
