package releases

import (
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ChangeType says how a component or app changes between two releases.
type ChangeType string

// The change types.
const (
	ChangeAdded      ChangeType = "added"
	ChangeRemoved    ChangeType = "removed"
	ChangeUpgraded   ChangeType = "upgraded"
	ChangeDowngraded ChangeType = "downgraded"
	// ChangeChanged: the versions cannot be ordered, or the version is the
	// same and the catalog differs.
	ChangeChanged ChangeType = "changed"
)

// Change is one component or app that differs between two releases.
type Change struct {
	// Kind is "component" or "app".
	Kind string `json:"kind"`
	Name string `json:"name"`
	// From and To are the versions; From is empty for an addition, To for
	// a removal. When only the catalog changes, each is followed by its
	// catalog: "1.2.0 (catalog: giantswarm)".
	From string     `json:"from"`
	To   string     `json:"to"`
	Type ChangeType `json:"type"`
}

// Compare lists what changes from one release to another: components
// first, in the target's order and then the removed ones, then apps sorted
// by name. Unchanged entries are left out; either release may be nil or
// have no components and apps (a release not in the catalog).
func Compare(from, to *Release) []Change {
	var fromComps, toComps []Component
	var fromApps, toApps []App
	if from != nil {
		fromComps, fromApps = from.Components, from.Apps
	}
	if to != nil {
		toComps, toApps = to.Components, to.Apps
	}
	out := compareLists("component", entriesOf(fromComps, componentEntry), entriesOf(toComps, componentEntry))
	apps := compareLists("app", entriesOf(fromApps, appEntry), entriesOf(toApps, appEntry))
	slices.SortStableFunc(apps, func(a, b Change) int { return strings.Compare(a.Name, b.Name) })
	return append(out, apps...)
}

// entry is what Compare looks at in a component or an app.
type entry struct{ name, version, catalog string }

func componentEntry(c Component) entry { return entry{c.Name, c.Version, c.Catalog} }
func appEntry(a App) entry             { return entry{a.Name, a.Version, a.Catalog} }

func entriesOf[T any](items []T, f func(T) entry) []entry {
	out := make([]entry, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}

// compareLists returns the changes in to's order, then the entries only
// from has, in from's order.
func compareLists(kind string, from, to []entry) []Change {
	old := make(map[string]entry, len(from))
	for _, e := range from {
		if _, dup := old[e.name]; !dup {
			old[e.name] = e
		}
	}
	var out []Change
	seen := make(map[string]bool, len(to))
	for _, e := range to {
		if seen[e.name] {
			continue
		}
		seen[e.name] = true
		prev, ok := old[e.name]
		if !ok {
			out = append(out, Change{Kind: kind, Name: e.name, To: e.version, Type: ChangeAdded})
			continue
		}
		if t := changeType(prev.version, e.version); t != "" {
			out = append(out, Change{Kind: kind, Name: e.name, From: prev.version, To: e.version, Type: t})
		} else if prev.catalog != e.catalog {
			out = append(out, Change{Kind: kind, Name: e.name, From: withCatalog(prev), To: withCatalog(e), Type: ChangeChanged})
		}
	}
	for _, e := range from {
		if !seen[e.name] {
			seen[e.name] = true
			out = append(out, Change{Kind: kind, Name: e.name, From: e.version, Type: ChangeRemoved})
		}
	}
	return out
}

// changeType orders two versions; "" when they are the same.
func changeType(from, to string) ChangeType {
	a, errA := semver.NewVersion(from)
	b, errB := semver.NewVersion(to)
	if errA != nil || errB != nil {
		if from == to {
			return ""
		}
		return ChangeChanged
	}
	switch a.Compare(b) {
	case -1:
		return ChangeUpgraded
	case 1:
		return ChangeDowngraded
	}
	// Equal but for build metadata or a "v": a different build is a change.
	if strings.TrimPrefix(from, "v") != strings.TrimPrefix(to, "v") {
		return ChangeChanged
	}
	return ""
}

func withCatalog(e entry) string {
	c := e.catalog
	if c == "" {
		c = "default"
	}
	return e.version + " (catalog: " + c + ")"
}
