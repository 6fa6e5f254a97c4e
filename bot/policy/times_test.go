package policy

import (
	"fmt"
	"testing"
	"time"
)

// DST dates used below (2026): Europe/Berlin springs forward on Sunday 29
// March at 02:00 CET (01:00Z) and falls back on Sunday 25 October at 03:00
// CEST (01:00Z); America/New_York springs forward on Sunday 8 March at 02:00
// EST (07:00Z) and falls back on Sunday 1 November at 02:00 EDT (06:00Z).

func TestInstant(t *testing.T) {
	tests := []struct {
		name, zone, wall string
		want             string
	}{
		{"plain summer time", "Europe/Berlin", "2026-06-01T12:00:00", "2026-06-01T10:00:00Z"},
		{"Berlin skipped hour is read with the offset before the gap", "Europe/Berlin", "2026-03-29T02:30:00", "2026-03-29T01:30:00Z"},
		{"Berlin repeated hour is its first occurrence", "Europe/Berlin", "2026-10-25T02:30:00", "2026-10-25T00:30:00Z"},
		{"Berlin hour after the repeated one", "Europe/Berlin", "2026-10-25T03:00:00", "2026-10-25T02:00:00Z"},
		{"New York skipped hour is read with the offset before the gap", "America/New_York", "2026-03-08T02:30:00", "2026-03-08T07:30:00Z"},
		{"New York repeated hour is its first occurrence", "America/New_York", "2026-11-01T01:30:00", "2026-11-01T05:30:00Z"},
		{"New York before the gap", "America/New_York", "2026-03-08T01:59:00", "2026-03-08T06:59:00Z"},
		{"UTC", "UTC", "2026-03-29T02:30:00", "2026-03-29T02:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wall, err := time.Parse("2006-01-02T15:04:05", tt.wall)
			if err != nil {
				t.Fatal(err)
			}
			loc := zone(t, tt.zone)
			got := instant(wall, loc)
			if want := utc(t, tt.want); !got.Equal(want) {
				t.Errorf("instant(%s in %s) = %s, want %s", tt.wall, tt.zone, fmtTime(got.UTC()), fmtTime(want))
			}
			if w := wallOf(got, loc); !w.Equal(wall) && tt.zone != "" {
				// Only a wall time in a gap may come back different.
				if _, off := got.Zone(); off == 0 && tt.zone != "UTC" {
					t.Errorf("wallOf(instant(%s)) = %s", tt.wall, w)
				}
			}
		})
	}
}

