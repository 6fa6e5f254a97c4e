package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

// planOptions are the flags shared by plan and propose.
type planOptions struct {
	repo     string
	releases string
	clusters []string
	all      bool
	to       string
	provider string
	label    string
	force    bool
	output   string
	// kubeconfig and kubeContext select a management cluster to render
	// through; offline rendering when kubeconfig is empty.
	kubeconfig  string
	kubeContext string
}

func (o *planOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", ".", "the GitOps repository (a directory)")
	f.StringVar(&o.releases, "releases", "", "the releases directory (<provider>/v<X.Y.Z>/release.yaml and base/ ConfigMaps)")
	f.StringArrayVar(&o.clusters, "cluster", nil, "cluster to upgrade, by name or namespace/name (repeatable)")
	f.BoolVar(&o.all, "all", false, "upgrade every cluster of the repository that can be upgraded")
	f.StringVar(&o.to, "to", "", "the target release, e.g. v31.0.0")
	f.StringVar(&o.provider, "provider", "", "release provider (capa, azure, ...); inferred from the cluster's infrastructure kind when empty")
	f.StringVar(&o.label, "label", render.DefaultVersionLabel, "the label that holds a cluster's release version")
	f.BoolVar(&o.force, "force", false, "allow a downgrade or a skipped major version; the warning stays in the output")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, markdown or json")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "render through this management cluster (server-side dry-run through its admission chain) instead of offline")
	f.StringVar(&o.kubeContext, "context", "", "the kubeconfig context to use with --kubeconfig")
}

func (o *planOptions) validate() error {
	if o.releases == "" && o.kubeconfig == "" {
		return usageErrorf("--releases is required: the releases directory, e.g. --releases ./releases (or UPGRADE_BOT_RELEASES); with --kubeconfig the management cluster's releases are used")
	}
	if o.to == "" {
		return usageErrorf("--to is required: the release to upgrade to, e.g. --to v31.0.0")
	}
	switch o.output {
	case "text", "markdown", "json":
	default:
		return usageErrorf("--output %q: use text, markdown or json", o.output)
	}
	return nil
}

func (o *planOptions) request(mode bot.Mode) bot.Request {
	return bot.Request{Clusters: o.clusters, All: o.all, Target: o.to, Provider: o.provider, Force: o.force, Mode: mode, Actor: "cli"}
}

// plan loads the catalog and runs the pipeline.
func (a *app) plan(ctx context.Context, o *planOptions, mode bot.Mode) (*bot.Plan, error) {
	var mc *managementCluster
	if o.kubeconfig != "" {
		var err error
		if mc, err = connect(o.kubeconfig, o.kubeContext); err != nil {
			return nil, err
		}
	}
	var catalog *releases.Catalog
	var err error
	if o.releases != "" {
		if catalog, err = releases.Load(ctx, o.releases); err != nil {
			return nil, usageErrorf("--releases %s: %v", o.releases, err)
		}
	} else {
		provider := o.provider
		if provider == "" {
			provider = "capa"
		}
		if catalog, err = releases.FromCluster(ctx, mc.client, provider); err != nil {
			return nil, fmt.Errorf("reading the releases of %s: %w", mc.host, err)
		}
	}
	for _, w := range catalog.Warnings() {
		a.log.Warn("release catalog", "problem", w)
	}
	p := &bot.Planner{Catalog: catalog, Label: o.label, Progress: a.progress(), Log: a.log}
	if mc != nil {
		p.Renderer = bot.ClusterRenderer{Objects: dryrun.New(mc.client, mc.mapper, 8)}
	}
	return p.Plan(ctx, o.repo, o.request(mode))
}

// managementCluster is a connection to the management cluster.
type managementCluster struct {
	host string
	// namespace is the kubeconfig context's namespace, "default" when unset.
	namespace string
	client    dynamic.Interface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
}

// connect reaches the management cluster of a kubeconfig.
// Without kubeconfig it follows kubectl: $KUBECONFIG, then ~/.kube/config.
func connect(kubeconfig, kubeContext string) (*managementCluster, error) {
	return connectWith(loader(kubeconfig, kubeContext), kubeconfig)
}

