package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The locator types of locators: where a repository writes a cluster's
// release version.
const (
	// LocatorLabel is the version label of the Cluster; the label itself
	// is the bot's setting (--version-label), as the Kyverno policy and the
	// management cluster read the same one.
	LocatorLabel = "label"
	// LocatorFluxSubstitute is a post-build variable of the Flux
	// Kustomization that builds the cluster (variable: its name).
	LocatorFluxSubstitute = "flux-substitute"
	// LocatorAppVersion is spec.version of the App of a release chart
	// (charts: globs on spec.name).
	LocatorAppVersion = "app-version"
	// LocatorValues is a path in the values a ConfigMap holds (key: the
	// data key; path: the dot-separated path in the values).
	LocatorValues = "values"
)

// locatorOptions are the options each locator type takes.
func locatorOptions() map[string][]string {
	return map[string][]string{
		LocatorLabel:          nil,
		LocatorFluxSubstitute: {"variable"},
		LocatorAppVersion:     {"charts"},
		LocatorValues:         {"key", "path"},
	}
}

func locatorTypes() []string {
	return []string{LocatorLabel, LocatorFluxSubstitute, LocatorAppVersion, LocatorValues}
}

// Locator is one entry of locators. Options a type does not take are
// empty; empty options mean the locator's defaults.
type Locator struct {
	// Type is one of LocatorLabel, LocatorFluxSubstitute,
	// LocatorAppVersion and LocatorValues.
	Type string
	// Key is the ConfigMap's data key (values).
	Key string
	// Variable is the post-build variable (flux-substitute).
	Variable string
	// Charts are globs on the App's spec.name (app-version).
	Charts []string
	// Path is the dot-separated path in the values (values).
	Path string
}

// Locators returns the repository's locators in file order; none when the
// file does not choose, and the bot then detects them.
func (f *File) Locators() []Locator { return slices.Clone(f.locators) }

// locators reads locators: a list whose items are a type, or a mapping of
// type and the type's options.
//
//	locators:
//	  - flux-substitute
//	  - {type: values, path: global.release.version}
func (p *parser) locators(e entry) []Locator {
	items, ok := p.list(e.v, e.at, "[flux-substitute, {type: values, path: global.release.version}]")
	if !ok {
		return nil
	}
	var out []Locator
	seen := map[string]int{}
	for i, item := range items {
		at := index(e.at, i)
		l, ok := p.locator(item, at)
		if !ok {
			continue
		}
		id := fmt.Sprintf("%s|%s|%s|%s|%s", l.Type, l.Key, l.Variable, strings.Join(l.Charts, ","), l.Path)
		if first, dup := seen[id]; dup {
			p.add(item, at, "the same locator as item %d; remove one", first)
			continue
		}
		seen[id] = i
		out = append(out, l)
	}
	return out
}

func (p *parser) locator(n *yaml.Node, at string) (Locator, bool) {
	if n.Kind == yaml.ScalarNode {
		t, ok := p.str(n, at, false)
		if !ok {
			return Locator{}, false
		}
		if !slices.Contains(locatorTypes(), t) {
			p.add(n, at, "unknown locator %q%s", t, suggest(t, locatorTypes()))
			return Locator{}, false
		}
		return Locator{Type: t}, true
	}
	fields, ok := p.mapping(n, at, []string{"type", "key", "variable", "charts", "path"}, nil)
	if !ok {
		return Locator{}, false
	}
	te, ok := fields["type"]
	if !ok {
		p.add(n, at, "a locator needs its type: one of %s", strings.Join(locatorTypes(), ", "))
		return Locator{}, false
	}
	t, ok := p.str(te.v, te.at, false)
	if !ok {
		return Locator{}, false
	}
	if !slices.Contains(locatorTypes(), t) {
		p.add(te.v, te.at, "unknown locator %q%s", t, suggest(t, locatorTypes()))
		return Locator{}, false
	}
	l, good := Locator{Type: t}, true
	allowed := locatorOptions()[t]
	for k, f := range fields {
		if k == "type" {
			continue
		}
		if !slices.Contains(allowed, k) {
			takes := "no options"
			if len(allowed) > 0 {
				takes = strings.Join(allowed, ", ")
			}
			if t == LocatorLabel && k == "key" {
				takes += " (the label is the bot's --version-label)"
			}
			p.add(f.k, f.at, "the %s locator takes no %s; it takes %s", t, k, takes)
			good = false
			continue
		}
		if k == "charts" {
			charts, ok := parsedList(p, f.v, f.at, `["release-*"]`, false, func(v string) (string, error) {
				if _, err := path.Match(v, ""); err != nil || v == "" {
					return "", fmt.Errorf("%q is not a chart name or glob", v)
				}
				return v, nil
			})
			l.Charts, good = charts, good && ok
			continue
		}
		v, ok := p.str(f.v, f.at, false)
		if !ok {
			good = false
			continue
		}
		switch {
		case strings.TrimSpace(v) == "":
			p.add(f.v, f.at, "empty; leave %s out for the default", k)
			good = false
		case k == "path" && slices.Contains(strings.Split(v, "."), ""):
			p.add(f.v, f.at, "%q is not a dot-separated path such as global.release.version", v)
			good = false
		}
		switch k {
		case "key":
			l.Key = v
		case "variable":
			l.Variable = v
		case "path":
			l.Path = v
		}
	}
	return l, good
}
