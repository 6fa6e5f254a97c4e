package releases

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// UpgradePathError says why upgrade-bot will not move a cluster from one
// release to another.
type UpgradePathError struct {
	// From and To are canonical versions ("31.0.0").
	From, To string
	// Reason completes "vFrom → vTo ...".
	Reason string
}

// Error is "vFrom → vTo " and the reason.
func (e *UpgradePathError) Error() string {
	return fmt.Sprintf("v%s → v%s %s", e.From, e.To, e.Reason)
}

// CheckUpgrade checks moving a cluster from one release to another. A
// downgrade, a change of provider, and skipping a major release that the
// catalog has are errors (*UpgradePathError); a target that is deprecated,
// not released for production, past its end of life or archived gives
// warnings. The same version is neither. from may be a release that is not
// in the catalog (only Provider and Version set); c may be nil, and is
// then not consulted.
func CheckUpgrade(c *Catalog, from, to *Release, now time.Time) (warnings []string, err error) {
	if from == nil || from.Version == nil || to == nil || to.Version == nil {
		return nil, errors.New("checking the upgrade path: the current and the target release are both needed")
	}
	provider := cmp.Or(to.Provider, from.Provider)
	pathErr := func(format string, args ...any) *UpgradePathError {
		return &UpgradePathError{From: from.Version.String(), To: to.Version.String(), Reason: fmt.Sprintf(format, args...)}
	}
	if from.Provider != "" && to.Provider != "" && from.Provider != to.Provider {
		return nil, pathErr("changes the provider from %s to %s: a release upgrade keeps the provider", from.Provider, to.Provider)
	}
	switch to.Version.Compare(from.Version) {
	case 0:
		return nil, nil
	case -1:
		return nil, pathErr("is a downgrade: upgrade-bot only moves clusters forward; pick a release newer than v%s", from.Version)
	}

	if fromMajor, toMajor := from.Version.Major(), to.Version.Major(); toMajor > fromMajor+1 {
		if c == nil {
			return nil, pathErr("skips major release %d: clusters move one major release at a time; upgrade to v%d.x first", fromMajor+1, fromMajor+1)
		}
		// The lowest skipped major the catalog has (releases are ascending).
		for _, r := range c.releases[provider] {
			if m := r.Version.Major(); !r.Archived && m > fromMajor && m < toMajor {
				return nil, pathErr("skips major release %d: clusters move one major release at a time; upgrade to v%d.x first (the newest is v%s)", m, m, newestOfMajor(c.releases[provider], m).Version)
			}
		}
		warnings = append(warnings, fmt.Sprintf("v%s → v%s skips major releases that the %s catalog does not have: read the release notes of v%s for the upgrade path", from.Version, to.Version, provider, to.Version))
	}

	target := "target release v" + to.Version.String()
	switch to.State {
	case StateDeprecated:
		msg := target + " is deprecated"
		if c != nil {
			if r := newestActive(c.releases[provider]); r != nil && r.Version.GreaterThan(to.Version) {
				msg += fmt.Sprintf("; the newest active release is v%s", r.Version)
			}
		}
		warnings = append(warnings, msg)
	case StateWIP, StatePreview:
		warnings = append(warnings, fmt.Sprintf("%s is %s: not released for production", target, to.State))
	}
	if !to.EndOfLife.IsZero() && now.After(to.EndOfLife) {
		warnings = append(warnings, fmt.Sprintf("%s reached its end of life on %s", target, to.EndOfLife.Format(time.DateOnly)))
	}
	if to.Archived {
		warnings = append(warnings, target+" is archived: newer releases superseded it")
	}
	return warnings, nil
}

// newestOfMajor returns the newest release of major m that is not archived,
// preferring releases for production.
func newestOfMajor(rels []*Release, m uint64) *Release {
	var newest, newestProd *Release
	for _, r := range rels {
		if r.Archived || r.Version.Major() != m {
			continue
		}
		newest = r
		if r.State != StateWIP && r.State != StatePreview {
			newestProd = r
		}
	}
	if newestProd != nil {
		return newestProd
	}
	return newest
}

func newestActive(rels []*Release) *Release {
	for i := len(rels) - 1; i >= 0; i-- {
		if r := rels[i]; !r.Archived && r.State == StateActive {
			return r
		}
	}
	return nil
}
