package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// Issues lists the open issues of project repo opened by author, oldest
// first.
func (p *Provider) Issues(ctx context.Context, repo, author string) ([]vcs.Issue, error) {
	opts := &gl.ListProjectIssuesOptions{
		ListOptions:    gl.ListOptions{PerPage: perPage},
		State:          gl.Ptr("opened"),
		AuthorUsername: gl.Ptr(author),
		OrderBy:        gl.Ptr("created_at"),
		Sort:           gl.Ptr("asc"),
	}
	is, err := gl.ScanAndCollect(func(page gl.PaginationOptionFunc) ([]*gl.Issue, *gl.Response, error) {
		is, resp, err := p.client.Issues.ListProjectIssues(repo, opts, gl.WithContext(ctx), page)
		return is, resp, classify(resp, err)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the issues of %s by %s: %w", repo, author, err)
	}
	out := make([]vcs.Issue, 0, len(is))
	for _, i := range is {
		out = append(out, issue(i))
	}
	return out, nil
}

// CreateIssue opens an issue in project repo.
func (p *Provider) CreateIssue(ctx context.Context, repo, title, body string) (*vcs.Issue, error) {
	opts := &gl.CreateIssueOptions{Title: gl.Ptr(title), Description: gl.Ptr(body)}
	i, resp, err := p.client.Issues.CreateIssue(repo, opts, gl.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("opening an issue in %s: %w", repo, classify(resp, err))
	}
	out := issue(i)
	return &out, nil
}

// EditIssue replaces the title and description of issue #number.
func (p *Provider) EditIssue(ctx context.Context, repo string, number int, title, body string) error {
	opts := &gl.UpdateIssueOptions{Title: gl.Ptr(title), Description: gl.Ptr(body)}
	if _, resp, err := p.client.Issues.UpdateIssue(repo, int64(number), opts, gl.WithContext(ctx)); err != nil {
		return fmt.Errorf("editing issue #%d of %s: %w", number, repo, classify(resp, err))
	}
	return nil
}

func issue(i *gl.Issue) vcs.Issue {
	out := vcs.Issue{Number: int(i.IID), Title: i.Title, Body: i.Description, State: state(i.State), URL: i.WebURL}
	if i.Author != nil {
		out.Author = vcs.User{Login: i.Author.Username}
	}
	return out
}