func TestScheduleOpen(t *testing.T) {
	tests := []struct {
		name, zone, cron string
		at               string
		want             bool
	}{
		{"Berlin spring: 01:59 CET is before hour 2", "Europe/Berlin", "* 2 * * *", "2026-03-29T00:59:00Z", false},
		{"Berlin spring: hour 2 does not exist, 03:00 CEST is hour 3", "Europe/Berlin", "* 2 * * *", "2026-03-29T01:00:00Z", false},
		{"Berlin spring: a 2-3 window opens at 03:00 CEST", "Europe/Berlin", "* 2-3 * * *", "2026-03-29T01:00:00Z", true},
		{"Berlin fall: 02:00 CEST is hour 2", "Europe/Berlin", "* 2 * * *", "2026-10-25T00:00:00Z", true},
		{"Berlin fall: 02:59 CEST", "Europe/Berlin", "* 2 * * *", "2026-10-25T00:59:00Z", true},
		{"Berlin fall: 02:00 CET, the repeated hour, is hour 2 again", "Europe/Berlin", "* 2 * * *", "2026-10-25T01:00:00Z", true},
		{"Berlin fall: 02:59 CET", "Europe/Berlin", "* 2 * * *", "2026-10-25T01:59:00Z", true},
		{"Berlin fall: 03:00 CET", "Europe/Berlin", "* 2 * * *", "2026-10-25T02:00:00Z", false},
		{"New York spring: 01:59 EST", "America/New_York", "* 2 * * *", "2026-03-08T06:59:00Z", false},
		{"New York spring: 03:00 EDT follows 01:59 EST", "America/New_York", "* 2 * * *", "2026-03-08T07:00:00Z", false},
		{"New York fall: 00:59 EDT", "America/New_York", "* 1 * * *", "2026-11-01T04:59:00Z", false},
		{"New York fall: 01:00 EDT", "America/New_York", "* 1 * * *", "2026-11-01T05:00:00Z", true},
		{"New York fall: 01:30 EST, the repeated hour", "America/New_York", "* 1 * * *", "2026-11-01T06:30:00Z", true},
		{"New York fall: 02:00 EST", "America/New_York", "* 1 * * *", "2026-11-01T07:00:00Z", false},
		{"across midnight: Friday 23:30", "Europe/Berlin", "* 22-23,0-4 * * 1-5", "2026-06-05T21:30:00Z", true},
		{"across midnight: Saturday 00:30 is a Saturday", "Europe/Berlin", "* 22-23,0-4 * * 1-5", "2026-06-05T22:30:00Z", false},
		{"across midnight: Tuesday 00:30", "Europe/Berlin", "* 22-23,0-4 * * 1-5", "2026-06-01T22:30:00Z", true},
		{"across midnight: Monday 04:59", "Europe/Berlin", "* 22-23,0-4 * * 1-5", "2026-06-01T02:59:59Z", true},
		{"across midnight: Monday 05:00", "Europe/Berlin", "* 22-23,0-4 * * 1-5", "2026-06-01T03:00:00Z", false},
		{"Sunday written as 7", "UTC", "* * * * 7", "2026-06-07T12:00:00Z", true},
		{"Sunday in a range ending at 7", "UTC", "* * * * 5-7", "2026-06-07T12:00:00Z", true},
		{"Thursday outside 5-7", "UTC", "* * * * 5-7", "2026-06-04T12:00:00Z", false},
		{"day of month or day of week: the 1st", "UTC", "* * 1 * 1", "2026-07-01T12:00:00Z", true},
		{"day of month or day of week: a Monday", "UTC", "* * 1 * 1", "2026-07-06T12:00:00Z", true},
		{"day of month or day of week: neither", "UTC", "* * 1 * 1", "2026-07-07T12:00:00Z", false},
		{"minute granularity: inside the minute", "UTC", "0 2 * * *", "2026-07-07T02:00:59Z", true},
		{"minute granularity: next minute", "UTC", "0 2 * * *", "2026-07-07T02:01:00Z", false},
		{"month names", "UTC", "* * * jan,dec *", "2026-12-24T12:00:00Z", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings(t, fmt.Sprintf("timezone: %s\nschedule: [%q]\n", tt.zone, tt.cron))
			if got := s.Open(utc(t, tt.at)); got != tt.want {
				t.Errorf("schedule %q in %s: Open(%s) = %v, want %v", tt.cron, tt.zone, tt.at, got, tt.want)
			}
		})
	}
}

