package github

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v89/github"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// perPage is the page size for lists: GitHub's largest.
const perPage = 100

// FindPullRequest returns the open pull request from branch of repo
// itself (not of a fork), or nil.
func (p *Provider) FindPullRequest(ctx context.Context, repo, branch string) (*vcs.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("finding the pull request from %s in %s: %w", branch, repo, err)
	}
	opts := &github.PullRequestListOptions{State: "open", Head: owner + ":" + branch, ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		prs, resp, err := c.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, wrap(err, "finding the pull request from %s in %s", branch, repo)
		}
		for _, pr := range prs {
			if pr.GetHead().GetRef() == branch && strings.EqualFold(pr.GetHead().GetRepo().GetFullName(), repo) {
				return pullRequest(pr), nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// BranchHistory lists every pull request from branch in repo itself,
// newest first.
func (p *Provider) BranchHistory(ctx context.Context, repo, branch string) ([]vcs.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing the pull requests from %s in %s: %w", branch, repo, err)
	}
	opts := &github.PullRequestListOptions{State: "all", Head: owner + ":" + branch, ListOptions: github.ListOptions{PerPage: perPage}}
	var out []vcs.PullRequest
	for {
		prs, resp, err := c.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, wrap(err, "listing the pull requests from %s in %s", branch, repo)
		}
		for _, pr := range prs {
			if pr.GetHead().GetRef() == branch && strings.EqualFold(pr.GetHead().GetRepo().GetFullName(), repo) {
				out = append(out, *pullRequest(pr))
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// PullRequests lists the open pull requests of repo whose head branch, in
// repo itself, starts with prefix.
func (p *Provider) PullRequests(ctx context.Context, repo, prefix string) ([]vcs.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing the pull requests of %s: %w", repo, err)
	}
	var out []vcs.PullRequest
	opts := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		prs, resp, err := c.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, wrap(err, "listing the pull requests of %s", repo)
		}
		for _, pr := range prs {
			if strings.HasPrefix(pr.GetHead().GetRef(), prefix) && strings.EqualFold(pr.GetHead().GetRepo().GetFullName(), repo) {
				out = append(out, *pullRequest(pr))
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// PullRequestsCreatedSince lists the pull requests of repo in every state
// whose head branch, in repo itself, starts with prefix and that were
// opened at or after since, newest first. It reads GitHub's list sorted by
// creation, newest first, and stops at the first page that reaches past
// since: usually one request, and one whose URL does not change, so that
// it is revalidated with If-None-Match.
func (p *Provider) PullRequestsCreatedSince(ctx context.Context, repo, prefix string, since time.Time) ([]vcs.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing the pull requests of %s opened since %s: %w", repo, since.Format(time.RFC3339), err)
	}
	var out []vcs.PullRequest
	opts := &github.PullRequestListOptions{State: "all", Sort: "created", Direction: "desc", ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		prs, resp, err := c.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, wrap(err, "listing the pull requests of %s opened since %s", repo, since.Format(time.RFC3339))
		}
		for _, pr := range prs {
			if pr.GetCreatedAt().Before(since) {
				return out, nil
			}
			if strings.HasPrefix(pr.GetHead().GetRef(), prefix) && strings.EqualFold(pr.GetHead().GetRepo().GetFullName(), repo) {
				out = append(out, *pullRequest(pr))
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// PullRequest returns one pull request by number.
func (p *Provider) PullRequest(ctx context.Context, repo string, number int) (*vcs.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("getting pull request #%d of %s: %w", number, repo, err)
	}
	pr, _, err := c.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return nil, wrap(err, "getting pull request #%d of %s", number, repo)
	}
	return pullRequest(pr), nil
}

// CreatePullRequest opens a pull request from pr.Head into pr.Base.
func (p *Provider) CreatePullRequest(ctx context.Context, repo string, pr vcs.NewPullRequest) (*vcs.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("creating a pull request from %s in %s: %w", pr.Head, repo, err)
	}
	created, _, err := c.PullRequests.Create(ctx, owner, name, &github.NewPullRequest{
		Title: github.Ptr(pr.Title),
		Head:  github.Ptr(pr.Head),
		Base:  github.Ptr(pr.Base),
		Body:  github.Ptr(pr.Body),
	})
	if err != nil {
		return nil, wrap(err, "creating a pull request from %s in %s", pr.Head, repo)
	}
	return pullRequest(created), nil
}

// UpdatePullRequest sets the title and body of a pull request.
func (p *Provider) UpdatePullRequest(ctx context.Context, repo string, number int, title, body string) error {
	return p.editPull(ctx, repo, number, &github.PullRequest{Title: github.Ptr(title), Body: github.Ptr(body)}, "updating")
}

// ClosePullRequest closes a pull request without merging it.
func (p *Provider) ClosePullRequest(ctx context.Context, repo string, number int) error {
	return p.editPull(ctx, repo, number, &github.PullRequest{State: github.Ptr("closed")}, "closing")
}

func (p *Provider) editPull(ctx context.Context, repo string, number int, edit *github.PullRequest, doing string) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return fmt.Errorf("%s pull request #%d of %s: %w", doing, number, repo, err)
	}
	if _, _, err := c.PullRequests.Edit(ctx, owner, name, number, edit); err != nil {
		return wrap(err, "%s pull request #%d of %s", doing, number, repo)
	}
	return nil
}

// pullRequest is GitHub's pull request in neutral terms. HeadRef is the
// ref GitHub keeps in the base repository for every pull request, forks
// included.
func pullRequest(pr *github.PullRequest) *vcs.PullRequest {
	state := pr.GetState()
	if pr.GetMerged() || pr.MergedAt != nil {
		state = "merged"
	}
	return &vcs.PullRequest{
		Number:  pr.GetNumber(),
		Title:   pr.GetTitle(),
		Body:    pr.GetBody(),
		Head:    pr.GetHead().GetRef(),
		Base:    pr.GetBase().GetRef(),
		HeadSHA: pr.GetHead().GetSHA(),
		BaseSHA: pr.GetBase().GetSHA(),
		HeadRef: fmt.Sprintf("refs/pull/%d/head", pr.GetNumber()),
		State:   state,
		Author:  user(pr.GetUser()),
		URL:     pr.GetHTMLURL(),

		CreatedAt: pr.GetCreatedAt().Time,
	}
}
