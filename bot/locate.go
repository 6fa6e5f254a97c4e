package bot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/render"
)

// locators returns the locators the repository at root is read with:
// Planner.Locators when set, else those the repository's policy file
// chooses (locators:), else every locator (detection). A policy file that
// does not parse leaves detection in force; problem says so.
func (p *Planner) locatorsFor(root string) (locs []render.Locator, problem string) {
	if len(p.Locators) > 0 {
		return p.Locators, ""
	}
	detect := render.DetectLocators(p.label())
	data, err := os.ReadFile(filepath.Join(root, policy.FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return detect, ""
	}
	if err != nil {
		return detect, fmt.Sprintf("%s: %v; the version is looked for everywhere upgrade-bot knows", policy.FileName, err)
	}
	pf, err := policy.Parse(data, policy.FileName)
	if err != nil {
		return detect, fmt.Sprintf("%s does not parse, so its locators are not used and the version is looked for everywhere upgrade-bot knows: %v", policy.FileName, err)
	}
	return Locators(pf, p.label()), ""
}

// Locators makes the locators a policy chooses, or every locator when it
// chooses none; label is the version label (render.DefaultVersionLabel
// when empty).
func Locators(pf *policy.File, label string) []render.Locator {
	specs := pf.Locators()
	if len(specs) == 0 {
		return render.DetectLocators(label)
	}
	out := make([]render.Locator, 0, len(specs))
	for _, s := range specs {
		switch s.Type {
		case policy.LocatorLabel:
			out = append(out, render.Label{Key: label})
		case policy.LocatorFluxSubstitute:
			out = append(out, render.FluxSubstitute{Variable: s.Variable})
		case policy.LocatorAppVersion:
			out = append(out, render.AppVersion{Charts: slices.Clone(s.Charts)})
		case policy.LocatorValues:
			out = append(out, render.Values{Key: s.Key, Path: s.Path})
		}
	}
	return out
}

// VersionReader is a Decider's Version for the clusters of repo: the
// version label when the cluster carries it (cheap, and what the Kyverno
// policy reads), else the version where the repository's locators find it.
// A plan still locates every place and refuses disagreeing ones.
func (p *Planner) VersionReader(ctx context.Context, repo *render.Repository) func(c *render.Cluster) (string, error) {
	locators, _ := p.locatorsFor(repo.Root)
	label := p.label()
	return func(c *render.Cluster) (string, error) {
		if v := c.Labels[label]; v != "" {
			return v, nil
		}
		v, _, err := currentVersion(ctx, repo, c, locators)
		return v, err
	}
}

// currentVersion reads the version cluster c of repo is on, where locators
// find it, and the places it is written.
func currentVersion(ctx context.Context, repo *render.Repository, c *render.Cluster, locators []render.Locator) (string, []render.Location, error) {
	locs, err := render.LocateAll(ctx, repo, c, locators)
	if err != nil {
		return "", nil, err
	}
	v, err := render.Version(c, locs)
	if err != nil {
		return "", locs, err
	}
	return v, locs, nil
}
