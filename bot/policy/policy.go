package policy

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// FileName is where the policy lives: the root of the GitOps repository.
const FileName = ".upgrade-bot.yaml"

// The defaults of the settings a policy file leaves out.
const (
	// DefaultPRConcurrentLimit is how many upgrade pull requests may be open
	// in one repository at a time (Renovate's default).
	DefaultPRConcurrentLimit = 10
	// DefaultPRHourlyLimit is how many upgrade pull requests may be opened in
	// one repository per hour (Renovate's default).
	DefaultPRHourlyLimit = 2
)

// defaultAllowed is what allowedUpdates means when no block sets it: patch
// and minor upgrades are proposed, majors need a person to ask.
func defaultAllowed() []UpdateType { return []UpdateType{Patch, Minor} }

// UpdateType is the size of an upgrade, from the semantic versions of the
// current and the target release.
type UpdateType string

// The update types, smallest first.
const (
	// Patch changes only the patch number: 31.0.0 → 31.0.2.
	Patch UpdateType = "patch"
	// Minor changes the minor number: 31.0.2 → 31.1.0.
	Minor UpdateType = "minor"
	// Major changes the major number: 31.1.0 → 32.0.0.
	Major UpdateType = "major"
)

func allUpdateTypes() []UpdateType { return []UpdateType{Patch, Minor, Major} }

// UpdateTypeOf classifies the step from → to by the first version number that
// differs. A step that changes nothing but pre-release or build metadata is a
// patch.
func UpdateTypeOf(from, to *semver.Version) UpdateType {
	switch {
	case from.Major() != to.Major():
		return Major
	case from.Minor() != to.Minor():
		return Minor
	default:
		return Patch
	}
}

// MergeMethod is how an automerged pull request is merged.
type MergeMethod string

// The merge methods; the forge implementation maps them onto what it offers.
const (
	// Merge creates a merge commit (the default).
	Merge MergeMethod = "merge"
	// Squash squashes the pull request into one commit.
	Squash MergeMethod = "squash"
	// Rebase rebases the pull request's commits onto the base branch.
	Rebase MergeMethod = "rebase"
)

func allMergeMethods() []MergeMethod { return []MergeMethod{Merge, Squash, Rebase} }

// Automerge says which upgrade pull requests the bot merges by itself, and
// what the forge must report first. The bot merges only inside the cluster's
// window (Settings.Open) and only when the forge says the pull request can be
// merged.
type Automerge struct {
	// Updates are the update types that are merged automatically; empty
	// (the default) means none.
	Updates []UpdateType
	// Approvals is how many approving reviews the pull request needs first.
	Approvals int
	// Checks requires every status check to have passed (default true).
	Checks bool
	// Method is the merge method (default merge).
	Method MergeMethod
}

// Cluster is what rules and waves select on.
type Cluster struct {
	// Name is the cluster's name.
	Name string
	// Namespace is the namespace of its Cluster resource.
	Namespace string
	// Organization is the owning organization. When empty it comes from the
	// namespace: "org-acme" belongs to organization "acme".
	Organization string
	// Labels are the Cluster resource's labels.
	Labels map[string]string
}

// organization is the explicit organization, or the namespace without its
// "org-" prefix; "" when neither says.
func (c Cluster) organization() string {
	if c.Organization != "" {
		return c.Organization
	}
	if org, ok := strings.CutPrefix(c.Namespace, "org-"); ok {
		return org
	}
	return ""
}

// Selector picks clusters. Every criterion that is set must match; a list
// matches when any of its patterns does. Patterns are globs (path.Match: *,
// ?, [a-z]). An empty Selector matches every cluster.
type Selector struct {
	// Names are globs on the cluster name.
	Names []string
	// Organizations are globs on the organization; "acme" and "org-acme"
	// both select the organization acme.
	Organizations []string
	// Namespaces are globs on the namespace.
	Namespaces []string
	// Labels maps a label key to a glob its value must match; every listed
	// label must be present.
	Labels map[string]string
}

// Matches reports whether c is selected.
func (s Selector) Matches(c Cluster) bool {
	if len(s.Names) > 0 && !anyGlob(s.Names, c.Name) {
		return false
	}
	if len(s.Namespaces) > 0 && !anyGlob(s.Namespaces, c.Namespace) {
		return false
	}
	if len(s.Organizations) > 0 {
		org := c.organization()
		if org == "" || !anyGlob(s.Organizations, org) && !anyGlob(s.Organizations, "org-"+org) {
			return false
		}
	}
	for k, pattern := range s.Labels {
		v, ok := c.Labels[k]
		if !ok || !glob(pattern, v) {
			return false
		}
	}
	return true
}

// empty reports whether the selector has no criterion at all.
func (s Selector) empty() bool {
	return len(s.Names) == 0 && len(s.Namespaces) == 0 && len(s.Organizations) == 0 && len(s.Labels) == 0
}

func anyGlob(patterns []string, s string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return glob(p, s) })
}

// glob matches a validated pattern; patterns are checked when parsed, so the
// error cannot happen here.
func glob(pattern, s string) bool {
	ok, _ := path.Match(pattern, s)
	return ok
}

// Wave is one step of the rollout: the clusters it selects are upgraded once
// every cluster of the previous wave has run the target release for the
// previous wave's soak time.
type Wave struct {
	// Name names the wave in the dashboard and in reasons ("waiting for wave dev").
	Name string
	// Index is the wave's position in the rollout, from 0.
	Index int
	// Match selects the wave's clusters; a cluster belongs to the first wave
	// that matches it.
	Match Selector
	// Soak is how long this wave's clusters must run a release before the
	// next wave gets it.
	Soak time.Duration
}

