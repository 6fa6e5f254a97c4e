package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/vcs"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

// Service is the bot behind the webhook server: it turns forge events into
// upgrade requests, runs them through the pipeline on a clone of the
// repository, and delivers pull requests and diff comments. Every action
// converges: a branch, pull request or comment that already exists is
// adopted and updated, never duplicated, so an event handled twice (a
// redelivery, a restart, the start-up scan) does no harm.
type Service struct {
	// Catalog returns the releases to plan with; it is called for every
	// job, so a watcher may swap the catalog while the bot runs.
	Catalog func() *releases.Catalog
	// Renderer renders through the management cluster; nil renders
	// offline with the catalog's ConfigMaps.
	Renderer Renderer
	// Label is the version label; render.DefaultVersionLabel when empty.
	Label string
	// Workdir holds the bot's clones, one per repository.
	Workdir string
	// Author signs the bot's commits.
	Author git.Signature
	// Allow lists people who may run commands without write permission.
	Allow []string
	// Repos, when not empty, are the only repositories served; events of
	// others are ignored.
	Repos []string
	// Retry is how transient forge errors are retried.
	Retry Backoff
	// Log receives the bot's logs; a logger in the job's context (see
	// logr.NewContextWithSlogLogger) takes precedence.
	Log *slog.Logger
	// Metrics, when set, is told about pull requests, reconciles and
	// renders.
	Metrics Metrics
	// Events, when set, records on the management cluster's Cluster
	// resources that an upgrade pull request was opened or merged.
	Events ClusterEvents
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Follow follows merged upgrades on the management cluster and
	// comments their outcome; off when Follow.Clusters is nil.
	Follow Following
	// Lifetime bounds work that outlives a webhook job (following an
	// upgrade); context.Background when nil.
	Lifetime context.Context

	mu       sync.Mutex
	locks    map[string]*sync.Mutex
	inflight map[string]bool
	selves   map[string]vcs.User
	policies map[string]*policy.File // the last valid policy of each repository
	// declines are the branches whose pull request a person closed
	// ("github/owner/repo upgrade-bot/c/v1.2.3"); closedBySelf tells of
	// each closed pull request seen ("github/owner/repo#7") whether the
	// bot closed it, superseded.
	declines     map[string]bool
	closedBySelf map[string]bool
}

// Backoff is how a transient error is retried: Attempts tries in all,
// waiting Base, then twice as long each time, at most Max — or longer when
// the forge asked for it with Retry-After.
type Backoff struct {
	Attempts  int
	Base, Max time.Duration
}

