package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/examples"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

func (a *app) demoCommand() *cobra.Command {
	var cluster, to, output string
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Plan and propose an upgrade of the embedded example repository (no GitHub, no cluster needed)",
		Long: `demo writes the embedded example GitOps repository and releases directory to a
temporary directory, makes the repository a git repository with a bare "origin"
remote, then runs the same pipeline as:

  upgrade-bot plan    --repo gitops --releases releases --cluster peu01 --to v31.0.0
  upgrade-bot propose --repo gitops --releases releases --cluster peu01 --to v31.0.0 --push`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			dir, err := os.MkdirTemp("", "upgrade-bot-demo-")
			if err != nil {
				return fmt.Errorf("creating the demo directory: %w", err)
			}
			if keep {
				fmt.Fprintf(out, "# demo files kept in %s\n\n", dir)
			} else {
				defer os.RemoveAll(dir)
			}
			if err := writeFS(examples.FS, dir); err != nil {
				return err
			}
			repoDir, relDir, remoteDir := filepath.Join(dir, "gitops"), filepath.Join(dir, "releases"), filepath.Join(dir, "origin.git")
			author := git.Signature{Name: "upgrade-bot demo", Email: "demo@upgrade-bot.invalid"}
			repo, err := git.Init(ctx, repoDir, "Example GitOps repository", author)
			if err != nil {
				return fmt.Errorf("making the demo repository: %w", err)
			}
			if err := git.InitBare(remoteDir); err != nil {
				return fmt.Errorf("making the demo remote: %w", err)
			}
			if err := repo.AddRemote("origin", remoteDir); err != nil {
				return fmt.Errorf("adding the demo remote: %w", err)
			}

			o := &planOptions{repo: repoDir, releases: relDir, clusters: []string{cluster}, to: to, label: render.DefaultVersionLabel, output: output}
			if err := o.validate(); err != nil {
				return err
			}
			fmt.Fprintf(out, "$ upgrade-bot plan --repo gitops --releases releases --cluster %s --to %s\n\n", cluster, to)
			p, err := a.plan(ctx, o, bot.ModePlan)
			if err != nil {
				return err
			}
			if err := writePlan(out, output, p); err != nil {
				return err
			}

			fmt.Fprintf(out, "\n$ upgrade-bot propose --repo gitops --releases releases --cluster %s --to %s --push\n\n", cluster, to)
			prop := &bot.Proposer{Git: repo, Author: author, Push: true, Remote: "origin"}
			if err := prop.CheckClean(); err != nil {
				return err
			}
			proposals, err := prop.Propose(ctx, p)
			if err != nil {
				return err
			}
			return writeProposals(out, output, p, proposals)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cluster, "cluster", "peu01", "the example cluster to upgrade")
	f.StringVar(&to, "to", "v31.0.0", "the target release")
	f.StringVarP(&output, "output", "o", "text", "output format: text, markdown or json")
	f.BoolVar(&keep, "keep", false, "keep the demo directory and print its path")
	return cmd
}

// writeFS copies the embedded examples below dir.
func writeFS(src fs.FS, dir string) error {
	err := fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".go") {
			return nil
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("writing the examples to %s: %w", dir, err)
	}
	return nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
