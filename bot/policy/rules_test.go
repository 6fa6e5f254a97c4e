package policy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSelector(t *testing.T) {
	acme := Cluster{Name: "peu01", Namespace: "org-acme", Labels: map[string]string{"stage": "prod", "region": "eu-west-1"}}
	tests := []struct {
		name string
		sel  Selector
		c    Cluster
		want bool
	}{
		{"empty selects all", Selector{}, acme, true},
		{"name glob", Selector{Names: []string{"p*"}}, acme, true},
		{"name glob miss", Selector{Names: []string{"d*"}}, acme, false},
		{"any name of the list", Selector{Names: []string{"d*", "peu0?"}}, acme, true},
		{"character class", Selector{Names: []string{"p[a-f]u01"}}, acme, true},
		{"organization from the namespace", Selector{Organizations: []string{"acme"}}, acme, true},
		{"organization written as its namespace", Selector{Organizations: []string{"org-acme"}}, acme, true},
		{"organization glob", Selector{Organizations: []string{"ac*"}}, acme, true},
		{"other organization", Selector{Organizations: []string{"globex"}}, acme, false},
		{"explicit organization wins over the namespace", Selector{Organizations: []string{"globex"}},
			Cluster{Name: "a", Namespace: "org-acme", Organization: "globex"}, true},
		{"no organization at all", Selector{Organizations: []string{"*"}}, Cluster{Name: "a", Namespace: "default"}, false},
		{"namespace glob", Selector{Namespaces: []string{"org-*"}}, acme, true},
		{"label", Selector{Labels: map[string]string{"stage": "prod"}}, acme, true},
		{"label value glob", Selector{Labels: map[string]string{"region": "eu-*"}}, acme, true},
		{"label value differs", Selector{Labels: map[string]string{"stage": "dev"}}, acme, false},
		{"label missing", Selector{Labels: map[string]string{"team": "*"}}, acme, false},
		{"every label must match", Selector{Labels: map[string]string{"stage": "prod", "region": "us-*"}}, acme, false},
		{"every criterion must match", Selector{Names: []string{"p*"}, Organizations: []string{"globex"}}, acme, false},
		{"all criteria match", Selector{Names: []string{"p*"}, Organizations: []string{"acme"}, Namespaces: []string{"org-acme"}, Labels: map[string]string{"stage": "prod"}}, acme, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sel.Matches(tt.c); got != tt.want {
				t.Errorf("%+v.Matches(%+v) = %v, want %v", tt.sel, tt.c, got, tt.want)
			}
		})
	}
}

const precedence = `timezone: Europe/Berlin
schedule: ["* 22-23 * * *"]
minimumReleaseAge: 3d
pin: "31.x"
automerge: {updates: [patch], approvals: 1, method: squash}
rollout:
  soak: 2d
  waves:
    - {name: dev, match: {organizations: [dev]}, soak: 1d}
    - {name: staging, match: {labels: {stage: staging}}}
    - {name: prod, match: {labels: {stage: prod}}}
rules:
  - description: production
    match: {labels: {stage: prod}}
    schedule: ["* 1-3 * * 2-4"]
    automerge: {approvals: 2}
  - description: acme's production in New York
    match: {organizations: [acme], labels: {stage: prod}}
    timezone: America/New_York
    pin: ""
    minimumReleaseAge: 7d
  - description: canaries merge minors on their own
    match: {names: ["canary-*"]}
    allowedUpdates: [patch, minor, major]
    automerge: {updates: [patch, minor], checks: false}
`

