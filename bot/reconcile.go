package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// ReconcileResult says what a reconcile of one repository did.
type ReconcileResult struct {
	Decisions []Decision
	// Opened are the clusters whose upgrade pull request was opened or
	// brought up to date.
	Opened []string
	// Limited are the clusters the policy's pull request limits held
	// back this time.
	Limited []string
	// Declined are the clusters whose pull request for the target a
	// person closed without merging: the bot does not propose that
	// version again (a comment command or the dashboard still can).
	Declined []string
	// Requested are the ticked boxes of the dashboard that were acted on,
	// as "cluster@version"; a request that failed is explained in a
	// comment on the dashboard.
	Requested []string
	// Dashboard is the number of the repository's dashboard issue; zero
	// when the policy turns it off.
	Dashboard int
	// Merged are the clusters whose pull request the bot automerged.
	Merged []string
	// Unmerged are the clusters whose pull request the policy automerges
	// but the bot did not merge yet, and why (checks pending, approvals
	// missing, the forge's own rules).
	Unmerged map[string]string
}

// NextWake is the earliest time after now at which a decision of the
// reconcile may change by itself — a window opens, a freeze ends, a
// release becomes old enough, a wave's soak ends — so that a scheduler
// runs then, not only at its next interval (Renovate's "no run hit the
// window" never happens). False when no wait has a known end.
func (r *ReconcileResult) NextWake(now time.Time) (time.Time, bool) {
	var next time.Time
	for _, d := range r.Decisions {
		if d.Action != ActionWait || d.Until == nil || !d.Until.After(now) {
			continue
		}
		if next.IsZero() || d.Until.Before(next) {
			next = *d.Until
		}
	}
	return next, !next.IsZero()
}

// Reconcile brings one repository's release-driven upgrade pull requests
// in line with its policy, the releases and the clock: every cluster the
// decision function says to propose gets its pull request (adopted and
// updated when it exists), within the policy's limits on open pull
// requests and pull requests opened per hour. Boxes ticked on the
// repository's dashboard issue are requests of their own, acted on first;
// the dashboard is then brought up to date. It is idempotent, so it runs
// when a release appears and periodically, and a missed event never
// matters.
func (s *Service) Reconcile(ctx context.Context, p vcs.Provider, repo string) (*ReconcileResult, error) {
	return s.reconcile(ctx, p, repo, nil, "")
}

