package policy

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Window is a recurring period: an RFC 5545 recurrence rule saying when it
// starts, and how long it lasts (the Giant Swarm RFC 0015 model). Maintenance
// windows and recurring freezes are Windows.
//
// The rule is read in the settings' time zone. Hours and minutes of the
// duration are exact; days are calendar days. An occurrence whose start does
// not exist on the clock (02:00 on the night the clocks skip to 03:00) starts
// at the same instant as the hour before the gap would have ended: 03:00, and
// still lasts the full duration; an occurrence whose start happens twice (the
// repeated hour when DST ends) starts at the first one. Both rules are RFC
// 5545's.
type Window struct {
	r *recurrence
}

// String writes the window as "RRULE for DURATION", with its start when one
// was given.
func (w Window) String() string {
	if w.r == nil {
		return ""
	}
	return w.r.String()
}

// FreezeRule is a freeze as written in the policy: either fixed dates (a
// date-only end includes that whole day) or a recurring Window.
type FreezeRule struct {
	// Reason says why, e.g. "holidays"; may be empty.
	Reason string
	// recurring, when set, is the window; otherwise start and end are.
	recurring  *recurrence
	start, end civil
}

// String writes the freeze period as configured.
func (f FreezeRule) String() string {
	if f.recurring != nil {
		return f.recurring.String()
	}
	return f.start.String() + " – " + f.end.String()
}

// Freeze is one occurrence of a freeze: no upgrade between Start
// (inclusive) and End (exclusive).
type Freeze struct {
	// Reason is the freeze rule's reason.
	Reason string
	// Start is when the freeze began.
	Start time.Time
	// End is the first instant after the freeze.
	End time.Time
}

// span of a fixed freeze in loc.
func (f FreezeRule) fixed(loc *time.Location) (time.Time, time.Time) {
	return f.start.instant(loc, false), f.end.instant(loc, true)
}

// civil is a date or date-time from the policy: a wall-clock time read in
// the settings' time zone, or an absolute instant when written with an
// offset.
type civil struct {
	t    time.Time // floating wall clock, or the instant when abs
	abs  bool
	date bool // written without a time of day
	text string
}

func (c civil) String() string { return c.text }

// instant is when c happens in loc. A date-only end is the end of that day.
func (c civil) instant(loc *time.Location, end bool) time.Time {
	if c.abs {
		return c.t
	}
	w := c.t
	if end && c.date {
		w = w.AddDate(0, 0, 1)
	}
	return instant(w, loc)
}

// parseCivil reads "2026-12-20", "2026-12-20T18:00" or, when offsets are
// allowed, an RFC 3339 time with an offset.
func parseCivil(s string, allowOffset bool) (civil, error) {
	s = strings.TrimSpace(s)
	layouts := []struct {
		layout string
		date   bool
	}{
		{"2006-01-02", true},
		{"2006-01-02T15:04", false},
		{"2006-01-02T15:04:05", false},
		{"2006-01-02 15:04", false},
		{"2006-01-02 15:04:05", false},
	}
	for _, l := range layouts {
		if t, err := time.Parse(l.layout, s); err == nil {
			return civil{t: t, date: l.date, text: s}, nil
		}
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if !allowOffset {
			return civil{}, fmt.Errorf("%q has a UTC offset: write the wall-clock time in the time zone, e.g. 2026-01-06T02:00", s)
		}
		return civil{t: t, abs: true, text: s}, nil
	}
	return civil{}, fmt.Errorf("invalid date %q: write 2026-12-20 or 2026-12-20T18:00", s)
}

// Limits on recurrence rules, so that every question about one has a cheap
// answer.
const (
	maxCount    = 1000
	maxInterval = 1000
	// maxSteps bounds how many occurrences a parse-time check walks.
	maxSteps = 100000
)

// recurrence is a compiled Window. Its rule is expanded in floating time
// (see walltime.go) with INTERVAL=1 and without COUNT or UNTIL, every field
// that RFC 5545 defaults from DTSTART written out; so expansion can start at
// any time, and INTERVAL, COUNT and UNTIL are applied here.
type recurrence struct {
	text     string
	freq     rrule.Frequency
	opt      rrule.ROption
	interval int
	wkst     int       // 0 = Monday, as rrule-go counts
	start    time.Time // floating anchor; zero when none was given
	startTxt string
	until    time.Time
	untilSet bool
	untilAbs bool
	list     []time.Time // the floating starts of a COUNT rule
	dur      span
}

func (r *recurrence) String() string {
	s := r.text
	if r.startTxt != "" {
		s += " from " + r.startTxt
	}
	return s + " for " + r.dur.String()
}