func TestWindowOpen(t *testing.T) {
	tests := []struct {
		name, zone, rrule, start, duration string
		open, closed                       []string
	}{
		{
			name: "weekly Tuesday 02:00-04:00", zone: "Europe/Berlin",
			rrule: "FREQ=WEEKLY;BYDAY=TU;BYHOUR=2;BYMINUTE=0", duration: "2h",
			open:   []string{"2026-06-02T00:00:00Z", "2026-06-02T01:59:59Z", "2026-12-01T01:00:00Z"},
			closed: []string{"2026-06-01T23:59:59Z", "2026-06-02T02:00:00Z", "2026-06-03T00:30:00Z"},
		},
		{
			name: "Friday 22:00 for 4h crosses midnight", zone: "Europe/Berlin",
			rrule: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=22", duration: "4h",
			open:   []string{"2026-06-05T20:00:00Z", "2026-06-05T23:59:59Z"}, // Fri 22:00, Sat 01:59:59 CEST
			closed: []string{"2026-06-05T19:59:59Z", "2026-06-06T00:00:00Z"},
		},
		{
			name: "spring forward: 02:00 starts at 03:00 CEST and lasts 2h", zone: "Europe/Berlin",
			rrule: "FREQ=DAILY;BYHOUR=2", duration: "2h",
			open:   []string{"2026-03-29T01:00:00Z", "2026-03-29T02:59:59Z", "2026-03-28T01:00:00Z"},
			closed: []string{"2026-03-29T00:59:59Z", "2026-03-29T03:00:00Z"},
		},
		{
			name: "fall back: 02:30 is the first, CEST one, and 1h is exact", zone: "Europe/Berlin",
			rrule: "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", duration: "1h",
			open:   []string{"2026-10-25T00:30:00Z", "2026-10-25T01:29:59Z"}, // until 02:29:59 CET
			closed: []string{"2026-10-25T00:29:59Z", "2026-10-25T01:30:00Z"},
		},
		{
			name: "New York fall back: 01:30 EDT for 1h ends at 01:30 EST", zone: "America/New_York",
			rrule: "FREQ=DAILY;BYHOUR=1;BYMINUTE=30", duration: "1h",
			open:   []string{"2026-11-01T05:30:00Z", "2026-11-01T06:29:59Z"},
			closed: []string{"2026-11-01T05:29:59Z", "2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z"},
		},
		{
			name: "New York spring forward: 02:30 starts at 03:30 EDT", zone: "America/New_York",
			rrule: "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", duration: "1h",
			open:   []string{"2026-03-08T07:30:00Z", "2026-03-08T08:29:59Z"},
			closed: []string{"2026-03-08T07:29:59Z", "2026-03-08T08:30:00Z", "2026-03-08T06:45:00Z"},
		},
		{
			name: "days are calendar days: Saturday 00:00 + 2d ends Monday 00:00 CEST, 47h later", zone: "Europe/Berlin",
			rrule: "FREQ=WEEKLY;BYDAY=SA", duration: "2d",
			open:   []string{"2026-03-27T23:00:00Z", "2026-03-29T21:59:59Z"},
			closed: []string{"2026-03-27T22:59:59Z", "2026-03-29T22:00:00Z"},
		},
		{
			name: "first Tuesday of the month", zone: "UTC",
			rrule: "FREQ=MONTHLY;BYDAY=1TU;BYHOUR=2", duration: "2h",
			open:   []string{"2026-07-07T02:30:00Z", "2026-08-04T03:59:00Z"},
			closed: []string{"2026-07-14T02:30:00Z", "2026-08-11T02:30:00Z"},
		},
		{
			name: "last weekday of the month", zone: "UTC",
			rrule: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=20", duration: "2h",
			open:   []string{"2026-07-31T21:00:00Z", "2026-10-30T20:00:00Z", "2026-05-29T21:59:59Z"},
			closed: []string{"2026-07-30T21:00:00Z", "2026-10-31T21:00:00Z", "2026-05-31T21:00:00Z"},
		},
		{
			name: "every other Tuesday from a start", zone: "Europe/Berlin",
			rrule: "FREQ=WEEKLY;INTERVAL=2", start: "2026-01-06T02:00", duration: "2h",
			open:   []string{"2026-01-06T01:30:00Z", "2026-01-20T01:30:00Z", "2026-06-09T00:30:00Z"},
			closed: []string{"2026-01-13T01:30:00Z", "2026-01-27T01:30:00Z", "2026-06-16T00:30:00Z", "2025-12-23T01:30:00Z"},
		},
		{
			name: "three occurrences (COUNT=3)", zone: "UTC",
			rrule: "FREQ=WEEKLY;COUNT=3", start: "2026-01-06T02:00", duration: "1h",
			open:   []string{"2026-01-06T02:00:00Z", "2026-01-20T02:30:00Z"},
			closed: []string{"2026-01-27T02:30:00Z", "2025-12-30T02:30:00Z"},
		},
		{
			name: "until a date, inclusive", zone: "UTC",
			rrule: "FREQ=DAILY;BYHOUR=3;UNTIL=20260201", duration: "1h",
			open:   []string{"2026-01-31T03:30:00Z", "2026-02-01T03:30:00Z"},
			closed: []string{"2026-02-02T03:30:00Z"},
		},
		{
			name: "until an instant", zone: "Europe/Berlin",
			rrule: "FREQ=DAILY;BYHOUR=3;UNTIL=20260201T000000Z", duration: "1h",
			open:   []string{"2026-01-31T02:30:00Z"},
			closed: []string{"2026-02-01T02:30:00Z"},
		},
		{
			name: "the time of day comes from the start", zone: "UTC",
			rrule: "FREQ=DAILY", start: "2026-01-01T23:00", duration: "3h",
			open:   []string{"2026-05-05T00:30:00Z", "2026-05-04T23:00:00Z"},
			closed: []string{"2026-05-05T02:00:00Z", "2025-12-31T23:30:00Z"},
		},
		{
			name: "yearly, the day and month from the start", zone: "UTC",
			rrule: "FREQ=YEARLY", start: "2026-02-14T10:00", duration: "1h",
			open:   []string{"2027-02-14T10:30:00Z"},
			closed: []string{"2027-02-15T10:30:00Z", "2027-03-14T10:30:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("timezone: %s\nmaintenanceWindows:\n  - rrule: %q\n    duration: %s\n", tt.zone, tt.rrule, tt.duration)
			if tt.start != "" {
				src += fmt.Sprintf("    start: %q\n", tt.start)
			}
			s := settings(t, src)
			for _, at := range tt.open {
				if !s.Open(utc(t, at)) {
					t.Errorf("Open(%s) = false, want true", at)
				}
			}
			for _, at := range tt.closed {
				if s.Open(utc(t, at)) {
					t.Errorf("Open(%s) = true, want false", at)
				}
			}
		})
	}
}

