package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "unknown key with a suggestion",
			src:  "timzone: Europe/Berlin\n",
			want: []string{"f.yaml:1:1: timzone: unknown key (did you mean timezone?)"},
		},
		{
			name: "unknown key without a near one",
			src:  "colour: red\n",
			want: []string{"f.yaml:1:1: colour: unknown key; expected one of timezone, schedule, maintenanceWindows, freezes, minimumReleaseAge, allowedUpdates, ignoreVersions, pin, automerge, prConcurrentLimit, prHourlyLimit, dashboard, locators, rollout, rules"},
		},
		{
			name: "invalid locators",
			src: "locators:\n" +
				"  - flux-substitut\n" +
				"  - {type: values, variable: cluster_release}\n" +
				"  - {path: global.release.version}\n" +
				"  - {type: values, path: global..version}\n" +
				"  - {type: label, key: \"not a key\"}\n" +
				"  - {type: app-version, charts: \"release-*\"}\n" +
				"  - label\n" +
				"  - label\n",
			want: []string{
				`f.yaml:2:5: locators[0]: unknown locator "flux-substitut" (did you mean flux-substitute?)`,
				`f.yaml:3:20: locators[1].variable: the values locator takes no variable; it takes key, path`,
				`f.yaml:4:5: locators[2]: a locator needs its type: one of label, flux-substitute, app-version, values`,
				`f.yaml:5:26: locators[3].path: "global..version" is not a dot-separated path such as global.release.version`,
				`f.yaml:6:19: locators[4].key: the label locator takes no key; it takes no options (the label is the bot's --version-label)`,
				`f.yaml:7:33: locators[5].charts: expected a list, e.g. ["release-*"], got "release-*"`,
				`f.yaml:9:5: locators[7]: the same locator as item 6; remove one`,
			},
		},
		{
			name: "locators in a rule",
			src:  "rules:\n  - locators: [label]\n",
			want: []string{"f.yaml:2:5: rules[0].locators: unknown key: locators applies to the whole repository; set it at the top level, not in a rule"},
		},
		{
			name: "unknown time zone",
			src:  "timezone: Europe/Berlim\n",
			want: []string{`f.yaml:1:11: timezone: unknown time zone "Europe/Berlim": use an IANA name such as Europe/Berlin or America/New_York`},
		},
		{
			name: "the machine's time zone",
			src:  "timezone: Local\n",
			want: []string{"f.yaml:1:11: timezone: Local depends on the machine the bot runs on: name a zone such as Europe/Berlin"},
		},
		{
			name: "a string where a list belongs",
			src:  "schedule: \"* 22-23 * * *\"\n",
			want: []string{`f.yaml:1:11: schedule: expected a list, e.g. ["* 22-23,0-4 * * 1-5"], got "* 22-23 * * *"`},
		},
		{
			name: "invalid cron expressions",
			src:  "schedule:\n  - \"* 25 * * *\"\n  - after 10pm\n  - \"@daily\"\n  - \"TZ=UTC * * * * *\"\n  - \"* * 31 2,4 *\"\n",
			want: []string{
				`f.yaml:2:5: schedule[0]: invalid cron expression "* 25 * * *": end of range (25) above maximum (23): 25`,
				`f.yaml:3:5: schedule[1]: invalid cron expression "after 10pm": want 5 fields (minute hour day-of-month month day-of-week), got 2; text schedules such as "after 10pm" are not supported`,
				`f.yaml:4:5: schedule[2]: invalid cron expression "@daily": descriptors such as @daily are not windows; write five fields, e.g. "* 0-3 * * *"`,
				`f.yaml:5:5: schedule[3]: invalid cron expression "TZ=UTC * * * * *": set the time zone with timezone, not inside the expression`,
				`f.yaml:6:5: schedule[4]: cron expression "* * 31 2,4 *" never matches: no month it allows has that day of the month`,
			},
		},
		{
			name: "invalid RRULEs",
			src: "maintenanceWindows:\n" +
				"  - {rrule: \"FREQ=WEEKLY;BYHOUR=2\", duration: 2h}\n" +
				"  - {rrule: \"FREQ=HOURLY\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=DAILY;INTERVAL=2\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=DAILY;BYHOUR=24\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=WEEKLY;BYDAY=1MO\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=MONTHLY;BYMONTHDAY=1;BYSETPOS=2\", duration: 1h}\n" +
				"  - {rrule: \"BYDAY=MO\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=DAILY;COUNT=2;UNTIL=20270101\", start: \"2026-01-01T00:00\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=DAILY;DTSTART=20260101T000000\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=MONTHLY;INTERVAL=12;BYMONTH=2;BYMONTHDAY=1\", start: \"2026-01-01T00:00\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=DAILY\", start: \"2026-01-01T00:00+01:00\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=MONTHLY;BYDAY=10SA\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=YEARLY;BYMONTH=3;BYDAY=-6SU\", duration: 1h}\n" +
				"  - {rrule: \"FREQ=YEARLY;BYDAY=53FR,-53MO\", duration: 1h}\n",
			want: []string{
				`f.yaml:2:13: maintenanceWindows[0].rrule: invalid RRULE "FREQ=WEEKLY;BYHOUR=2": FREQ=WEEKLY needs BYDAY (which day) or a start`,
				`f.yaml:3:13: maintenanceWindows[1].rrule: invalid RRULE "FREQ=HOURLY": FREQ=HOURLY is not supported: windows recur DAILY, WEEKLY, MONTHLY or YEARLY`,
				`f.yaml:4:13: maintenanceWindows[2].rrule: invalid RRULE "FREQ=DAILY;INTERVAL=2": INTERVAL and COUNT count from the first occurrence; give it as start`,
				`f.yaml:5:13: maintenanceWindows[3].rrule: invalid RRULE "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30": no day matches all of its parts`,
				`f.yaml:6:13: maintenanceWindows[4].rrule: invalid RRULE "FREQ=DAILY;BYHOUR=24": byhour must be between 0 and 23`,
				`f.yaml:7:13: maintenanceWindows[5].rrule: invalid RRULE "FREQ=WEEKLY;BYDAY=1MO": BYDAY=1MO: a numbered weekday needs FREQ=MONTHLY or YEARLY (without BYWEEKNO)`,
				`f.yaml:8:13: maintenanceWindows[6].rrule: invalid RRULE "FREQ=MONTHLY;BYMONTHDAY=1;BYSETPOS=2": no day matches all of its parts`,
				`f.yaml:9:13: maintenanceWindows[7].rrule: invalid RRULE "BYDAY=MO": RRULE property FREQ is required`,
				`f.yaml:10:13: maintenanceWindows[8].rrule: invalid RRULE "FREQ=DAILY;COUNT=2;UNTIL=20270101": COUNT and UNTIL exclude each other`,
				`f.yaml:11:13: maintenanceWindows[9].rrule: invalid RRULE "FREQ=DAILY;DTSTART=20260101T000000": DTSTART is not part of the rule here; give the first occurrence as start`,
				`f.yaml:12:13: maintenanceWindows[10].rrule: invalid RRULE "FREQ=MONTHLY;INTERVAL=12;BYMONTH=2;BYMONTHDAY=1": no occurrence on or after the start`,
				`f.yaml:13:34: maintenanceWindows[11].start: "2026-01-01T00:00+01:00" has a UTC offset: write the wall-clock time in the time zone, e.g. 2026-01-06T02:00`,
				`f.yaml:14:13: maintenanceWindows[12].rrule: invalid RRULE "FREQ=MONTHLY;BYDAY=10SA": BYDAY=10SA: a month has at most 5 of each weekday (1 to 5, or -1 to -5)`,
				`f.yaml:15:13: maintenanceWindows[13].rrule: invalid RRULE "FREQ=YEARLY;BYMONTH=3;BYDAY=-6SU": BYDAY=-6SU: a month has at most 5 of each weekday (1 to 5, or -1 to -5)`,
			},
		},
		{
			name: "window without rrule or duration, and a bad duration",
			src:  "maintenanceWindows:\n  - {rrule: \"FREQ=DAILY\"}\n  - {duration: 2h}\n  - {rrule: \"FREQ=DAILY\", duration: -2h}\n  - {rrule: \"FREQ=DAILY\", duration: 0s}\n  - {rrule: \"FREQ=DAILY\", duration: 400d}\n",
			want: []string{
				`f.yaml:2:5: maintenanceWindows[0]: missing duration, e.g. duration: 2h`,
				`f.yaml:3:5: maintenanceWindows[1]: missing rrule, e.g. rrule: "FREQ=WEEKLY;BYDAY=TU;BYHOUR=2;BYMINUTE=0"`,
				`f.yaml:4:37: maintenanceWindows[2].duration: negative duration "-2h": durations must be zero or more`,
				`f.yaml:5:37: maintenanceWindows[3].duration: must be longer than zero`,
				`f.yaml:6:37: maintenanceWindows[4].duration: 400d is longer than a year`,
			},
		},
		{
			name: "freezes",
			src: "freezes:\n" +
				"  - {start: 2027-01-06, end: 2026-12-20}\n" +
				"  - {start: 2026-13-01, end: 2027-01-06}\n" +
				"  - {start: 2026-12-20}\n" +
				"  - {rrule: \"FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20\", end: 2027-01-06}\n" +
				"  - {start: 2026-12-20, end: 2027-01-06, duration: 1d}\n",
			want: []string{
				`f.yaml:2:30: freezes[0].end: the freeze ends (2026-12-20) before it starts (2027-01-06)`,
				`f.yaml:3:13: freezes[1].start: invalid date "2026-13-01": write 2026-12-20 or 2026-12-20T18:00`,
				`f.yaml:4:5: freezes[2]: a freeze needs start and end (dates such as 2026-12-20), or rrule and duration`,
				`f.yaml:5:53: freezes[3].end: a recurring freeze (rrule) lasts its duration; remove end`,
				`f.yaml:6:42: freezes[4].duration: duration goes with rrule; a fixed freeze has start and end`,
			},
		},
		{
			name: "durations and numbers",
			src:  "minimumReleaseAge: 3\nprConcurrentLimit: -5\nprHourlyLimit: many\nautomerge: {approvals: 1.5, checks: yes}\n",
			want: []string{
				`f.yaml:1:20: minimumReleaseAge: invalid duration "3": write a Go duration with optional leading days, e.g. 3d, 1d12h, 90m`,
				`f.yaml:2:20: prConcurrentLimit: must be 0 or more, got -5`,
				`f.yaml:3:16: prHourlyLimit: expected a whole number, got "many"`,
				`f.yaml:4:24: automerge.approvals: expected a whole number, got the number 1.5`,
				`f.yaml:4:37: automerge.checks: expected true or false, got "yes"`,
			},
		},
		{
			name: "update types, merge method",
			src:  "allowedUpdates: [patch, mayor, patch, 1]\nautomerge: {updates: [patch], method: fast}\n",
			want: []string{
				`f.yaml:1:25: allowedUpdates[1]: unknown value "mayor"; expected one of patch, minor, major`,
				`f.yaml:1:32: allowedUpdates[2]: patch is listed twice`,
				`f.yaml:1:39: allowedUpdates[3]: expected a string, got the number 1`,
				`f.yaml:2:39: automerge.method: unknown merge method "fast"; expected merge, squash or rebase`,
			},
		},
		{
			name: "versions that are not semver",
			src:  "ignoreVersions: [banana, \"v32.0.0\", 31.2]\npin: v31.x.y\n",
			want: []string{
				`f.yaml:1:18: ignoreVersions[0]: "banana" is not a semver version or constraint: write e.g. v32.0.0, ~31.2, 31.x or ">=31.1, <32"`,
				`f.yaml:2:6: pin: "v31.x.y" is not a semver version or constraint: write e.g. v32.0.0, ~31.2, 31.x or ">=31.1, <32"`,
			},
		},
		{
			name: "bad globs and selectors",
			src:  "rules:\n  - match: {names: [\"[a-\"], organizations: \"acme\", labels: {stage: \"[\"}, colour: red}\n    pin: v31.x\n",
			want: []string{
				`f.yaml:2:21: rules[0].match.names[0]: invalid glob "[a-": use *, ? and [a-z]`,
				`f.yaml:2:44: rules[0].match.organizations: expected a list, e.g. ["prod-*"], got "acme"`,
				`f.yaml:2:68: rules[0].match.labels.stage: invalid glob "[": use *, ? and [a-z]`,
				`f.yaml:2:74: rules[0].match.colour: unknown key; expected one of names, organizations, namespaces, labels`,
			},
		},
		{
			name: "repository settings inside a rule",
			src:  "rules:\n  - match: {names: [a]}\n    prHourlyLimit: 3\n    rollout: {}\n",
			want: []string{
				`f.yaml:3:5: rules[0].prHourlyLimit: unknown key: prHourlyLimit applies to the whole repository; set it at the top level, not in a rule`,
				`f.yaml:4:5: rules[0].rollout: unknown key: rollout applies to the whole repository; set it at the top level, not in a rule`,
			},
		},
		{
			name: "a key set twice",
			src:  "timezone: UTC\npin: v31.x\ntimezone: Europe/Berlin\n",
			want: []string{`f.yaml:3:1: timezone: set twice (first on line 1)`},
		},
		{
			name: "a key of one's own for anchors",
			src:  "defaults: &d {pin: v31.x}\n",
			want: []string{`f.yaml:1:1: defaults: unknown key; expected one of timezone, schedule, maintenanceWindows, freezes, minimumReleaseAge, allowedUpdates, ignoreVersions, pin, automerge, prConcurrentLimit, prHourlyLimit, dashboard, locators, rollout, rules`},
		},
		{
			name: "merge key in a rule",
			src:  "rules:\n  - <<: {pin: v31.x}\n    match: {names: [a]}\n",
			want: []string{
				`f.yaml:2:5: rules[0]: merge keys (<<) are not supported: write the settings out`,
			},
		},
		{
			name: "null value",
			src:  "timezone:\n",
			want: []string{`f.yaml:1:10: timezone: expected a string, got nothing (null)`},
		},
		{
			name: "not a mapping",
			src:  "- timezone: UTC\n",
			want: []string{`f.yaml:1:1: a policy file is a mapping of settings (timezone: ..., schedule: ..., rules: ...), not a list`},
		},
		{
			name: "YAML syntax",
			src:  "timezone: UTC\nrules:\n\t- a\n",
			want: []string{`f.yaml:3: invalid YAML: found character that cannot start any token`},
		},
		{
			name: "two documents",
			src:  "timezone: UTC\n---\npin: v31.x\n",
			want: []string{`f.yaml:2:1: the file holds more than one YAML document; keep one (remove the ---)`},
		},
		{
			name: "contradiction: nothing allowed but automerge",
			src:  "allowedUpdates: []\nautomerge: {updates: [patch, minor]}\n",
			want: []string{
				`f.yaml:2:12: automerge.updates: patch upgrades are automerged, but allowedUpdates is [], so no upgrade is ever proposed`,
				`f.yaml:2:12: automerge.updates: minor upgrades are automerged, but allowedUpdates is [], so no upgrade is ever proposed`,
			},
		},
		{
			name: "contradiction: automerging majors the default does not allow",
			src:  "automerge: {updates: [major]}\n",
			want: []string{`f.yaml:1:12: automerge.updates: major upgrades are automerged, but allowedUpdates (by default) only allows patch, minor`},
		},
		{
			name: "contradiction: in one rule",
			src:  "rules:\n  - match: {labels: {stage: dev}}\n    allowedUpdates: [patch]\n    automerge: {updates: [minor]}\n",
			want: []string{`f.yaml:4:16: rules[0].automerge.updates: minor upgrades are automerged, but allowedUpdates only allows patch`},
		},
		{
			name: "contradiction: schedule and windows never meet",
			src:  "schedule: [\"* * * * 1\"]\nmaintenanceWindows: [{rrule: \"FREQ=WEEKLY;BYDAY=TU\", duration: 2h}]\n",
			want: []string{`f.yaml:1:11: schedule: the schedule and maintenanceWindows never overlap, so the bot would never act; widen one of them`},
		},
		{
			name: "contradiction: waves",
			src: "rollout:\n  soak: 2d\n  waves:\n" +
				"    - {name: dev, match: {}}\n" +
				"    - {name: dev, match: {names: [a]}}\n" +
				"    - {match: {names: [b]}}\n" +
				"    - {name: prod}\n",
			want: []string{
				`f.yaml:4:26: rollout.waves[0].match: the wave matches every cluster, so no later wave would get any; give a selector (only the last wave may match the rest)`,
				`f.yaml:5:14: rollout.waves[1].name: wave "dev" is defined twice (first on line 4)`,
				`f.yaml:6:7: rollout.waves[2]: missing name`,
				`f.yaml:7:7: rollout.waves[3]: missing match: which clusters are in the wave`,
			},
		},
		{
			name: "rollout without waves",
			src:  "rollout: {soak: 2d}\n",
			want: []string{`f.yaml:1:10: rollout: a rollout needs waves, e.g. waves: [{name: dev, match: {organizations: [dev]}}]`},
		},
		{
			name: "a rule that changes nothing",
			src:  "rules:\n  - match: {names: [a]}\n    description: forgotten\n",
			want: []string{`f.yaml:2:5: rules[0]: the rule changes no setting; add settings such as allowedUpdates, or remove the rule`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.src), "f.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded, want errors:\n%s", strings.Join(tt.want, "\n"))
			}
			if f != nil {
				t.Errorf("Parse returned a File with its errors")
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseGolden parses files with many problems: all of them are reported
// at once, in line order.
func TestParseLocators(t *testing.T) {
	f, err := Parse([]byte("locators:\n"+
		"  - flux-substitute\n"+
		"  - {type: flux-substitute, variable: release}\n"+
		"  - {type: app-version, charts: [release-aws, \"release-*\"]}\n"+
		"  - {type: values, key: values.yaml, path: global.release.version}\n"+
		"  - label\n"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Locator{
		{Type: LocatorFluxSubstitute},
		{Type: LocatorFluxSubstitute, Variable: "release"},
		{Type: LocatorAppVersion, Charts: []string{"release-aws", "release-*"}},
		{Type: LocatorValues, Key: "values.yaml", Path: "global.release.version"},
		{Type: LocatorLabel},
	}
	if diff := cmp.Diff(want, f.Locators()); diff != "" {
		t.Errorf("Locators (-want +got):\n%s", diff)
	}
	if got := Default().Locators(); got != nil {
		t.Errorf("the default policy has locators %v; want none (detect)", got)
	}
}

func TestParseGolden(t *testing.T) {
	for _, name := range []string{"invalid", "contradictory"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, FileName)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			golden(t, name+".golden", err.Error()+"\n")
		})
	}
}

