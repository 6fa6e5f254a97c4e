package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/bot/server"
	"github.com/upgrade-bot/upgrade-bot/kubeevents"
	"github.com/upgrade-bot/upgrade-bot/leader"
	"github.com/upgrade-bot/upgrade-bot/metrics"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
	"github.com/upgrade-bot/upgrade-bot/vcs"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
	"github.com/upgrade-bot/upgrade-bot/vcs/github"
	"github.com/upgrade-bot/upgrade-bot/vcs/gitlab"
)

// serveOptions configure `upgrade-bot serve`. Secrets are never flag
// values: they are read from the files the flags name, or from the
// environment variables named in secretEnv.
type serveOptions struct {
	config string
	listen string

	githubURL, githubTokenFile, githubAppKeyFile, githubSecretFile string
	githubAppID, githubInstallationID                              int64
	gitlabURL, gitlabTokenFile, gitlabSecretFile                   string
	githubPace, gitlabPace                                         vcs.Pace
	githubCacheMiB                                                 int

	releases, kubeconfig, kubeContext, provider, label string
	releasesRef, releasesSubdir                        string
	releasesGitUsername, releasesGitTokenFile          string
	releasesPollInterval                               time.Duration
	repos, allow                                       []string
	workdir, authorName, authorEmail                   string
	scanInterval, scanWindow                           time.Duration
	watchLabels                                        bool
	reconcileInterval                                  time.Duration
	followTimeout                                      time.Duration
	inCluster                                          bool

	leaderElect                                         bool
	leaseNamespace, leaseName, leaseIdentity            string
	leaseDuration, leaseRenewDeadline, leaseRetryPeriod time.Duration

	server server.Options
}

// The environment variables that may hold secrets instead of files.
const (
	envGitHubToken         = envPrefix + "GITHUB_TOKEN"
	envGitHubAppKey        = envPrefix + "GITHUB_APP_KEY"
	envGitHubWebhookSecret = envPrefix + "GITHUB_WEBHOOK_SECRET"
	envGitLabToken         = envPrefix + "GITLAB_TOKEN"
	envGitLabWebhookSecret = envPrefix + "GITLAB_WEBHOOK_SECRET"
	envReleasesGitToken    = envPrefix + "RELEASES_GIT_TOKEN"
)