func TestFreezes(t *testing.T) {
	src := `timezone: Europe/Berlin
freezes:
  - {rrule: "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20", duration: 18d, reason: holidays}
  - {start: 2026-07-01, end: 2026-07-03, reason: launch}
  - {start: "2026-08-01T09:00", end: "2026-08-01T17:00:00+02:00", reason: audit}
  - {start: 2026-09-01, end: 2026-09-02}
  - {start: 2026-09-03, end: 2026-09-04, reason: second}
`
	s := settings(t, src)
	tests := []struct {
		at         string
		frozen     bool
		reason     string
		start, end string
	}{
		{"2026-12-19T22:59:59Z", false, "", "", ""},
		{"2026-12-19T23:00:00Z", true, "holidays", "2026-12-19T23:00:00Z", "2027-01-06T23:00:00Z"},
		{"2027-01-03T12:00:00Z", true, "holidays", "2026-12-19T23:00:00Z", "2027-01-06T23:00:00Z"},
		{"2027-01-06T22:59:59Z", true, "holidays", "2026-12-19T23:00:00Z", "2027-01-06T23:00:00Z"},
		{"2027-01-06T23:00:00Z", false, "", "", ""},
		{"2027-12-25T00:00:00Z", true, "holidays", "2027-12-19T23:00:00Z", "2028-01-06T23:00:00Z"},
		{"2026-06-30T21:59:59Z", false, "", "", ""},
		{"2026-06-30T22:00:00Z", true, "launch", "2026-06-30T22:00:00Z", "2026-07-03T22:00:00Z"}, // end date included
		{"2026-07-03T21:59:59Z", true, "launch", "2026-06-30T22:00:00Z", "2026-07-03T22:00:00Z"},
		{"2026-07-03T22:00:00Z", false, "", "", ""},
		{"2026-08-01T07:00:00Z", true, "audit", "2026-08-01T07:00:00Z", "2026-08-01T15:00:00Z"},
		{"2026-08-01T15:00:00Z", false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			f, ok := s.Frozen(utc(t, tt.at))
			if ok != tt.frozen {
				t.Fatalf("Frozen(%s) = %v, want %v", tt.at, ok, tt.frozen)
			}
			if !ok {
				if s.Why(utc(t, tt.at)) != "" {
					t.Errorf("Why(%s) = %q for an open cluster", tt.at, s.Why(utc(t, tt.at)))
				}
				return
			}
			if f.Reason != tt.reason || !f.Start.Equal(utc(t, tt.start)) || !f.End.Equal(utc(t, tt.end)) {
				t.Errorf("Frozen(%s) = %q %s – %s, want %q %s – %s", tt.at, f.Reason, fmtTime(f.Start), fmtTime(f.End), tt.reason, tt.start, tt.end)
			}
			if s.Open(utc(t, tt.at)) {
				t.Errorf("Open(%s) = true while frozen", tt.at)
			}
		})
	}
}

