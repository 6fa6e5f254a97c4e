package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
	"github.com/upgrade-bot/upgrade-bot/vcs"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
	"github.com/upgrade-bot/upgrade-bot/vcs/github"
)

// fleet is the release scenario on the GitHub fake: generated
// repositories, the bot as a GitHub App installed on their owner, its
// writes paced at GitHub's content-creation limits on a simulated clock
// (the pace's waits are added up, not slept).
type fleet struct {
	s     *githubfake.Server
	p     vcs.Provider
	svc   *bot.Service
	repos []string
	// paced is how long the pacer made the writes wait, on its clock.
	paced *simulatedClock
}

// simulatedClock is a clock that moves only when the pacer sleeps.
type simulatedClock struct {
	start, now time.Time
}

func (c *simulatedClock) Now() time.Time { return c.now }
func (c *simulatedClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return ctx.Err()
}
func (c *simulatedClock) waited() time.Duration { return c.now.Sub(c.start) }

// newFleet generates repos repositories of perRepo clusters each (on
// 30.0.0 and 30.1.0, the example releases going up to v31.1.0) and the bot
// to reconcile them; cacheBytes is github.Options.CacheBytes.
func newFleet(tb testing.TB, spec *githubfake.Spec, repos, perRepo int, cacheBytes int64) *fleet {
	tb.Helper()
	ctx := tb.Context()
	dir := filepath.Join(tb.TempDir(), "gitops")
	if err := render.GenerateFleet(dir, perRepo, []string{"30.0.0", "30.1.0"}); err != nil {
		tb.Fatal(err)
	}
	s := githubfake.New(tb, githubfake.Options{Spec: spec, PathPrefix: "/api/v3"})
	f := &fleet{s: s}
	for i := range repos {
		name := fmt.Sprintf("acme/gitops-%03d", i)
		s.CreateRepo(ctx, tb, name, dir)
		f.repos = append(f.repos, name)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	s.SetApp(githubfake.App{ID: 4242, Slug: "upgrade-bot", PublicKey: &key.PublicKey})
	s.InstallApp("acme")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	gh, err := github.New(ctx, github.Options{BaseURL: s.APIURL(), AppID: 4242, AppPrivateKey: keyPEM, WebhookSecret: githubSecret, CacheBytes: cacheBytes})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	f.paced = &simulatedClock{start: start, now: start}
	f.p = vcs.NewPaced(gh, vcs.NewPacer(vcs.DefaultPace("github"), vcs.PacerOptions{Now: f.paced.Now, Sleep: f.paced.Sleep}))
	catalog, err := releases.Load(ctx, filepath.Join(moduleRoot(tb), "examples", "releases"))
	if err != nil {
		tb.Fatal(err)
	}
	f.svc = &bot.Service{
		Catalog: func() *releases.Catalog { return catalog },
		Workdir: tb.TempDir(),
		Author:  git.Signature{Name: "upgrade-bot", Email: botEmail},
		Retry:   bot.Backoff{Attempts: 4, Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Log:     slog.New(slog.DiscardHandler),
	}
	return f
}

// cycle is what one reconcile of every repository cost.
type cycle struct {
	wall        time.Duration
	opened      int
	limited     int
	declined    int
	requests    int // answered other than 304
	notModified int
	writes      int
	counts      githubfake.Counts
}

func (c cycle) String() string {
	return fmt.Sprintf("%d requests (%d writes) + %d answered 304, %d opened, %d held back, %d declined, in %s",
		c.requests, c.writes, c.notModified, c.opened, c.limited, c.declined, c.wall.Round(time.Millisecond))
}

// reconcile reconciles every repository once, as serve's loop does.
func (f *fleet) reconcile(tb testing.TB) cycle {
	tb.Helper()
	before, writes := f.s.Counts(), f.s.Writes()
	var c cycle
	start := time.Now()
	for _, r := range f.repos {
		res, err := f.svc.Reconcile(tb.Context(), f.p, r)
		if err != nil {
			tb.Fatalf("reconciling %s: %v", r, err)
		}
		c.opened += len(res.Opened)
		c.limited += len(res.Limited)
		c.declined += len(res.Declined)
	}
	c.wall = time.Since(start)
	c.counts = f.s.Counts().Sub(before)
	c.requests, c.notModified = c.counts.Total()
	c.writes = f.s.Writes() - writes
	return c
}

// TestRequestsPerReconcile measures what the reconcile asks of GitHub, with
// the answer cache and without: a release reaches a small fleet, a person
// declines one pull request, and the fleet is reconciled twice more.
func TestRequestsPerReconcile(t *testing.T) {
	t.Parallel()
	spec := githubfake.LoadSpec(t)
	run := func(t *testing.T, cacheBytes int64) []cycle {
		f := newFleet(t, spec, 2, 8, cacheBytes)
		first := f.reconcile(t)
		// A person closes one of the bot's pull requests unmerged.
		prs := f.s.PullRequests(f.repos[0])
		if len(prs) == 0 {
			t.Fatalf("the first reconcile opened nothing: %v", first)
		}
		if err := f.p.ClosePullRequest(t.Context(), f.repos[0], prs[0].Number); err != nil {
			t.Fatal(err)
		}
		second := f.reconcile(t)
		third := f.reconcile(t)
		for i, c := range []cycle{first, second, third} {
			t.Logf("reconcile %d: %v", i+1, c)
			t.Logf("reconcile %d by operation: %v; 304: %v", i+1, c.counts.Requests, c.counts.NotModified)
		}
		if second.declined != 1 || third.declined != 1 {
			t.Errorf("declined %d and %d, want 1 each", second.declined, third.declined)
		}
		if third.writes != 0 {
			t.Errorf("the steady state wrote %d times, want 0", third.writes)
		}
		return []cycle{first, second, third}
	}
	var cached, uncached []cycle
	t.Run("cache", func(t *testing.T) { cached = run(t, 0) })
	t.Run("no cache", func(t *testing.T) { uncached = run(t, -1) })
	if len(cached) != 3 || len(uncached) != 3 {
		return
	}
	steady, before := cached[2], uncached[2]
	if steady.notModified == 0 {
		t.Errorf("the steady state had no 304s: %v", steady)
	}
	if steady.requests >= before.requests {
		t.Errorf("the steady state made %d full requests with the cache, %d without: want fewer", steady.requests, before.requests)
	}
	if steady.requests+steady.notModified != before.requests+before.notModified {
		t.Errorf("with the cache %d requests in all, without %d: the cache should change answers, not requests", steady.requests+steady.notModified, before.requests)
	}
}

// BenchmarkReleaseToFleet is the scenario end to end: a release
// published to a fleet of repositories on the GitHub fake, the bot
// reconciling each (clone, discover, decide, plan, open pull requests
// within the policies' limits, paced), then reconciling again in the
// steady state (the second reconcile still sees what the first wrote
// after it last read a list; the third is the steady state). By default
// 20 repositories of 25 clusters (500); set
// UPGRADE_BOT_BENCH_REPOS=200 for the 5,000 clusters in 200
// repositories (`make bench` does; about 3 minutes on 2 cores: every
// repository is cloned and 400 pull requests are opened).
func BenchmarkReleaseToFleet(b *testing.B) {
	repos, perRepo := 20, 25
	if v := os.Getenv("UPGRADE_BOT_BENCH_REPOS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("UPGRADE_BOT_BENCH_REPOS=%q: want a positive number", v)
		}
		repos = n
	}
	spec := githubfake.LoadSpec(b)
	var first, second, third cycle
	var decide time.Duration
	var paced time.Duration
	for range b.N {
		b.StopTimer()
		f := newFleet(b, spec, repos, perRepo, 0)
		b.StartTimer()
		first = f.reconcile(b)
		paced = f.paced.waited()
		second = f.reconcile(b)
		third = f.reconcile(b)
		b.StopTimer()
		decide = f.decide(b)
		b.StartTimer()
	}
	b.Logf("%d repositories of %d clusters: first reconcile %v; paced writes would wait %s on GitHub", repos, perRepo, first, paced)
	b.Logf("second reconcile %v", second)
	b.Logf("second reconcile by operation: %v; 304: %v", second.counts.Requests, second.counts.NotModified)
	b.Logf("third reconcile %v", third)
	b.Logf("third reconcile by operation: %v; 304: %v", third.counts.Requests, third.counts.NotModified)
	b.ReportMetric(float64(repos*perRepo), "clusters")
	b.ReportMetric(decide.Seconds()*1000, "decide-ms")
	b.ReportMetric(first.wall.Seconds(), "cycle1-s")
	b.ReportMetric(float64(first.requests), "cycle1-requests")
	b.ReportMetric(float64(first.notModified), "cycle1-304s")
	b.ReportMetric(float64(first.writes), "cycle1-writes")
	b.ReportMetric(float64(first.opened), "cycle1-opened")
	b.ReportMetric(paced.Minutes(), "cycle1-pace-wait-min")
	b.ReportMetric(second.wall.Seconds(), "cycle2-s")
	b.ReportMetric(float64(second.requests), "cycle2-requests")
	b.ReportMetric(float64(second.notModified), "cycle2-304s")
	b.ReportMetric(float64(second.writes), "cycle2-writes")
	b.ReportMetric(float64(third.requests), "cycle3-requests")
	b.ReportMetric(float64(third.notModified), "cycle3-304s")
	b.ReportMetric(float64(third.writes), "cycle3-writes")
}

// decide times the decisions alone for every repository of the fleet, on
// the bot's clones: what BenchmarkDecideFleet measures, on real trees.
func (f *fleet) decide(tb testing.TB) time.Duration {
	tb.Helper()
	catalog := f.svc.Catalog()
	var trees []*render.Repository
	for _, r := range f.repos {
		tree, err := render.Discover(tb.Context(), filepath.Join(f.svc.Workdir, "github", filepath.FromSlash(r)), render.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		trees = append(trees, tree)
	}
	now := time.Now()
	start := time.Now()
	for _, tree := range trees {
		d := &bot.Decider{Catalog: catalog}
		d.Decide(tree, now)
	}
	return time.Since(start)
}
