package github_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
	"github.com/upgrade-bot/upgrade-bot/vcs"
	ghp "github.com/upgrade-bot/upgrade-bot/vcs/github"
)

const listPulls = "GET /repos/{owner}/{repo}/pulls"

func TestConditionalRequests(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	ctx := t.Context()
	const branch = "upgrade-bot/peu01/v31.0.0"
	w.pushBranch(t, testRepo, branch, "31.0.0")
	created, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "Upgrade", Body: "Body"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := w.p.PullRequests(ctx, testRepo, "upgrade-bot/")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changed: GitHub answers 304, and the answer is the same.
	again, err := w.p.PullRequests(ctx, testRepo, "upgrade-bot/")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("the revalidated answer differs (-first +again):\n%s", diff)
	}
	if got, nm := w.fake.Requests(listPulls), w.fake.NotModified(listPulls); got != 1 || nm != 1 {
		t.Errorf("two lists made %d requests and %d 304s, want 1 and 1", got, nm)
	}
	// A change shows at once: the cache never answers without asking.
	if err := w.p.UpdatePullRequest(ctx, testRepo, created.Number, "Upgrade, renamed", "Body"); err != nil {
		t.Fatal(err)
	}
	changed, err := w.p.PullRequests(ctx, testRepo, "upgrade-bot/")
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].Title != "Upgrade, renamed" {
		t.Errorf("after a change the list is %+v, want the new title", changed)
	}
	if got := w.fake.Requests(listPulls); got != 2 {
		t.Errorf("%d full answers after a change, want 2", got)
	}

	// With the cache off every request is a full one.
	off, err := ghp.New(ctx, ghp.Options{BaseURL: w.fake.APIURL(), Token: w.token, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	before := w.fake.NotModified(listPulls)
	for range 2 {
		if _, err := off.PullRequests(ctx, testRepo, "upgrade-bot/"); err != nil {
			t.Fatal(err)
		}
	}
	if nm := w.fake.NotModified(listPulls) - before; nm != 0 {
		t.Errorf("without a cache, %d 304s", nm)
	}
}

// clock is a settable clock for the fake's timestamps.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestPullRequestsCreatedSince(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	c := &clock{now: t0}
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{Now: c.Now})
	ctx := t.Context()
	open := func(branch string, at time.Time) int {
		t.Helper()
		c.Set(at)
		w.pushBranch(t, testRepo, branch, "31.0.0")
		pr, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: branch, Base: "main", Title: branch, Body: "Body"})
		if err != nil {
			t.Fatal(err)
		}
		return pr.Number
	}
	old := open("upgrade-bot/peu01/v31.0.0", t0)
	closed := open("upgrade-bot/peu01/v31.0.1", t0.Add(90*time.Minute))
	if err := w.p.ClosePullRequest(ctx, testRepo, closed); err != nil {
		t.Fatal(err)
	}
	open("alice/fix", t0.Add(100*time.Minute)) // not the bot's
	newest := open("upgrade-bot/peu02/v31.0.0", t0.Add(110*time.Minute))

	numbers := func(since time.Time) []int {
		t.Helper()
		prs, err := w.p.PullRequestsCreatedSince(ctx, testRepo, "upgrade-bot/", since)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, pr := range prs {
			out = append(out, pr.Number)
		}
		return out
	}
	if diff := cmp.Diff([]int{newest, closed}, numbers(t0.Add(time.Hour))); diff != "" {
		t.Errorf("opened in the last hour (-want +got), the closed one included:\n%s", diff)
	}
	if diff := cmp.Diff([]int{newest, closed, old}, numbers(t0)); diff != "" {
		t.Errorf("opened since the first (-want +got):\n%s", diff)
	}
	if got := numbers(t0.Add(3 * time.Hour)); len(got) != 0 {
		t.Errorf("opened after the last: %v, want none", got)
	}
}
