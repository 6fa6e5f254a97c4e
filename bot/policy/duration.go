package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// span is a length of time as written in the policy: whole days plus a Go
// duration ("3d", "1d12h", "90m"). The days matter for recurring windows,
// where a day is a calendar day (RFC 5545 "nominal" duration: 23 or 25 hours
// across a DST change); everywhere else a day is 24 hours.
type span struct {
	days int
	rest time.Duration
}

// maxSpanDays keeps every span representable as a time.Duration.
const maxSpanDays = int(time.Duration(1<<63-1)/(24*time.Hour)) - 1

// total is the span as an exact duration, a day counted as 24 hours.
func (d span) total() time.Duration {
	return time.Duration(d.days)*24*time.Hour + d.rest
}

// String writes the span the way it can be written in the file.
func (d span) String() string {
	switch {
	case d.days == 0:
		return formatDuration(d.rest)
	case d.rest == 0:
		return strconv.Itoa(d.days) + "d"
	default:
		return strconv.Itoa(d.days) + "d" + formatDuration(d.rest)
	}
}

// formatDuration is time.Duration's String without the zero units: "2h"
// rather than "2h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// humanDuration writes an exact duration with days: 72h → "3d", 36h → "1d12h".
func humanDuration(d time.Duration) string {
	day := 24 * time.Hour
	return span{days: int(d / day), rest: d % day}.String()
}

const durationHint = "write a Go duration with optional leading days, e.g. 3d, 1d12h, 90m"

// parseSpan reads "3d", "1d12h", "2h30m", "0". Negative spans are refused.
func parseSpan(s string) (span, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return span{}, fmt.Errorf("empty duration: %s", durationHint)
	}
	if strings.HasPrefix(s, "-") {
		return span{}, fmt.Errorf("negative duration %q: durations must be zero or more", s)
	}
	var d span
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || strings.HasPrefix(s, "+") {
			return span{}, fmt.Errorf("invalid duration %q: %s", s, durationHint)
		}
		if days > maxSpanDays {
			return span{}, fmt.Errorf("duration %q is too long", s)
		}
		d.days = days
		rest = s[i+1:]
	}
	if rest != "" {
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return span{}, fmt.Errorf("invalid duration %q: %s", s, durationHint)
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return span{}, fmt.Errorf("invalid duration %q: %s", s, durationHint)
		}
		if r > time.Duration(1<<63-1)-time.Duration(d.days)*24*time.Hour {
			return span{}, fmt.Errorf("duration %q is too long", s)
		}
		d.rest = r
	}
	return d, nil
}