// reach is longer than any occurrence lasts: how far back an occurrence
// covering some time can have started.
func (r *recurrence) reach() time.Duration { return r.dur.total() + 2*time.Hour }

// compileRecurrence checks and compiles an RRULE with an optional start (a
// floating wall-clock time) and a duration.
func compileRecurrence(text string, start *civil, dur span) (*recurrence, error) {
	s := strings.ToUpper(strings.TrimSpace(text))
	s = strings.TrimPrefix(s, "RRULE:")
	if s == "" {
		return nil, errors.New("empty RRULE: write e.g. \"FREQ=WEEKLY;BYDAY=TU;BYHOUR=2;BYMINUTE=0\"")
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("an RRULE is one line: FREQ=...;BY...; give the first occurrence as start")
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("invalid RRULE %q: %s", strings.TrimSpace(text), fmt.Sprintf(format, args...))
	}
	keys := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" || v == "" {
			return nil, bad("%q is not KEY=VALUE", part)
		}
		switch k {
		case "DTSTART":
			return nil, bad("DTSTART is not part of the rule here; give the first occurrence as start")
		case "BYEASTER":
			return nil, bad("BYEASTER is not part of RFC 5545")
		}
		if _, dup := keys[k]; dup {
			return nil, bad("%s is given twice", k)
		}
		keys[k] = v
	}
	parsed, err := rrule.StrToROptionInLocation(s, time.UTC)
	if err != nil {
		return nil, bad("%v", err)
	}
	opt := *parsed
	r := &recurrence{text: strings.TrimSpace(text), freq: opt.Freq, interval: 1, dur: dur, wkst: opt.Wkst.Day()}
	if err := checkRFC(&opt, keys); err != nil {
		return nil, bad("%v", err)
	}
	if v, ok := keys["INTERVAL"]; ok {
		if opt.Interval < 1 || opt.Interval > maxInterval {
			return nil, bad("INTERVAL=%s: want 1 to %d", v, maxInterval)
		}
		r.interval = opt.Interval
	}
	count := 0
	if v, ok := keys["COUNT"]; ok {
		if opt.Count < 1 || opt.Count > maxCount {
			return nil, bad("COUNT=%s: want 1 to %d (or use UNTIL)", v, maxCount)
		}
		count = opt.Count
	}
	if v, ok := keys["UNTIL"]; ok {
		if count > 0 {
			return nil, bad("COUNT and UNTIL exclude each other")
		}
		r.untilSet = true
		r.untilAbs = strings.HasSuffix(v, "Z")
		r.until = opt.Until
		if len(v) == len(rrule.DateFormat) {
			r.until = r.until.AddDate(0, 0, 1).Add(-time.Nanosecond) // the whole day
		}
	}
	if start != nil {
		r.start = start.t
		r.startTxt = start.text
	}
	if (r.interval > 1 || count > 0) && start == nil {
		return nil, bad("INTERVAL and COUNT count from the first occurrence; give it as start")
	}
	if err := r.fillDefaults(&opt, start != nil); err != nil {
		return nil, bad("%v", err)
	}
	opt.Interval, opt.Count, opt.Until = 1, 0, time.Time{}
	if opt.Freq == rrule.DAILY && len(opt.Bymonthday) > 0 {
		// The same days, found a year at a time: rrule-go steps through
		// every day between two occurrences, and a rule such as Friday
		// the 13th would cost a step per day.
		opt.Freq = rrule.YEARLY
	}
	r.opt = opt
	if err := r.check(); err != nil {
		return nil, bad("%v", err)
	}
	if count > 0 {
		r.list = r.expandCount(count)
	}
	return r, nil
}

