package policy

import (
	"fmt"
	"strings"
	"time"
)

// SearchHorizon is how far ahead NextOpen looks for an opening.
const SearchHorizon = 400 * 24 * time.Hour

// maxSweep bounds NextOpen's steps; every step moves forward to the end of a
// freeze or the start of a schedule match or window, so it is never reached
// by a real policy.
const maxSweep = 20000

// Open reports whether the bot may open or merge an upgrade pull request for
// the cluster at now: inside the schedule (any time when there is none),
// inside a maintenance window when any are configured, and not frozen.
func (s Settings) Open(now time.Time) bool {
	if _, frozen := s.Frozen(now); frozen {
		return false
	}
	return s.inSchedule(now) && s.inWindow(now)
}

// NextOpen is the first instant at or after now at which Open is true, in
// the settings' time zone, so the bot's scheduler can wake inside the window
// rather than hope a periodic run hits it. It returns now when Open(now), and
// false when nothing opens within SearchHorizon.
func (s Settings) NextOpen(now time.Time) (time.Time, bool) {
	loc := s.location()
	limit := now.Add(SearchHorizon)
	t := now
	for range maxSweep {
		if t.After(limit) {
			return time.Time{}, false
		}
		if f, ok := s.Frozen(t); ok {
			t = f.End
			continue
		}
		if !s.inSchedule(t) {
			next, ok := s.nextSchedule(t, limit)
			if !ok {
				return time.Time{}, false
			}
			t = next
			continue
		}
		if !s.inWindow(t) {
			next, ok := s.nextWindow(t, limit)
			if !ok {
				return time.Time{}, false
			}
			t = next
			continue
		}
		return t.In(loc), true
	}
	return time.Time{}, false
}

// Frozen reports whether a freeze covers now, and which; when several do, the
// one that ends last.
func (s Settings) Frozen(now time.Time) (Freeze, bool) {
	loc := s.location()
	var best Freeze
	found := false
	for _, f := range s.Freezes {
		var start, end time.Time
		var ok bool
		if f.recurring != nil {
			start, end, ok = f.recurring.at(loc, now)
		} else {
			start, end = f.fixed(loc)
			ok = !now.Before(start) && now.Before(end)
		}
		if ok && (!found || end.After(best.End)) {
			best = Freeze{Reason: f.Reason, Start: start.In(loc), End: end.In(loc)}
			found = true
		}
	}
	return best, found
}

// Why says in a few words why the cluster is closed at now, and when it
// opens, for the dashboard and the status command: "frozen through
// 2027-01-06 (holidays); opens Thu 2027-01-07 22:00 CET", "outside the
// schedule * 22-23,0-4 * * 1-5 (Europe/Berlin); opens Tue 22:00 CET",
// "outside maintenance windows; opens Tue 02:00 CET". It is empty when the
// cluster is open.
func (s Settings) Why(now time.Time) string {
	loc := s.location()
	var reason string
	if f, ok := s.Frozen(now); ok {
		reason = "frozen " + f.until(loc)
		if f.Reason != "" {
			reason += " (" + f.Reason + ")"
		}
	} else if !s.inSchedule(now) {
		specs := make([]string, len(s.Schedule))
		for i, c := range s.Schedule {
			specs[i] = c.String()
		}
		reason = fmt.Sprintf("outside the schedule %s (%s)", strings.Join(specs, " or "), loc)
	} else if !s.inWindow(now) {
		reason = "outside maintenance windows"
	} else {
		return ""
	}
	next, ok := s.NextOpen(now)
	if !ok {
		return reason + "; does not open within " + humanDuration(SearchHorizon)
	}
	return reason + "; opens " + when(next, now, loc)
}

// until writes the end of a freeze: "through 2027-01-06" when it ends at a
// midnight, otherwise "until 2027-01-06 12:00 CET".
func (f Freeze) until(loc *time.Location) string {
	w := wallOf(f.End, loc)
	if w.Hour() == 0 && w.Minute() == 0 && w.Second() == 0 && w.Nanosecond() == 0 {
		return "through " + w.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return "until " + f.End.In(loc).Format("2006-01-02 15:04 MST")
}

// when writes t briefly: the weekday and clock within a week of now, with
// the date after that.
func when(t, now time.Time, loc *time.Location) string {
	t = t.In(loc)
	if t.Sub(now) < 6*24*time.Hour {
		return t.Format("Mon 15:04 MST")
	}
	return t.Format("Mon 2006-01-02 15:04 MST")
}

func (s Settings) inSchedule(now time.Time) bool {
	if len(s.Schedule) == 0 {
		return true
	}
	t := now.In(s.location())
	for _, c := range s.Schedule {
		if c.matches(t) {
			return true
		}
	}
	return false
}

func (s Settings) inWindow(now time.Time) bool {
	if len(s.MaintenanceWindows) == 0 {
		return true
	}
	loc := s.location()
	for _, w := range s.MaintenanceWindows {
		if _, _, ok := w.r.at(loc, now); ok {
			return true
		}
	}
	return false
}

// nextSchedule is the first instant at or after t inside any schedule entry.
func (s Settings) nextSchedule(t, limit time.Time) (time.Time, bool) {
	loc := s.location()
	var best time.Time
	found := false
	for _, c := range s.Schedule {
		if n, ok := c.next(t, limit, loc); ok && (!found || n.Before(best)) {
			best, found = n, true
		}
	}
	return best, found
}

// nextWindow is the first start of a maintenance window at or after t.
func (s Settings) nextWindow(t, limit time.Time) (time.Time, bool) {
	loc := s.location()
	var best time.Time
	found := false
	for _, w := range s.MaintenanceWindows {
		if n, _, ok := w.r.nextStart(loc, t, limit); ok && (!found || n.Before(best)) {
			best, found = n, true
		}
	}
	return best, found
}