// reconcile is Reconcile; edited is the dashboard as a webhook reported an
// edit by actor, whose ticked boxes count even when a later edit of the
// issue already cleared them.
func (s *Service) reconcile(ctx context.Context, p vcs.Provider, repo string, edited *vcs.Issue, actor string) (*ReconcileResult, error) {
	now := s.now()
	ws, err := s.checkout(ctx, p, repo)
	if err != nil {
		return nil, err
	}
	defer ws.unlock()
	pf, problem, err := s.policy(ctx, p, repo, ws.dir)
	if err != nil {
		return nil, err
	}
	tree, err := render.Discover(ctx, ws.dir, render.Options{VersionLabel: s.label()})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", repo, err)
	}
	// One planner for the decisions and the plans, with the locators of
	// the policy in force (the last valid one when the file is broken).
	planner := s.planner(ctx)
	planner.Locators = Locators(pf, s.label())
	d := &Decider{Catalog: s.Catalog(), Policy: pf, Label: s.Label, Since: SinceFromHistory(ws.repo, tree, ""), Version: planner.VersionReader(ctx, tree)}
	res := &ReconcileResult{Decisions: d.Decide(tree, now)}

	open, err := retry(ctx, s, func() ([]vcs.PullRequest, error) { return p.PullRequests(ctx, repo, branchPrefix) })
	if err != nil {
		return nil, fmt.Errorf("listing the bot's pull requests in %s: %w", repo, err)
	}
	openBranches := map[string]bool{}
	for _, pr := range open {
		openBranches[pr.Head] = true
	}
	// The hourly limit counts every pull request opened in the last hour,
	// also those closed or merged since, as Renovate does.
	recent, err := retry(ctx, s, func() ([]vcs.PullRequest, error) {
		return p.PullRequestsCreatedSince(ctx, repo, branchPrefix, now.Add(-time.Hour))
	})
	if err != nil {
		return nil, fmt.Errorf("listing the bot's pull requests opened in the last hour in %s: %w", repo, err)
	}
	openedLastHour := len(recent)
	settings := pf.For(policy.Cluster{})
	// Every cluster is planned on the tree the decisions were made on:
	// the work tree does not change while the bot commits its branches.
	delivered := 0

	var board *vcs.Issue
	if pf.Dashboard() {
		if board, err = s.findDashboard(ctx, p, repo); err != nil {
			return nil, err
		}
		var ticked []DashboardRequest
		if edited != nil {
			ticked = TickedRequests(edited.Body)
		}
		if board != nil {
			for _, r := range TickedRequests(board.Body) {
				if !slices.Contains(ticked, r) {
					ticked = append(ticked, r)
				}
			}
		}
		for _, r := range ticked {
			n, err := s.dashboardRequest(ctx, p, repo, ws, tree, planner, r, board, actor)
			if err != nil {
				return res, err
			}
			res.Requested = append(res.Requested, r.Cluster+"@"+r.Target)
			for _, br := range n {
				if !openBranches[br] {
					openBranches[br] = true
					openedLastHour++
				}
				delivered++
			}
		}
	}

	failed := map[string]string{}
	for _, dec := range res.Decisions {
		if dec.Action != ActionPropose {
			continue
		}
		name := dec.Name
		branch := upgradeBranch(path.Base(name), dec.Target)
		exists := openBranches[branch]
		if !exists {
			declined, err := s.declined(ctx, p, repo, branch)
			if err != nil {
				return res, err
			}
			if declined {
				res.Declined = append(res.Declined, name)
				continue
			}
			// A newer release for a cluster that has an open pull request
			// replaces it: the count of open pull requests stays, and, as
			// when Renovate updates its branch, it is not a new one for the
			// hourly limit.
			if !replacesOpen(openBranches, path.Base(name)) {
				if limit := settings.PRConcurrentLimit; limit > 0 && len(openBranches) >= limit {
					res.Limited = append(res.Limited, name)
					continue
				}
				if limit := settings.PRHourlyLimit; limit > 0 && openedLastHour >= limit {
					res.Limited = append(res.Limited, name)
					continue
				}
			}
		}
		plan, err := planner.PlanTree(ctx, tree, Request{Clusters: []string{name}, Target: dec.Target, Mode: ModePropose, Actor: "release"})
		if err != nil {
			s.log(ctx).Warn("planning a release-driven upgrade", "repo", repo, "cluster", name, "target", dec.Target, "error", err)
			failed[name] = err.Error()
			continue
		}
		origin := fmt.Sprintf("Release %s is available, and the repository's policy allows it now: %s.", dec.Target, dec.Reason)
		for _, cp := range plan.Clusters {
			if cp.Status != StatusUpgrade {
				continue
			}
			if _, err := s.deliver(ctx, p, repo, ws, cp, origin); err != nil {
				return res, fmt.Errorf("proposing %s for %s: %w", dec.Target, name, err)
			}
			res.Opened = append(res.Opened, name)
			delivered++
			if !exists {
				if !replacesOpen(openBranches, path.Base(name)) {
					openedLastHour++
				}
				openBranches[branch] = true
			}
		}
	}
	if len(res.Limited) > 0 {
		s.log(ctx).Info("pull request limits held upgrades back", "repo", repo, "clusters", res.Limited)
	}
	if len(res.Declined) > 0 {
		s.log(ctx).Info("not proposing versions whose pull request a person closed", "repo", repo, "clusters", res.Declined)
	}
	if delivered > 0 {
		// Deliveries open and supersede pull requests: list them again.
		if open, err = retry(ctx, s, func() ([]vcs.PullRequest, error) { return p.PullRequests(ctx, repo, branchPrefix) }); err != nil {
			return res, fmt.Errorf("listing the bot's pull requests in %s: %w", repo, err)
		}
	}
	byCluster := openByCluster(res.Decisions, open)
	merged := s.automerge(ctx, p, repo, res, byCluster)
	if !pf.Dashboard() {
		s.reconciled(p, repo, now)
		return res, nil
	}
	dash := &Dashboard{
		Decisions: res.Decisions, Open: byCluster, Merged: merged, Unmerged: res.Unmerged,
		Limited: res.Limited, Declined: res.Declined, Failed: failed,
		ConcurrentLimit: settings.PRConcurrentLimit, HourlyLimit: settings.PRHourlyLimit,
		PolicyProblem: problem,
	}
	if res.Dashboard, err = s.writeDashboard(ctx, p, repo, board, dash.Render(min(p.CommentLimit(), CommentLimit))); err != nil {
		return res, err
	}
	s.reconciled(p, repo, now)
	return res, nil
}

