package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest policy file Parse reads.
const MaxSize = 1 << 20

// Problem is one thing wrong with a policy file, and where it is. Parse
// returns every problem it finds, joined with errors.Join; each of them is a
// *Problem.
type Problem struct {
	// File is the name given to Parse.
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path is the key path of the setting, such as rules[2].match.names[0];
	// empty for the file as a whole.
	Path string
	// Message says what is wrong.
	Message string
}

// Error is "FILE:LINE:COLUMN: PATH: MESSAGE".
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteString(":" + strconv.Itoa(p.Column))
		}
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// settingKeys are the settings a rule may override, in documented order.
func settingKeys() []string {
	return []string{"timezone", "schedule", "maintenanceWindows", "freezes", "minimumReleaseAge", "allowedUpdates", "ignoreVersions", "pin", "automerge"}
}

// topOnlyKeys are the settings of the repository as a whole.
func topOnlyKeys() []string {
	return []string{"prConcurrentLimit", "prHourlyLimit", "dashboard", "locators", "rollout", "rules"}
}

// Parse reads a policy file; name is used in error messages (usually
// FileName). An empty file is the default policy. Every problem found is
// reported, each as a *Problem naming the line, column and key path, joined
// with errors.Join; no File is returned then.
func Parse(data []byte, name string) (*File, error) {
	if name == "" {
		name = FileName
	}
	p := &parser{name: name}
	if len(data) > MaxSize {
		p.add(nil, "", "the file is %d bytes; a policy file may have at most %d", len(data), MaxSize)
		return nil, p.err()
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &File{name: name, base: defaultSettings()}, nil
		}
		p.syntax(err)
		return nil, p.err()
	}
	var more yaml.Node
	switch err := dec.Decode(&more); {
	case err == nil:
		p.add(&more, "", "the file holds more than one YAML document; keep one (remove the ---)")
	case !errors.Is(err, io.EOF):
		p.syntax(err)
	}
	f := p.file(&doc)
	if len(p.problems) > 0 {
		return nil, p.err()
	}
	return f, nil
}

type parser struct {
	name     string
	problems []*Problem
}

func (p *parser) add(n *yaml.Node, at, format string, args ...any) {
	pr := &Problem{File: p.name, Path: at, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		pr.Line, pr.Column = n.Line, n.Column
	}
	p.problems = append(p.problems, pr)
}

// syntax turns a YAML parser error ("yaml: line 3: ...") into a problem.
func (p *parser) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	}
	p.problems = append(p.problems, &Problem{File: p.name, Line: line, Message: "invalid YAML: " + msg})
}

func (p *parser) err() error {
	sort.SliceStable(p.problems, func(i, j int) bool {
		a, b := p.problems[i], p.problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	errs := make([]error, len(p.problems))
	for i, pr := range p.problems {
		errs[i] = pr
	}
	return errors.Join(errs...)
}

// Key paths.
func key(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

func index(at string, i int) string { return at + "[" + strconv.Itoa(i) + "]" }

// deref follows aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// describe names what a node is, for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return "true/false"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!timestamp":
			return "the date " + n.Value
		default:
			return strconv.Quote(n.Value)
		}
	}
	return "something else"
}

// entry is one key: value pair of a mapping.
type entry struct {
	k, v *yaml.Node
	at   string
}

// mapping checks that n is a mapping with known keys, and returns its
// entries by key. unknown adds a hint for a key that is not allowed here.
func (p *parser) mapping(n *yaml.Node, at string, keys []string, unknown func(string) string) (map[string]entry, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.add(n, at, "expected a mapping (key: value), got %s", describe(n))
		return nil, false
	}
	out := map[string]entry{}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			p.add(k, at, "keys must be names, got %s", describe(k))
			continue
		}
		if k.Tag == "!!merge" {
			p.add(k, at, "merge keys (<<) are not supported: write the settings out")
			continue
		}
		name := k.Value
		if line, dup := seen[name]; dup {
			p.add(k, key(at, name), "set twice (first on line %d)", line)
			continue
		}
		seen[name] = k.Line
		if !slices.Contains(keys, name) {
			hint := ""
			if unknown != nil {
				hint = unknown(name)
			}
			if hint == "" {
				hint = suggest(name, keys)
			}
			p.add(k, key(at, name), "unknown key%s", hint)
			continue
		}
		out[name] = entry{k: k, v: v, at: key(at, name)}
	}
	return out, true
}

