package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse: Parse never panics, every error it returns is made of
// *Problems naming the file, and a policy it accepts can be asked every
// question without panicking.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(precedence))
	for _, s := range []string{
		"",
		"timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * 1-5\"]\n",
		"maintenanceWindows: [{rrule: \"FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=2\", duration: 2h}]\n",
		"maintenanceWindows: [{rrule: \"FREQ=WEEKLY;INTERVAL=2;COUNT=5\", start: \"2026-01-06T02:00\", duration: 1d2h}]\n",
		"freezes: [{rrule: \"FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20\", duration: 18d}]\n",
		"freezes: [{start: 2026-12-20, end: \"2027-01-06T12:00:00+01:00\"}]\n",
		"rules: [{match: {labels: {a: \"b*\"}}, pin: \"~31.2\"}]\n",
		"a: &x [*x]\n",
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)
	clusters := []Cluster{
		{Name: "p1", Namespace: "org-acme", Labels: map[string]string{"stage": "prod", "a": "bc"}},
		{Name: "dev-1", Namespace: "default"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, "fuzz.yaml")
		if err != nil {
			multi, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("error is not joined problems: %v", err)
			}
			for _, e := range multi.Unwrap() {
				var p *Problem
				if !errors.As(e, &p) || !strings.HasPrefix(e.Error(), "fuzz.yaml") {
					t.Fatalf("error %q is not a *Problem naming the file", e)
				}
			}
			if file != nil {
				t.Fatal("a File returned with errors")
			}
			return
		}
		for _, c := range clusters {
			s := file.For(c)
			s.Open(now)
			if next, ok := s.NextOpen(now); ok && !s.Open(next) {
				t.Fatalf("not open at NextOpen %s", next)
			}
			s.Why(now)
			s.Frozen(now)
			s.Allowed("31.0.0", "31.1.0")
			s.Automerge("31.0.0", "31.0.1")
			s.OldEnough(now.Add(-time.Hour), now)
		}
	})
}