// reconciled tells s.Metrics that a reconcile of repo succeeded.
func (s *Service) reconciled(p vcs.Provider, repo string, at time.Time) {
	if s.Metrics != nil {
		s.Metrics.Reconciled(p.Name(), repo, at)
	}
}

// replacesOpen reports whether cluster has an open upgrade pull request
// (for another target), which a new one supersedes.
func replacesOpen(openBranches map[string]bool, cluster string) bool {
	for b, open := range openBranches {
		if c, _, ok := parseBranch(b); open && ok && c == cluster {
			return true
		}
	}
	return false
}

// automerge merges the open pull request of every cluster whose decision
// is to propose with automerge — the window is open now — when the forge
// says it can be merged and the policy's approvals and checks are there.
// The merge is of the head that was checked, so a push in between stops
// it. Merged pull requests leave open and are returned by cluster; a pull
// request not merged yet says why in res.Unmerged. A failure to merge one
// is logged and reported there, not fatal: the next reconcile tries again.
func (s *Service) automerge(ctx context.Context, p vcs.Provider, repo string, res *ReconcileResult, open map[string]vcs.PullRequest) map[string]vcs.PullRequest {
	merged := map[string]vcs.PullRequest{}
	for _, dec := range res.Decisions {
		if dec.Action != ActionPropose || !dec.Automerge {
			continue
		}
		pr, ok := open[dec.Name]
		if !ok {
			continue
		}
		if _, target, _ := parseBranch(pr.Head); target != dec.Target {
			continue
		}
		why, err := s.mergeOne(ctx, p, repo, pr, dec)
		if err != nil {
			s.log(ctx).Warn("automerging an upgrade pull request", "repo", repo, "cluster", dec.Name, "number", pr.Number, "error", err)
			why = "merging failed, tried again on the next run: " + err.Error()
		}
		if why != "" {
			if res.Unmerged == nil {
				res.Unmerged = map[string]string{}
			}
			res.Unmerged[dec.Name] = why
			continue
		}
		res.Merged = append(res.Merged, dec.Name)
		s.count(p, "merged")
		merged[dec.Name] = pr
		delete(open, dec.Name)
	}
	if len(res.Merged) > 0 {
		s.log(ctx).Info("automerged upgrade pull requests", "repo", repo, "clusters", res.Merged)
	}
	return merged
}

// mergeOne merges one pull request when everything says it may, and
// returns why not otherwise ("" when merged).
func (s *Service) mergeOne(ctx context.Context, p vcs.Provider, repo string, pr vcs.PullRequest, dec Decision) (string, error) {
	st, err := retry(ctx, s, func() (vcs.MergeState, error) { return p.MergeState(ctx, repo, pr.Number) })
	if err != nil {
		return "", err
	}
	rule := dec.merge
	switch {
	case rule.Checks && st.Checks == vcs.ChecksNone:
		return "no status checks are reported on its head, and automerge.checks requires passing ones (set checks: false where the repository has none)", nil
	case rule.Checks && st.Checks == vcs.ChecksPending:
		return "waiting for its checks to finish", nil
	case rule.Checks && st.Checks == vcs.ChecksFailed:
		return "its checks failed; a person must look at it", nil
	case st.Approvals < rule.Approvals:
		return fmt.Sprintf("waiting for approvals: %d of %d", st.Approvals, rule.Approvals), nil
	case !st.Mergeable:
		return "the forge does not merge it yet: " + st.Blocker, nil
	}
	method := vcs.MergeMethod(cmp.Or(rule.Method, policy.Merge))
	err = do(ctx, s, func() error {
		return p.MergePullRequest(ctx, repo, pr.Number, vcs.MergeOptions{Method: method, SHA: st.HeadSHA})
	})
	if errors.Is(err, vcs.ErrNotMergeable) {
		return "the forge refused to merge it: " + err.Error(), nil
	}
	if err != nil {
		return "", err
	}
	checks := "checks not required"
	if rule.Checks {
		checks = "checks passed"
	}
	note := fmt.Sprintf("Merged automatically (%s): the repository's policy automerges %s, inside the window; %d approval(s) of %d required, %s.",
		method, updateKind(dec), st.Approvals, rule.Approvals, checks)
	if err := s.upsertComments(ctx, p, repo, vcs.Thread{Number: pr.Number, PullRequest: true}, "automerge", []string{note}); err != nil {
		s.log(ctx).Warn("commenting on an automerged pull request", "repo", repo, "number", pr.Number, "error", err)
	}
	return "", nil
}

