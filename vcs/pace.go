package vcs

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Pace is how fast the bot may create content on a forge: pull requests,
// comments, edits of either, reactions. A zero field is no limit of that
// window.
type Pace struct {
	PerMinute int
	PerHour   int
}

// DefaultPace is the pace for a forge by its Name: on GitHub its
// published secondary limit on content-generating requests, in general no
// more than 80 a minute and 500 an hour; on GitLab its default per-user
// limit on creating notes, 300 a minute (issue creation is limited per
// project and off by default); no limit on any other.
func DefaultPace(forge string) Pace {
	switch forge {
	case "github":
		return Pace{PerMinute: 80, PerHour: 500}
	case "gitlab":
		return Pace{PerMinute: 300}
	}
	return Pace{}
}

func (p Pace) String() string {
	switch {
	case p.PerMinute <= 0 && p.PerHour <= 0:
		return "unlimited"
	case p.PerHour <= 0:
		return fmt.Sprintf("%d/min", p.PerMinute)
	case p.PerMinute <= 0:
		return fmt.Sprintf("%d/h", p.PerHour)
	}
	return fmt.Sprintf("%d/min, %d/h", p.PerMinute, p.PerHour)
}

// Pacer lets content-creating requests through at no more than its Pace,
// counted over sliding windows: at most PerMinute in any 60 seconds and
// PerHour in any hour, which is how GitHub states its limits (a token
// bucket would allow a burst on top of the rate). A request that would
// exceed a window waits until the oldest request in it leaves it. It is
// safe for concurrent use; one Pacer serves all repositories of a forge.
type Pacer struct {
	windows []*window
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error

	mu sync.Mutex
}

// window remembers the times of the last n requests, oldest first.
type window struct {
	span  time.Duration
	n     int
	times []time.Time
}

// PacerOptions are a Pacer's clock, for tests: Now is time.Now and Sleep
// waits on a timer when nil.
type PacerOptions struct {
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewPacer returns a Pacer for pace.
func NewPacer(pace Pace, opts PacerOptions) *Pacer {
	p := &Pacer{now: opts.Now, sleep: opts.Sleep}
	if p.now == nil {
		p.now = time.Now
	}
	if p.sleep == nil {
		p.sleep = sleep
	}
	if pace.PerMinute > 0 {
		p.windows = append(p.windows, &window{span: time.Minute, n: pace.PerMinute})
	}
	if pace.PerHour > 0 {
		p.windows = append(p.windows, &window{span: time.Hour, n: pace.PerHour})
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Wait blocks until one more request fits the pace, and counts it; it
// returns the context's error when the context ends first.
func (p *Pacer) Wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		wait := p.take()
		if wait <= 0 {
			return nil
		}
		if err := p.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// take counts a request and returns zero when it fits every window now,
// else how long until it might.
func (p *Pacer) take() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var wait time.Duration
	for _, w := range p.windows {
		if len(w.times) < w.n {
			continue
		}
		wait = max(wait, w.times[0].Add(w.span).Sub(now))
	}
	if wait > 0 {
		return wait
	}
	for _, w := range p.windows {
		if len(w.times) == w.n {
			w.times = w.times[1:]
		}
		w.times = append(w.times, now)
	}
	return 0
}

// Paced is a Provider whose content-creating requests go through a Pacer:
// CreatePullRequest, UpdatePullRequest, ClosePullRequest,
// MergePullRequest, CreateComment, EditComment, React, CreateIssue and
// EditIssue. (GitHub counts edits as content creation; closing
// is a write of the same kind, and rare.) Every other method is the
// Provider's own.
type Paced struct {
	Provider
	pacer *Pacer
}

// NewPaced wraps p so that its writes wait for pacer; share one pacer
// between everything that writes as the same account on the same forge.
func NewPaced(p Provider, pacer *Pacer) *Paced {
	return &Paced{Provider: p, pacer: pacer}
}

var _ Provider = (*Paced)(nil)

func (p *Paced) wait(ctx context.Context, doing string) error {
	if err := p.pacer.Wait(ctx); err != nil {
		return fmt.Errorf("waiting for the pace of content creation on %s before %s: %w", p.Name(), doing, err)
	}
	return nil
}

// CreatePullRequest opens a pull request, in pace.
func (p *Paced) CreatePullRequest(ctx context.Context, repo string, pr NewPullRequest) (*PullRequest, error) {
	if err := p.wait(ctx, "opening a pull request in "+repo); err != nil {
		return nil, err
	}
	return p.Provider.CreatePullRequest(ctx, repo, pr)
}

// UpdatePullRequest changes a pull request's title and body, in pace.
func (p *Paced) UpdatePullRequest(ctx context.Context, repo string, number int, title, body string) error {
	if err := p.wait(ctx, fmt.Sprintf("updating pull request #%d of %s", number, repo)); err != nil {
		return err
	}
	return p.Provider.UpdatePullRequest(ctx, repo, number, title, body)
}

// ClosePullRequest closes a pull request, in pace.
func (p *Paced) ClosePullRequest(ctx context.Context, repo string, number int) error {
	if err := p.wait(ctx, fmt.Sprintf("closing pull request #%d of %s", number, repo)); err != nil {
		return err
	}
	return p.Provider.ClosePullRequest(ctx, repo, number)
}

// CreateComment comments, in pace.
func (p *Paced) CreateComment(ctx context.Context, repo string, thread Thread, body string) (Comment, error) {
	if err := p.wait(ctx, fmt.Sprintf("commenting on %s of %s", thread, repo)); err != nil {
		return Comment{}, err
	}
	return p.Provider.CreateComment(ctx, repo, thread, body)
}

// EditComment edits a comment, in pace.
func (p *Paced) EditComment(ctx context.Context, repo string, ref CommentRef, body string) error {
	if err := p.wait(ctx, fmt.Sprintf("editing comment %d of %s", ref.ID, repo)); err != nil {
		return err
	}
	return p.Provider.EditComment(ctx, repo, ref, body)
}

// React reacts to a comment, in pace.
func (p *Paced) React(ctx context.Context, repo string, ref CommentRef, content ReactionContent) error {
	if err := p.wait(ctx, fmt.Sprintf("reacting to comment %d of %s", ref.ID, repo)); err != nil {
		return err
	}
	return p.Provider.React(ctx, repo, ref, content)
}

// MergePullRequest merges a pull request, in pace.
func (p *Paced) MergePullRequest(ctx context.Context, repo string, number int, opts MergeOptions) error {
	if err := p.wait(ctx, fmt.Sprintf("merging pull request #%d of %s", number, repo)); err != nil {
		return err
	}
	return p.Provider.MergePullRequest(ctx, repo, number, opts)
}

// CreateIssue opens an issue, in pace.
func (p *Paced) CreateIssue(ctx context.Context, repo, title, body string) (*Issue, error) {
	if err := p.wait(ctx, "opening an issue in "+repo); err != nil {
		return nil, err
	}
	return p.Provider.CreateIssue(ctx, repo, title, body)
}

// EditIssue edits an issue, in pace.
func (p *Paced) EditIssue(ctx context.Context, repo string, number int, title, body string) error {
	if err := p.wait(ctx, fmt.Sprintf("editing issue #%d of %s", number, repo)); err != nil {
		return err
	}
	return p.Provider.EditIssue(ctx, repo, number, title, body)
}