func (o *serveOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.config, "config", "", "a YAML file of flag values (keys are flag names); flags and UPGRADE_BOT_* variables win over it")
	f.StringVar(&o.listen, "listen", ":8080", "address to serve webhooks, /healthz, /readyz and /metrics on")
	f.StringVar(&o.githubURL, "github-url", "", "GitHub API base URL, for GitHub Enterprise (https://ghe.example.com/api/v3/); github.com when empty")
	f.StringVar(&o.githubTokenFile, "github-token-file", "", "file holding a GitHub token (or set "+envGitHubToken+")")
	f.Int64Var(&o.githubAppID, "github-app-id", 0, "GitHub App id, to authenticate as an App instead of with a token")
	f.StringVar(&o.githubAppKeyFile, "github-app-key-file", "", "file holding the GitHub App's private key, PEM (or set "+envGitHubAppKey+")")
	f.Int64Var(&o.githubInstallationID, "github-installation-id", 0, "the App's installation id; looked up per repository when 0")
	f.StringVar(&o.githubSecretFile, "github-webhook-secret-file", "", "file holding the GitHub webhook secret (or set "+envGitHubWebhookSecret+")")
	f.StringVar(&o.gitlabURL, "gitlab-url", "", "GitLab base URL, for self-managed GitLab (https://gitlab.example.com); gitlab.com when empty")
	f.StringVar(&o.gitlabTokenFile, "gitlab-token-file", "", "file holding a GitLab access token with the api scope (or set "+envGitLabToken+")")
	f.StringVar(&o.gitlabSecretFile, "gitlab-webhook-secret-file", "", "file holding the GitLab webhook secret token (or set "+envGitLabWebhookSecret+")")
	gh, gl := vcs.DefaultPace("github"), vcs.DefaultPace("gitlab")
	f.IntVar(&o.githubPace.PerMinute, "github-pace-per-minute", gh.PerMinute, "most content-creating GitHub requests (pull requests, comments, edits, reactions) per minute, for all repositories together; 0 is no limit")
	f.IntVar(&o.githubPace.PerHour, "github-pace-per-hour", gh.PerHour, "most content-creating GitHub requests per hour, for all repositories together; 0 is no limit")
	f.IntVar(&o.gitlabPace.PerMinute, "gitlab-pace-per-minute", gl.PerMinute, "most content-creating GitLab requests (merge requests, notes, edits, award emoji) per minute, for all projects together; 0 is no limit")
	f.IntVar(&o.gitlabPace.PerHour, "gitlab-pace-per-hour", gl.PerHour, "most content-creating GitLab requests per hour, for all projects together; 0 is no limit")
	f.IntVar(&o.githubCacheMiB, "github-cache-mib", 32, "memory for remembered GitHub answers, revalidated with conditional requests (a 304 does not count against the rate limit); 0 turns the cache off")
	f.StringVar(&o.releases, "releases", "", "releases directory, or a git repository holding one (https://, http:// or file:// URL), polled for new releases (offline rendering); without it, --kubeconfig's releases are used")
	f.StringVar(&o.releasesRef, "releases-ref", "", "with a git --releases: the branch to follow (default: the repository's default branch)")
	f.StringVar(&o.releasesSubdir, "releases-subdir", "", "with a git --releases: the releases directory inside the repository (default: its root)")
	f.DurationVar(&o.releasesPollInterval, "releases-poll-interval", time.Minute, "how often to check --releases for changes (a directory: its files' sizes and times; a git repository: its branch's tip, fetched only when it moved); 0 reads it at start-up only")
	f.StringVar(&o.releasesGitUsername, "releases-git-username", "", "with a git --releases over HTTP(S): the user name sent with the token (default x-access-token, as GitHub expects)")
	f.StringVar(&o.releasesGitTokenFile, "releases-git-token-file", "", "with a git --releases over HTTP(S): file holding a token that may read the repository (or set "+envReleasesGitToken+")")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "management cluster to read releases from and render through (server-side dry-run)")
	f.StringVar(&o.kubeContext, "context", "", "the kubeconfig context to use")
	f.BoolVar(&o.inCluster, "in-cluster", false, "the management cluster is the one the bot runs on: read releases from it and render through it with the pod's service account (no --kubeconfig)")
	f.BoolVar(&o.leaderElect, "leader-elect", false, "run several replicas: only the one holding a coordination Lease runs the watches, scans and reconciles and takes webhooks; the others stay alive and unready until they take over")
	f.StringVar(&o.leaseNamespace, "leader-election-namespace", "", "the Lease's namespace (default: the kubeconfig's namespace, in a pod its own)")
	f.StringVar(&o.leaseName, "leader-election-name", "upgrade-bot", "the Lease's name")
	f.StringVar(&o.leaseIdentity, "leader-election-identity", "", "this replica's name in the Lease (default: $POD_NAME, else the host name)")
	f.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 15*time.Second, "how long followers wait after the leader's last renewal before they take over")
	f.DurationVar(&o.leaseRenewDeadline, "leader-election-renew-deadline", 10*time.Second, "how long the leader tries to renew before it stops working")
	f.DurationVar(&o.leaseRetryPeriod, "leader-election-retry-period", 2*time.Second, "how often replicas try to acquire or renew the Lease")
	f.StringVar(&o.provider, "provider", "capa", "release provider of the management cluster's releases")
	f.StringVar(&o.label, "label", "", "the cluster label holding the release version (default release.giantswarm.io/version)")
	f.StringArrayVar(&o.repos, "repo", nil, "a repository to serve, owner/name (repeatable); every repository that sends webhooks when none is given")
	f.StringArrayVar(&o.allow, "allow", nil, "a person who may run commands without write permission (repeatable)")
	f.StringVar(&o.workdir, "workdir", "", "directory for the bot's clones (default: a directory under the user cache directory)")
	f.StringVar(&o.authorName, "author-name", "upgrade-bot", "name on the bot's commits")
	f.StringVar(&o.authorEmail, "author-email", "upgrade-bot@users.noreply.github.com", "email on the bot's commits")
	f.DurationVar(&o.scanInterval, "scan-interval", 10*time.Minute, "how often to look for unanswered commands (0 turns the periodic scan off; the start-up scan always runs)")
	f.DurationVar(&o.scanWindow, "scan-window", 72*time.Hour, "how far back the scan looks for unanswered commands")
	f.DurationVar(&o.reconcileInterval, "reconcile-interval", 15*time.Minute, "how often to open the release-driven upgrade pull requests the repositories' policies allow (0 turns it off; a new release also triggers it)")
	f.BoolVar(&o.watchLabels, "watch-labels", true, "with --kubeconfig and one --repo: open a pull request when a cluster's version label is changed on the management cluster outside git")
	f.DurationVar(&o.followTimeout, "follow-timeout", 2*time.Hour, "with --kubeconfig: how long to follow a merged upgrade on the management cluster before commenting that it has not finished")
	o.server.AddFlags(f)
}