// suggest is a "did you mean" for a mistyped key, or the list of keys.
func suggest(name string, keys []string) string {
	best, dist := "", 3
	for _, k := range keys {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < dist {
			best, dist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return "; expected one of " + strings.Join(keys, ", ")
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// list checks that n is a list and returns its items.
func (p *parser) list(n *yaml.Node, at, example string) ([]*yaml.Node, bool) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.add(n, at, "expected a list, e.g. %s, got %s", example, describe(n))
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = deref(c)
	}
	return items, true
}

// str checks that n is a string (text: numbers and dates are accepted as
// their text when loose).
func (p *parser) str(n *yaml.Node, at string, loose bool) (string, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		switch n.Tag {
		case "!!str":
			return n.Value, true
		case "!!int", "!!float", "!!timestamp":
			if loose {
				return n.Value, true
			}
		}
	}
	p.add(n, at, "expected a string, got %s", describe(n))
	return "", false
}

func (p *parser) integer(n *yaml.Node, at string) (int, bool) {
	n = deref(n)
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.add(n, at, "expected a whole number, got %s", describe(n))
		return 0, false
	}
	if v < 0 {
		p.add(n, at, "must be 0 or more, got %d", v)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, at string) (bool, bool) {
	n = deref(n)
	var v bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		p.add(n, at, "expected true or false, got %s", describe(n))
		return false, false
	}
	return v, true
}

func (p *parser) duration(n *yaml.Node, at string) (span, bool) {
	s, ok := p.str(n, at, true)
	if !ok {
		return span{}, false
	}
	d, err := parseSpan(s)
	if err != nil {
		p.add(deref(n), at, "%v", err)
		return span{}, false
	}
	return d, true
}

// parsedList reads a list of strings (numbers too, when numbers is set)
// and parses each; every item that does not parse is reported at its own
// place.
func parsedList[T any](p *parser, n *yaml.Node, at, example string, numbers bool, parse func(string) (T, error)) ([]T, bool) {
	items, ok := p.list(n, at, example)
	if !ok {
		return nil, false
	}
	out := make([]T, 0, len(items))
	good := true
	for i, item := range items {
		s, ok := p.str(item, index(at, i), numbers)
		if !ok {
			good = false
			continue
		}
		v, err := parse(s)
		if err != nil {
			p.add(item, index(at, i), "%v", err)
			good = false
			continue
		}
		out = append(out, v)
	}
	return out, good
}

// enum reads a list of distinct values out of allowed.
func enum[T ~string](p *parser, n *yaml.Node, at, example string, allowed []T) ([]T, bool) {
	items, ok := p.list(n, at, example)
	if !ok {
		return nil, false
	}
	out := make([]T, 0, len(items))
	good := true
	for i, item := range items {
		s, ok := p.str(item, index(at, i), false)
		if !ok {
			good = false
			continue
		}
		v := T(s)
		switch {
		case !slices.Contains(allowed, v):
			names := make([]string, len(allowed))
			for j, a := range allowed {
				names[j] = string(a)
			}
			p.add(item, index(at, i), "unknown value %q; expected one of %s", s, strings.Join(names, ", "))
			good = false
		case slices.Contains(out, v):
			p.add(item, index(at, i), "%s is listed twice", s)
			good = false
		default:
			out = append(out, v)
		}
	}
	return out, good
}

// file reads the whole document.
func (p *parser) file(doc *yaml.Node) *File {
	f := &File{name: p.name, base: defaultSettings()}
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return f
		}
		root = root.Content[0]
	}
	root = deref(root)
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return f
	}
	if root.Kind != yaml.MappingNode {
		p.add(root, "", "a policy file is a mapping of settings (timezone: ..., schedule: ..., rules: ...), not %s", describe(root))
		return nil
	}
	fields, _ := p.mapping(root, "", slices.Concat(settingKeys(), topOnlyKeys()), nil)
	top := p.layer(fields, "", time.UTC, true)
	top.apply(&f.base)
	if e, ok := fields["prConcurrentLimit"]; ok {
		if v, ok := p.integer(e.v, e.at); ok {
			f.base.PRConcurrentLimit = v
		}
	}
	if e, ok := fields["prHourlyLimit"]; ok {
		if v, ok := p.integer(e.v, e.at); ok {
			f.base.PRHourlyLimit = v
		}
	}
	if e, ok := fields["dashboard"]; ok {
		if v, ok := p.boolean(e.v, e.at); ok {
			f.noDashboard = !v
		}
	}
	if e, ok := fields["locators"]; ok {
		f.locators = p.locators(e)
	}
	if e, ok := fields["rollout"]; ok {
		f.waves = p.rollout(e)
	}
	if e, ok := fields["rules"]; ok {
		f.rules = p.rules(e, f.base.Location)
	}
	return f
}