// File is a parsed, valid policy file. It is immutable and safe for
// concurrent use; For computes one cluster's settings from it.
type File struct {
	name string
	// noDashboard is dashboard: false.
	noDashboard bool
	base        Settings
	rules       []rule
	waves       []Wave
	locators    []Locator
}

// rule is one entry of rules: a selector and the settings it overrides.
type rule struct {
	match Selector
	set   layer
}

// Default returns the policy of a repository without a policy file: UTC, any
// time, patch and minor upgrades, no automerge, Renovate's pull request limits.
func Default() *File {
	return &File{name: FileName, base: defaultSettings()}
}

// Name is the file name the policy was parsed from, as given to Parse.
func (f *File) Name() string { return f.name }

// Dashboard reports whether the bot keeps the repository's upgrade
// dashboard issue (dashboard: true, the default).
func (f *File) Dashboard() bool { return !f.noDashboard }

// Waves returns the rollout's waves in order; empty when the policy has no
// rollout.
func (f *File) Waves() []Wave { return slices.Clone(f.waves) }

// For returns the effective settings of cluster c: the top level of the file,
// then every rule that selects c in file order, a later rule overriding an
// earlier one setting by setting (and automerge field by field), and the
// first wave that selects c.
func (f *File) For(c Cluster) Settings {
	s := f.base
	for i := range f.rules {
		r := &f.rules[i]
		if r.match.Matches(c) {
			r.set.apply(&s)
			s.Rules = append(s.Rules, i)
		}
	}
	for i := range f.waves {
		if f.waves[i].Match.Matches(c) {
			s.Wave = &f.waves[i]
			break
		}
	}
	return s
}

// Settings are the effective policy of one cluster, from File.For. The slices
// are shared with the File: read them, do not modify them.
type Settings struct {
	// Location is the time zone schedules, maintenance windows and freezes
	// are read in (default UTC).
	Location *time.Location
	// Schedule are cron windows; the cluster is inside the schedule while
	// any of them matches the current minute. Empty means any time.
	Schedule []Schedule
	// MaintenanceWindows are recurring windows; when any are set the cluster
	// is open only inside one of them.
	MaintenanceWindows []Window
	// Freezes are periods in which the cluster gets no upgrade at all.
	Freezes []FreezeRule
	// MinimumReleaseAge is how old a release must be before it is proposed.
	MinimumReleaseAge time.Duration
	// AllowedUpdates are the update types proposed automatically.
	AllowedUpdates []UpdateType
	// IgnoreVersions are releases never proposed.
	IgnoreVersions []Constraint
	// Pin, when set, is a constraint every proposed release must satisfy.
	Pin *Constraint
	// Merge is the automerge setting: which pull requests the bot merges
	// itself and what the forge must report first. Settings.Automerge applies
	// it to one upgrade.
	Merge Automerge
	// PRConcurrentLimit is the most upgrade pull requests open at a time in
	// the repository; 0 means no limit.
	PRConcurrentLimit int
	// PRHourlyLimit is the most upgrade pull requests opened per hour in the
	// repository; 0 means no limit.
	PRHourlyLimit int
	// Wave is the rollout wave of the cluster; nil when it belongs to none
	// (or the policy has no rollout), so no wave holds it back.
	Wave *Wave
	// Rules are the indexes (from 0, as in rules[i]) of the rules that
	// selected the cluster, in the order they were applied.
	Rules []int
}

func defaultSettings() Settings {
	return Settings{
		Location:          time.UTC,
		AllowedUpdates:    defaultAllowed(),
		Merge:             Automerge{Checks: true, Method: Merge},
		PRConcurrentLimit: DefaultPRConcurrentLimit,
		PRHourlyLimit:     DefaultPRHourlyLimit,
	}
}

// location is the settings' time zone, UTC when unset.
func (s *Settings) location() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// layer is one block of settings as written: the top level or one rule. Only
// the settings the block sets are applied.
type layer struct {
	loc         *time.Location
	schedule    []Schedule
	windows     []Window
	freezes     []FreezeRule
	minAge      time.Duration
	allowed     []UpdateType
	ignore      []Constraint
	pin         *Constraint
	amUpdates   []UpdateType
	amApprovals int
	amChecks    bool
	amMethod    MergeMethod
	set         setting
}

// setting is a bit set of which settings a layer sets.
type setting uint32

const (
	setLocation setting = 1 << iota
	setSchedule
	setWindows
	setFreezes
	setMinAge
	setAllowed
	setIgnore
	setPin
	setAMUpdates
	setAMApprovals
	setAMChecks
	setAMMethod
)

func (l *layer) apply(s *Settings) {
	if l.set&setLocation != 0 {
		s.Location = l.loc
	}
	if l.set&setSchedule != 0 {
		s.Schedule = l.schedule
	}
	if l.set&setWindows != 0 {
		s.MaintenanceWindows = l.windows
	}
	if l.set&setFreezes != 0 {
		s.Freezes = l.freezes
	}
	if l.set&setMinAge != 0 {
		s.MinimumReleaseAge = l.minAge
	}
	if l.set&setAllowed != 0 {
		s.AllowedUpdates = l.allowed
	}
	if l.set&setIgnore != 0 {
		s.IgnoreVersions = l.ignore
	}
	if l.set&setPin != 0 {
		s.Pin = l.pin
	}
	if l.set&setAMUpdates != 0 {
		s.Merge.Updates = l.amUpdates
	}
	if l.set&setAMApprovals != 0 {
		s.Merge.Approvals = l.amApprovals
	}
	if l.set&setAMChecks != 0 {
		s.Merge.Checks = l.amChecks
	}
	if l.set&setAMMethod != 0 {
		s.Merge.Method = l.amMethod
	}
}