// updateKind is the decision's update type in words: "patch upgrades".
func updateKind(dec Decision) string {
	from, err1 := releases.ParseVersion(dec.Current)
	to, err2 := releases.ParseVersion(dec.Target)
	if err1 != nil || err2 != nil {
		return "this upgrade"
	}
	return string(policy.UpdateTypeOf(from, to)) + " upgrades"
}

// findDashboard is the repository's dashboard issue, nil when there is
// none yet: the oldest open issue of the bot's that carries the marker.
func (s *Service) findDashboard(ctx context.Context, p vcs.Provider, repo string) (*vcs.Issue, error) {
	self, err := s.self(ctx, p)
	if err != nil {
		return nil, err
	}
	issues, err := retry(ctx, s, func() ([]vcs.Issue, error) { return p.Issues(ctx, repo, self.Login) })
	if err != nil {
		return nil, fmt.Errorf("looking for the upgrade dashboard of %s: %w", repo, err)
	}
	for _, i := range issues {
		if isDashboard(i) {
			return &i, nil
		}
	}
	return nil, nil
}

// writeDashboard opens the dashboard issue or edits it when its body
// differs (ticked boxes are cleared that way, once acted on), and returns
// its number.
func (s *Service) writeDashboard(ctx context.Context, p vcs.Provider, repo string, board *vcs.Issue, body string) (int, error) {
	if board == nil {
		i, err := retry(ctx, s, func() (*vcs.Issue, error) {
			// A retried create may have succeeded the first time.
			if found, err := s.findDashboard(ctx, p, repo); err != nil || found != nil {
				return found, err
			}
			return p.CreateIssue(ctx, repo, DashboardTitle, body)
		})
		if err != nil {
			return 0, fmt.Errorf("opening the upgrade dashboard of %s: %w", repo, err)
		}
		s.log(ctx).Info("opened the upgrade dashboard", "repo", repo, "number", i.Number)
		return i.Number, nil
	}
	if strings.TrimSpace(board.Body) == strings.TrimSpace(body) && board.Title == DashboardTitle {
		return board.Number, nil
	}
	if err := do(ctx, s, func() error { return p.EditIssue(ctx, repo, board.Number, DashboardTitle, body) }); err != nil {
		return 0, fmt.Errorf("updating the upgrade dashboard #%d of %s: %w", board.Number, repo, err)
	}
	return board.Number, nil
}

// dashboardRequest acts on one ticked box: the upgrade is planned and
// delivered as /upgrade would, whatever the policy says (a person asked).
// It returns the branches delivered. A request that cannot be carried
// out is explained in a comment on the dashboard.
func (s *Service) dashboardRequest(ctx context.Context, p vcs.Provider, repo string, ws *workspace, tree *render.Repository, planner *Planner, r DashboardRequest, board *vcs.Issue, actor string) ([]string, error) {
	who := "a person"
	if actor != "" {
		who = "@" + actor
	}
	origin := fmt.Sprintf("Requested on the upgrade dashboard by %s.", who)
	if board != nil {
		origin = fmt.Sprintf("Requested on the upgrade dashboard (#%d) by %s.", board.Number, who)
	}
	var branches []string
	plan, err := planner.PlanTree(ctx, tree, Request{Clusters: []string{r.Cluster}, Target: r.Target, Mode: ModePropose, Actor: cmp.Or(actor, "dashboard")})
	var notes []string
	if err == nil {
		notes, err = eachUpgrade(plan, func(cp *ClusterPlan) error {
			if _, err := s.deliver(ctx, p, repo, ws, cp, origin); err != nil {
				return err
			}
			branches = append(branches, cp.Branch())
			return nil
		})
	}
	if err != nil {
		err = commandError(err, r.Target)
		if !errors.Is(err, ErrInvalidRequest) {
			if _, transient := vcs.IsTransient(err); transient {
				// Left ticked for the next run: nothing is lost.
				return branches, fmt.Errorf("acting on the dashboard's request for %s: %w", r.Cluster, err)
			}
			s.log(ctx).Error("a dashboard request failed", "repo", repo, "cluster", r.Cluster, "target", r.Target, "error", err)
		}
		notes = append(notes, fmt.Sprintf("The upgrade of %s to %s ticked on the dashboard did not work: %s", r.Cluster, r.Target, explain(err)))
	}
	if len(notes) > 0 && board != nil {
		key := "request:" + r.Cluster + "@" + r.Target
		if err := s.upsertComments(ctx, p, repo, vcs.Thread{Number: board.Number}, key, []string{strings.Join(notes, "\n\n")}); err != nil {
			return branches, err
		}
	}
	return branches, nil
}