func (a *app) serveCommand() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the bot: answer /upgrade commands and render version changes in pull requests",
		Long: `serve receives GitHub and GitLab webhooks on /webhooks/github and
/webhooks/gitlab, runs /upgrade commands from comments, opens pull requests
with the bump and the rendered diff, and comments the rendered diff on pull
requests that change a cluster's version. See the README for the App
permissions, token scopes and events to subscribe.`,
		Example: `  upgrade-bot serve --config examples/serve/config.yaml
  UPGRADE_BOT_GITHUB_TOKEN=... upgrade-bot serve --github-webhook-secret-file /etc/upgrade-bot/secret --releases ./releases`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := loadConfigFile(cmd.Flags(), o.config); err != nil {
				return err
			}
			return a.serve(cmd.Context(), o)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// loadConfigFile sets every flag that neither the command line nor the
// environment set from the YAML file's key of the same name.
func loadConfigFile(flags *pflag.FlagSet, path string) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return usageErrorf("--config: %v", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		return usageErrorf("--config %s: %v", path, err)
	}
	dir := filepath.Dir(path)
	for key, v := range values {
		f := flags.Lookup(key)
		if f == nil || key == "config" {
			return usageErrorf("--config %s: %q is not a flag of serve (see upgrade-bot serve --help)", path, key)
		}
		if f.Changed {
			continue
		}
		items := []any{v}
		if list, ok := v.([]any); ok {
			items = list
		}
		for _, item := range items {
			s := fmt.Sprint(item)
			if fl, ok := item.(float64); ok && fl == float64(int64(fl)) {
				s = strconv.FormatInt(int64(fl), 10)
			}
			if isPathFlag(key) && s != "" && !filepath.IsAbs(s) && !isURL(s) {
				s = filepath.Join(dir, s)
			}
			if err := f.Value.Set(s); err != nil {
				return usageErrorf("--config %s: %s: %v", path, key, err)
			}
		}
	}
	return nil
}

// pathFlags are the flags whose relative values in a config file are
// taken from the file's directory, so the file works from anywhere.
func isPathFlag(name string) bool {
	switch name {
	case "releases", "kubeconfig", "workdir",
		"github-token-file", "github-app-key-file", "github-webhook-secret-file",
		"gitlab-token-file", "gitlab-webhook-secret-file", "releases-git-token-file":
		return true
	}
	return false
}

// secret reads a secret from a file, or else from an environment
// variable; "" when neither is set.
func secret(file, env string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, usageErrorf("reading the secret file %s: %v", file, err)
		}
		return []byte(strings.TrimSpace(string(b))), nil
	}
	return []byte(strings.TrimSpace(os.Getenv(env))), nil
}