func (b Backoff) orDefault() Backoff {
	if b.Attempts <= 0 {
		b.Attempts = 4
	}
	if b.Base <= 0 {
		b.Base = time.Second
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	return b
}

// log is the job's logger: the one the webhook server put in the context
// (with the delivery's attributes), else the service's.
func (s *Service) log(ctx context.Context) *slog.Logger {
	if l := logr.FromContextAsSlogLogger(ctx); l != nil {
		return l
	}
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) label() string {
	if s.Label != "" {
		return s.Label
	}
	return render.DefaultVersionLabel
}

func (s *Service) planner(ctx context.Context) *Planner {
	var observe func(time.Duration)
	if s.Metrics != nil {
		observe = s.Metrics.Rendered
	}
	return &Planner{Catalog: s.Catalog(), Renderer: s.Renderer, Label: s.Label, Now: s.Now, Log: s.log(ctx), Observe: observe}
}

// Metrics is told what the bot does, for its operators' dashboards.
type Metrics interface {
	// PullRequest counts a pull request opened, updated, closed
	// (superseded) or merged (automerged) on forge.
	PullRequest(forge, action string)
	// Reconciled records a successful reconcile of repo.
	Reconciled(forge, repo string, at time.Time)
	// Rendered observes how long a plan took.
	Rendered(d time.Duration)
	// Command counts a comment command on forge by verb ("upgrade",
	// "plan", ...; "unknown" for one that does not parse) and result
	// (CommandOK, CommandInvalid, CommandFailed or CommandDenied).
	Command(forge, verb, result string)
}

// The results of a comment command, for Metrics.Command.
const (
	// CommandOK: the command did what it asked.
	CommandOK = "ok"
	// CommandInvalid: the request was malformed or cannot be done (an
	// unknown release, a downgrade); the reply says why.
	CommandInvalid = "invalid"
	// CommandFailed: the bot or the forge failed; the reply says to retry.
	CommandFailed = "failed"
	// CommandDenied: the author may not run commands on the repository.
	CommandDenied = "denied"
)

// ClusterEvents records Kubernetes Events on Cluster resources.
type ClusterEvents interface {
	Record(ctx context.Context, namespace, name, reason, message string) error
}

// event records an Event on the Cluster id ("namespace/name"), when there
// are events; a failure is logged, never the request's.
func (s *Service) event(ctx context.Context, id, reason, message string) {
	ns, name, ok := strings.Cut(id, "/")
	if s.Events == nil || !ok {
		return
	}
	if err := s.Events.Record(ctx, ns, name, reason, message); err != nil {
		s.log(ctx).Warn("recording an event on the cluster", "cluster", id, "reason", reason, "error", err)
	}
}

// counted tells s.Metrics about a command, when there are metrics.
func (s *Service) counted(p vcs.Provider, verb, result string) {
	if s.Metrics != nil {
		s.Metrics.Command(p.Name(), verb, result)
	}
}

// count tells s.Metrics about a pull request, when there are metrics.
func (s *Service) count(p vcs.Provider, action string) {
	if s.Metrics != nil {
		s.Metrics.PullRequest(p.Name(), action)
	}
}

// Handle acts on one forge event. An error is returned only for failures
// the person could not be told about (the forge itself failing); problems
// with the request are answered on the forge and return nil.
func (s *Service) Handle(ctx context.Context, p vcs.Provider, ev vcs.Event) error {
	if !s.serves(ev.Repo) {
		s.log(ctx).Info("ignoring an event of a repository not served", "repo", ev.Repo, "kind", ev.Kind)
		return nil
	}
	switch ev.Kind {
	case vcs.EventComment:
		if ev.Comment == nil {
			return errors.New("comment event without a comment")
		}
		return s.HandleComment(ctx, p, ev.Repo, *ev.Comment)
	case vcs.EventPullRequest:
		if ev.PullRequest == nil {
			return errors.New("pull request event without a pull request")
		}
		return s.Autoplan(ctx, p, ev.Repo, ev.PullRequest)
	case vcs.EventIssueEdited:
		if ev.Issue == nil {
			return errors.New("issue event without an issue")
		}
		return s.DashboardEdited(ctx, p, ev.Repo, *ev.Issue, ev.Sender)
	case vcs.EventPullRequestMerged:
		pr := ev.PullRequest
		if pr == nil {
			return nil
		}
		if _, _, ours := parseBranch(pr.Head); !ours {
			return nil
		}
		if cluster, target, ok := bodyMarker(pr.Body); ok {
			s.event(ctx, cluster, "UpgradePullRequestMerged", fmt.Sprintf("upgrade to release v%s merged in %s; Flux applies it", strings.TrimPrefix(target, "v"), pr.URL))
		}
		if s.Follow.Clusters == nil {
			return nil
		}
		life := s.Lifetime
		if life == nil {
			life = context.Background()
		}
		go s.follow(logr.NewContextWithSlogLogger(life, s.log(ctx)), p, ev.Repo, pr)
	}
	return nil
}

func (s *Service) serves(repo string) bool {
	return len(s.Repos) == 0 || slices.ContainsFunc(s.Repos, func(r string) bool { return strings.EqualFold(r, repo) })
}

// self is the bot's own account on a forge, asked once.
func (s *Service) self(ctx context.Context, p vcs.Provider) (vcs.User, error) {
	s.mu.Lock()
	u, ok := s.selves[p.Name()]
	s.mu.Unlock()
	if ok {
		return u, nil
	}
	u, err := retry(ctx, s, func() (vcs.User, error) { return p.Self(ctx) })
	if err != nil {
		return vcs.User{}, fmt.Errorf("asking %s who the bot is: %w", p.Name(), err)
	}
	s.mu.Lock()
	if s.selves == nil {
		s.selves = map[string]vcs.User{}
	}
	s.selves[p.Name()] = u
	s.mu.Unlock()
	return u, nil
}

// claim marks a comment as being worked on, so that the webhook and the
// start-up scan never handle the same comment at once; release undoes it.
func (s *Service) claim(key string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == nil {
		s.inflight = map[string]bool{}
	}
	if s.inflight[key] {
		return nil, false
	}
	s.inflight[key] = true
	return func() {
		s.mu.Lock()
		delete(s.inflight, key)
		s.mu.Unlock()
	}, true
}

// lock serializes the jobs of one repository: they share its clone.
func (s *Service) lock(key string) func() {
	s.mu.Lock()
	if s.locks == nil {
		s.locks = map[string]*sync.Mutex{}
	}
	m := s.locks[key]
	if m == nil {
		m = &sync.Mutex{}
		s.locks[key] = m
	}
	s.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// retry calls f until it succeeds, fails for good, or the attempts are
// used up; only vcs.TransientError is retried.
func retry[T any](ctx context.Context, s *Service, f func() (T, error)) (T, error) {
	b := s.Retry.orDefault()
	wait := b.Base
	for attempt := 1; ; attempt++ {
		v, err := f()
		after, transient := vcs.IsTransient(err)
		if err == nil || !transient || attempt >= b.Attempts {
			return v, err
		}
		d := max(wait, after)
		s.log(ctx).Warn("retrying after a transient forge error", "attempt", attempt, "wait", d, "error", err)
		select {
		case <-ctx.Done():
			return v, errors.Join(err, ctx.Err())
		case <-time.After(d):
		}
		wait = min(2*wait, b.Max)
	}
}

// do is retry for calls that return only an error.
func do(ctx context.Context, s *Service, f func() error) error {
	_, err := retry(ctx, s, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// HandleComment runs the commands of one comment: permission first, then
// each command; the comment gets the bot's reaction when it is done (🚀,
// or 😕 with a reply saying why). A comment that already carries that
// reaction was handled before and is left alone.
func (s *Service) HandleComment(ctx context.Context, p vcs.Provider, repo string, c vcs.Comment) error {
	cmds, errs := ParseCommands(c.Body)
	if len(cmds) == 0 && len(errs) == 0 {
		return nil
	}
	if c.Author.Bot {
		s.log(ctx).Info("ignoring commands of a bot", "repo", repo, "author", c.Author.Login)
		return nil
	}
	self, err := s.self(ctx, p)
	if err != nil {
		return err
	}
	if strings.EqualFold(c.Author.Login, self.Login) {
		return nil
	}
	release, ok := s.claim(fmt.Sprintf("%s/%s/%d", p.Name(), repo, c.ID))
	if !ok {
		return nil
	}
	defer release()
	done, err := s.handled(ctx, p, repo, c.CommentRef, self)
	if err != nil {
		return err
	}
	if done {
		s.log(ctx).Info("comment already handled", "repo", repo, "comment", c.ID)
		return nil
	}
	log := s.log(ctx).With("repo", repo, "thread", c.Thread.String(), "comment", c.ID, "author", c.Author.Login)

	allowed, err := s.allowed(ctx, p, repo, c.Author.Login)
	if err != nil {
		return err
	}
	if !allowed {
		log.Info("refusing a command from someone without write permission")
		msg := fmt.Sprintf("@%s, running `%s` needs write permission on %s", c.Author.Login, CommandPrefix, repo)
		if len(s.Allow) > 0 {
			msg += " (or being on the bot's allowlist)"
		}
		msg += ". Ask a maintainer of the repository to run it, or to give you write access."
		for _, cmd := range cmds {
			s.counted(p, string(cmd.Verb), CommandDenied)
		}
		return s.finish(ctx, p, repo, c, []string{msg}, true)
	}

	var notes []string
	failed := false
	for _, e := range errs {
		var ce *CommandError
		if errors.As(e, &ce) {
			notes = append(notes, fmt.Sprintf("`%s` is not a command I understand: %v. Write it as `%s`; `%s help` lists every command.", ce.Text, ce.Err, ce.Usage, CommandPrefix))
		} else {
			notes = append(notes, e.Error())
		}
		s.counted(p, "unknown", CommandInvalid)
		failed = true
	}
	for _, cmd := range cmds {
		log.Info("running a command", "command", cmd.Text)
		n, err := s.run(ctx, p, repo, c, cmd)
		notes = append(notes, n...)
		switch {
		case err == nil:
			s.counted(p, string(cmd.Verb), CommandOK)
		case errors.Is(err, ErrInvalidRequest):
			s.counted(p, string(cmd.Verb), CommandInvalid)
		default:
			s.counted(p, string(cmd.Verb), CommandFailed)
		}
		if err != nil {
			failed = true
			if !errors.Is(err, ErrInvalidRequest) {
				log.Error("command failed", "command", cmd.Text, "error", err)
			}
			notes = append(notes, fmt.Sprintf("`%s` did not work: %s", cmd.Text, explain(err)))
		}
	}
	return s.finish(ctx, p, repo, c, notes, failed)
}

// explain turns an error into what the person is told: bad input as it
// is, the bot's own failures with a hint that retrying may help.
func explain(err error) string {
	if errors.Is(err, ErrInvalidRequest) {
		return err.Error()
	}
	if _, ok := vcs.IsTransient(err); ok {
		return err.Error() + ". The forge is having trouble; run the command again in a few minutes."
	}
	return err.Error() + ". This looks like a problem of the bot or its setup; the bot's logs have the details."
}

// finish replies (when there is anything to say) and reacts, in that
// order: the reaction is what marks the comment as handled.
func (s *Service) finish(ctx context.Context, p vcs.Provider, repo string, c vcs.Comment, notes []string, failed bool) error {
	if len(notes) > 0 {
		body := strings.Join(notes, "\n\n")
		if len(notes) > 1 {
			body = "- " + strings.Join(notes, "\n- ")
		}
		key := fmt.Sprintf("reply:%d", c.ID)
		if err := s.upsertComments(ctx, p, repo, c.Thread, key, []string{body}); err != nil {
			return err
		}
	}
	reaction := vcs.ReactionRocket
	if failed {
		reaction = vcs.ReactionConfused
	}
	if err := do(ctx, s, func() error { return p.React(ctx, repo, c.CommentRef, reaction) }); err != nil {
		return fmt.Errorf("reacting to comment %d on %s: %w", c.ID, repo, err)
	}
	return nil
}

// handled reports whether the bot has reacted to a comment with its
// final reaction.
func (s *Service) handled(ctx context.Context, p vcs.Provider, repo string, ref vcs.CommentRef, self vcs.User) (bool, error) {
	rs, err := retry(ctx, s, func() ([]vcs.Reaction, error) { return p.Reactions(ctx, repo, ref) })
	if err != nil {
		return false, fmt.Errorf("reading the reactions to comment %d on %s: %w", ref.ID, repo, err)
	}
	return slices.ContainsFunc(rs, func(r vcs.Reaction) bool {
		return strings.EqualFold(r.User.Login, self.Login) && (r.Content == vcs.ReactionRocket || r.Content == vcs.ReactionConfused)
	}), nil
}

func (s *Service) allowed(ctx context.Context, p vcs.Provider, repo, user string) (bool, error) {
	if slices.ContainsFunc(s.Allow, func(a string) bool { return strings.EqualFold(a, user) }) {
		return true, nil
	}
	perm, err := retry(ctx, s, func() (vcs.Permission, error) { return p.Permission(ctx, repo, user) })
	if errors.Is(err, vcs.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking the permission of %s on %s: %w", user, repo, err)
	}
	return perm >= vcs.PermissionWrite, nil
}

// run carries out one command; notes are what the reply should say
// besides an error.
func (s *Service) run(ctx context.Context, p vcs.Provider, repo string, c vcs.Comment, cmd Command) ([]string, error) {
	switch cmd.Verb {
	case VerbHelp:
		return []string{CommandHelp()}, nil
	case VerbUpgrade:
		return s.upgrade(ctx, p, repo, c, cmd.Target, cmd.Clusters)
	case VerbPlan:
		return s.plan(ctx, p, repo, c, cmd)
	case VerbRerender:
		return s.rerender(ctx, p, repo, c)
	}
	return nil, invalidf("unknown command %s", cmd.Verb)
}

// workspace is the bot's clone of a repository, synced to the tip of its
// default branch, locked for one job.
type workspace struct {
	repo   *git.Repository
	dir    string
	info   vcs.Repository
	cred   *git.Credential
	head   string
	unlock func()
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)

// checkout locks the repository's clone and brings it to the tip of the
// default branch, cloning it first when needed.
func (s *Service) checkout(ctx context.Context, p vcs.Provider, repo string) (*workspace, error) {
	if !repoName.MatchString(repo) || slices.Contains(strings.Split(repo, "/"), "..") {
		return nil, fmt.Errorf("refusing the repository name %q", repo)
	}
	unlock := s.lock(p.Name() + "/" + repo)
	ws, err := s.sync(ctx, p, repo)
	if err != nil {
		unlock()
		return nil, err
	}
	ws.unlock = unlock
	return ws, nil
}

func (s *Service) sync(ctx context.Context, p vcs.Provider, repo string) (*workspace, error) {
	info, err := retry(ctx, s, func() (vcs.Repository, error) { return p.Repository(ctx, repo) })
	if err != nil {
		return nil, fmt.Errorf("looking up repository %s: %w", repo, err)
	}
	type userPass struct{ u, p string }
	up, err := retry(ctx, s, func() (userPass, error) {
		u, pw, err := p.GitCredential(ctx, repo)
		return userPass{u, pw}, err
	})
	if err != nil {
		return nil, fmt.Errorf("getting a git credential for %s: %w", repo, err)
	}
	cred := &git.Credential{Username: up.u, Password: up.p}
	dir := filepath.Join(s.Workdir, p.Name(), filepath.FromSlash(repo))
	ws := &workspace{dir: dir, info: info, cred: cred}
	if r, err := git.Open(dir); err == nil {
		if ws.head, err = r.Sync(ctx, "origin", info.DefaultBranch, cred); err == nil {
			ws.repo = r
			return ws, nil
		}
		s.log(ctx).Warn("the clone could not be synced; cloning again", "repo", repo, "error", err)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("removing the old clone of %s: %w", repo, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("making the clone's directory: %w", err)
	}
	r, err := git.Clone(ctx, info.CloneURL, dir, cred)
	if err != nil {
		return nil, fmt.Errorf("cloning %s: %w", repo, err)
	}
	if ws.head, err = r.Sync(ctx, "origin", info.DefaultBranch, cred); err != nil {
		return nil, fmt.Errorf("checking out %s of %s: %w", info.DefaultBranch, repo, err)
	}
	ws.repo = r
	return ws, nil
}

// upgrade plans the upgrade of the named clusters and delivers a pull
// request for each one that upgrades.
func (s *Service) upgrade(ctx context.Context, p vcs.Provider, repo string, c vcs.Comment, target string, clusters []string) ([]string, error) {
	ws, err := s.checkout(ctx, p, repo)
	if err != nil {
		return nil, err
	}
	defer ws.unlock()
	plan, err := s.planner(ctx).Plan(ctx, ws.dir, Request{Clusters: clusters, Target: target, Mode: ModePropose, Actor: c.Author.Login})
	if err != nil {
		return nil, commandError(err, target)
	}
	return eachUpgrade(plan, func(cp *ClusterPlan) error {
		_, err := s.deliver(ctx, p, repo, ws, cp, requestedBy(c))
		return err
	})
}

// eachUpgrade calls deliver for every cluster of the plan that upgrades,
// and says why the others do not.
func eachUpgrade(plan *Plan, deliver func(*ClusterPlan) error) ([]string, error) {
	var notes []string
	for _, cp := range plan.Clusters {
		switch cp.Status {
		case StatusCurrent:
			notes = append(notes, fmt.Sprintf("%s is already on release v%s: nothing to do.", cp.ID(), cp.To))
		case StatusSkipped:
			notes = append(notes, fmt.Sprintf("%s was skipped: %s", cp.ID(), cp.Reason))
		case StatusUpgrade:
			if err := deliver(cp); err != nil {
				return notes, err
			}
		}
	}
	return notes, nil
}

// commandError rewords the planner's CLI-flavoured hints for a comment.
func commandError(err error, target string) error {
	var (
		amb     *AmbiguousClusterError
		refused *RefusedPathError
		release *releases.UnknownReleaseError
		cluster *render.UnknownClusterError
	)
	switch {
	case errors.As(err, &amb):
		return invalidf("the repository has %d clusters; name the ones to upgrade, e.g. `%s %s %s`. The clusters: %s", len(amb.Names), CommandPrefix, target, amb.Names[0], summarizeList(amb.Names, 20))
	case errors.As(err, &refused):
		return invalidf("%v. The bot does not force such upgrades: to make one anyway, run `upgrade-bot propose --force` and open the pull request yourself", refused.Err)
	case errors.As(err, &release):
		return invalidf("%s", release.Brief())
	case errors.As(err, &cluster):
		return invalidf("%s", cluster.Brief())
	}
	return err
}

func requestedBy(c vcs.Comment) string {
	where := c.URL
	if where == "" {
		where = fmt.Sprintf("#%d", c.Thread.Number)
	}
	return fmt.Sprintf("Requested in %s by @%s.", where, c.Author.Login)
}

// deliver brings the cluster's upgrade branch, pull request and diff
// comments in line with the plan, and closes the bot's pull requests for
// older targets of the same cluster.
func (s *Service) deliver(ctx context.Context, p vcs.Provider, repo string, ws *workspace, cp *ClusterPlan, origin string) (*vcs.PullRequest, error) {
	log := s.log(ctx).With("repo", repo, "cluster", cp.ID(), "target", cp.To)
	branch := cp.Branch()
	if err := s.commitAndPush(ctx, ws, cp); err != nil {
		return nil, err
	}
	title := Title(cp)
	body := origin + "\n\n" + Body(cp)
	pr, err := retry(ctx, s, func() (*vcs.PullRequest, error) { return p.FindPullRequest(ctx, repo, branch) })
	if err != nil {
		return nil, fmt.Errorf("looking for the pull request of %s: %w", branch, err)
	}
	if pr == nil {
		pr, err = retry(ctx, s, func() (*vcs.PullRequest, error) {
			// A retried create may have succeeded the first time.
			if found, err := p.FindPullRequest(ctx, repo, branch); err != nil || found != nil {
				return found, err
			}
			return p.CreatePullRequest(ctx, repo, vcs.NewPullRequest{Head: branch, Base: ws.info.DefaultBranch, Title: title, Body: body})
		})
		if err != nil {
			return nil, fmt.Errorf("opening the pull request for %s: %w", branch, err)
		}
		log.Info("opened a pull request", "number", pr.Number)
		s.count(p, "opened")
		s.event(ctx, cp.ID(), "UpgradePullRequestOpened", fmt.Sprintf("upgrade to release v%s proposed in %s", strings.TrimPrefix(cp.To, "v"), pr.URL))
	} else if pr.Title != title || !strings.HasSuffix(strings.TrimSpace(pr.Body), strings.TrimSpace(Body(cp))) {
		// The text changed (the releases or the base moved). Who asked
		// first stays as written unless the text must change anyway.
		if err := do(ctx, s, func() error { return p.UpdatePullRequest(ctx, repo, pr.Number, title, body) }); err != nil {
			return nil, fmt.Errorf("updating pull request #%d: %w", pr.Number, err)
		}
		log.Info("updated a pull request", "number", pr.Number)
		s.count(p, "updated")
	}
	pages := DiffComments(cp, min(p.CommentLimit(), CommentLimit), 200)
	if err := s.upsertComments(ctx, p, repo, vcs.Thread{Number: pr.Number, PullRequest: true}, "diff:"+cp.ID(), pages); err != nil {
		return pr, err
	}
	if err := s.supersede(ctx, p, repo, cp, pr); err != nil {
		return pr, err
	}
	return pr, nil
}

// commitAndPush puts the bump on the cluster's branch and pushes it. A
// branch the remote already has with the same change is reused; one with
// another change (the base branch moved, or an older render) is replaced,
// but only when every commit on it is the bot's own.
func (s *Service) commitAndPush(ctx context.Context, ws *workspace, cp *ClusterPlan) error {
	branch := cp.Branch()
	tip, exists, err := ws.repo.RemoteBranch(ctx, "origin", branch, ws.cred)
	if err != nil {
		return fmt.Errorf("looking up branch %s: %w", branch, err)
	}
	if exists {
		if _, err := ws.repo.FetchRef(ctx, "origin", "refs/heads/"+branch, ws.cred); err != nil {
			return fmt.Errorf("fetching branch %s: %w", branch, err)
		}
	}
	if err := ws.repo.SetBranch(branch, tip); err != nil {
		return err
	}
	prop := &Proposer{Git: ws.repo, Author: s.Author}
	res, err := prop.Commit(ctx, cp, s.now())
	var exist *git.BranchExistsError
	switch {
	case err == nil && !exists:
		return ws.repo.Push(ctx, "origin", branch, ws.cred)
	case err == nil:
		return nil // the remote branch holds exactly this change
	case !errors.As(err, &exist):
		return fmt.Errorf("committing the upgrade of %s: %w", cp.ID(), err)
	}
	authors, err := ws.repo.CommitAuthors(tip, ws.head)
	if err != nil {
		return fmt.Errorf("reading the commits of branch %s: %w", branch, err)
	}
	for _, a := range authors {
		if !strings.EqualFold(a.Email, s.Author.Email) {
			return invalidf("branch %s has a commit by %s <%s>: the bot does not overwrite other people's work. Merge or close its pull request and delete the branch, then ask again", branch, a.Name, a.Email)
		}
	}
	if err := ws.repo.SetBranch(branch, ""); err != nil {
		return err
	}
	if res, err = prop.Commit(ctx, cp, s.now()); err != nil {
		return fmt.Errorf("committing the upgrade of %s: %w", cp.ID(), err)
	}
	s.log(ctx).Info("replacing the bot's branch", "branch", branch, "old", tip, "new", res.Commit)
	return ws.repo.PushReplacing(ctx, "origin", branch, tip, ws.cred)
}

// supersede closes the bot's open pull requests for other targets of the
// same cluster, pointing to the new one.
func (s *Service) supersede(ctx context.Context, p vcs.Provider, repo string, cp *ClusterPlan, current *vcs.PullRequest) error {
	prefix := clusterBranches(cp.Name)
	prs, err := retry(ctx, s, func() ([]vcs.PullRequest, error) { return p.PullRequests(ctx, repo, prefix) })
	if err != nil {
		return fmt.Errorf("listing the pull requests of %s: %w", cp.ID(), err)
	}
	for _, old := range prs {
		if old.Number == current.Number || old.Head == current.Head {
			continue
		}
		msg := fmt.Sprintf("Superseded by #%d, which upgrades %s to v%s instead. Closing this one.", current.Number, cp.ID(), cp.To)
		if current.URL != "" {
			msg = fmt.Sprintf("Superseded by %s, which upgrades %s to v%s instead. Closing this one.", current.URL, cp.ID(), cp.To)
		}
		if err := s.upsertComments(ctx, p, repo, vcs.Thread{Number: old.Number, PullRequest: true}, "superseded", []string{msg}); err != nil {
			return err
		}
		if err := do(ctx, s, func() error { return p.ClosePullRequest(ctx, repo, old.Number) }); err != nil {
			return fmt.Errorf("closing the superseded pull request #%d: %w", old.Number, err)
		}
		s.rememberClosed(p.Name()+"/"+repo, old.Number, old.Head, true)
		s.log(ctx).Info("closed a superseded pull request", "repo", repo, "number", old.Number, "by", current.Number)
		s.count(p, "closed")
	}
	return nil
}

// commentMarker ends every comment the bot may edit later: which
// comment it is (key) and its part.
func commentMarker(key string, part, parts int) string {
	return fmt.Sprintf("\n<!-- upgrade-bot:%s %d/%d -->", key, part, parts)
}

var markerLine = regexp.MustCompile(`<!-- upgrade-bot:(\S+) (\d+)/(\d+) -->\s*$`)

// upsertComments makes the bot's comments with the given key on a thread
// say pages: existing ones are edited when they differ, missing ones are
// created, and parts no longer needed are emptied.
func (s *Service) upsertComments(ctx context.Context, p vcs.Provider, repo string, thread vcs.Thread, key string, pages []string) error {
	self, err := s.self(ctx, p)
	if err != nil {
		return err
	}
	all, err := retry(ctx, s, func() ([]vcs.Comment, error) { return p.Comments(ctx, repo, thread) })
	if err != nil {
		return fmt.Errorf("reading the comments of %s: %w", thread, err)
	}
	var mine []vcs.Comment
	for _, c := range all {
		if m := markerLine.FindStringSubmatch(c.Body); m != nil && m[1] == key && strings.EqualFold(c.Author.Login, self.Login) {
			mine = append(mine, c)
		}
	}
	for i, page := range pages {
		body := page + commentMarker(key, i+1, len(pages))
		if i < len(mine) {
			if strings.TrimSpace(mine[i].Body) == strings.TrimSpace(body) {
				continue
			}
			ref := mine[i].CommentRef
			if err := do(ctx, s, func() error { return p.EditComment(ctx, repo, ref, body) }); err != nil {
				return fmt.Errorf("editing comment %d on %s: %w", ref.ID, thread, err)
			}
			continue
		}
		if _, err := retry(ctx, s, func() (vcs.Comment, error) { return p.CreateComment(ctx, repo, thread, body) }); err != nil {
			return fmt.Errorf("commenting on %s: %w", thread, err)
		}
	}
	for i := len(pages); i < len(mine); i++ {
		body := "This part of the rendered diff is no longer needed: the comments above hold all of it." + commentMarker(key, i+1, len(pages))
		if strings.TrimSpace(mine[i].Body) == strings.TrimSpace(body) {
			continue
		}
		ref := mine[i].CommentRef
		if err := do(ctx, s, func() error { return p.EditComment(ctx, repo, ref, body) }); err != nil {
			return fmt.Errorf("editing comment %d on %s: %w", ref.ID, thread, err)
		}
	}
	return nil
}

// plan comments the rendered diff of an upgrade without opening a pull
// request.
func (s *Service) plan(ctx context.Context, p vcs.Provider, repo string, c vcs.Comment, cmd Command) ([]string, error) {
	ws, err := s.checkout(ctx, p, repo)
	if err != nil {
		return nil, err
	}
	defer ws.unlock()
	plan, err := s.planner(ctx).Plan(ctx, ws.dir, Request{Clusters: cmd.Clusters, Target: cmd.Target, Mode: ModePlan, Actor: c.Author.Login})
	if err != nil {
		return nil, commandError(err, cmd.Target)
	}
	return eachUpgrade(plan, func(cp *ClusterPlan) error {
		pages := DiffComments(cp, min(p.CommentLimit(), CommentLimit), 200)
		return s.upsertComments(ctx, p, repo, c.Thread, fmt.Sprintf("plan:%d:%s", c.ID, cp.ID()), pages)
	})
}

// rerender renders the bot's own pull request again.
func (s *Service) rerender(ctx context.Context, p vcs.Provider, repo string, c vcs.Comment) ([]string, error) {
	if !c.Thread.PullRequest {
		return nil, invalidf("`%s rerender` works on the bot's own pull requests, and this is an issue", CommandPrefix)
	}
	pr, err := retry(ctx, s, func() (*vcs.PullRequest, error) { return p.PullRequest(ctx, repo, c.Thread.Number) })
	if err != nil {
		return nil, fmt.Errorf("reading pull request #%d: %w", c.Thread.Number, err)
	}
	cluster, target, ok := parseBranch(pr.Head)
	if !ok {
		return nil, invalidf("`%s rerender` works on the bot's own pull requests (branches upgrade-bot/<cluster>/<version>), and this one's branch is %s", CommandPrefix, pr.Head)
	}
	if pr.State != "open" {
		return nil, invalidf("pull request #%d is %s: open a new one with `%s %s %s`", pr.Number, pr.State, CommandPrefix, target, cluster)
	}
	return s.upgrade(ctx, p, repo, c, target, []string{cluster})
}

// parseBranch reads the cluster and target of a bot branch.
func parseBranch(branch string) (cluster, target string, ok bool) {
	rest, ok := strings.CutPrefix(branch, branchPrefix)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/")
	if i <= 0 {
		return "", "", false
	}
	cluster, target = rest[:i], rest[i+1:]
	if _, err := releases.ParseVersion(target); err != nil {
		return "", "", false
	}
	return cluster, target, true
}