// checkRFC enforces RFC 5545's rules on which parts go together, and limits
// FREQ to what a window needs.
func checkRFC(opt *rrule.ROption, keys map[string]string) error {
	switch opt.Freq {
	case rrule.YEARLY, rrule.MONTHLY, rrule.WEEKLY, rrule.DAILY:
	default:
		return fmt.Errorf("FREQ=%s is not supported: windows recur DAILY, WEEKLY, MONTHLY or YEARLY", opt.Freq)
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	freq := opt.Freq.String()
	if has("BYWEEKNO") && opt.Freq != rrule.YEARLY {
		return fmt.Errorf("BYWEEKNO needs FREQ=YEARLY, not %s", freq)
	}
	if has("BYYEARDAY") && opt.Freq != rrule.YEARLY {
		return fmt.Errorf("BYYEARDAY needs FREQ=YEARLY, not %s", freq)
	}
	if has("BYMONTHDAY") && opt.Freq == rrule.WEEKLY {
		return errors.New("BYMONTHDAY does not go with FREQ=WEEKLY")
	}
	inMonth := opt.Freq == rrule.MONTHLY || has("BYMONTH")
	for _, d := range opt.Byweekday {
		n := d.N()
		switch {
		case n == 0:
		case opt.Freq != rrule.MONTHLY && opt.Freq != rrule.YEARLY || has("BYWEEKNO"):
			return fmt.Errorf("BYDAY=%s: a numbered weekday needs FREQ=MONTHLY or YEARLY (without BYWEEKNO)", keys["BYDAY"])
		case inMonth && (n > 5 || n < -5):
			// rrule-go indexes out of range beyond the fifth.
			return fmt.Errorf("BYDAY=%s: a month has at most 5 of each weekday (1 to 5, or -1 to -5)", keys["BYDAY"])
		case n > 53 || n < -53:
			return fmt.Errorf("BYDAY=%s: a year has at most 53 of each weekday", keys["BYDAY"])
		}
	}
	if has("BYSETPOS") {
		if opt.Freq != rrule.MONTHLY && opt.Freq != rrule.YEARLY {
			return fmt.Errorf("BYSETPOS needs FREQ=MONTHLY or YEARLY, not %s", freq)
		}
		if !has("BYDAY") && !has("BYMONTHDAY") && !has("BYMONTH") && !has("BYYEARDAY") && !has("BYWEEKNO") && !has("BYHOUR") && !has("BYMINUTE") && !has("BYSECOND") {
			return errors.New("BYSETPOS needs another BYxxx part to pick from")
		}
	}
	return nil
}

// fillDefaults writes out what RFC 5545 takes from DTSTART: the time of day,
// and the day for WEEKLY, MONTHLY and YEARLY rules that name none. Without a
// start the time of day is midnight and the day must be named.
func (r *recurrence) fillDefaults(opt *rrule.ROption, hasStart bool) error {
	a := r.start // zero time: 00:00:00
	if len(opt.Byhour) == 0 {
		opt.Byhour = []int{a.Hour()}
	}
	if len(opt.Byminute) == 0 {
		opt.Byminute = []int{a.Minute()}
	}
	if len(opt.Bysecond) == 0 {
		opt.Bysecond = []int{a.Second()}
	}
	if len(opt.Byweekno) > 0 || len(opt.Byyearday) > 0 || len(opt.Bymonthday) > 0 || len(opt.Byweekday) > 0 {
		return nil
	}
	if !hasStart {
		switch opt.Freq {
		case rrule.WEEKLY:
			return errors.New("FREQ=WEEKLY needs BYDAY (which day) or a start")
		case rrule.MONTHLY:
			return errors.New("FREQ=MONTHLY needs BYMONTHDAY or BYDAY (which day) or a start")
		case rrule.YEARLY:
			return errors.New("FREQ=YEARLY needs BYMONTHDAY, BYDAY, BYYEARDAY or BYWEEKNO (which day) or a start")
		}
		return nil
	}
	switch opt.Freq {
	case rrule.YEARLY:
		if len(opt.Bymonth) == 0 {
			opt.Bymonth = []int{int(a.Month())}
		}
		opt.Bymonthday = []int{a.Day()}
	case rrule.MONTHLY:
		opt.Bymonthday = []int{a.Day()}
	case rrule.WEEKLY:
		weekdays := [...]rrule.Weekday{rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU}
		opt.Byweekday = []rrule.Weekday{weekdays[(int(a.Weekday())+6)%7]}
	}
	return nil
}

// check refuses rules that never produce an occurrence. The Gregorian
// calendar repeats every 400 years, so the day parts of the rule are tried
// on the last 400 years rrule-go knows; rrule-go itself would otherwise
// search up to year 9999 on every question.
func (r *recurrence) check() error {
	probe := r.opt
	if probe.Freq == rrule.WEEKLY || probe.Freq == rrule.DAILY {
		probe.Freq = rrule.YEARLY // the same days, a year at a time
	}
	probe.Dtstart = time.Date(9599, 1, 1, 0, 0, 0, 0, time.UTC)
	rr, err := rrule.NewRRule(probe)
	if err != nil {
		return err
	}
	if _, ok := rr.Iterator()(); !ok {
		return errors.New("no day matches all of its parts")
	}
	if r.start.IsZero() {
		return nil
	}
	// With an anchor: the first occurrence must come within the steps
	// (INTERVAL may never line up with the BY parts).
	opt := r.opt
	opt.Dtstart = r.start
	rr, err = rrule.NewRRule(opt)
	if err != nil {
		return err
	}
	next := rr.Iterator()
	for range maxSteps {
		w, ok := next()
		if !ok {
			break
		}
		if r.untilSet && !r.untilAbs && w.After(r.until) {
			break
		}
		if r.inPhase(w) {
			return nil
		}
	}
	return errors.New("no occurrence on or after the start")
}

// expandCount lists the first count floating starts of a COUNT rule.
func (r *recurrence) expandCount(count int) []time.Time {
	opt := r.opt
	opt.Dtstart = r.start
	rr, err := rrule.NewRRule(opt)
	if err != nil {
		return nil // checked before
	}
	next := rr.Iterator()
	var out []time.Time
	for range maxSteps {
		w, ok := next()
		if !ok || len(out) == count {
			break
		}
		if r.inPhase(w) {
			out = append(out, w)
		}
	}
	return out
}

// inPhase applies INTERVAL: w's period (year, month, week from WKST, or day)
// must be a whole number of intervals after the start's.
func (r *recurrence) inPhase(w time.Time) bool {
	if r.interval <= 1 {
		return true
	}
	a := r.start
	var n int
	switch r.freq {
	case rrule.YEARLY:
		n = w.Year() - a.Year()
	case rrule.MONTHLY:
		n = (w.Year()-a.Year())*12 + int(w.Month()) - int(a.Month())
	case rrule.WEEKLY:
		n = (dayNumber(r.weekStart(w)) - dayNumber(r.weekStart(a))) / 7
	default:
		n = dayNumber(w) - dayNumber(a)
	}
	return n%r.interval == 0
}

// weekStart is the date of the WKST day on or before w.
func (r *recurrence) weekStart(w time.Time) time.Time {
	wd := (int(w.Weekday()) + 6) % 7 // Monday = 0
	return w.AddDate(0, 0, -((wd - r.wkst + 7) % 7))
}

// dayNumber counts calendar days of a floating time.
func dayNumber(w time.Time) int {
	return int(time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// each calls fn with the occurrences in loc, in order, from the first that
// may still cover from up to the first starting after to (fn decides where
// to stop exactly; each stops soon after to in any case).
func (r *recurrence) each(loc *time.Location, from, to time.Time, fn func(start, end time.Time) bool) {
	fromWall := wallOf(from.Add(-r.reach()), loc).Truncate(time.Second)
	stop := wallOf(to, loc).AddDate(0, 0, 2)
	until := r.until
	if r.untilSet && r.untilAbs {
		until = wallOf(r.until, loc)
	}
	emit := func(w time.Time) bool {
		if w.After(stop) || r.untilSet && w.After(until) {
			return false
		}
		s := instant(w, loc)
		e := s.Add(r.dur.rest)
		if r.dur.days > 0 {
			e = instant(w.AddDate(0, 0, r.dur.days), loc).Add(r.dur.rest)
		}
		return fn(s, e)
	}
	if r.list != nil {
		i := sort.Search(len(r.list), func(i int) bool { return !r.list[i].Before(fromWall) })
		for _, w := range r.list[i:] {
			if !emit(w) {
				return
			}
		}
		return
	}
	opt := r.opt
	opt.Dtstart = fromWall
	if !r.start.IsZero() && r.start.After(fromWall) {
		opt.Dtstart = r.start
	}
	rr, err := rrule.NewRRule(opt)
	if err != nil {
		return // checked when parsed
	}
	next := rr.Iterator()
	for {
		w, ok := next()
		if !ok {
			return
		}
		if !r.inPhase(w) {
			if w.After(stop) {
				return
			}
			continue
		}
		if !emit(w) {
			return
		}
	}
}

// at is the occurrence covering t (the one ending last when several do).
func (r *recurrence) at(loc *time.Location, t time.Time) (start, end time.Time, ok bool) {
	r.each(loc, t, t, func(s, e time.Time) bool {
		if s.After(t) {
			return false
		}
		if t.Before(e) && (!ok || e.After(end)) {
			start, end, ok = s, e, true
		}
		return true
	})
	return start, end, ok
}

// nextStart is the first occurrence starting at or after t and not after
// limit.
func (r *recurrence) nextStart(loc *time.Location, t, limit time.Time) (start, end time.Time, ok bool) {
	r.each(loc, t, limit, func(s, e time.Time) bool {
		if s.Before(t) {
			return true
		}
		if !s.After(limit) {
			start, end, ok = s, e, true
		}
		return false
	})
	return start, end, ok
}