// layer reads the settings a block (the top level or a rule) sets, and checks
// the block for contradictions. loc is the time zone the block inherits.
func (p *parser) layer(fields map[string]entry, at string, loc *time.Location, top bool) layer {
	var l layer
	if e, ok := fields["timezone"]; ok {
		if z, ok := p.timezone(e); ok {
			l.loc, l.set = z, l.set|setLocation
			loc = z
		}
	}
	if e, ok := fields["schedule"]; ok {
		if v, ok := p.schedule(e); ok {
			l.schedule, l.set = v, l.set|setSchedule
		}
	}
	if e, ok := fields["maintenanceWindows"]; ok {
		if v, ok := p.windows(e); ok {
			l.windows, l.set = v, l.set|setWindows
		}
	}
	if e, ok := fields["freezes"]; ok {
		if v, ok := p.freezes(e, loc); ok {
			l.freezes, l.set = v, l.set|setFreezes
		}
	}
	if e, ok := fields["minimumReleaseAge"]; ok {
		if d, ok := p.duration(e.v, e.at); ok {
			l.minAge, l.set = d.total(), l.set|setMinAge
		}
	}
	if e, ok := fields["allowedUpdates"]; ok {
		if v, ok := enum(p, e.v, e.at, "[patch, minor]", allUpdateTypes()); ok {
			l.allowed, l.set = v, l.set|setAllowed
		}
	}
	if e, ok := fields["ignoreVersions"]; ok {
		if v, ok := p.constraints(e); ok {
			l.ignore, l.set = v, l.set|setIgnore
		}
	}
	if e, ok := fields["pin"]; ok {
		if s, ok := p.str(e.v, e.at, true); ok {
			if strings.TrimSpace(s) == "" {
				l.set |= setPin // "" clears an inherited pin
			} else if c, err := parseConstraint(s); err != nil {
				p.add(deref(e.v), e.at, "%v", err)
			} else {
				l.pin, l.set = &c, l.set|setPin
			}
		}
	}
	if e, ok := fields["automerge"]; ok {
		p.automerge(e, &l)
	}
	p.contradictions(fields, &l, at, loc, top)
	return l
}

func (p *parser) timezone(e entry) (*time.Location, bool) {
	s, ok := p.str(e.v, e.at, false)
	if !ok {
		return nil, false
	}
	n := deref(e.v)
	switch s {
	case "":
		p.add(n, e.at, "empty time zone: name one such as Europe/Berlin, or leave the key out for UTC")
		return nil, false
	case "Local":
		p.add(n, e.at, "Local depends on the machine the bot runs on: name a zone such as Europe/Berlin")
		return nil, false
	}
	z, err := time.LoadLocation(s)
	if err != nil {
		p.add(n, e.at, "unknown time zone %q: use an IANA name such as Europe/Berlin or America/New_York", s)
		return nil, false
	}
	return z, true
}

func (p *parser) schedule(e entry) ([]Schedule, bool) {
	return parsedList(p, e.v, e.at, `["* 22-23,0-4 * * 1-5"]`, false, parseSchedule)
}