// declined reports whether a person closed the bot's pull request from
// branch without merging it: that version is then not proposed again, as
// Renovate does. The memory is the forge's, not the bot's; the bot only
// remembers what cannot change. A closed pull request stays closed (one
// reopened is open, and its branch is not asked about), so a declined
// branch is not asked about again, nor a closed pull request's verdict,
// until the bot itself supersedes the branch (see supersede). A branch not
// declined is asked about every time: its history may grow.
func (s *Service) declined(ctx context.Context, p vcs.Provider, repo, branch string) (bool, error) {
	key := p.Name() + "/" + repo
	s.mu.Lock()
	known := s.declines[key+" "+branch]
	s.mu.Unlock()
	if known {
		return true, nil
	}
	hist, err := retry(ctx, s, func() ([]vcs.PullRequest, error) { return p.BranchHistory(ctx, repo, branch) })
	if err != nil {
		return false, fmt.Errorf("reading the history of %s in %s: %w", branch, repo, err)
	}
	self, err := s.self(ctx, p)
	if err != nil {
		return false, err
	}
	for _, pr := range hist {
		if pr.State != "closed" {
			continue
		}
		prKey := fmt.Sprintf("%s#%d", key, pr.Number)
		s.mu.Lock()
		superseded, ok := s.closedBySelf[prKey]
		s.mu.Unlock()
		if !ok {
			// The bot closes pull requests it supersedes, saying so in a
			// comment: those were not declined by a person.
			comments, err := retry(ctx, s, func() ([]vcs.Comment, error) {
				return p.Comments(ctx, repo, vcs.Thread{Number: pr.Number, PullRequest: true})
			})
			if err != nil {
				return false, fmt.Errorf("reading the comments of pull request #%d in %s: %w", pr.Number, repo, err)
			}
			superseded = slices.ContainsFunc(comments, func(c vcs.Comment) bool {
				m := markerLine.FindStringSubmatch(c.Body)
				return m != nil && m[1] == "superseded" && strings.EqualFold(c.Author.Login, self.Login)
			})
			s.rememberClosed(key, pr.Number, branch, superseded)
		}
		if !superseded {
			s.mu.Lock()
			if s.declines == nil {
				s.declines = map[string]bool{}
			}
			s.declines[key+" "+branch] = true
			s.mu.Unlock()
			return true, nil
		}
	}
	return false, nil
}

// rememberClosed keeps whether the bot closed a pull request itself
// (superseded) or a person did; a pull request the bot closes makes its
// branch's history worth reading again.
func (s *Service) rememberClosed(key string, number int, branch string, superseded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closedBySelf == nil {
		s.closedBySelf = map[string]bool{}
	}
	s.closedBySelf[fmt.Sprintf("%s#%d", key, number)] = superseded
	if superseded {
		delete(s.declines, key+" "+branch)
	}
}

// History is what SinceFromHistory needs of a git repository.
type History interface {
	LastChange(path string) (time.Time, bool, error)
}

// SinceFromHistory is a Decider's Since from git: a cluster reached its
// version with the last commit that changed its files. dir is where the
// tree was discovered, relative to the repository's root ("" for the
// root).
func SinceFromHistory(h History, tree *render.Repository, dir string) func(cluster string) (time.Time, bool) {
	roots := map[string]string{}
	for _, c := range tree.Clusters {
		roots[clusterID(c)] = path.Join(dir, c.Root)
	}
	return func(cluster string) (time.Time, bool) {
		root, ok := roots[cluster]
		if !ok {
			return time.Time{}, false
		}
		t, found, err := h.LastChange(root)
		return t, err == nil && found
	}
}

// policy reads the repository's policy at the tip of its default branch.
// A policy that does not parse leaves the last valid one of the
// repository in force (the defaults when there was none); it is logged,
// and returned as problem for the dashboard.
func (s *Service) policy(ctx context.Context, p vcs.Provider, repo, dir string) (pf *policy.File, problem, err error) {
	key := p.Name() + "/" + repo
	data, err := os.ReadFile(filepath.Join(dir, policy.FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return policy.Default(), nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the policy of %s: %w", repo, err)
	}
	pf, perr := policy.Parse(data, policy.FileName)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.policies == nil {
		s.policies = map[string]*policy.File{}
	}
	if perr != nil {
		last := s.policies[key]
		if last == nil {
			last = policy.Default()
		}
		s.log(ctx).Error("the repository's policy is not valid; the last valid one stays in force", "repo", repo, "problems", perr.Error())
		return last, perr, nil
	}
	s.policies[key] = pf
	return pf, nil, nil
}