// connectWith reaches the management cluster of a loaded kubeconfig;
// kubeconfig names the file given explicitly, for messages.
func connectWith(loader clientcmd.ClientConfig, kubeconfig string) (*managementCluster, error) {
	cfg, namespace, err := restConfig(loader, kubeconfig)
	if err != nil {
		return nil, err
	}
	// Bounded but not slow: a plan of many clusters sends two dry-runs per
	// resource.
	cfg.QPS, cfg.Burst = 50, 100
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	return &managementCluster{host: cfg.Host, namespace: namespace, client: client, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))}, nil
}

// restConfig is the REST configuration and namespace of a loaded
// kubeconfig — or, without one inside a pod, of its service account.
func restConfig(loader clientcmd.ClientConfig, kubeconfig string) (*rest.Config, string, error) {
	cfg, err := loader.ClientConfig()
	if err != nil {
		if kubeconfig == "" {
			return nil, "", usageErrorf("no management cluster: %v; pass --kubeconfig or set KUBECONFIG", err)
		}
		return nil, "", usageErrorf("--kubeconfig %s: %v", kubeconfig, err)
	}
	namespace, _, err := loader.Namespace()
	if err != nil || namespace == "" {
		namespace = "default"
	}
	return cfg, namespace, nil
}

// loader loads a kubeconfig as kubectl does: kubeconfig, else $KUBECONFIG,
// else ~/.kube/config, else the pod's service account.
func loader(kubeconfig, kubeContext string) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
}

// progress reports planning progress on a terminal, for runs of many
// clusters; nil elsewhere.
func (a *app) progress() func(done, total int) {
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(done, total int) {
		if total < 20 {
			return
		}
		if done%50 == 0 || done == total {
			fmt.Fprintf(f, "\rplanning clusters: %d/%d", done, total)
			if done == total {
				fmt.Fprint(f, "\r\033[K")
			}
		}
	}
}

func writePlan(w io.Writer, format string, p *bot.Plan) error {
	switch format {
	case "json":
		return bot.WriteJSON(w, p)
	case "markdown":
		return bot.WriteMarkdown(w, p)
	default:
		return bot.WriteText(w, p)
	}
}