// recurring reads rrule, start and duration of a window or recurring freeze.
func (p *parser) recurring(fields map[string]entry, n *yaml.Node, at string) (*recurrence, bool) {
	re, hasRule := fields["rrule"]
	de, hasDur := fields["duration"]
	if !hasRule {
		p.add(n, at, "missing rrule, e.g. rrule: \"FREQ=WEEKLY;BYDAY=TU;BYHOUR=2;BYMINUTE=0\"")
	}
	if !hasDur {
		p.add(n, at, "missing duration, e.g. duration: 2h")
	}
	if !hasRule || !hasDur {
		return nil, false
	}
	var start *civil
	good := true
	if se, ok := fields["start"]; ok {
		if s, ok := p.str(se.v, se.at, true); ok {
			c, err := parseCivil(s, false)
			if err != nil {
				p.add(deref(se.v), se.at, "%v", err)
				good = false
			} else {
				start = &c
			}
		} else {
			good = false
		}
	}
	dur, ok := p.duration(de.v, de.at)
	switch {
	case !ok:
		good = false
	case dur.total() <= 0:
		p.add(deref(de.v), de.at, "must be longer than zero")
		good = false
	case dur.total() > 366*24*time.Hour:
		p.add(deref(de.v), de.at, "%s is longer than a year", dur)
		good = false
	}
	if !good {
		dur = span{rest: time.Hour} // to check the rule on its own
	}
	text, ok := p.str(re.v, re.at, false)
	if !ok {
		return nil, false
	}
	r, err := compileRecurrence(text, start, dur)
	if err != nil {
		p.add(deref(re.v), re.at, "%v", err)
		return nil, false
	}
	return r, good
}

func (p *parser) windows(e entry) ([]Window, bool) {
	items, ok := p.list(e.v, e.at, `[{rrule: "FREQ=WEEKLY;BYDAY=TU;BYHOUR=2", duration: 2h}]`)
	if !ok {
		return nil, false
	}
	out := make([]Window, 0, len(items))
	good := true
	for i, item := range items {
		at := index(e.at, i)
		fields, ok := p.mapping(item, at, []string{"rrule", "start", "duration"}, nil)
		if !ok {
			good = false
			continue
		}
		r, ok := p.recurring(fields, item, at)
		if !ok {
			good = false
			continue
		}
		out = append(out, Window{r: r})
	}
	return out, good
}

func (p *parser) freezes(e entry, loc *time.Location) ([]FreezeRule, bool) {
	items, ok := p.list(e.v, e.at, `[{start: 2026-12-20, end: 2027-01-06, reason: holidays}]`)
	if !ok {
		return nil, false
	}
	out := make([]FreezeRule, 0, len(items))
	good := true
	for i, item := range items {
		at := index(e.at, i)
		fields, ok := p.mapping(item, at, []string{"start", "end", "rrule", "duration", "reason"}, nil)
		if !ok {
			good = false
			continue
		}
		var f FreezeRule
		if re, ok := fields["reason"]; ok {
			if f.Reason, ok = p.str(re.v, re.at, true); !ok {
				good = false
			}
		}
		if _, ok := fields["rrule"]; ok {
			if ee, ok := fields["end"]; ok {
				p.add(ee.k, ee.at, "a recurring freeze (rrule) lasts its duration; remove end")
				good = false
				continue
			}
			r, ok := p.recurring(fields, item, at)
			if !ok {
				good = false
				continue
			}
			f.recurring = r
			out = append(out, f)
			continue
		}
		if de, ok := fields["duration"]; ok {
			p.add(de.k, de.at, "duration goes with rrule; a fixed freeze has start and end")
			good = false
			continue
		}
		se, hasStart := fields["start"]
		ee, hasEnd := fields["end"]
		if !hasStart || !hasEnd {
			p.add(item, at, "a freeze needs start and end (dates such as 2026-12-20), or rrule and duration")
			good = false
			continue
		}
		start, ok1 := p.civil(se)
		end, ok2 := p.civil(ee)
		if !ok1 || !ok2 {
			good = false
			continue
		}
		f.start, f.end = start, end
		if s, e := f.fixed(loc); !e.After(s) {
			p.add(deref(ee.v), ee.at, "the freeze ends (%s) before it starts (%s)", end, start)
			good = false
			continue
		}
		out = append(out, f)
	}
	return out, good
}

func (p *parser) civil(e entry) (civil, bool) {
	s, ok := p.str(e.v, e.at, true)
	if !ok {
		return civil{}, false
	}
	c, err := parseCivil(s, true)
	if err != nil {
		p.add(deref(e.v), e.at, "%v", err)
		return civil{}, false
	}
	return c, true
}

func (p *parser) constraints(e entry) ([]Constraint, bool) {
	return parsedList(p, e.v, e.at, `["v32.0.0", "~31.2"]`, true, parseConstraint)
}

