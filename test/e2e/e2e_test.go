// Package e2e runs the bot end to end against the forge fakes: the real
// forge clients, the real webhook server, real git over smart HTTP, and the
// offline renderer on the example repository and releases.
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/bot/server"
	"github.com/upgrade-bot/upgrade-bot/metrics"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/vcs"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

const (
	repo     = "acme/gitops"
	botEmail = "upgrade-bot@example.com"
	// peu02's version is written once, in its kustomization's labels.
	peu02Kustomization = "management-clusters/mc-demo/organizations/org-acme/workload-clusters/peu02/kustomization.yaml"
)

// forge is what a scenario does on a forge fake, as people and as an
// observer; each forge's test file implements it.
type forge interface {
	provider() vcs.Provider
	// webhookRoute is the server's route name for this forge.
	webhookRoute() string
	setWebhook(url string)
	// issue opens an issue as user and returns its number.
	issue(t *testing.T, user string) int
	// comment writes a comment as user (delivering its webhook) and
	// returns its id and a redelivery function.
	comment(t *testing.T, th vcs.Thread, user, body string) (int64, func() int)
	// reactions are the reactions to a comment, "user:content".
	reactions(t *testing.T, th vcs.Thread, id int64) []string
	// pulls are the pull requests of the repository.
	pulls(t *testing.T) []pull
	// comments are the comments of a thread, oldest first.
	comments(t *testing.T, th vcs.Thread) []comment
	// openPull pushes files onto a new branch and opens a pull request
	// from it as user.
	openPull(t *testing.T, user, branch string, files map[string]string) int
	// push commits files onto an existing branch as user, over HTTP, so
	// the forge sends its pull request update webhooks.
	push(t *testing.T, user, branch string, files map[string]string)
	// issues are the issues of the repository (not pull requests).
	issues(t *testing.T) []issueView
	// editIssue replaces an issue's description as user (ticking a box),
	// delivers the webhook and returns the bot's answer.
	editIssue(t *testing.T, number int, user, body string) int
	// failCreatePull makes the next request that opens a pull request
	// fail with status (and Retry-After when not empty).
	failCreatePull(status int, retryAfter string)
	// merge merges a pull request as user.
	merge(t *testing.T, user string, number int)
	// approve approves a pull request as user.
	approve(t *testing.T, user string, number int)
	// checks reports the CI of a pull request's head: "pending",
	// "passed" or "failed".
	checks(t *testing.T, number int, state string)
	// letBotMerge gives the bot what the forge needs to merge into main.
	letBotMerge(t *testing.T)
	// git runs git in the bare repository.
	git(t *testing.T, args ...string) string
	writes() int
	botLogin() string
}

type pull struct {
	Number      int
	Head, Title string
	Body, State string
}

type comment struct {
	Author, Body string
}

type issueView struct {
	Number              int
	Title, Body, Author string
}

