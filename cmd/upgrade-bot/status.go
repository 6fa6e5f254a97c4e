package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

func (a *app) statusCommand() *cobra.Command {
	var repoDir, releasesDir, policyPath, label, now, output string
	cmd := &cobra.Command{
		Use:   "status --releases DIR [--repo DIR] [--policy FILE] [--now TIME] [-o text|json]",
		Short: "Show, for every cluster, the release it could move to and what the bot does about it now, and why",
		Long: `status applies the repository's policy (` + policy.FileName + `: schedules,
maintenance windows, freezes, minimum release age, allowed update types,
rollout waves) to every cluster and prints what the bot would do now:
propose (open or keep an upgrade pull request), wait (allowed later, and
until when) or skip (not allowed, or nothing newer). --now asks what it
would do at another time. It is the same decision the bot takes.`,
		Example: `  upgrade-bot status --repo ./gitops --releases ./releases
  upgrade-bot status --repo ./gitops --releases ./releases --now 2026-12-24T10:00:00+01:00 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if releasesDir == "" {
				return usageErrorf("--releases is required: the releases directory, e.g. --releases ./releases")
			}
			if output != "text" && output != "json" {
				return usageErrorf("--output %q: use text or json", output)
			}
			at := time.Now()
			if now != "" {
				t, err := time.Parse(time.RFC3339, now)
				if err != nil {
					return usageErrorf("--now %q: use RFC 3339, like 2026-12-24T10:00:00+01:00", now)
				}
				at = t
			}
			ctx := cmd.Context()
			catalog, err := releases.Load(ctx, releasesDir)
			if err != nil {
				return usageErrorf("--releases %s: %v", releasesDir, err)
			}
			pf, err := loadPolicy(repoDir, policyPath)
			if err != nil {
				return err
			}
			repo, err := render.Discover(ctx, repoDir, render.Options{VersionLabel: label})
			if err != nil {
				return usageErrorf("--repo %s: %v", repoDir, err)
			}
			planner := &bot.Planner{Catalog: catalog, Label: label, Locators: bot.Locators(pf, label)}
			d := &bot.Decider{Catalog: catalog, Policy: pf, Label: label, Since: sinceFromGit(repoDir, repo), Version: planner.VersionReader(ctx, repo)}
			decisions := d.Decide(repo, at)
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Now      time.Time      `json:"now"`
					Policy   string         `json:"policy"`
					Clusters []bot.Decision `json:"clusters"`
				}{at, pf.Name(), decisions})
			}
			return writeStatus(cmd.OutOrStdout(), decisions)
		},
	}
	f := cmd.Flags()
	f.StringVar(&repoDir, "repo", ".", "the GitOps repository")
	f.StringVar(&releasesDir, "releases", "", "the releases directory")
	f.StringVar(&policyPath, "policy", "", "the policy file (default: "+policy.FileName+" at the repository's root; none: the defaults)")
	f.StringVar(&label, "label", "", "the version label (default "+render.DefaultVersionLabel+")")
	f.StringVar(&now, "now", "", "decide as if it were this time (RFC 3339)")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// loadPolicy reads the policy file: the one given, else the repository's,
// else the defaults.
func loadPolicy(repoDir, file string) (*policy.File, error) {
	explicit := file != ""
	if !explicit {
		file = filepath.Join(repoDir, policy.FileName)
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return policy.Default(), nil
	}
	if err != nil {
		return nil, usageErrorf("reading the policy: %v", err)
	}
	pf, err := policy.Parse(data, file)
	if err != nil {
		return nil, usageErrorf("the policy file is not valid:\n%v", err)
	}
	return pf, nil
}

// sinceFromGit tells when each cluster reached its version, from the
// history of the git repository holding repoDir; nil outside one.
func sinceFromGit(repoDir string, repo *render.Repository) func(string) (time.Time, bool) {
	r, err := git.Open(repoDir)
	if err != nil {
		return nil
	}
	rel, err := filepath.Rel(r.Root(), repo.Root)
	if err != nil {
		return nil
	}
	return bot.SinceFromHistory(r, repo, filepath.ToSlash(rel))
}

func writeStatus(w io.Writer, ds []bot.Decision) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tCURRENT\tAVAILABLE\tTARGET\tWAVE\tACTION\tWHY")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, orDash(d.Current), orDash(d.Available), orDash(d.Target), orDash(d.Wave), d.Action, d.Reason)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
