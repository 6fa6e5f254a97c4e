package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fleetPolicy is a policy with 20 rules of every kind of selector, a
// schedule, maintenance windows and freezes.
func fleetPolicy() string {
	var b strings.Builder
	b.WriteString(`timezone: Europe/Berlin
schedule: ["* 22-23,0-4 * * 1-5"]
maintenanceWindows:
  - {rrule: "FREQ=WEEKLY;BYDAY=TU,WE,TH;BYHOUR=0", duration: 5h}
freezes:
  - {rrule: "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20", duration: 18d, reason: holidays}
  - {start: 2026-11-20, end: 2026-11-22, reason: launch}
minimumReleaseAge: 3d
ignoreVersions: ["v32.0.0", "~31.2"]
automerge: {updates: [patch]}
rollout:
  soak: 2d
  waves:
    - {name: dev, match: {labels: {stage: dev}}}
    - {name: staging, match: {labels: {stage: staging}}}
    - {name: prod, match: {}}
rules:
`)
	zones := []string{"America/New_York", "Asia/Tokyo", "Europe/London", "Australia/Sydney"}
	for i := range 20 {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "  - match: {names: [\"c%d*\"]}\n    schedule: [\"* 1-5 * * *\"]\n", i)
		case 1:
			fmt.Fprintf(&b, "  - match: {organizations: [org%d]}\n    timezone: %s\n    allowedUpdates: [patch]\n", i, zones[i%len(zones)])
		case 2:
			fmt.Fprintf(&b, "  - match: {labels: {stage: prod, team: \"t%d*\"}}\n    maintenanceWindows: [{rrule: \"FREQ=MONTHLY;BYDAY=1TU,3TU;BYHOUR=2\", duration: 3h}]\n", i)
		case 3:
			fmt.Fprintf(&b, "  - match: {namespaces: [\"org-org%d\"]}\n    pin: \"v31.x\"\n    minimumReleaseAge: 7d\n", i)
		case 4:
			fmt.Fprintf(&b, "  - match: {names: [\"*-%d\"], labels: {stage: dev}}\n    freezes: []\n    automerge: {updates: [patch, minor]}\n", i)
		}
	}
	return b.String()
}

// fleet is n clusters spread over organizations, stages and teams.
func fleet(n int) []Cluster {
	stages := []string{"dev", "staging", "prod"}
	out := make([]Cluster, n)
	for i := range out {
		out[i] = Cluster{
			Name:      fmt.Sprintf("c%d-%d", i%37, i%19),
			Namespace: fmt.Sprintf("org-org%d", i%23),
			Labels:    map[string]string{"stage": stages[i%3], "team": fmt.Sprintf("t%d", i%29)},
		}
	}
	return out
}

// BenchmarkFleet is the policy part of the fleet benchmark: the
// settings, window and version decision of 5,000 clusters against a policy of
// 20 rules (the target for all decisions of the fleet is under 2 s). One op
// is the whole fleet.
func BenchmarkFleet(b *testing.B) {
	f := mustParse(b, fleetPolicy())
	clusters := fleet(5000)
	now := time.Date(2026, 6, 2, 0, 30, 0, 0, time.UTC) // a Tuesday night, inside most windows
	open, allowed := 0, 0
	for b.Loop() {
		open, allowed = 0, 0
		for _, c := range clusters {
			s := f.For(c)
			if s.Open(now) {
				open++
			}
			if ok, _ := s.Allowed("31.1.0", "31.3.1"); ok {
				allowed++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(clusters)), "ns/cluster")
	b.Logf("%d of %d clusters open, %d allowed", open, len(clusters), allowed)
}

// BenchmarkNextOpen is the scheduler's question for one cluster that is
// closed: when to wake up.
func BenchmarkNextOpen(b *testing.B) {
	s := mustParse(b, fleetPolicy()).For(Cluster{Name: "x", Labels: map[string]string{"stage": "prod", "team": "t2"}})
	now := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		if _, ok := s.NextOpen(now); !ok {
			b.Fatal("never opens")
		}
	}
}