func TestNextOpen(t *testing.T) {
	tests := []struct {
		name, src, now string
		want           string // RFC 3339, or "" for never
	}{
		{
			name: "open now is now",
			src:  "schedule: [\"* * * * *\"]\n", now: "2026-06-01T12:34:56Z", want: "2026-06-01T12:34:56Z",
		},
		{
			name: "weekend to Monday night",
			src:  "timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * 1-5\"]\n", now: "2026-06-06T10:00:00Z",
			want: "2026-06-07T22:00:00Z", // Monday 00:00 CEST: hours 0-4 on a Monday's clock
		},
		{
			name: "mid-minute start of a minute-granular schedule",
			src:  "schedule: [\"30 2 * * *\"]\n", now: "2026-06-01T02:31:10Z", want: "2026-06-02T02:30:00Z",
		},
		{
			name: "Berlin spring night has no 02:xx, so the next is a day later",
			src:  "timezone: Europe/Berlin\nschedule: [\"* 2 * * *\"]\n", now: "2026-03-28T12:00:00Z",
			want: "2026-03-30T00:00:00Z", // Monday 02:00 CEST
		},
		{
			name: "Berlin fall night opens at the first 02:00",
			src:  "timezone: Europe/Berlin\nschedule: [\"* 2 * * *\"]\n", now: "2026-10-24T12:00:00Z",
			want: "2026-10-25T00:00:00Z",
		},
		{
			name: "Berlin fall night: after the first 02:xx hour the repeated one is still open",
			src:  "timezone: Europe/Berlin\nschedule: [\"* 2 * * *\"]\n", now: "2026-10-25T01:10:00Z",
			want: "2026-10-25T01:10:00Z",
		},
		{
			name: "New York spring night has no 02:xx",
			src:  "timezone: America/New_York\nschedule: [\"* 2 * * *\"]\n", now: "2026-03-08T05:00:00Z",
			want: "2026-03-09T06:00:00Z", // Monday 02:00 EDT
		},
		{
			name: "New York fall night: 01:xx twice, the second one after the first",
			src:  "timezone: America/New_York\nschedule: [\"* 1 * * *\"]\n", now: "2026-11-01T06:00:00Z",
			want: "2026-11-01T06:00:00Z",
		},
		{
			name: "window on the Berlin spring night starts at 03:00 CEST",
			src:  "timezone: Europe/Berlin\nmaintenanceWindows: [{rrule: \"FREQ=DAILY;BYHOUR=2\", duration: 2h}]\n", now: "2026-03-28T12:00:00Z",
			want: "2026-03-29T01:00:00Z",
		},
		{
			name: "schedule and window meet on Tuesday at 02:00",
			src: "timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * 1-5\"]\n" +
				"maintenanceWindows: [{rrule: \"FREQ=WEEKLY;BYDAY=TU;BYHOUR=2\", duration: 2h}]\n",
			now: "2026-11-30T12:00:00Z", want: "2026-12-01T01:00:00Z",
		},
		{
			name: "inside the window but the schedule opens later in it",
			src: "schedule: [\"* 3 * * *\"]\n" +
				"maintenanceWindows: [{rrule: \"FREQ=DAILY;BYHOUR=2\", duration: 2h}]\n",
			now: "2026-06-01T02:10:00Z", want: "2026-06-01T03:00:00Z",
		},
		{
			name: "a freeze skips the windows it covers",
			src: "maintenanceWindows: [{rrule: \"FREQ=WEEKLY;BYDAY=TU;BYHOUR=2\", duration: 2h}]\n" +
				"freezes: [{start: 2026-12-20, end: 2027-01-06}]\n",
			now: "2026-12-18T00:00:00Z", want: "2027-01-12T02:00:00Z",
		},
		{
			name: "back-to-back freezes",
			src:  "freezes: [{start: 2026-07-01, end: 2026-07-02}, {start: 2026-07-03, end: 2026-07-04}]\n",
			now:  "2026-07-01T10:00:00Z", want: "2026-07-05T00:00:00Z",
		},
		{
			name: "a window that crosses the end of a freeze opens when the freeze ends",
			src: "maintenanceWindows: [{rrule: \"FREQ=DAILY;BYHOUR=22\", duration: 4h}]\n" +
				"freezes: [{start: 2026-07-01, end: 2026-07-01}]\n",
			now: "2026-07-01T10:00:00Z", want: "2026-07-02T00:00:00Z",
		},
		{
			name: "a window list with COUNT runs out",
			src:  "maintenanceWindows: [{rrule: \"FREQ=DAILY;COUNT=2\", start: \"2026-01-01T02:00\", duration: 1h}]\n",
			now:  "2026-01-03T00:00:00Z", want: "",
		},
		{
			name: "a rule's schedule never meets the inherited windows",
			src: "maintenanceWindows: [{rrule: \"FREQ=WEEKLY;BYDAY=TU;BYHOUR=2\", duration: 2h}]\n" +
				"rules: [{schedule: [\"* * * * 1\"]}]\n",
			now: "2026-06-01T00:00:00Z", want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.src).For(Cluster{Name: "c"})
			got, ok := s.NextOpen(utc(t, tt.now))
			if tt.want == "" {
				if ok {
					t.Errorf("NextOpen(%s) = %s, want never", tt.now, fmtTime(got))
				}
				return
			}
			want := utc(t, tt.want)
			if !ok || !got.Equal(want) {
				t.Errorf("NextOpen(%s) = %s, %v; want %s", tt.now, fmtTime(got), ok, fmtTime(want.In(s.location())))
				return
			}
			if !s.Open(got) {
				t.Errorf("not Open at NextOpen %s", fmtTime(got))
			}
			if got.After(utc(t, tt.now)) && s.Open(got.Add(-time.Second)) {
				t.Errorf("already Open a second before NextOpen %s", fmtTime(got))
			}
		})
	}
}

