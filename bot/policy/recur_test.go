package policy

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"
)

// TestRecurrenceMatchesRRule checks the fast path (expansion restarted near
// the asked time, INTERVAL, COUNT and UNTIL applied here) against rrule-go
// expanding the whole rule from its start, at sample times over eighteen
// months and at one second either side of every occurrence's start and end.
func TestRecurrenceMatchesRRule(t *testing.T) {
	tests := []struct {
		rrule, start, duration, zone string
	}{
		{"FREQ=WEEKLY;BYDAY=TU;BYHOUR=2;BYMINUTE=0", "", "2h", "Europe/Berlin"},
		{"FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "", "90m", "America/New_York"},
		{"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=20", "", "5h", "Europe/Berlin"},
		{"FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20", "", "18d", "Europe/Berlin"},
		{"FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=1;BYMINUTE=30", "", "2h", "Europe/Berlin"}, // the DST nights
		{"FREQ=DAILY;BYHOUR=1,2,3;BYMINUTE=0,30", "", "20m", "America/New_York"},
		{"FREQ=YEARLY;BYWEEKNO=1,27;BYDAY=MO;BYHOUR=4", "", "6h", "UTC"},
		{"FREQ=DAILY;UNTIL=20261015T120000Z;BYHOUR=6", "", "1h", "UTC"},
		{"FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,FR", "2025-06-02T23:00", "3h", "Australia/Sydney"},
		{"FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31", "2025-07-31T01:00", "1d", "America/New_York"},
		{"FREQ=DAILY;COUNT=40;INTERVAL=9", "2025-09-01T02:15", "2h", "Europe/Berlin"},
		{"FREQ=WEEKLY;WKST=SU;INTERVAL=2;BYDAY=SU,SA", "2025-06-07T10:00", "1h", "UTC"},
		{"FREQ=YEARLY;INTERVAL=2", "2024-03-29T02:30", "1h", "Europe/Berlin"},
		{"FREQ=WEEKLY", "2025-10-26T02:30", "1h", "Europe/Berlin"},                 // starts on a fall-back night
		{"FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR;BYHOUR=9", "", "8h", "Europe/Berlin"},  // expanded yearly
		{"FREQ=DAILY;INTERVAL=3;BYMONTHDAY=1,15", "2025-06-01T12:00", "1h", "UTC"}, // expanded yearly, phase by day
	}
	from := utc(t, "2025-09-01T00:00:00Z")
	to := utc(t, "2027-03-01T00:00:00Z")
	for _, tt := range tests {
		t.Run(tt.rrule+" "+tt.start+" "+tt.zone, func(t *testing.T) {
			loc := zone(t, tt.zone)
			dur, err := parseSpan(tt.duration)
			if err != nil {
				t.Fatal(err)
			}
			var start *civil
			if tt.start != "" {
				c, err := parseCivil(tt.start, false)
				if err != nil {
					t.Fatal(err)
				}
				start = &c
			}
			r, err := compileRecurrence(tt.rrule, start, dur)
			if err != nil {
				t.Fatal(err)
			}
			want := expandFully(t, tt.rrule, start, dur, loc, to.AddDate(0, 6, 0))
			if len(want) == 0 {
				t.Fatal("the reference expansion is empty")
			}
			samples := []time.Time{}
			for s := from; s.Before(to); s = s.Add(97 * time.Minute) {
				samples = append(samples, s)
			}
			for _, o := range want {
				if o[0].After(to) {
					break
				}
				for _, edge := range []time.Time{o[0], o[1]} {
					samples = append(samples, edge.Add(-time.Second), edge, edge.Add(time.Second))
				}
			}
			for _, s := range samples {
				gotS, gotE, gotOK := r.at(loc, s)
				wantS, wantE, wantOK := covering(want, s)
				if gotOK != wantOK || gotOK && (!gotS.Equal(wantS) || !gotE.Equal(wantE)) {
					t.Fatalf("at(%s) = %s – %s %v, want %s – %s %v", fmtTime(s.In(loc)), fmtTime(gotS), fmtTime(gotE), gotOK, fmtTime(wantS), fmtTime(wantE), wantOK)
				}
				limit := s.Add(120 * 24 * time.Hour)
				gotN, _, gotOK := r.nextStart(loc, s, limit)
				wantN, wantOK := firstFrom(want, s, limit)
				if gotOK != wantOK || gotOK && !gotN.Equal(wantN) {
					t.Fatalf("nextStart(%s) = %s %v, want %s %v", fmtTime(s.In(loc)), fmtTime(gotN), gotOK, fmtTime(wantN), wantOK)
				}
			}
		})
	}
}

// expandFully lists every occurrence up to limit with rrule-go doing all of
// the rule (INTERVAL, COUNT, UNTIL) from the start, or from 2025-01-01 for
// rules without one.
func expandFully(t *testing.T, text string, start *civil, dur span, loc *time.Location, limit time.Time) [][2]time.Time {
	t.Helper()
	opt, err := rrule.StrToROptionInLocation(strings.ToUpper(text), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	opt.Dtstart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if start != nil {
		opt.Dtstart = start.t
	}
	if !opt.Until.IsZero() && strings.HasSuffix(text, "Z") {
		opt.Until = wallOf(opt.Until, loc) // rrule-go compares in floating time
	}
	rr, err := rrule.NewRRule(*opt)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]time.Time
	next := rr.Iterator()
	for {
		w, ok := next()
		if !ok {
			break
		}
		s := instant(w, loc)
		if s.After(limit) {
			break
		}
		e := instant(w.AddDate(0, 0, dur.days), loc).Add(dur.rest)
		out = append(out, [2]time.Time{s, e})
	}
	return out
}

// covering is the occurrence covering t that ends last (occurrences are
// sorted by start and last at most 20 days).
func covering(occ [][2]time.Time, t time.Time) (time.Time, time.Time, bool) {
	var s, e time.Time
	ok := false
	i := sort.Search(len(occ), func(i int) bool { return occ[i][0].After(t) })
	for j := i - 1; j >= 0 && t.Sub(occ[j][0]) < 20*24*time.Hour; j-- {
		if t.Before(occ[j][1]) && (!ok || occ[j][1].After(e)) {
			s, e, ok = occ[j][0], occ[j][1], true
		}
	}
	return s, e, ok
}

func firstFrom(occ [][2]time.Time, t, limit time.Time) (time.Time, bool) {
	i := sort.Search(len(occ), func(i int) bool { return !occ[i][0].Before(t) })
	if i == len(occ) {
		return time.Time{}, false
	}
	return occ[i][0], !occ[i][0].After(limit)
}

func TestParseSpan(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "3d", want: 72 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "2h30m", want: 150 * time.Minute},
		{in: "0", want: 0},
		{in: "0d", want: 0},
		{in: "-1d", wantErr: `negative duration "-1d": durations must be zero or more`},
		{in: "-2h", wantErr: `negative duration "-2h": durations must be zero or more`},
		{in: "3", wantErr: `invalid duration "3": write a Go duration with optional leading days, e.g. 3d, 1d12h, 90m`},
		{in: "1.5d", wantErr: `invalid duration "1.5d": write a Go duration with optional leading days, e.g. 3d, 1d12h, 90m`},
		{in: "3 days", wantErr: `invalid duration "3 days": write a Go duration with optional leading days, e.g. 3d, 1d12h, 90m`},
		{in: "1d-2h", wantErr: `invalid duration "1d-2h": write a Go duration with optional leading days, e.g. 3d, 1d12h, 90m`},
		{in: "d", wantErr: `invalid duration "d": write a Go duration with optional leading days, e.g. 3d, 1d12h, 90m`},
		{in: "99999999d", wantErr: `duration "99999999d" is too long`},
		{in: "", wantErr: `empty duration: write a Go duration with optional leading days, e.g. 3d, 1d12h, 90m`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSpan(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("parseSpan(%q) error = %v, want %s", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.total() != tt.want {
				t.Fatalf("parseSpan(%q) = %v, %v; want %v", tt.in, got.total(), err, tt.want)
			}
		})
	}
}