func (p *parser) automerge(e entry, l *layer) {
	fields, ok := p.mapping(e.v, e.at, []string{"updates", "approvals", "checks", "method"}, nil)
	if !ok {
		return
	}
	if e, ok := fields["updates"]; ok {
		if v, ok := enum(p, e.v, e.at, "[patch]", allUpdateTypes()); ok {
			l.amUpdates, l.set = v, l.set|setAMUpdates
		}
	}
	if e, ok := fields["approvals"]; ok {
		if v, ok := p.integer(e.v, e.at); ok {
			l.amApprovals, l.set = v, l.set|setAMApprovals
		}
	}
	if e, ok := fields["checks"]; ok {
		if v, ok := p.boolean(e.v, e.at); ok {
			l.amChecks, l.set = v, l.set|setAMChecks
		}
	}
	if e, ok := fields["method"]; ok {
		if s, ok := p.str(e.v, e.at, false); ok {
			if m := MergeMethod(s); slices.Contains(allMergeMethods(), m) {
				l.amMethod, l.set = m, l.set|setAMMethod
			} else {
				p.add(deref(e.v), e.at, "unknown merge method %q; expected merge, squash or rebase", s)
			}
		}
	}
}

// contradictions checks one block for settings that cancel each other out.
// Only what one block says is compared: a rule may narrow allowedUpdates
// below an inherited automerge, which simply means nothing is automerged.
func (p *parser) contradictions(fields map[string]entry, l *layer, at string, loc *time.Location, top bool) {
	if l.set&setAMUpdates != 0 && (top || l.set&setAllowed != 0) {
		allowed, which := l.allowed, "allowedUpdates"
		if l.set&setAllowed == 0 {
			allowed, which = defaultAllowed(), "allowedUpdates (by default)"
		}
		e := fields["automerge"]
		for _, u := range l.amUpdates {
			if slices.Contains(allowed, u) {
				continue
			}
			if len(allowed) == 0 {
				p.add(deref(e.v), key(e.at, "updates"), "%s upgrades are automerged, but allowedUpdates is [], so no upgrade is ever proposed", u)
			} else {
				p.add(deref(e.v), key(e.at, "updates"), "%s upgrades are automerged, but %s only allows %s", u, which, joinTypes(allowed))
			}
		}
	}
	if l.set&setSchedule != 0 && l.set&setWindows != 0 && len(l.schedule) > 0 && len(l.windows) > 0 {
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // fixed: parsing reads no clock
		for _, w := range l.windows {
			if w.r.untilSet || w.r.list != nil {
				return // a window that ends may well miss the schedule
			}
			if !w.r.start.IsZero() {
				if s := instant(w.r.start, loc); s.After(from) {
					from = s
				}
			}
		}
		s := Settings{Location: loc, Schedule: l.schedule, MaintenanceWindows: l.windows}
		if _, ok := s.NextOpen(from); !ok {
			e := fields["schedule"]
			p.add(deref(e.v), e.at, "the schedule and maintenanceWindows never overlap, so the bot would never act; widen one of them")
		}
	}
}

func (p *parser) rules(e entry, loc *time.Location) []rule {
	items, ok := p.list(e.v, e.at, `[{match: {names: ["prod-*"]}, allowedUpdates: [patch]}]`)
	if !ok {
		return nil
	}
	out := make([]rule, 0, len(items))
	for i, item := range items {
		at := index(e.at, i)
		fields, ok := p.mapping(item, at, slices.Concat([]string{"description", "match"}, settingKeys()), func(k string) string {
			if slices.Contains(topOnlyKeys(), k) {
				return fmt.Sprintf(": %s applies to the whole repository; set it at the top level, not in a rule", k)
			}
			return ""
		})
		if !ok {
			continue
		}
		var r rule
		if me, ok := fields["match"]; ok {
			r.match, _ = p.selector(me)
		}
		if de, ok := fields["description"]; ok {
			p.str(de.v, de.at, false)
		}
		r.set = p.layer(fields, at, loc, false)
		if written := len(deref(item).Content) / 2; written == len(fieldsOf(fields, "match", "description")) {
			p.add(deref(item), at, "the rule changes no setting; add settings such as allowedUpdates, or remove the rule")
		}
		out = append(out, r)
	}
	return out
}