func (a *app) serve(ctx context.Context, o *serveOptions) error {
	// One registry for the server's metrics, the bot's and the forges'.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	forgeMetrics, err := metrics.NewForges(reg)
	if err != nil {
		return err
	}
	providers, err := a.forges(ctx, o, forgeMetrics)
	if err != nil {
		return err
	}
	if o.releases == "" && o.kubeconfig == "" && !o.inCluster {
		return usageErrorf("--releases, --kubeconfig or --in-cluster is required: where the releases come from")
	}
	if o.workdir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return usageErrorf("no --workdir and no user cache directory: %v", err)
		}
		o.workdir = filepath.Join(cache, "upgrade-bot")
	}
	author := git.Signature{Name: o.authorName, Email: o.authorEmail}

	var catalog atomic.Pointer[releases.Catalog]
	svc := &bot.Service{
		Catalog: catalog.Load, Label: o.label, Workdir: o.workdir, Author: author,
		Allow: o.allow, Repos: o.repos, Log: a.log,
	}
	// newRelease wakes the reconcile loop when a release appears.
	newRelease := make(chan struct{}, 1)
	wake := func() {
		select {
		case newRelease <- struct{}{}:
		default:
		}
	}
	// background are the watches that run beside the server.
	var background []func(context.Context) error
	if o.releases != "" {
		poller, err := a.releasePoller(ctx, o)
		if err != nil {
			return err
		}
		svc.Catalog = poller.Catalog
		background = append(background, func(ctx context.Context) error {
			poller.Run(ctx, o.releasesPollInterval, func(releases.NewRelease) { wake() })
			return nil
		})
	} else {
		mc, err := connect(o.kubeconfig, o.kubeContext)
		if err != nil {
			return err
		}
		c, err := releases.FromCluster(ctx, mc.client, o.provider)
		if err != nil {
			return fmt.Errorf("reading the releases of %s: %w", mc.host, err)
		}
		catalog.Store(c)
		renderer := dryrun.New(mc.client, mc.mapper, 8)
		svc.Renderer = bot.ClusterRenderer{Objects: renderer}
		svc.Follow = bot.Following{Clusters: renderer, Timeout: o.followTimeout}
		svc.Events = kubeevents.New(mc.client, mc.mapper)
		if o.watchLabels {
			drift, err := driftWatch(a, svc, renderer, providers, o)
			if err != nil {
				return err
			}
			background = append(background, drift)
		}
		watcher := releases.NewWatcher(mc.client, o.provider)
		background = append(background, func(ctx context.Context) error {
			return watcher.Run(ctx, func(r releases.NewRelease) {
				fresh, err := releases.FromCluster(ctx, mc.client, o.provider)
				if err != nil {
					a.log.Error("reloading the releases after a new one appeared", "release", r, "error", err)
					return
				}
				catalog.Store(fresh)
				a.log.Info("a new release appeared; the catalog was reloaded", "release", r)
				wake()
			})
		})
	}
	for _, w := range svc.Catalog().Warnings() {
		a.log.Warn("release catalog", "problem", w)
	}

	elector, err := a.elector(o)
	if err != nil {
		return err
	}
	opts := o.server
	if elector != nil {
		opts.Active = elector.Active
	}
	opts.Registerer, opts.Gatherer = reg, reg
	if svc.Metrics, err = metrics.New(reg, sortedNames(providers)); err != nil {
		return err
	}
	opts.Providers = providers
	opts.Handler = svc
	opts.Logger = a.log
	srv, err := server.New(opts)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usageErrorf("--listen %s: %v", o.listen, err)
	}
	a.log.Info("serving webhooks", "address", ln.Addr().String(), "forges", strings.Join(sortedNames(providers), ","), "repos", o.repos, "workdir", o.workdir)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	svc.Lifetime = ctx
	// work is what one replica does beside answering webhooks: the
	// watches, the scan and the reconcile, until ctx ends.
	work := func(ctx context.Context) {
		var wg sync.WaitGroup
		for _, watch := range background {
			wg.Go(func() {
				if err := watch(ctx); err != nil && ctx.Err() == nil {
					a.log.Error("a watch stopped", "error", err)
				}
			})
		}
		wg.Go(func() { a.scanLoop(ctx, svc, providers, o) })
		wg.Go(func() { a.reconcileLoop(ctx, svc, providers, o, newRelease) })
		wg.Wait()
	}
	// The work stops with the server: once it has finished or abandoned
	// its jobs, the work is cancelled and waited for (and only then is the
	// Lease given up).
	var wg sync.WaitGroup
	if elector != nil {
		wg.Go(func() { elector.Run(ctx, work) })
	} else {
		wg.Go(func() { work(ctx) })
	}
	err = srv.Run(ctx, ln)
	cancel()
	wg.Wait()
	return err
}

