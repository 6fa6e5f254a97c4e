package github

import (
	"context"
	"fmt"

	"github.com/google/go-github/v89/github"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// Issues lists the open issues of repo opened by author, oldest first.
// GitHub's issue list holds pull requests too; they are left out.
func (p *Provider) Issues(ctx context.Context, repo, author string) ([]vcs.Issue, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing the issues of %s by %s: %w", repo, author, err)
	}
	opts := &github.IssueListByRepoOptions{
		State: "open", Creator: author, Sort: "created", Direction: "asc",
		ListOptions: github.ListOptions{PerPage: perPage},
	}
	var out []vcs.Issue
	for {
		is, resp, err := c.Issues.ListByRepo(ctx, owner, name, opts)
		if err != nil {
			return nil, wrap(err, "listing the issues of %s by %s", repo, author)
		}
		for _, i := range is {
			if !i.IsPullRequest() {
				out = append(out, issue(i))
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.ListOptions.Page = resp.NextPage
	}
}

// CreateIssue opens an issue.
func (p *Provider) CreateIssue(ctx context.Context, repo, title, body string) (*vcs.Issue, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("opening an issue in %s: %w", repo, err)
	}
	i, _, err := c.Issues.Create(ctx, owner, name, &github.IssueRequest{Title: github.Ptr(title), Body: github.Ptr(body)})
	if err != nil {
		return nil, wrap(err, "opening an issue in %s", repo)
	}
	out := issue(i)
	return &out, nil
}

// EditIssue replaces the title and body of an issue.
func (p *Provider) EditIssue(ctx context.Context, repo string, number int, title, body string) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return fmt.Errorf("editing issue #%d in %s: %w", number, repo, err)
	}
	if _, _, err := c.Issues.Edit(ctx, owner, name, number, &github.IssueRequest{Title: github.Ptr(title), Body: github.Ptr(body)}); err != nil {
		return wrap(err, "editing issue #%d in %s", number, repo)
	}
	return nil
}

func issue(i *github.Issue) vcs.Issue {
	return vcs.Issue{
		Number: i.GetNumber(),
		Title:  i.GetTitle(),
		Body:   i.GetBody(),
		State:  i.GetState(),
		Author: user(i.GetUser()),
		URL:    i.GetHTMLURL(),
	}
}