// fieldsOf returns the entries among keys that are present.
func fieldsOf(fields map[string]entry, keys ...string) []entry {
	var out []entry
	for _, k := range keys {
		if e, ok := fields[k]; ok {
			out = append(out, e)
		}
	}
	return out
}

func (p *parser) selector(e entry) (Selector, bool) {
	fields, ok := p.mapping(e.v, e.at, []string{"names", "organizations", "namespaces", "labels"}, nil)
	if !ok {
		return Selector{}, false
	}
	var s Selector
	good := true
	globs := func(k string) []string {
		f, ok := fields[k]
		if !ok {
			return nil
		}
		out, ok := parsedList(p, f.v, f.at, `["prod-*"]`, true, func(v string) (string, error) { return v, checkGlob(v) })
		if !ok {
			good = false
		}
		return out
	}
	s.Names = globs("names")
	s.Organizations = globs("organizations")
	s.Namespaces = globs("namespaces")
	if f, ok := fields["labels"]; ok {
		s.Labels, ok = p.labels(f)
		good = good && ok
	}
	return s, good
}

// labels reads a mapping of label keys to value globs.
func (p *parser) labels(e entry) (map[string]string, bool) {
	n := deref(e.v)
	if n.Kind != yaml.MappingNode {
		p.add(n, e.at, "expected a mapping of label: value, got %s", describe(n))
		return nil, false
	}
	out := map[string]string{}
	good := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" || k.Value == "" {
			p.add(k, e.at, "label keys must be names, got %s", describe(k))
			good = false
			continue
		}
		at := key(e.at, k.Value)
		if _, dup := out[k.Value]; dup {
			p.add(k, at, "set twice")
			good = false
			continue
		}
		v, ok := p.str(n.Content[i+1], at, true)
		if !ok {
			good = false
			continue
		}
		if err := checkGlob(v); err != nil {
			p.add(deref(n.Content[i+1]), at, "%v", err)
			good = false
			continue
		}
		out[k.Value] = v
	}
	return out, good
}

func checkGlob(pattern string) error {
	if pattern == "" {
		return errors.New("empty pattern")
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return fmt.Errorf("invalid glob %q: use *, ? and [a-z]", pattern)
	}
	return nil
}

func (p *parser) rollout(e entry) []Wave {
	fields, ok := p.mapping(e.v, e.at, []string{"soak", "waves"}, nil)
	if !ok {
		return nil
	}
	var soak time.Duration
	if se, ok := fields["soak"]; ok {
		if d, ok := p.duration(se.v, se.at); ok {
			soak = d.total()
		}
	}
	we, ok := fields["waves"]
	if !ok {
		p.add(deref(e.v), e.at, "a rollout needs waves, e.g. waves: [{name: dev, match: {organizations: [dev]}}]")
		return nil
	}
	items, ok := p.list(we.v, we.at, `[{name: dev, match: {organizations: [dev]}}]`)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.add(deref(we.v), we.at, "a rollout needs at least one wave")
		return nil
	}
	var waves []Wave
	first := map[string]int{}
	for i, item := range items {
		at := index(we.at, i)
		wf, ok := p.mapping(item, at, []string{"name", "match", "soak"}, nil)
		if !ok {
			continue
		}
		w := Wave{Index: i, Soak: soak}
		if ne, ok := wf["name"]; !ok {
			p.add(item, at, "missing name")
		} else if name, ok := p.str(ne.v, ne.at, false); ok {
			switch line, dup := first[name]; {
			case name == "":
				p.add(deref(ne.v), ne.at, "empty wave name")
			case dup:
				p.add(deref(ne.v), ne.at, "wave %q is defined twice (first on line %d)", name, line)
			default:
				first[name] = deref(ne.v).Line
			}
			w.Name = name
		}
		if me, ok := wf["match"]; !ok {
			p.add(item, at, "missing match: which clusters are in the wave")
		} else if sel, ok := p.selector(me); ok {
			if sel.empty() && i < len(items)-1 {
				p.add(deref(me.v), me.at, "the wave matches every cluster, so no later wave would get any; give a selector (only the last wave may match the rest)")
			}
			w.Match = sel
		}
		if se, ok := wf["soak"]; ok {
			if d, ok := p.duration(se.v, se.at); ok {
				w.Soak = d.total()
			}
		}
		waves = append(waves, w)
	}
	return waves
}
