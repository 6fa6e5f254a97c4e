package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

// Constraint is a semantic version constraint from the policy, such as
// "v32.0.0", "~31.2", "31.x" or ">=31.1, <32" (Masterminds/semver syntax; a
// leading "v" is allowed).
type Constraint struct {
	text string
	c    *semver.Constraints
}

// String is the constraint as written.
func (c Constraint) String() string { return c.text }

// Check reports whether release version v satisfies the constraint.
func (c Constraint) Check(v *semver.Version) bool { return c.c.Check(v) }

func parseConstraint(s string) (Constraint, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Constraint{}, fmt.Errorf("empty version constraint: write e.g. v32.0.0, ~31.2 or 31.x")
	}
	c, err := semver.NewConstraint(s)
	if err != nil || c == nil {
		return Constraint{}, fmt.Errorf("%q is not a semver version or constraint: write e.g. v32.0.0, ~31.2, 31.x or \">=31.1, <32\"", s)
	}
	return Constraint{text: s, c: c}, nil
}

// Allowed reports whether the bot may propose the upgrade from → to on its
// own, and why (or why not) in a short sentence for the dashboard. It checks,
// in order: both are release versions, to is newer and not a pre-release, the
// pin, ignoreVersions, and the update type against allowedUpdates. A person
// can still ask for any upgrade with a command; this is only what the bot
// starts by itself.
func (s Settings) Allowed(from, to string) (ok bool, why string) {
	f, err := releases.ParseVersion(from)
	if err != nil {
		return false, err.Error()
	}
	t, err := releases.ParseVersion(to)
	if err != nil {
		return false, err.Error()
	}
	return s.allowed(f, t)
}

func (s Settings) allowed(f, t *semver.Version) (bool, string) {
	if !t.GreaterThan(f) {
		return false, fmt.Sprintf("v%s is not newer than v%s", t, f)
	}
	if t.Prerelease() != "" {
		return false, fmt.Sprintf("v%s is a pre-release; pre-releases are never proposed automatically", t)
	}
	if s.Pin != nil && !s.Pin.Check(t) {
		return false, fmt.Sprintf("v%s is outside the pin %s", t, s.Pin)
	}
	for _, c := range s.IgnoreVersions {
		if c.Check(t) {
			return false, fmt.Sprintf("v%s is ignored (ignoreVersions: %s)", t, c)
		}
	}
	kind := UpdateTypeOf(f, t)
	if !slices.Contains(s.AllowedUpdates, kind) {
		if len(s.AllowedUpdates) == 0 {
			return false, fmt.Sprintf("%s upgrade v%s → v%s: no upgrades are proposed automatically (allowedUpdates: [])", kind, f, t)
		}
		return false, fmt.Sprintf("%s upgrade v%s → v%s is not allowed automatically (allowedUpdates: %s)", kind, f, t, joinTypes(s.AllowedUpdates))
	}
	return true, fmt.Sprintf("%s upgrade v%s → v%s is allowed", kind, f, t)
}

// Automerge reports whether the bot merges the upgrade pull request from → to
// itself (once the forge says it is mergeable, inside the window): the
// upgrade must be allowed and its update type listed in automerge.updates.
func (s Settings) Automerge(from, to string) bool {
	f, err := releases.ParseVersion(from)
	if err != nil {
		return false
	}
	t, err := releases.ParseVersion(to)
	if err != nil {
		return false
	}
	if ok, _ := s.allowed(f, t); !ok {
		return false
	}
	return slices.Contains(s.Merge.Updates, UpdateTypeOf(f, t))
}

// OldEnough reports whether a release published at released has reached
// minimumReleaseAge at now, and when it does (released + the age). With no
// minimum age every release is old enough. A release without a date
// (released is zero) is never old enough while a minimum age is set: the age
// cannot be checked, and the zero time is returned.
func (s Settings) OldEnough(released, now time.Time) (bool, time.Time) {
	if s.MinimumReleaseAge <= 0 {
		return true, released
	}
	if released.IsZero() {
		return false, time.Time{}
	}
	ready := released.Add(s.MinimumReleaseAge)
	return !now.Before(ready), ready
}

func joinTypes(ts []UpdateType) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return strings.Join(out, ", ")
}