func TestProblemsAreTyped(t *testing.T) {
	_, err := Parse([]byte("timezone: Mars/Olympus\npin: banana\n"), "repo/.upgrade-bot.yaml")
	var first *Problem
	if !errors.As(err, &first) {
		t.Fatalf("error %v holds no *Problem", err)
	}
	want := &Problem{File: "repo/.upgrade-bot.yaml", Line: 1, Column: 11, Path: "timezone", Message: `unknown time zone "Mars/Olympus": use an IANA name such as Europe/Berlin or America/New_York`}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first problem (-want +got):\n%s", diff)
	}
	multi, ok := err.(interface{ Unwrap() []error })
	if !ok || len(multi.Unwrap()) != 2 {
		t.Fatalf("error %v does not unwrap into two problems", err)
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, f *File)
	}{
		{
			name: "empty file is the default",
			src:  "",
			check: func(t *testing.T, f *File) {
				s := f.For(Cluster{Name: "a"})
				if s.Location != time.UTC || len(s.Schedule) != 0 || !cmp.Equal(s.AllowedUpdates, []UpdateType{Patch, Minor}) ||
					s.PRConcurrentLimit != DefaultPRConcurrentLimit || s.PRHourlyLimit != DefaultPRHourlyLimit ||
					s.Merge.Method != Merge || !s.Merge.Checks || len(s.Merge.Updates) != 0 || s.Wave != nil {
					t.Errorf("default settings: %+v", s)
				}
			},
		},
		{
			name:  "only comments",
			src:   "# nothing yet\n",
			check: func(t *testing.T, f *File) {},
		},
		{
			name: "aliases are followed",
			src:  "schedule: &nights [\"* 0-4 * * *\"]\nrules:\n  - match: {names: [p*]}\n    schedule: *nights\n    pin: \"\"\n",
			check: func(t *testing.T, f *File) {
				s := f.For(Cluster{Name: "p1"})
				if len(s.Schedule) != 1 || s.Schedule[0].String() != "* 0-4 * * *" {
					t.Errorf("schedule = %v", s.Schedule)
				}
			},
		},
		{
			name: "numbers and dates where text is meant",
			src:  "ignoreVersions: [31.2, 32]\npin: 31\nrules: [{match: {labels: {tier: 1}}, minimumReleaseAge: 0}]\n",
			check: func(t *testing.T, f *File) {
				s := f.For(Cluster{Name: "x", Labels: map[string]string{"tier": "1"}})
				if ok, why := s.Allowed("31.1.0", "31.3.0"); !ok {
					t.Errorf("Allowed(31.1.0, 31.3.0) = false: %s", why)
				}
				if ok, _ := s.Allowed("31.1.0", "31.2.1"); ok {
					t.Errorf("31.2.1 should be ignored by 31.2")
				}
				if s.Rules == nil {
					t.Errorf("the rule did not select tier: 1")
				}
			},
		},
		{
			name: "last wave may match the rest",
			src:  "rollout:\n  soak: 2d\n  waves:\n    - {name: dev, match: {names: [dev-*]}, soak: 1d}\n    - {name: prod, match: {}}\n",
			check: func(t *testing.T, f *File) {
				w := f.Waves()
				if len(w) != 2 || w[0].Soak != 24*time.Hour || w[1].Soak != 48*time.Hour || w[1].Index != 1 {
					t.Errorf("waves = %+v", w)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, tt.src))
		})
	}
}

// TestDocExample parses the example file of the package documentation, so
// that it stays valid.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	in := false
	for _, l := range strings.Split(string(doc), "\n") {
		switch {
		case strings.HasPrefix(l, "// # The file"):
			in = true
		case strings.HasPrefix(l, "// # "):
			in = false
		case in && strings.HasPrefix(l, "//\t"):
			lines = append(lines, strings.TrimPrefix(l, "//\t"))
		}
	}
	if len(lines) < 20 {
		t.Fatalf("found only %d example lines in doc.go", len(lines))
	}
	f := mustParse(t, strings.Join(lines, "\n"))
	s := f.For(Cluster{Name: "peu01", Namespace: "org-acme", Labels: map[string]string{"stage": "prod"}})
	if !cmp.Equal(s.Rules, []int{0}) || s.Wave == nil || s.Wave.Name != "prod" || s.Location.String() != "Europe/Berlin" {
		t.Errorf("example settings for peu01: rules %v, wave %v, zone %v", s.Rules, s.Wave, s.Location)
	}
}
