package vcs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// fakeClock is a clock that moves only when the pacer sleeps.
type fakeClock struct {
	now    time.Time
	slept  []time.Duration
	cancel func() // called on the first sleep, when set
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	if c.cancel != nil {
		c.cancel()
		return ctx.Err()
	}
	c.now = c.now.Add(d)
	return nil
}

func TestPacerKeepsBothWindows(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	p := vcs.NewPacer(vcs.Pace{PerMinute: 80, PerHour: 500}, vcs.PacerOptions{Now: clock.Now, Sleep: clock.Sleep})
	var at []time.Time
	for range 1200 {
		if err := p.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		at = append(at, clock.now)
	}
	count := func(from time.Time, span time.Duration) int {
		n := 0
		for _, t := range at {
			if !t.Before(from) && t.Before(from.Add(span)) {
				n++
			}
		}
		return n
	}
	for _, t0 := range at {
		if n := count(t0, time.Minute); n > 80 {
			t.Fatalf("%d requests in the minute from %s, want at most 80", n, t0.Format(time.TimeOnly))
		}
		if n := count(t0, time.Hour); n > 500 {
			t.Fatalf("%d requests in the hour from %s, want at most 500", n, t0.Format(time.TimeOnly))
		}
	}
	// The first 80 go at once; the minute limit then lets 80 through each
	// minute, until the hour's 500 are used: the 501st waits for the hour.
	if got := at[79]; !got.Equal(start) {
		t.Errorf("the 80th request went at %s, want at once", got.Sub(start))
	}
	if got := at[80].Sub(start); got != time.Minute {
		t.Errorf("the 81st request went after %s, want 1m0s", got)
	}
	if got := at[500].Sub(start); got != time.Hour {
		t.Errorf("the 501st request went after %s, want 1h0m0s", got)
	}
	if got := at[1000].Sub(start); got != 2*time.Hour {
		t.Errorf("the 1001st request went after %s, want 2h0m0s", got)
	}
}

func TestPacerStopsWithTheContext(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	p := vcs.NewPacer(vcs.Pace{PerMinute: 1}, vcs.PacerOptions{Now: clock.Now, Sleep: clock.Sleep})
	if err := p.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	clock.cancel = cancel
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting with a cancelled context: %v, want context.Canceled", err)
	}
	// A request given up on is not counted: the next one goes a minute
	// after the first.
	clock.cancel = nil
	if err := p.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{time.Minute, time.Minute}; len(clock.slept) != 2 || clock.slept[1] != want[1] {
		t.Errorf("slept %v, want %v", clock.slept, want)
	}
}

func TestPacerUnlimited(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	p := vcs.NewPacer(vcs.Pace{}, vcs.PacerOptions{Now: clock.Now, Sleep: clock.Sleep})
	for range 10_000 {
		if err := p.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if len(clock.slept) != 0 {
		t.Errorf("an unlimited pacer slept %d times", len(clock.slept))
	}
}

// countingProvider counts the calls the wrapper passes on.
type countingProvider struct {
	vcs.Provider // nil: only the methods below are called
	calls        map[string]int
}

func (c *countingProvider) Name() string { return "github" }
func (c *countingProvider) CreatePullRequest(context.Context, string, vcs.NewPullRequest) (*vcs.PullRequest, error) {
	c.calls["CreatePullRequest"]++
	return &vcs.PullRequest{}, nil
}
func (c *countingProvider) UpdatePullRequest(context.Context, string, int, string, string) error {
	c.calls["UpdatePullRequest"]++
	return nil
}
func (c *countingProvider) ClosePullRequest(context.Context, string, int) error {
	c.calls["ClosePullRequest"]++
	return nil
}
func (c *countingProvider) CreateComment(context.Context, string, vcs.Thread, string) (vcs.Comment, error) {
	c.calls["CreateComment"]++
	return vcs.Comment{}, nil
}
func (c *countingProvider) EditComment(context.Context, string, vcs.CommentRef, string) error {
	c.calls["EditComment"]++
	return nil
}
func (c *countingProvider) React(context.Context, string, vcs.CommentRef, vcs.ReactionContent) error {
	c.calls["React"]++
	return nil
}
func (c *countingProvider) MergePullRequest(context.Context, string, int, vcs.MergeOptions) error {
	c.calls["MergePullRequest"]++
	return nil
}
func (c *countingProvider) CreateIssue(context.Context, string, string, string) (*vcs.Issue, error) {
	c.calls["CreateIssue"]++
	return &vcs.Issue{}, nil
}
func (c *countingProvider) EditIssue(context.Context, string, int, string, string) error {
	c.calls["EditIssue"]++
	return nil
}
func (c *countingProvider) FindPullRequest(context.Context, string, string) (*vcs.PullRequest, error) {
	c.calls["FindPullRequest"]++
	return nil, nil
}

func TestPacedPacesEveryWriteAndNoRead(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := &fakeClock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	inner := &countingProvider{calls: map[string]int{}}
	// One request a minute: every write after the first waits a minute.
	p := vcs.NewPaced(inner, vcs.NewPacer(vcs.Pace{PerMinute: 1}, vcs.PacerOptions{Now: clock.Now, Sleep: clock.Sleep}))
	ref := vcs.CommentRef{Thread: vcs.Thread{Number: 1}, ID: 7}
	writes := []func() error{
		func() error { _, err := p.CreatePullRequest(ctx, "o/r", vcs.NewPullRequest{}); return err },
		func() error { return p.UpdatePullRequest(ctx, "o/r", 1, "t", "b") },
		func() error { return p.ClosePullRequest(ctx, "o/r", 1) },
		func() error { _, err := p.CreateComment(ctx, "o/r", ref.Thread, "b"); return err },
		func() error { return p.EditComment(ctx, "o/r", ref, "b") },
		func() error { return p.React(ctx, "o/r", ref, vcs.ReactionRocket) },
		func() error { return p.MergePullRequest(ctx, "o/r", 1, vcs.MergeOptions{Method: vcs.MethodSquash}) },
		func() error { _, err := p.CreateIssue(ctx, "o/r", "t", "b"); return err },
		func() error { return p.EditIssue(ctx, "o/r", 1, "t", "b") },
	}
	for i, w := range writes {
		if err := w(); err != nil {
			t.Fatal(err)
		}
		if _, err := p.FindPullRequest(ctx, "o/r", "b"); err != nil {
			t.Fatal(err)
		}
		if len(clock.slept) != i {
			t.Fatalf("after %d writes the pacer slept %d times, want %d", i+1, len(clock.slept), i)
		}
	}
	for _, m := range []string{"CreatePullRequest", "UpdatePullRequest", "ClosePullRequest", "CreateComment", "EditComment", "React", "MergePullRequest", "CreateIssue", "EditIssue"} {
		if inner.calls[m] != 1 {
			t.Errorf("%s reached the provider %d times, want 1", m, inner.calls[m])
		}
	}
	if inner.calls["FindPullRequest"] != len(writes) {
		t.Errorf("FindPullRequest reached the provider %d times, want %d", inner.calls["FindPullRequest"], len(writes))
	}
}