// elector is the leader election --leader-elect asks for, nil without it.
func (a *app) elector(o *serveOptions) (*leader.Elector, error) {
	if !o.leaderElect {
		return nil, nil
	}
	cfg, namespace, err := restConfig(loader(o.kubeconfig, o.kubeContext), o.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--leader-elect needs the cluster that holds the Lease: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s for the leader election: %w", cfg.Host, err)
	}
	identity := cmp.Or(o.leaseIdentity, os.Getenv("POD_NAME"))
	if identity == "" {
		if identity, err = os.Hostname(); err != nil {
			return nil, usageErrorf("--leader-elect: no --leader-election-identity, no POD_NAME and no host name: %v", err)
		}
	}
	el, err := leader.New(client, leader.Options{
		Namespace: cmp.Or(o.leaseNamespace, namespace), Name: o.leaseName, Identity: identity,
		LeaseDuration: o.leaseDuration, RenewDeadline: o.leaseRenewDeadline, RetryPeriod: o.leaseRetryPeriod, Log: a.log,
	})
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return el, nil
}

// releasePoller reads --releases, a directory or a git repository, and
// returns the poller that follows it.
func (a *app) releasePoller(ctx context.Context, o *serveOptions) (*bot.ReleasePoller, error) {
	if o.releasesPollInterval < 0 {
		return nil, usageErrorf("--releases-poll-interval %s: use 0 (read at start-up only) or more", o.releasesPollInterval)
	}
	if !isURL(o.releases) {
		if isSSH(o.releases) {
			return nil, usageErrorf("--releases %s: git over ssh is not supported; use the repository's https:// URL with --releases-git-token-file", o.releases)
		}
		for _, f := range []struct{ flag, value string }{
			{"--releases-ref", o.releasesRef}, {"--releases-subdir", o.releasesSubdir}, {"--releases-git-token-file", o.releasesGitTokenFile},
		} {
			if f.value != "" {
				return nil, usageErrorf("%s is for a git repository, but --releases %s is a directory: give its https://, http:// or file:// URL", f.flag, o.releases)
			}
		}
		p, err := bot.NewDirReleasePoller(ctx, o.releases, a.log)
		if err != nil {
			return nil, usageErrorf("--releases %s: %v", o.releases, err)
		}
		return p, nil
	}
	branch := strings.TrimPrefix(o.releasesRef, "refs/heads/")
	if strings.HasPrefix(branch, "refs/") {
		return nil, usageErrorf("--releases-ref %s: give a branch, such as main", o.releasesRef)
	}
	g := bot.GitReleases{URL: o.releases, Branch: branch, Subdir: o.releasesSubdir, Workdir: o.workdir}
	token, err := secret(o.releasesGitTokenFile, envReleasesGitToken)
	if err != nil {
		return nil, err
	}
	if len(token) > 0 {
		g.Credential = &git.Credential{Username: o.releasesGitUsername, Password: string(token)}
	}
	p, err := bot.NewGitReleasePoller(ctx, g, a.log)
	if err != nil {
		return nil, fmt.Errorf("--releases: %w", err)
	}
	return p, nil
}

// isURL tells whether --releases names a git repository to clone rather
// than a directory.
func isURL(s string) bool {
	for _, scheme := range []string{"https://", "http://", "file://"} {
		if strings.HasPrefix(s, scheme) {
			return true
		}
	}
	return false
}

