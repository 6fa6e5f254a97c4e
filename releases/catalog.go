package releases

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Catalog is the releases of every provider of a releases directory.
type Catalog struct {
	providers []string                       // sorted
	releases  map[string][]*Release          // by provider, ascending by version
	index     map[string]map[string]*Release // by provider, then canonical version
	warnings  []string
}

// Warnings are the problems found while loading, "path:line: message",
// in the order the files were read.
func (c *Catalog) Warnings() []string { return slices.Clone(c.warnings) }

// Providers returns the providers that have releases, sorted.
func (c *Catalog) Providers() []string { return slices.Clone(c.providers) }

// List returns the releases of provider, archived ones included, ascending
// by version; nil for an unknown provider.
func (c *Catalog) List(provider string) []*Release { return slices.Clone(c.releases[provider]) }

// Get returns the release of provider with version, written with or
// without a leading "v". An unknown provider is an *UnknownProviderError,
// an unknown version an *UnknownReleaseError.
func (c *Catalog) Get(provider, version string) (*Release, error) {
	byVersion, ok := c.index[provider]
	if !ok {
		return nil, &UnknownProviderError{Provider: provider, Known: c.Providers()}
	}
	// Fast path: callers mostly pass the canonical form.
	if r, ok := byVersion[strings.TrimPrefix(version, "v")]; ok {
		return r, nil
	}
	v, err := ParseVersion(version)
	if err != nil {
		return nil, fmt.Errorf("looking up a %s release: %w", provider, err)
	}
	if r, ok := byVersion[v.String()]; ok {
		return r, nil
	}
	return nil, &UnknownReleaseError{Provider: provider, Version: v.String(), Nearby: c.nearby(provider, v)}
}

// Next returns the lowest release of provider newer than from that is not
// archived; from nil gives the lowest release.
func (c *Catalog) Next(provider string, from *semver.Version) (*Release, bool) {
	for _, r := range c.releases[provider] {
		if !r.Archived && (from == nil || r.Version.GreaterThan(from)) {
			return r, true
		}
	}
	return nil, false
}

// nearby returns the canonical versions closest to v, one below and one
// above (two on one side at the ends), preferring releases not archived.
func (c *Catalog) nearby(provider string, v *semver.Version) []string {
	var cands []*Release
	for _, r := range c.releases[provider] {
		if !r.Archived {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		cands = c.releases[provider]
	}
	i, _ := slices.BinarySearchFunc(cands, v, func(r *Release, v *semver.Version) int { return r.Version.Compare(v) })
	lo, hi := max(i-1, 0), min(i+1, len(cands))
	switch {
	case i == 0:
		hi = min(2, len(cands))
	case i == len(cands):
		lo = max(len(cands)-2, 0)
	}
	out := make([]string, 0, hi-lo)
	for _, r := range cands[lo:hi] {
		out = append(out, r.Version.String())
	}
	return out
}

// UnknownProviderError is Get's error for a provider without releases.
type UnknownProviderError struct {
	Provider string
	// Known are the catalog's providers.
	Known []string
}

// Error names the provider and the providers there are.
func (e *UnknownProviderError) Error() string {
	return fmt.Sprintf("the release catalog has no provider %q; it has %s", e.Provider, strings.Join(e.Known, ", "))
}

// UnknownReleaseError is Get's error for a version the provider does not
// have.
type UnknownReleaseError struct {
	Provider string
	// Version is the canonical version asked for ("31.0.5").
	Version string
	// Nearby are the canonical versions closest to it.
	Nearby []string
}

// Error names the release, the nearby ones, and how to list them all.
func (e *UnknownReleaseError) Error() string {
	return e.Brief() + "; run `upgrade-bot releases` to list them"
}

// Brief names the release and the nearby ones, without the command line's
// hint.
func (e *UnknownReleaseError) Brief() string {
	msg := fmt.Sprintf("release v%s is not in the %s catalog", e.Version, e.Provider)
	if len(e.Nearby) > 0 {
		vs := make([]string, len(e.Nearby))
		for i, n := range e.Nearby {
			vs[i] = "v" + n
		}
		msg += "; nearby: " + strings.Join(vs, ", ")
	}
	return msg
}