// harness is the bot serving one forge.
type harness struct {
	f   forge
	svc *bot.Service
	url string
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// startBot starts the webhook server with a bot service on f and points
// the forge's webhook at it; it stops with the test.
func startBot(t *testing.T, f forge) *harness {
	t.Helper()
	root := moduleRoot(t)
	catalog, err := releases.Load(t.Context(), filepath.Join(root, "examples", "releases"))
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, catalog)
	log := svc.Log
	srv, err := server.New(server.Options{
		Providers: map[string]vcs.Provider{f.webhookRoute(): f.provider()},
		Handler:   svc,
		Logger:    log,
		Workers:   2,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	h := &harness{f: f, svc: svc, url: "http://" + ln.Addr().String() + "/webhooks/" + f.webhookRoute()}
	f.setWebhook(h.url)
	return h
}

// withMetrics gives the bot's service metrics on a registry of its own.
func (h *harness) withMetrics(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, []string{h.f.provider().Name()})
	if err != nil {
		t.Fatal(err)
	}
	h.svc.Metrics = m
	return reg
}

// newService is a bot service on the test repository with the releases of
// catalog, logging to the test.
func newService(t *testing.T, catalog *releases.Catalog) *bot.Service {
	return &bot.Service{
		Catalog: func() *releases.Catalog { return catalog },
		Workdir: t.TempDir(),
		Author:  git.Signature{Name: "upgrade-bot", Email: botEmail},
		Repos:   []string{repo},
		Retry:   bot.Backoff{Attempts: 4, Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Log:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
}

// dashboard is the bot's dashboard issue; it fails the test when there
// is not exactly one.
func dashboard(t *testing.T, f forge) issueView {
	t.Helper()
	var found []issueView
	for _, i := range f.issues(t) {
		if i.Author == f.botLogin() && strings.Contains(i.Body, "<!-- upgrade-bot:dashboard -->") {
			found = append(found, i)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d dashboards, want 1: %+v", len(found), f.issues(t))
	}
	return found[0]
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitReaction waits until the bot has reacted to a comment with its
// final reaction, and returns it.
func waitReaction(t *testing.T, f forge, th vcs.Thread, id int64) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range f.reactions(t, th, id) {
			if r == f.botLogin()+":rocket" || r == f.botLogin()+":confused" {
				return strings.TrimPrefix(r, f.botLogin()+":")
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the bot did not react to comment %d within 90 s", id)
	return ""
}

// waitComment waits until a thread has a comment by the bot containing
// text.
func waitComment(t *testing.T, f forge, th vcs.Thread, text string) comment {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range f.comments(t, th) {
			if c.Author == f.botLogin() && strings.Contains(c.Body, text) {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no comment of the bot on %s contains %q within 90 s; the comments: %+v", th, text, f.comments(t, th))
	return comment{}
}

func botComments(t *testing.T, f forge, th vcs.Thread) []comment {
	var out []comment
	for _, c := range f.comments(t, th) {
		if c.Author == f.botLogin() {
			out = append(out, c)
		}
	}
	return out
}

// runScenarios runs every scenario on a forge; newForge makes a fresh
// fake with the example repository, "alice" (write permission) and "eve"
// (read only).
func runScenarios(t *testing.T, newForge func(t *testing.T) forge) {
	t.Run("upgrade command opens a pull request with the diff", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		startBot(t, f)
		issue := vcs.Thread{Number: f.issue(t, "alice")}
		writesBefore := f.writes()
		id, redeliver := f.comment(t, issue, "alice", "Please upgrade.\n\n/upgrade v31.0.0 peu02\n")
		if got := waitReaction(t, f, issue, id); got != "rocket" {
			t.Fatalf("reaction = %s, want rocket; the replies: %+v", got, botComments(t, f, issue))
		}
		prs := f.pulls(t)
		if len(prs) != 1 {
			t.Fatalf("got %d pull requests, want 1: %+v", len(prs), prs)
		}
		pr := prs[0]
		if pr.Head != "upgrade-bot/peu02/v31.0.0" || pr.Title != "Upgrade peu02 to release v31.0.0" || pr.State != "open" {
			t.Errorf("pull request = %+v", pr)
		}
		if !strings.Contains(pr.Body, "by @alice") || !strings.Contains(pr.Body, "from release **v30.0.0** to **v31.0.0**") {
			t.Errorf("pull request body does not say who asked and what changes:\n%s", pr.Body)
		}
		// The branch holds one commit by the bot that changes exactly the
		// version in the kustomization.
		log := f.git(t, "log", "--format=%ae %s", "main..upgrade-bot/peu02/v31.0.0")
		if strings.TrimSpace(log) != botEmail+" Upgrade peu02 to release v31.0.0" {
			t.Errorf("commits on the branch:\n%s", log)
		}
		d := f.git(t, "diff", "main", "upgrade-bot/peu02/v31.0.0")
		if !strings.Contains(d, "-      release.giantswarm.io/version: 30.0.0\n+      release.giantswarm.io/version: 31.0.0") || strings.Count(d, "\n+") != 2 {
			t.Errorf("the bump commit's diff:\n%s", d)
		}
		prThread := vcs.Thread{Number: pr.Number, PullRequest: true}
		diffs := botComments(t, f, prThread)
		if len(diffs) != 1 || !strings.Contains(diffs[0].Body, "Rendered change of org-acme/peu02: v30.0.0 → v31.0.0") || !strings.Contains(diffs[0].Body, "KubeadmControlPlane org-acme/peu02") {
			t.Errorf("the diff comments on the pull request: %+v", diffs)
		}
		if replies := botComments(t, f, issue); len(replies) != 0 {
			t.Errorf("the bot replied on the issue though all went well: %+v", replies)
		}
		t.Logf("REST writes for one upgrade pull request: %d", f.writes()-writesBefore)
		if w := f.writes() - writesBefore; w > 3 {
			t.Errorf("the bot made %d REST writes for one upgrade pull request, want at most 3 (pull request, diff comment, reaction)", w)
		}

		// A redelivered webhook is recognised; a second bot that restarted
		// and forgot the delivery sees the reaction: nothing is duplicated.
		writes := f.writes()
		if status := redeliver(); status != 200 && status != 202 {
			t.Errorf("redelivery answered %d", status)
		}
		h2 := startBot(t, f)
		n, err := h2.svc.Scan(t.Context(), f.provider(), repo, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("the scan handled %d comments, want the one command (found handled)", n)
		}
		if w := f.writes() - writes; w != 0 {
			t.Errorf("a redelivery and a scan wrote %d times, want 0", w)
		}
		if prs := f.pulls(t); len(prs) != 1 {
			t.Errorf("got %d pull requests after the redelivery, want 1", len(prs))
		}

		// A newer target supersedes the pull request.
		id2, _ := f.comment(t, issue, "alice", "/upgrade v31.1.0 peu02")
		if got := waitReaction(t, f, issue, id2); got != "rocket" {
			t.Fatalf("reaction = %s, want rocket; the replies: %+v", got, botComments(t, f, issue))
		}
		prs = f.pulls(t)
		if len(prs) != 2 || prs[0].State != "closed" || prs[1].State != "open" || prs[1].Head != "upgrade-bot/peu02/v31.1.0" {
			t.Fatalf("pull requests after a newer target: %+v", prs)
		}
		waitComment(t, f, prThread, "Superseded by")
	})

	t.Run("rerender on the bot's pull request", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		h := startBot(t, f)
		reg := h.withMetrics(t)
		issue := vcs.Thread{Number: f.issue(t, "alice")}
		id, _ := f.comment(t, issue, "alice", "/upgrade v31.0.0 peu02")
		if got := waitReaction(t, f, issue, id); got != "rocket" {
			t.Fatalf("reaction = %s", got)
		}
		pr := vcs.Thread{Number: f.pulls(t)[0].Number, PullRequest: true}
		writes := f.writes()
		id, _ = f.comment(t, pr, "alice", "/upgrade rerender")
		if got := waitReaction(t, f, pr, id); got != "rocket" {
			t.Fatalf("rerender: reaction = %s; the replies: %+v", got, botComments(t, f, pr))
		}
		// Nothing changed: the only write is the reaction.
		if w := f.writes() - writes; w != 1 {
			t.Errorf("a rerender with nothing new wrote %d times, want 1 (the reaction)", w)
		}
		if prs := f.pulls(t); len(prs) != 1 {
			t.Errorf("a rerender made %d pull requests, want 1", len(prs))
		}
		id, _ = f.comment(t, issue, "alice", "/upgrade rerender")
		if got := waitReaction(t, f, issue, id); got != "confused" {
			t.Errorf("rerender on an issue: reaction = %s, want confused", got)
		}
		waitComment(t, f, issue, "works on the bot's own pull requests, and this is an issue")
		// Eve may only read: her command is denied.
		id, _ = f.comment(t, issue, "eve", "/upgrade v31.0.0 peu02")
		if got := waitReaction(t, f, issue, id); got != "confused" {
			t.Errorf("a command without write permission: reaction = %s, want confused", got)
		}
		commands := scrape(t, reg)
		forge := "forge=" + f.provider().Name()
		const name = "upgrade_bot_commands_total"
		want := map[string]float64{
			name + "{" + forge + ",result=ok,verb=upgrade}":       1,
			name + "{" + forge + ",result=ok,verb=rerender}":      1,
			name + "{" + forge + ",result=invalid,verb=rerender}": 1,
			name + "{" + forge + ",result=denied,verb=upgrade}":   1,
		}
		maps.DeleteFunc(commands, func(k string, _ float64) bool { return !strings.HasPrefix(k, name+"{") })
		if !maps.Equal(commands, want) {
			t.Errorf("upgrade_bot_commands_total = %v, want %v", commands, want)
		}
	})

	t.Run("a release opens the pull requests the policy allows, within its limits", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		// The defaults, patch and minor updates any time, with room for
		// every pull request this test opens in an hour (closed ones
		// count).
		f.push(t, "alice", "main", map[string]string{".upgrade-bot.yaml": "prHourlyLimit: 10\n"})
		h := startBot(t, f)
		res, err := h.svc.Reconcile(t.Context(), f.provider(), repo)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"org-acme/peu02", "org-globex/pus01"}; !slices.Equal(res.Opened, want) {
			t.Errorf("opened %v, want %v; the decisions: %+v", res.Opened, want, res.Decisions)
		}
		heads := map[string]string{}
		for _, pr := range f.pulls(t) {
			heads[pr.Head] = pr.Body
		}
		if len(heads) != 2 || !strings.Contains(heads["upgrade-bot/peu02/v30.1.0"], "Release v30.1.0 is available, and the repository's policy allows it now") || heads["upgrade-bot/pus01/v31.1.0"] == "" {
			t.Errorf("pull requests: %v", heads)
		}
		// Again: nothing new, nothing written.
		writes := f.writes()
		if _, err := h.svc.Reconcile(t.Context(), f.provider(), repo); err != nil {
			t.Fatal(err)
		}
		if w := f.writes() - writes; w != 0 {
			t.Errorf("a second reconcile wrote %d times, want 0", w)
		}
		if prs := f.pulls(t); len(prs) != 2 {
			t.Errorf("a second reconcile left %d pull requests, want 2", len(prs))
		}
		// A person closes one without merging: that version is not
		// proposed again.
		for _, pr := range f.pulls(t) {
			if pr.Head == "upgrade-bot/peu02/v30.1.0" {
				if err := f.provider().ClosePullRequest(t.Context(), repo, pr.Number); err != nil {
					t.Fatal(err)
				}
			}
		}
		res, err = h.svc.Reconcile(t.Context(), f.provider(), repo)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"org-acme/peu02"}; !slices.Equal(res.Declined, want) {
			t.Errorf("declined %v, want %v", res.Declined, want)
		}
		open := 0
		for _, pr := range f.pulls(t) {
			if pr.State == "open" {
				open++
			}
		}
		if open != 1 {
			t.Errorf("%d open pull requests after a person closed one, want 1", open)
		}
		// A pull request the bot itself closed, superseded by a person's
		// /upgrade to another version, is not a refusal: once that one is
		// closed too, the release is proposed again.
		issue := vcs.Thread{Number: f.issue(t, "alice")}
		id, _ := f.comment(t, issue, "alice", "/upgrade v32.0.0 pus01")
		if got := waitReaction(t, f, issue, id); got != "rocket" {
			t.Fatalf("reaction = %s; replies %+v", got, botComments(t, f, issue))
		}
		for _, pr := range f.pulls(t) {
			switch {
			case pr.Head == "upgrade-bot/pus01/v31.1.0" && pr.State != "closed":
				t.Fatalf("the /upgrade to v32.0.0 did not supersede the v31.1.0 pull request: %+v", f.pulls(t))
			case pr.Head == "upgrade-bot/pus01/v32.0.0":
				if err := f.provider().ClosePullRequest(t.Context(), repo, pr.Number); err != nil {
					t.Fatal(err)
				}
			}
		}
		if res, err = h.svc.Reconcile(t.Context(), f.provider(), repo); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(res.Opened, "org-globex/pus01") {
			t.Errorf("the release the bot had superseded was not proposed again: %+v", res)
		}
		if slices.Contains(res.Declined, "org-globex/pus01") {
			t.Errorf("a pull request the bot superseded counts as declined: %+v", res)
		}
	})

	t.Run("a policy's hourly limit holds release-driven pull requests back", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		f.push(t, "alice", "main", map[string]string{".upgrade-bot.yaml": "prHourlyLimit: 1\n"})
		h := startBot(t, f)
		res, err := h.svc.Reconcile(t.Context(), f.provider(), repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Opened) != 1 || len(res.Limited) != 1 {
			t.Errorf("opened %v and held back %v, want one each", res.Opened, res.Limited)
		}
		prs := f.pulls(t)
		if len(prs) != 1 {
			t.Fatalf("%d pull requests, want 1", len(prs))
		}
		// A pull request merged within the hour still counts: the other
		// cluster waits.
		f.merge(t, "alice", prs[0].Number)
		res, err = h.svc.Reconcile(t.Context(), f.provider(), repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Opened) != 0 || len(res.Limited) != 1 {
			t.Errorf("after the hour's pull request was merged, opened %v and held back %v, want none and one", res.Opened, res.Limited)
		}
		// A broken policy leaves the last valid one in force.
		f.push(t, "alice", "main", map[string]string{".upgrade-bot.yaml": "prHourlyLimit: lots\n"})
		res, err = h.svc.Reconcile(t.Context(), f.provider(), repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Limited) != 1 {
			t.Errorf("with a broken policy, held back %v, want the last valid policy's limit to hold one back", res.Limited)
		}
	})

	t.Run("automerge merges inside the window once checks pass and a person approved", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		f.letBotMerge(t)
		// Minor upgrades at night, automerged with one approval and
		// passing checks.
		f.push(t, "alice", "main", map[string]string{".upgrade-bot.yaml": "" +
			"schedule: [\"* 22-23,0-4 * * *\"]\n" +
			"automerge: {updates: [minor], approvals: 1, checks: true, method: squash}\n"})
		h := startBot(t, f)
		reg := h.withMetrics(t)
		night := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
		now := night
		h.svc.Now = func() time.Time { return now }
		reconcile := func() *bot.ReconcileResult {
			t.Helper()
			res, err := h.svc.Reconcile(t.Context(), f.provider(), repo)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		res := reconcile()
		if want := []string{"org-acme/peu02", "org-globex/pus01"}; !slices.Equal(res.Opened, want) || len(res.Merged) != 0 {
			t.Fatalf("opened %v and merged %v, want %v opened and none merged", res.Opened, res.Merged, want)
		}
		var peu02 int
		for _, pr := range f.pulls(t) {
			if pr.Head == "upgrade-bot/peu02/v30.1.0" {
				peu02 = pr.Number
			}
		}
		if why := res.Unmerged["org-acme/peu02"]; !strings.Contains(why, "no status checks") {
			t.Errorf("without checks reported: %q", why)
		}
		f.checks(t, peu02, "pending")
		if why := reconcile().Unmerged["org-acme/peu02"]; !strings.Contains(why, "waiting for its checks") {
			t.Errorf("with checks running: %q", why)
		}
		f.checks(t, peu02, "failed")
		if why := reconcile().Unmerged["org-acme/peu02"]; !strings.Contains(why, "checks failed") {
			t.Errorf("with checks failed: %q", why)
		}
		f.checks(t, peu02, "passed")
		res = reconcile()
		if why := res.Unmerged["org-acme/peu02"]; why != "waiting for approvals: 0 of 1" {
			t.Errorf("with checks passed, no approval: %q", why)
		}
		if b := dashboard(t, f).Body; !strings.Contains(b, "automerge: waiting for approvals: 0 of 1") {
			t.Errorf("the dashboard does not say what the automerge waits for:\n%s", b)
		}
		f.approve(t, "alice", peu02)
		// Approved and green, but it is day: the window is closed.
		now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
		if res := reconcile(); len(res.Merged) != 0 {
			t.Fatalf("merged %v outside the window", res.Merged)
		}
		now = night.Add(24 * time.Hour)
		res = reconcile()
		if !slices.Equal(res.Merged, []string{"org-acme/peu02"}) {
			t.Fatalf("at night, approved and green: merged %v, unmerged %v", res.Merged, res.Unmerged)
		}
		if pr, err := f.provider().PullRequest(t.Context(), repo, peu02); err != nil || pr.State != "merged" {
			t.Errorf("the automerged pull request: %+v, %v; want merged", pr, err)
		}
		if got := f.git(t, "show", "main:"+peu02Kustomization); !strings.Contains(got, "30.1.0") {
			t.Errorf("main does not carry the upgrade:\n%s", got)
		}
		waitComment(t, f, vcs.Thread{Number: peu02, PullRequest: true}, "Merged automatically (squash): the repository's policy automerges minor upgrades, inside the window; 1 approval(s) of 1 required, checks passed.")
		if b := dashboard(t, f).Body; !strings.Contains(b, "merged automatically") {
			t.Errorf("the dashboard does not show the merge:\n%s", b)
		}
		// The next run finds the cluster upgraded: nothing is reopened.
		res = reconcile()
		if slices.Contains(res.Opened, "org-acme/peu02") || len(res.Merged) != 0 {
			t.Errorf("after the merge: opened %v, merged %v", res.Opened, res.Merged)
		}
		for _, d := range res.Decisions {
			if d.Name == "org-acme/peu02" && d.Action == bot.ActionPropose {
				t.Errorf("peu02 is still proposed after its merge: %+v", d)
			}
		}
		// What operators see.
		counts := scrape(t, reg)
		forge := f.provider().Name()
		if counts["upgrade_bot_pull_requests_total{action=opened,forge="+forge+"}"] != 2 || counts["upgrade_bot_pull_requests_total{action=merged,forge="+forge+"}"] != 1 ||
			counts["upgrade_bot_last_reconcile_success_timestamp_seconds{forge="+forge+",repo="+repo+"}"] != float64(now.Unix()) || counts["upgrade_bot_render_duration_seconds"] < 2 {
			t.Errorf("metrics after the scenario: %v", counts)
		}
	})

	t.Run("the dashboard shows the fleet and a ticked box opens the pull request", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		// Upgrades only on Sunday nights; the bot's clock says Wednesday.
		f.push(t, "alice", "main", map[string]string{".upgrade-bot.yaml": "schedule: [\"* 3 * * 0\"]\n"})
		h := startBot(t, f)
		h.svc.Now = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
		res, err := h.svc.Reconcile(t.Context(), f.provider(), repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Opened) != 0 || len(f.pulls(t)) != 0 {
			t.Fatalf("outside the schedule, opened %v", res.Opened)
		}
		board := dashboard(t, f)
		if res.Dashboard != board.Number || board.Author != f.botLogin() || board.Title != bot.DashboardTitle {
			t.Fatalf("the dashboard: %+v, the reconcile says #%d", board, res.Dashboard)
		}
		for _, want := range []string{"**3 clusters**", "## Waiting (2)", "outside the schedule * 3 * * 0 (UTC); opens Sun 03:00 UTC",
			"- [ ] <!-- upgrade-bot:request org-acme/peu02@v30.1.0 -->", "## Not proposed by the policy (1)", "org-acme/peu01@v31.1.0"} {
			if !strings.Contains(board.Body, want) {
				t.Errorf("the dashboard lacks %q:\n%s", want, board.Body)
			}
		}
		// Nothing changed: nothing is written.
		writes := f.writes()
		if _, err := h.svc.Reconcile(t.Context(), f.provider(), repo); err != nil {
			t.Fatal(err)
		}
		if w := f.writes() - writes; w != 0 {
			t.Errorf("a second reconcile wrote %d times, want 0", w)
		}
		tick := func(body, request string) string {
			t.Helper()
			box := "- [ ] <!-- upgrade-bot:request " + request + " -->"
			if !strings.Contains(body, box) {
				t.Fatalf("the dashboard has no box for %s:\n%s", request, body)
			}
			return strings.Replace(body, box, "- [x] <!-- upgrade-bot:request "+request+" -->", 1)
		}
		// Someone who may only read ticks a box: refused, the box cleared.
		if status := f.editIssue(t, board.Number, "eve", tick(board.Body, "org-acme/peu02@v30.1.0")); status/100 != 2 {
			t.Fatalf("the webhook was answered %d", status)
		}
		waitComment(t, f, vcs.Thread{Number: board.Number}, "@eve, ticking a box of this dashboard asks for an upgrade, which needs write permission")
		if b := dashboard(t, f).Body; strings.Contains(b, "[x]") {
			t.Errorf("eve's tick was not cleared:\n%s", b)
		}
		if prs := f.pulls(t); len(prs) != 0 {
			t.Fatalf("eve's tick opened %+v", prs)
		}
		// alice ticks the box: the pull request opens now, outside the
		// schedule (a person asked), and the dashboard shows it.
		if status := f.editIssue(t, board.Number, "alice", tick(dashboard(t, f).Body, "org-acme/peu02@v30.1.0")); status/100 != 2 {
			t.Fatalf("the webhook was answered %d", status)
		}
		deadline := time.Now().Add(90 * time.Second)
		for !strings.Contains(dashboard(t, f).Body, "## Open upgrade pull requests (1)") {
			if time.Now().After(deadline) {
				t.Fatalf("the dashboard does not show the pull request within 90 s:\n%s", dashboard(t, f).Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		prs := f.pulls(t)
		if len(prs) != 1 || prs[0].Head != "upgrade-bot/peu02/v30.1.0" || !strings.Contains(prs[0].Body, fmt.Sprintf("Requested on the upgrade dashboard (#%d) by @alice.", board.Number)) {
			t.Fatalf("pull requests after the tick: %+v", prs)
		}
		if b := dashboard(t, f).Body; strings.Contains(b, "[x]") || strings.Contains(b, "org-acme/peu02@v30.1.0") {
			t.Errorf("the dashboard still offers the upgrade it acted on:\n%s", b)
		}
		// A tick the webhook missed is acted on by the next reconcile,
		// even for an upgrade the policy does not propose by itself.
		board = dashboard(t, f)
		f.setWebhook("http://127.0.0.1:1/webhooks/nowhere")
		f.editIssue(t, board.Number, "alice", tick(board.Body, "org-acme/peu01@v31.1.0"))
		if res, err = h.svc.Reconcile(t.Context(), f.provider(), repo); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Requested, []string{"org-acme/peu01@v31.1.0"}) || len(f.pulls(t)) != 2 {
			t.Errorf("the reconcile acted on %v; pull requests %+v", res.Requested, f.pulls(t))
		}
		// A broken policy is reported on the dashboard, naming the line.
		f.push(t, "alice", "main", map[string]string{".upgrade-bot.yaml": "schedule: [\"* 3 * * 0\"]\nprHourlyLimit: lots\n"})
		if _, err := h.svc.Reconcile(t.Context(), f.provider(), repo); err != nil {
			t.Fatal(err)
		}
		if b := dashboard(t, f).Body; !strings.Contains(b, "`.upgrade-bot.yaml` is not valid, so the last valid policy stays in force") ||
			!strings.Contains(b, `.upgrade-bot.yaml:2:16: prHourlyLimit: expected a whole number, got "lots"`) || !strings.Contains(b, "## Waiting (1)") {
			t.Errorf("the dashboard does not report the broken policy, or the last valid one is not in force:\n%s", b)
		}
		if n := len(f.issues(t)); n != 1 {
			t.Errorf("%d issues, want the one dashboard", n)
		}
	})

	t.Run("restart between receipt and pull request", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		// The command arrives while no bot listens.
		f.setWebhook("http://127.0.0.1:1/webhooks/nowhere")
		issue := vcs.Thread{Number: f.issue(t, "alice")}
		id, _ := f.comment(t, issue, "alice", "/upgrade v31.0.0 peu02")
		h := startBot(t, f)
		n, err := h.svc.Scan(t.Context(), f.provider(), repo, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("the start-up scan handled %d comments, want 1", n)
		}
		if got := waitReaction(t, f, issue, id); got != "rocket" {
			t.Fatalf("reaction = %s", got)
		}
		if _, err := h.svc.Scan(t.Context(), f.provider(), repo, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if prs := f.pulls(t); len(prs) != 1 {
			t.Errorf("got %d pull requests, want 1", len(prs))
		}
	})

	t.Run("bad commands get a reply", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		startBot(t, f)
		issue := vcs.Thread{Number: f.issue(t, "alice")}
		for _, tc := range []struct {
			user, body string
			want       []string
		}{
			{"alice", "/upgrade latest peu02", []string{"not a command I understand", "/upgrade <version> [cluster ...]"}},
			{"alice", "/upgrade v99.0.0 peu02", []string{"release v99.0.0 is not in the capa catalog"}},
			{"alice", "/upgrade v31.0.0 nosuchcluster", []string{`no cluster "nosuchcluster" in the repository`}},
			{"alice", "/upgrade v31.0.0", []string{"the repository has 3 clusters", "/upgrade v31.0.0 org-acme/peu01"}},
			{"alice", "/upgrade v29.6.1 peu02", []string{"v30.0.0 → v29.6.1 is a downgrade"}},
			{"eve", "/upgrade v31.0.0 peu02", []string{"@eve, running `/upgrade` needs write permission on " + repo}},
		} {
			id, _ := f.comment(t, issue, tc.user, tc.body)
			if got := waitReaction(t, f, issue, id); got != "confused" {
				t.Errorf("%q: reaction = %s, want confused", tc.body, got)
			}
			reply := waitComment(t, f, issue, fmt.Sprintf("upgrade-bot:reply:%d ", id))
			t.Logf("%s: %s", tc.body, reply.Body)
			for _, w := range tc.want {
				if !strings.Contains(reply.Body, w) {
					t.Errorf("%q: the reply does not say %q:\n%s", tc.body, w, reply.Body)
				}
			}
		}
		if prs := f.pulls(t); len(prs) != 0 {
			t.Errorf("bad commands opened pull requests: %+v", prs)
		}
		id, _ := f.comment(t, issue, "alice", "/upgrade help")
		if got := waitReaction(t, f, issue, id); got != "rocket" {
			t.Errorf("help: reaction = %s", got)
		}
		waitComment(t, f, issue, "upgrade-bot commands")
	})

	t.Run("plan command comments the diff without a pull request", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		startBot(t, f)
		issue := vcs.Thread{Number: f.issue(t, "alice")}
		id, _ := f.comment(t, issue, "alice", "/upgrade plan v31.0.0 peu01 pus01")
		if got := waitReaction(t, f, issue, id); got != "rocket" {
			t.Fatalf("reaction = %s; the replies: %+v", got, botComments(t, f, issue))
		}
		c := waitComment(t, f, issue, "Rendered change of org-acme/peu01: v30.1.0 → v31.0.0")
		if !strings.Contains(c.Body, "| Resource | Status |") {
			t.Errorf("the plan comment has no resource table:\n%s", c.Body)
		}
		waitComment(t, f, issue, "org-globex/pus01 is already on release v31.0.0")
		if prs := f.pulls(t); len(prs) != 0 {
			t.Errorf("a plan opened pull requests: %+v", prs)
		}
	})

	t.Run("a person's pull request that changes a version gets the diff", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		startBot(t, f)
		content := f.git(t, "show", "main:"+peu02Kustomization)
		bumped := strings.Replace(content, "version: 30.0.0", "version: 30.1.0", 1)
		number := f.openPull(t, "alice", "bump-peu02", map[string]string{peu02Kustomization: bumped})
		th := vcs.Thread{Number: number, PullRequest: true}
		c := waitComment(t, f, th, "Rendered change of org-acme/peu02: v30.0.0 → v30.1.0")
		if !strings.Contains(c.Body, "upgrade-bot:autoplan:org-acme/peu02 1/1") {
			t.Errorf("the autoplan comment has no marker:\n%s", c.Body)
		}
		// Another push changes the target: the same comment is edited.
		f.push(t, "alice", "bump-peu02", map[string]string{peu02Kustomization: strings.Replace(content, "version: 30.0.0", "version: 31.0.0", 1)})
		waitComment(t, f, th, "Rendered change of org-acme/peu02: v30.0.0 → v31.0.0")
		if mine := botComments(t, f, th); len(mine) != 1 {
			t.Errorf("the bot has %d comments on the pull request after a push, want its one comment edited: %+v", len(mine), mine)
		}
	})

	t.Run("transient forge errors are retried, persistent ones explained", func(t *testing.T) {
		t.Parallel()
		f := newForge(t)
		startBot(t, f)
		issue := vcs.Thread{Number: f.issue(t, "alice")}
		f.failCreatePull(502, "")
		f.failCreatePull(429, "1")
		start := time.Now()
		id, _ := f.comment(t, issue, "alice", "/upgrade v31.0.0 peu02")
		if got := waitReaction(t, f, issue, id); got != "rocket" {
			t.Fatalf("after a 502 and a 429: reaction = %s; the replies: %+v", got, botComments(t, f, issue))
		}
		if prs := f.pulls(t); len(prs) != 1 {
			t.Fatalf("after a 502 and a 429: %d pull requests, want 1", len(prs))
		}
		if took := time.Since(start); took < time.Second {
			t.Errorf("the bot retried after %s, sooner than the Retry-After of 1 s", took)
		}
		// Four failures in a row use up the attempts: the person is told.
		for range 4 {
			f.failCreatePull(503, "")
		}
		id, _ = f.comment(t, issue, "alice", "/upgrade v31.0.0 peu01")
		if got := waitReaction(t, f, issue, id); got != "confused" {
			t.Fatalf("after four 503s: reaction = %s", got)
		}
		reply := waitComment(t, f, issue, fmt.Sprintf("upgrade-bot:reply:%d ", id))
		if !strings.Contains(reply.Body, "run the command again in a few minutes") {
			t.Errorf("the reply does not say to try again later:\n%s", reply.Body)
		}
		if prs := f.pulls(t); len(prs) != 1 {
			t.Errorf("after four 503s: %d pull requests, want still 1", len(prs))
		}
	})
}

// scrape gathers reg into "name{label=value,...}" (labels sorted, no
// braces without labels) → value; a histogram's value is its count.
func scrape(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, fam := range families {
		for _, mt := range fam.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(labels)
			key := fam.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case mt.GetCounter() != nil:
				out[key] = mt.GetCounter().GetValue()
			case mt.GetGauge() != nil:
				out[key] = mt.GetGauge().GetValue()
			case mt.GetHistogram() != nil:
				out[key] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func retryHeader(retryAfter string) http.Header {
	if retryAfter == "" {
		return nil
	}
	return http.Header{"Retry-After": []string{retryAfter}}
}
