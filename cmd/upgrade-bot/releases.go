package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

func (a *app) releasesCommand() *cobra.Command {
	var dir, provider, output string
	cmd := &cobra.Command{
		Use:     "releases --releases DIR [--provider NAME]",
		Short:   "List the release catalog with state and component versions",
		Example: `  upgrade-bot releases --releases ./releases --provider capa`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageErrorf("--releases is required: the releases directory (or UPGRADE_BOT_RELEASES)")
			}
			if output != "text" && output != "json" {
				return usageErrorf("--output %q: use text or json", output)
			}
			catalog, err := releases.Load(cmd.Context(), dir)
			if err != nil {
				return usageErrorf("--releases %s: %v", dir, err)
			}
			providers := catalog.Providers()
			if provider != "" {
				if !slices.Contains(providers, provider) {
					return usageErrorf("--provider %q: the catalog has %s", provider, strings.Join(providers, ", "))
				}
				providers = []string{provider}
			}
			if output == "json" {
				return writeReleasesJSON(cmd.OutOrStdout(), catalog, providers)
			}
			return writeReleasesText(cmd.OutOrStdout(), catalog, providers)
		},
	}
	cmd.Flags().StringVar(&dir, "releases", "", "the releases directory")
	cmd.Flags().StringVar(&provider, "provider", "", "only this provider")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func componentVersion(r *releases.Release, name string) string {
	for _, c := range r.Components {
		if c.Name == name || strings.HasPrefix(c.Name, name) {
			return c.Version
		}
	}
	return "—"
}

func writeReleasesText(w io.Writer, c *releases.Catalog, providers []string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tVERSION\tSTATE\tDATE\tKUBERNETES\tFLATCAR\tCLUSTER CHART\tAPPS\tBASE CONFIGMAPS")
	for _, p := range providers {
		for _, r := range c.List(p) {
			state := r.State
			if r.Archived {
				state += " (archived)"
			}
			date := "—"
			if !r.Date.IsZero() {
				date = r.Date.Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%s\tv%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", p, r.Version, state, date,
				componentVersion(r, "kubernetes"), componentVersion(r, "flatcar"), componentVersion(r, "cluster-"), len(r.Apps), len(r.Patches))
		}
	}
	for _, warn := range c.Warnings() {
		fmt.Fprintf(tw, "warning: %s\n", warn)
	}
	return tw.Flush()
}

func writeReleasesJSON(w io.Writer, c *releases.Catalog, providers []string) error {
	type jsonRelease struct {
		Provider   string               `json:"provider"`
		Version    string               `json:"version"`
		State      string               `json:"state"`
		Archived   bool                 `json:"archived"`
		Date       string               `json:"date,omitempty"`
		EndOfLife  string               `json:"endOfLife,omitempty"`
		Components []releases.Component `json:"components"`
		Apps       []releases.App       `json:"apps"`
		ConfigMaps []string             `json:"configMaps"`
		Changelog  string               `json:"changelog,omitempty"`
	}
	out := struct {
		Releases []jsonRelease `json:"releases"`
		Warnings []string      `json:"warnings"`
	}{Releases: []jsonRelease{}, Warnings: append([]string{}, c.Warnings()...)}
	for _, p := range providers {
		for _, r := range c.List(p) {
			jr := jsonRelease{Provider: p, Version: "v" + r.Version.String(), State: r.State, Archived: r.Archived, Components: r.Components, Apps: r.Apps, ConfigMaps: []string{}, Changelog: r.ChangelogURL}
			if !r.Date.IsZero() {
				jr.Date = r.Date.UTC().Format("2006-01-02T15:04:05Z")
			}
			if !r.EndOfLife.IsZero() {
				jr.EndOfLife = r.EndOfLife.UTC().Format("2006-01-02T15:04:05Z")
			}
			for _, kind := range sortedKeys(r.Patches) {
				jr.ConfigMaps = append(jr.ConfigMaps, r.Patches[kind].ConfigMap)
			}
			out.Releases = append(out.Releases, jr)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