func TestForPrecedence(t *testing.T) {
	f := mustParse(t, precedence)
	tests := []struct {
		name      string
		c         Cluster
		zone      string
		schedule  []string
		minAge    time.Duration
		pin       string
		allowed   []UpdateType
		automerge Automerge
		wave      string
		rules     []int
	}{
		{
			name: "no rule", c: Cluster{Name: "x", Namespace: "org-dev"},
			zone: "Europe/Berlin", schedule: []string{"* 22-23 * * *"}, minAge: 72 * time.Hour, pin: "31.x",
			allowed:   []UpdateType{Patch, Minor},
			automerge: Automerge{Updates: []UpdateType{Patch}, Approvals: 1, Checks: true, Method: Squash},
			wave:      "dev",
		},
		{
			name: "one rule overrides the schedule and one automerge field",
			c:    Cluster{Name: "p1", Namespace: "org-globex", Labels: map[string]string{"stage": "prod"}},
			zone: "Europe/Berlin", schedule: []string{"* 1-3 * * 2-4"}, minAge: 72 * time.Hour, pin: "31.x",
			allowed:   []UpdateType{Patch, Minor},
			automerge: Automerge{Updates: []UpdateType{Patch}, Approvals: 2, Checks: true, Method: Squash},
			wave:      "prod", rules: []int{0},
		},
		{
			name: "a later rule moves the inherited schedule to its zone and clears the pin",
			c:    Cluster{Name: "p2", Namespace: "org-acme", Labels: map[string]string{"stage": "prod"}},
			zone: "America/New_York", schedule: []string{"* 1-3 * * 2-4"}, minAge: 7 * 24 * time.Hour, pin: "",
			allowed:   []UpdateType{Patch, Minor},
			automerge: Automerge{Updates: []UpdateType{Patch}, Approvals: 2, Checks: true, Method: Squash},
			wave:      "prod", rules: []int{0, 1},
		},
		{
			name: "three rules, the last one field by field",
			c:    Cluster{Name: "canary-1", Namespace: "org-acme", Labels: map[string]string{"stage": "prod"}},
			zone: "America/New_York", schedule: []string{"* 1-3 * * 2-4"}, minAge: 7 * 24 * time.Hour, pin: "",
			allowed:   []UpdateType{Patch, Minor, Major},
			automerge: Automerge{Updates: []UpdateType{Patch, Minor}, Approvals: 2, Checks: false, Method: Squash},
			wave:      "prod", rules: []int{0, 1, 2},
		},
		{
			name: "no wave",
			c:    Cluster{Name: "canary-2", Namespace: "default"},
			zone: "Europe/Berlin", schedule: []string{"* 22-23 * * *"}, minAge: 72 * time.Hour, pin: "31.x",
			allowed:   []UpdateType{Patch, Minor, Major},
			automerge: Automerge{Updates: []UpdateType{Patch, Minor}, Approvals: 1, Checks: false, Method: Squash},
			rules:     []int{2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := f.For(tt.c)
			var schedule []string
			for _, c := range s.Schedule {
				schedule = append(schedule, c.String())
			}
			pin := ""
			if s.Pin != nil {
				pin = s.Pin.String()
			}
			wave := ""
			if s.Wave != nil {
				wave = s.Wave.Name
			}
			got := []any{s.Location.String(), schedule, s.MinimumReleaseAge, pin, s.AllowedUpdates, s.Merge, wave, s.Rules}
			want := []any{tt.zone, tt.schedule, tt.minAge, tt.pin, tt.allowed, tt.automerge, tt.wave, tt.rules}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("settings of %s (-want +got):\n%s", tt.c.Name, diff)
			}
		})
	}
}

// TestRuleZoneMovesSchedule: the same cron window opens at different
// instants when a rule only changes the time zone.
func TestRuleZoneMovesSchedule(t *testing.T) {
	f := mustParse(t, precedence)
	berlin := f.For(Cluster{Name: "p1", Labels: map[string]string{"stage": "prod"}})
	newYork := f.For(Cluster{Name: "p2", Namespace: "org-acme", Labels: map[string]string{"stage": "prod"}})
	at := utc(t, "2026-06-02T00:30:00Z") // Tuesday 02:30 in Berlin, Monday 20:30 in New York
	if !berlin.Open(at) || newYork.Open(at) {
		t.Errorf("at %s: Berlin open %v (want true), New York open %v (want false)", at, berlin.Open(at), newYork.Open(at))
	}
	next, _ := newYork.NextOpen(at)
	if want := utc(t, "2026-06-02T05:00:00Z"); !next.Equal(want) { // Tuesday 01:00 EDT
		t.Errorf("New York NextOpen = %s, want %s", fmtTime(next), fmtTime(want))
	}
}

func TestWaves(t *testing.T) {
	f := mustParse(t, precedence)
	waves := f.Waves()
	got := []string{}
	for _, w := range waves {
		got = append(got, w.Name+" "+w.Soak.String())
	}
	if diff := cmp.Diff([]string{"dev 24h0m0s", "staging 48h0m0s", "prod 48h0m0s"}, got); diff != "" {
		t.Errorf("waves (-want +got):\n%s", diff)
	}
	// The first matching wave wins.
	s := f.For(Cluster{Name: "a", Namespace: "org-dev", Labels: map[string]string{"stage": "prod"}})
	if s.Wave == nil || s.Wave.Name != "dev" || s.Wave.Index != 0 {
		t.Errorf("wave = %+v, want dev", s.Wave)
	}
	waves[0].Name = "changed"
	if f.Waves()[0].Name != "dev" {
		t.Errorf("Waves returned the File's own slice")
	}
}
