package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
)

// applyCommand is the old workflow: patch the version label on the
// management cluster, after the same preview a plan shows.
func (a *app) applyCommand() *cobra.Command {
	var cluster, to, releasesDir, provider, label string
	var kube *genericclioptions.ConfigFlags
	var at string
	var yes, force bool
	cmd := &cobra.Command{
		Use:   "apply [--kubeconfig FILE] -n NAMESPACE --cluster NAME --to VERSION [--at TIME] [--yes]",
		Short: "Upgrade a cluster by patching its release label on the management cluster, after showing the rendered diff",
		Long: `apply is the old way of upgrading: it patches the release label of the
cluster's resources on the management cluster directly. It first renders the
change through the cluster's admission chain (a dry-run) and shows the diff of
every resource, then asks for confirmation on a terminal (or takes --yes).
Each patch checks the old value, so a label someone changed meanwhile is
reported, not overwritten. When Flux manages the cluster from git, prefer
'upgrade-bot propose': Flux would set the label back.`,
		Example: `  upgrade-bot apply --kubeconfig ~/.kube/mc.yaml -n org-acme --cluster peu01 --to v31.0.0`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cluster == "" || to == "" {
				return usageErrorf("--cluster and --to are required, e.g. --cluster peu01 --to v31.0.0")
			}
			var when time.Time
			if at != "" {
				var err error
				if when, err = parseAt(at); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			mc, err := connectWith(kube.ToRawKubeConfigLoader(), *kube.KubeConfig)
			if err != nil {
				return err
			}
			var catalog *releases.Catalog
			if releasesDir != "" {
				if catalog, err = releases.Load(ctx, releasesDir); err != nil {
					return usageErrorf("--releases %s: %v", releasesDir, err)
				}
			} else if catalog, err = releases.FromCluster(ctx, mc.client, cmp.Or(provider, "capa")); err != nil {
				return fmt.Errorf("reading the releases of %s: %w", mc.host, err)
			}
			ap := &bot.Applier{Cluster: dryrun.New(mc.client, mc.mapper, 8), Catalog: catalog, Label: label}
			preview, err := ap.Preview(ctx, mc.namespace, cluster, to, force)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			plan := &bot.Plan{Target: preview.Plan.To, Clusters: []*bot.ClusterPlan{preview.Plan}}
			if err := bot.WriteText(out, plan); err != nil {
				return err
			}
			if preview.Plan.Status != bot.StatusUpgrade {
				return nil
			}
			question := fmt.Sprintf("Patch the release label of %s on %s to v%s?", preview.Plan.ID(), mc.host, preview.Plan.To)
			if at != "" {
				question = fmt.Sprintf("Schedule the upgrade of %s to v%s at %s?", preview.Plan.ID(), preview.Plan.To, when.UTC().Format(time.RFC822))
			}
			if !yes {
				ok, err := confirm(cmd.InOrStdin(), out, question)
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(out, "Nothing was changed.")
					return nil
				}
			}
			if at != "" {
				if err := ap.Schedule(ctx, preview, when); err != nil {
					return err
				}
				fmt.Fprintf(out, "Cluster %s is scheduled to upgrade to v%s at %s.\n", preview.Plan.ID(), preview.Plan.To, when.UTC().Format(time.RFC822))
				return nil
			}
			done, err := ap.Apply(ctx, preview)
			for _, d := range done {
				fmt.Fprintf(out, "patched %s\n", d)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Cluster %s is upgrading to v%s.\n", preview.Plan.ID(), preview.Plan.To)
			return nil
		},
	}
	f := cmd.Flags()
	kube = kubectlFlags(f)
	f.StringVar(&cluster, "cluster", "", "the cluster's name")
	f.StringVar(&to, "to", "", "the target release, e.g. v31.0.0")
	f.StringVar(&releasesDir, "releases", "", "a releases directory; the management cluster's releases when empty")
	f.StringVar(&provider, "provider", "", "the release provider when the cluster has no Release resources (default capa)")
	f.StringVar(&label, "label", render.DefaultVersionLabel, "the label that holds a cluster's release version")
	f.StringVar(&at, "at", "", `schedule the upgrade instead, e.g. "2026-12-01 02:00" (UTC unless a zone is given; at least 16 minutes ahead): annotates the Cluster for the upgrade-schedule-operator`)
	f.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	f.BoolVar(&force, "force", false, "allow a downgrade or a skipped major version")
	return cmd
}

// parseAt reads --at: "2026-12-01 02:00" (UTC), RFC 3339, or RFC 822.
func parseAt(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04 MST", time.RFC3339, time.RFC822, time.RFC822Z} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageErrorf("--at %q: write the time as 2026-12-01 02:00 (UTC) or 2026-12-01T02:00:00+01:00", s)
}

// confirm asks a yes/no question on a terminal; elsewhere it refuses,
// since nobody can answer.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, usageErrorf("not asking for confirmation without a terminal: pass --yes to patch the management cluster")
	}
	fmt.Fprintf(out, "%s [y/N] ", question)
	answer, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes", nil
}

// kubectlFlags adds kubectl's connection flags (k8s.io/cli-runtime):
// --kubeconfig, --context, -n/--namespace, --as, --server, --user,
// --request-timeout and the TLS ones, so that `kubectl upgrade-bot apply`
// takes what kubectl takes. Left out: kubectl's --cluster (here it names
// the workload cluster) and the flags that would put a secret on the
// command line (--token, --password, --username): credentials come from
// the kubeconfig.
func kubectlFlags(f *pflag.FlagSet) *genericclioptions.ConfigFlags {
	kube := genericclioptions.NewConfigFlags(true)
	kube.ClusterName, kube.BearerToken, kube.Password, kube.Username = nil, nil, nil, nil
	kube.AddFlags(f)
	return kube
}
