package policy

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is one cron window of the schedule setting, in Renovate's sense:
// the five fields minute, hour, day of month, month and day of week, read in
// the settings' time zone, and a time is inside the window when its minute
// matches. "* 22-23,0-4 * * 1-5" is open from 22:00 to 04:59 on the clock of
// Monday to Friday: 00:00–04:59 on a Saturday is outside, because the day of
// week is that of the clock, not of the evening the night began. The clock
// decides across DST changes too: "* 2 * * *" is open for no time on the night
// the clocks skip 02:00 and for two hours on the night they repeat it.
type Schedule struct {
	spec string
	s    *cron.SpecSchedule
}

// String is the cron expression as written.
func (c Schedule) String() string { return c.spec }

// starBit is the bit robfig/cron sets in a field written as * or ?.
const starBit = 1 << 63

// parseSchedule reads one cron window.
func parseSchedule(spec string) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Schedule{}, errors.New("empty cron expression: write five fields, e.g. \"* 22-23,0-4 * * 1-5\"")
	}
	if strings.Contains(spec, "=") {
		return Schedule{}, fmt.Errorf("invalid cron expression %q: set the time zone with timezone, not inside the expression", spec)
	}
	if strings.HasPrefix(spec, "@") {
		return Schedule{}, fmt.Errorf("invalid cron expression %q: descriptors such as @daily are not windows; write five fields, e.g. \"* 0-3 * * *\"", spec)
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		return Schedule{}, fmt.Errorf("invalid cron expression %q: want 5 fields (minute hour day-of-month month day-of-week), got %d; text schedules such as \"after 10pm\" are not supported", spec, len(fields))
	}
	fields[4] = sundaySeven(fields[4])
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	parsed, err := parser.Parse(strings.Join(fields, " "))
	if err != nil {
		return Schedule{}, fmt.Errorf("invalid cron expression %q: %v", spec, err)
	}
	s := parsed.(*cron.SpecSchedule)
	if !possible(s) {
		return Schedule{}, fmt.Errorf("cron expression %q never matches: no month it allows has that day of the month", spec)
	}
	return Schedule{spec: spec, s: s}, nil
}

// sundaySeven rewrites day of week 7 (Sunday, as cron and Renovate accept)
// into 0, which is all robfig/cron knows: "7" → "0", "5-7" → "5-6,0".
func sundaySeven(dow string) string {
	parts := strings.Split(dow, ",")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		switch {
		case p == "7":
			out = append(out, "0")
		case strings.HasSuffix(p, "-7") && !strings.Contains(p, "/"):
			lo := strings.TrimSuffix(p, "-7")
			if lo == "7" {
				out = append(out, "0")
			} else {
				out = append(out, lo+"-6", "0")
			}
		default:
			out = append(out, p)
		}
	}
	return strings.Join(out, ",")
}

// longestMonth is the most days month m can have (29 for February).
func longestMonth(m int) int {
	return time.Date(2024, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() // 2024 is a leap year
}

// possible reports whether the schedule matches at some time: when the
// day of week is * the day of month must exist in one of the months.
func possible(s *cron.SpecSchedule) bool {
	if s.Dow&starBit == 0 && s.Dom&starBit == 0 {
		return true // either day field may match
	}
	if s.Dow&starBit == 0 {
		return true // any day of month, some day of week
	}
	for m := 1; m <= 12; m++ {
		if s.Month&(1<<m) == 0 {
			continue
		}
		for d := 1; d <= longestMonth(m); d++ {
			if s.Dom&(1<<d) != 0 {
				return true
			}
		}
	}
	return false
}

// dayMatches is robfig/cron's (and cron's) rule: when either day field is
// *, both must match; otherwise either may.
func (c Schedule) dayMatches(t time.Time) bool {
	dom := c.s.Dom&(1<<uint(t.Day())) != 0
	dow := c.s.Dow&(1<<uint(t.Weekday())) != 0
	if c.s.Dom&starBit != 0 || c.s.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

// matches reports whether the wall clock of t (already in the settings'
// time zone) is inside the window.
func (c Schedule) matches(t time.Time) bool {
	return c.s.Month&(1<<uint(t.Month())) != 0 && c.dayMatches(t) &&
		c.s.Hour&(1<<uint(t.Hour())) != 0 && c.s.Minute&(1<<uint(t.Minute())) != 0
}

// next is the first instant at or after t inside the window, or false when
// there is none until limit. It steps over whole days and hours that do not
// match, checking the wall clock after each step, so skipped and repeated
// hours are handled by the clock itself.
func (c Schedule) next(t, limit time.Time, loc *time.Location) (time.Time, bool) {
	t = t.In(loc)
	if c.matches(t) {
		return t, true
	}
	// The start of t's minute on the local clock.
	t = t.Add(-time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
	for !t.After(limit) {
		switch {
		case c.s.Month&(1<<uint(t.Month())) == 0 || !c.dayMatches(t):
			t = midnightAfter(t, loc)
		case c.s.Hour&(1<<uint(t.Hour())) == 0:
			t = nextHour(t)
		case c.s.Minute&(1<<uint(t.Minute())) != 0:
			return t, true
		default:
			m := t.Minute()
			later := c.s.Minute &^ starBit >> uint(m+1) // minutes after m, shifted to bit 0
			if later == 0 {
				t = nextHour(t)
				continue
			}
			t = t.Add(time.Duration(bits.TrailingZeros64(later)+1) * time.Minute)
			if c.matches(t) {
				return t, true
			}
		}
		t = t.In(loc)
	}
	return time.Time{}, false
}

// nextHour is the start of the next hour on t's clock.
func nextHour(t time.Time) time.Time {
	start := t.Add(-time.Duration(t.Minute())*time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
	return start.Add(time.Hour)
}
