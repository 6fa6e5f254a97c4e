package policy

import "time"

// Wall-clock ("floating") times are time.Time values in UTC whose fields are
// read as a local date and clock in some time zone, like an RFC 5545 local
// time. Recurrences are expanded in floating time, so the expansion knows
// nothing of DST, and each occurrence is turned into an instant afterwards by
// instant, which decides the DST cases the same way for every zone.

// wallOf is the floating wall-clock time of instant t in loc.
func wallOf(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// instant is the instant at which the clocks in loc show wall. It follows
// RFC 5545 (section 3.3.5): a wall time that happens twice (the hour repeated
// when DST ends) is its first occurrence; a wall time that does not happen
// (the hour skipped when DST starts) is read with the UTC offset in force
// before the gap, so 02:30 on the night Europe/Berlin springs forward is
// 03:30 CEST. time.Date leaves both cases unspecified, and in practice picks
// differently for zones east and west of Greenwich.
func instant(wall time.Time, loc *time.Location) time.Time {
	u := wall.Unix()
	ns := int64(wall.Nanosecond())
	_, before := time.Unix(u-86400, 0).In(loc).Zone()
	_, after := time.Unix(u+86400, 0).In(loc).Zone()
	c1 := u - int64(before)
	if before == after {
		return time.Unix(c1, ns).In(loc)
	}
	c2 := u - int64(after)
	valid := func(c int64, offset int) bool {
		_, off := time.Unix(c, 0).In(loc).Zone()
		return off == offset
	}
	v1, v2 := valid(c1, before), valid(c2, after)
	switch {
	case v1 && v2:
		return time.Unix(min(c1, c2), ns).In(loc)
	case v2:
		return time.Unix(c2, ns).In(loc)
	default: // v1, or a gap: the offset before the gap
		return time.Unix(c1, ns).In(loc)
	}
}

// midnightAfter is the first instant of the calendar day after t's, in loc.
func midnightAfter(t time.Time, loc *time.Location) time.Time {
	w := wallOf(t, loc)
	return instant(time.Date(w.Year(), w.Month(), w.Day()+1, 0, 0, 0, 0, time.UTC), loc)
}