func TestWhy(t *testing.T) {
	tests := []struct {
		name, src, now, want string
	}{
		{
			name: "open",
			src:  "schedule: [\"* * * * *\"]\n", now: "2026-06-01T00:00:00Z", want: "",
		},
		{
			name: "outside the schedule",
			src:  "timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * 1-5\"]\n", now: "2026-12-01T12:00:00Z",
			want: "outside the schedule * 22-23,0-4 * * 1-5 (Europe/Berlin); opens Tue 22:00 CET",
		},
		{
			name: "two schedules",
			src:  "schedule: [\"* 1 * * *\", \"* 3 * * *\"]\n", now: "2026-12-01T12:00:00Z",
			want: "outside the schedule * 1 * * * or * 3 * * * (UTC); opens Wed 01:00 UTC",
		},
		{
			name: "outside maintenance windows",
			src:  "timezone: Europe/Berlin\nmaintenanceWindows: [{rrule: \"FREQ=WEEKLY;BYDAY=TU;BYHOUR=2\", duration: 2h}]\n",
			now:  "2026-12-02T12:00:00Z",
			want: "outside maintenance windows; opens Tue 02:00 CET",
		},
		{
			name: "frozen through a date",
			src:  "timezone: Europe/Berlin\nfreezes: [{start: 2026-12-20, end: 2027-01-06, reason: holidays}]\nschedule: [\"* 22-23 * * 1-5\"]\n",
			now:  "2026-12-24T12:00:00Z",
			want: "frozen through 2027-01-06 (holidays); opens Thu 2027-01-07 22:00 CET",
		},
		{
			name: "frozen until a time, no reason",
			src:  "freezes: [{start: \"2026-08-01T09:00\", end: \"2026-08-01T17:30\"}]\n",
			now:  "2026-08-01T12:00:00Z",
			want: "frozen until 2026-08-01 17:30 UTC; opens Sat 17:30 UTC",
		},
		{
			name: "never opens",
			src: "maintenanceWindows: [{rrule: \"FREQ=WEEKLY;BYDAY=TU;BYHOUR=2\", duration: 2h}]\n" +
				"rules: [{schedule: [\"* * * * 1\"]}]\n",
			now:  "2026-06-01T12:00:00Z",
			want: "outside maintenance windows; does not open within 400d",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.src).For(Cluster{Name: "c"})
			if got := s.Why(utc(t, tt.now)); got != tt.want {
				t.Errorf("Why(%s)\n got %q\nwant %q", tt.now, got, tt.want)
			}
		})
	}
}