// isSSH tells whether s is an ssh URL or an scp-like address
// (git@github.com:giantswarm/releases.git).
func isSSH(s string) bool {
	if strings.HasPrefix(s, "ssh://") || strings.HasPrefix(s, "git+ssh://") {
		return true
	}
	user, rest, ok := strings.Cut(s, "@")
	host, _, hasColon := strings.Cut(rest, ":")
	return ok && hasColon && user != "" && host != "" && !strings.ContainsAny(user+host, "/")
}

// driftWatch watches the clusters' version labels on the management
// cluster and brings git in line when one changes outside git. It needs to
// know which repository holds the clusters: the one --repo.
func driftWatch(a *app, svc *bot.Service, mc *dryrun.Renderer, providers map[string]vcs.Provider, o *serveOptions) (func(context.Context) error, error) {
	if len(o.repos) != 1 || len(providers) != 1 {
		return nil, usageErrorf("--watch-labels needs exactly one --repo on one forge, the repository that holds the management cluster's clusters (%d repositories, %d forges given); pass --watch-labels=false to run without it", len(o.repos), len(providers))
	}
	var p vcs.Provider
	for _, only := range providers {
		p = only
	}
	repo := o.repos[0]
	label := o.label
	if label == "" {
		label = render.DefaultVersionLabel
	}
	return func(ctx context.Context) error {
		return mc.WatchLabel(ctx, label, nil, func(ch dryrun.LabelChange) {
			if err := svc.Drift(ctx, p, repo, ch); err != nil {
				a.log.Error("bringing git in line with the management cluster", "cluster", ch.Namespace+"/"+ch.Name, "to", ch.To, "error", err)
			}
		})
	}, nil
}

// scanLoop answers the commands the webhooks missed: once at start-up,
// then every scan interval.
func (a *app) scanLoop(ctx context.Context, svc *bot.Service, providers map[string]vcs.Provider, o *serveOptions) {
	if len(o.repos) == 0 {
		a.log.Warn("no --repo given: commands missed while the bot was down are not looked for; name the repositories to serve to have them scanned")
		return
	}
	for {
		since := time.Now().Add(-o.scanWindow)
		for _, name := range sortedNames(providers) {
			for _, repo := range o.repos {
				n, err := svc.Scan(ctx, providers[name], repo, since)
				if err != nil {
					a.log.Warn("scanning for unanswered commands", "forge", name, "repo", repo, "error", err)
				} else if n > 0 {
					a.log.Info("answered commands found by the scan", "forge", name, "repo", repo, "comments", n)
				}
			}
		}
		if o.scanInterval <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(o.scanInterval):
		}
	}
}