func (a *app) planCommand() *cobra.Command {
	o := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan --releases DIR --to VERSION [--cluster NAME ... | --all]",
		Short: "Show what upgrading clusters to a release changes, in git and in every cluster resource",
		Example: `  upgrade-bot plan --repo ./gitops --releases ./releases --cluster peu01 --to v31.0.0
  upgrade-bot plan --repo ./gitops --releases ./releases --all --to v31.0.0 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			p, err := a.plan(cmd.Context(), o, bot.ModePlan)
			if err != nil {
				return err
			}
			return writePlan(cmd.OutOrStdout(), o.output, p)
		},
	}
	o.addFlags(cmd)
	return cmd
}

type proposeOptions struct {
	planOptions
	push        bool
	remote      string
	authorName  string
	authorEmail string
	username    string
	tokenFile   string
}

func (a *app) proposeCommand() *cobra.Command {
	o := &proposeOptions{}
	cmd := &cobra.Command{
		Use:   "propose --releases DIR --to VERSION [--cluster NAME ... | --all] [--push]",
		Short: "Commit the bump on branch upgrade-bot/<cluster>/<version> and print the pull request it makes",
		Long: `propose plans like 'plan', then commits each cluster's bump on its own branch
upgrade-bot/<cluster>/v<version>, on top of HEAD, without touching the work tree.
It prints the title, body and diff comment of the pull request a forge gets.
Running it again with the same target reuses the branch.`,
		Example: `  upgrade-bot propose --repo ./gitops --releases ./releases --cluster peu01 --to v31.0.0 --push`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			repo, err := git.Open(o.repo)
			if err != nil {
				return usageErrorf("--repo %s: %v", o.repo, err)
			}
			cred, err := o.credential()
			if err != nil {
				return err
			}
			dir, err := relativeDir(repo.Root(), o.repo)
			if err != nil {
				return err
			}
			prop := &bot.Proposer{Git: repo, Dir: dir, Author: git.Signature{Name: o.authorName, Email: o.authorEmail}, Push: o.push, Remote: o.remote, Credential: cred}
			if err := prop.CheckClean(); err != nil {
				return err
			}
			p, err := a.plan(ctx, &o.planOptions, bot.ModePropose)
			if err != nil {
				return err
			}
			proposals, err := prop.Propose(ctx, p)
			if err != nil {
				return err
			}
			return writeProposals(cmd.OutOrStdout(), o.output, p, proposals)
		},
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.push, "push", false, "push each branch to --remote")
	f.StringVar(&o.remote, "remote", "origin", "the remote to push to")
	f.StringVar(&o.authorName, "author-name", "upgrade-bot", "commit author name")
	f.StringVar(&o.authorEmail, "author-email", "upgrade-bot@users.noreply.github.com", "commit author email")
	f.StringVar(&o.username, "git-username", "x-access-token", "user name for HTTP pushes with --git-token-file")
	f.StringVar(&o.tokenFile, "git-token-file", "", "file holding the token for HTTP pushes (or UPGRADE_BOT_GIT_TOKEN)")
	return cmd
}

// relativeDir is dir relative to the work tree root, slash-separated; ""
// for the root itself.
func relativeDir(root, dir string) (string, error) {
	resolve := func(p string) (string, error) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		return filepath.EvalSymlinks(abs)
	}
	r, err := resolve(root)
	if err != nil {
		return "", fmt.Errorf("resolving the repository root %s: %w", root, err)
	}
	d, err := resolve(dir)
	if err != nil {
		return "", usageErrorf("--repo %s: %v", dir, err)
	}
	rel, err := filepath.Rel(r, d)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("--repo %s is outside its git work tree %s", dir, root)
	}
	if rel == "." {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}

// credential reads the push token from its file or UPGRADE_BOT_GIT_TOKEN.
func (o *proposeOptions) credential() (*git.Credential, error) {
	token := os.Getenv(envPrefix + "GIT_TOKEN")
	if o.tokenFile != "" {
		b, err := os.ReadFile(filepath.Clean(o.tokenFile))
		if err != nil {
			return nil, usageErrorf("reading --git-token-file: %v", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, nil
	}
	return &git.Credential{Username: o.username, Password: token}, nil
}

func writeProposals(w io.Writer, format string, p *bot.Plan, proposals []*bot.Proposal) error {
	if format == "json" {
		type jsonProposal struct {
			Cluster string `json:"cluster"`
			Branch  string `json:"branch"`
			Commit  string `json:"commit"`
			Reused  bool   `json:"reused"`
			Pushed  bool   `json:"pushed"`
			Title   string `json:"title"`
			Body    string `json:"body"`
			Comment string `json:"comment"`
		}
		out := struct {
			Proposals []jsonProposal `json:"proposals"`
		}{Proposals: []jsonProposal{}}
		for _, pr := range proposals {
			out.Proposals = append(out.Proposals, jsonProposal{Cluster: pr.Cluster.ID(), Branch: pr.Branch, Commit: pr.Commit, Reused: pr.Reused, Pushed: pr.Pushed, Title: pr.Title, Body: pr.Body, Comment: pr.Comment})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	var b strings.Builder
	for _, pr := range proposals {
		state := "created"
		if pr.Reused {
			state = "already holds this change, reused"
		}
		fmt.Fprintf(&b, "Branch %s (%s) at %s", pr.Branch, state, short(pr.Commit))
		if pr.Pushed {
			b.WriteString(", pushed")
		}
		b.WriteString("\n\n")
		fmt.Fprintf(&b, "=== Pull request title\n%s\n\n=== Pull request body\n%s\n=== Diff comment\n%s\n", pr.Title, pr.Body, pr.Comment)
	}
	up, cur, skip := p.Counts()
	fmt.Fprintf(&b, "%d branch(es) for %d cluster(s) to upgrade; %d already on v%s, %d skipped.\n", len(proposals), up, cur, p.Target, skip)
	for _, c := range p.Clusters {
		if c.Status == bot.StatusSkipped {
			fmt.Fprintf(&b, "  skipped %s: %s\n", c.ID(), c.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