// reconcileLoop opens the release-driven pull requests the policies
// allow: at start-up, every reconcile interval and when a release appears
// (the releases poller or the management cluster's watch sends on
// newRelease).
func (a *app) reconcileLoop(ctx context.Context, svc *bot.Service, providers map[string]vcs.Provider, o *serveOptions, newRelease <-chan struct{}) {
	if o.reconcileInterval <= 0 || len(o.repos) == 0 {
		return
	}
	for {
		var results []*bot.ReconcileResult
		for _, name := range sortedNames(providers) {
			for _, repo := range o.repos {
				res, err := svc.Reconcile(ctx, providers[name], repo)
				if err != nil {
					a.log.Warn("opening release-driven pull requests", "forge", name, "repo", repo, "error", err)
					continue
				}
				results = append(results, res)
				a.log.Info("reconciled release-driven pull requests", "forge", name, "repo", repo,
					"opened", res.Opened, "limited", res.Limited, "merged", res.Merged)
			}
		}
		wait := wakeAfter(time.Now(), o.reconcileInterval, results)
		if wait < o.reconcileInterval {
			a.log.Info("waking early for a policy window", "in", wait.Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return
		case <-newRelease:
		case <-time.After(wait):
		}
	}
}

// wakeAfter is how long the reconcile loop sleeps: the interval, or less
// when a decision's wait ends sooner (a window opens, a freeze ends), plus
// a second so that the window is open when the loop runs.
func wakeAfter(now time.Time, interval time.Duration, results []*bot.ReconcileResult) time.Duration {
	wait := interval
	for _, res := range results {
		if at, ok := res.NextWake(now); ok {
			wait = min(wait, at.Sub(now)+time.Second)
		}
	}
	return wait
}

// forges builds the configured forges, keyed by their webhook route.
func (a *app) forges(ctx context.Context, o *serveOptions, m *metrics.Forges) (map[string]vcs.Provider, error) {
	out := map[string]vcs.Provider{}
	ghToken, err := secret(o.githubTokenFile, envGitHubToken)
	if err != nil {
		return nil, err
	}
	ghKey, err := secret(o.githubAppKeyFile, envGitHubAppKey)
	if err != nil {
		return nil, err
	}
	if len(ghToken) > 0 || o.githubAppID != 0 {
		hook, err := secret(o.githubSecretFile, envGitHubWebhookSecret)
		if err != nil {
			return nil, err
		}
		if len(hook) == 0 {
			return nil, usageErrorf("GitHub is configured but has no webhook secret: pass --github-webhook-secret-file or set %s", envGitHubWebhookSecret)
		}
		opts := github.Options{BaseURL: o.githubURL, WebhookSecret: hook, UserAgent: "upgrade-bot/" + version,
			HTTPClient: &http.Client{Transport: m.Transport("github", nil)}}
		switch {
		case o.githubAppID != 0 && len(ghToken) > 0:
			return nil, usageErrorf("both a GitHub token and --github-app-id are given: choose one way to authenticate")
		case o.githubAppID != 0:
			if len(ghKey) == 0 {
				return nil, usageErrorf("--github-app-id needs the App's private key: --github-app-key-file or %s", envGitHubAppKey)
			}
			opts.AppID, opts.AppPrivateKey, opts.InstallationID = o.githubAppID, ghKey, o.githubInstallationID
		default:
			opts.Token = string(ghToken)
		}
		if o.githubCacheMiB < 0 {
			return nil, usageErrorf("--github-cache-mib %d is negative", o.githubCacheMiB)
		}
		opts.CacheBytes = int64(o.githubCacheMiB) << 20
		if opts.CacheBytes == 0 {
			opts.CacheBytes = -1
		}
		p, err := github.New(ctx, opts)
		if err != nil {
			return nil, usageErrorf("GitHub: %v", err)
		}
		paced, err := pace(p, o.githubPace, "github")
		if err != nil {
			return nil, err
		}
		out["github"] = paced
	}
	glToken, err := secret(o.gitlabTokenFile, envGitLabToken)
	if err != nil {
		return nil, err
	}
	if len(glToken) > 0 {
		hook, err := secret(o.gitlabSecretFile, envGitLabWebhookSecret)
		if err != nil {
			return nil, err
		}
		if len(hook) == 0 {
			return nil, usageErrorf("GitLab is configured but has no webhook secret token: pass --gitlab-webhook-secret-file or set %s", envGitLabWebhookSecret)
		}
		p, err := gitlab.New(ctx, gitlab.Options{BaseURL: o.gitlabURL, Token: string(glToken), WebhookSecret: hook,
			HTTPClient: &http.Client{Transport: m.Transport("gitlab", nil)}})
		if err != nil {
			return nil, usageErrorf("GitLab: %v", err)
		}
		paced, err := pace(p, o.gitlabPace, "gitlab")
		if err != nil {
			return nil, err
		}
		out["gitlab"] = paced
	}
	if len(out) == 0 {
		return nil, usageErrorf("no forge configured: give a GitHub token (--github-token-file or %s) or App (--github-app-id), or a GitLab token (--gitlab-token-file or %s)", envGitHubToken, envGitLabToken)
	}
	return out, nil
}

// pace puts a forge's content-creating requests, for all its
// repositories, through one pacer.
func pace(p vcs.Provider, pc vcs.Pace, flag string) (vcs.Provider, error) {
	if pc.PerMinute < 0 || pc.PerHour < 0 {
		return nil, usageErrorf("--%s-pace-per-minute and --%s-pace-per-hour may not be negative (%s)", flag, flag, pc)
	}
	return vcs.NewPaced(p, vcs.NewPacer(pc, vcs.PacerOptions{})), nil
}

func sortedNames(m map[string]vcs.Provider) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
