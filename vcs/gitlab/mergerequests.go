package gitlab

import (
	"context"
	"fmt"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// perPage is the page size asked for in every list: GitLab's maximum.
const perPage = 100

// FindPullRequest returns the open merge request whose source branch is
// branch in repo itself (not a fork), or nil when there is none.
func (p *Provider) FindPullRequest(ctx context.Context, repo, branch string) (*vcs.PullRequest, error) {
	opts := &gl.ListProjectMergeRequestsOptions{
		ListOptions:  gl.ListOptions{PerPage: perPage},
		State:        gl.Ptr("opened"),
		SourceBranch: gl.Ptr(branch),
	}
	mrs, err := gl.ScanAndCollect(func(page gl.PaginationOptionFunc) ([]*gl.BasicMergeRequest, *gl.Response, error) {
		mrs, resp, err := p.client.MergeRequests.ListProjectMergeRequests(repo, opts, gl.WithContext(ctx), page)
		return mrs, resp, classify(resp, err)
	})
	if err != nil {
		return nil, fmt.Errorf("finding the open merge request from branch %s in %s: %w", branch, repo, err)
	}
	for _, mr := range mrs {
		if mr.SourceBranch == branch && mr.SourceProjectID == mr.TargetProjectID {
			// The list leaves out diff_refs: read the merge request
			// itself for the base commit.
			return p.PullRequest(ctx, repo, int(mr.IID))
		}
	}
	return nil, nil
}

// BranchHistory lists every merge request from branch in repo itself,
// newest first.
func (p *Provider) BranchHistory(ctx context.Context, repo, branch string) ([]vcs.PullRequest, error) {
	opts := &gl.ListProjectMergeRequestsOptions{
		ListOptions:  gl.ListOptions{PerPage: perPage},
		State:        gl.Ptr("all"),
		SourceBranch: gl.Ptr(branch),
	}
	mrs, err := gl.ScanAndCollect(func(page gl.PaginationOptionFunc) ([]*gl.BasicMergeRequest, *gl.Response, error) {
		mrs, resp, err := p.client.MergeRequests.ListProjectMergeRequests(repo, opts, gl.WithContext(ctx), page)
		return mrs, resp, classify(resp, err)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the merge requests from branch %s in %s: %w", branch, repo, err)
	}
	var out []vcs.PullRequest
	for _, mr := range mrs {
		if mr.SourceBranch == branch && mr.SourceProjectID == mr.TargetProjectID {
			out = append(out, pullRequest(mr, nil))
		}
	}
	return out, nil
}

// PullRequests lists the open merge requests of repo whose source branch,
// in repo itself, starts with prefix.
func (p *Provider) PullRequests(ctx context.Context, repo, prefix string) ([]vcs.PullRequest, error) {
	opts := &gl.ListProjectMergeRequestsOptions{
		ListOptions: gl.ListOptions{PerPage: perPage},
		State:       gl.Ptr("opened"),
	}
	mrs, err := gl.ScanAndCollect(func(page gl.PaginationOptionFunc) ([]*gl.BasicMergeRequest, *gl.Response, error) {
		mrs, resp, err := p.client.MergeRequests.ListProjectMergeRequests(repo, opts, gl.WithContext(ctx), page)
		return mrs, resp, classify(resp, err)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the open merge requests of %s: %w", repo, err)
	}
	var out []vcs.PullRequest
	for _, mr := range mrs {
		if strings.HasPrefix(mr.SourceBranch, prefix) && mr.SourceProjectID == mr.TargetProjectID {
			out = append(out, pullRequest(mr, nil))
		}
	}
	return out, nil
}

// PullRequestsCreatedSince lists the merge requests of repo in every
// state whose source branch, in repo itself, starts with prefix and that
// were opened at or after since, newest first.
func (p *Provider) PullRequestsCreatedSince(ctx context.Context, repo, prefix string, since time.Time) ([]vcs.PullRequest, error) {
	opts := &gl.ListProjectMergeRequestsOptions{
		ListOptions:  gl.ListOptions{PerPage: perPage},
		State:        gl.Ptr("all"),
		CreatedAfter: gl.Ptr(since),
		OrderBy:      gl.Ptr("created_at"),
		Sort:         gl.Ptr("desc"),
	}
	mrs, err := gl.ScanAndCollect(func(page gl.PaginationOptionFunc) ([]*gl.BasicMergeRequest, *gl.Response, error) {
		mrs, resp, err := p.client.MergeRequests.ListProjectMergeRequests(repo, opts, gl.WithContext(ctx), page)
		return mrs, resp, classify(resp, err)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the merge requests of %s opened since %s: %w", repo, since.Format(time.RFC3339), err)
	}
	var out []vcs.PullRequest
	for _, mr := range mrs {
		if mr.CreatedAt != nil && mr.CreatedAt.Before(since) {
			continue
		}
		if strings.HasPrefix(mr.SourceBranch, prefix) && mr.SourceProjectID == mr.TargetProjectID {
			out = append(out, pullRequest(mr, nil))
		}
	}
	return out, nil
}

// PullRequest returns merge request !number of repo.
func (p *Provider) PullRequest(ctx context.Context, repo string, number int) (*vcs.PullRequest, error) {
	mr, resp, err := p.client.MergeRequests.GetMergeRequest(repo, int64(number), nil, gl.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("reading merge request !%d of %s: %w", number, repo, classify(resp, err))
	}
	pr := pullRequest(&mr.BasicMergeRequest, &mr.DiffRefs)
	return &pr, nil
}

// CreatePullRequest opens a merge request from pr.Head into pr.Base.
func (p *Provider) CreatePullRequest(ctx context.Context, repo string, pr vcs.NewPullRequest) (*vcs.PullRequest, error) {
	opts := &gl.CreateMergeRequestOptions{
		Title:        gl.Ptr(pr.Title),
		Description:  gl.Ptr(pr.Body),
		SourceBranch: gl.Ptr(pr.Head),
		TargetBranch: gl.Ptr(pr.Base),
	}
	mr, resp, err := p.client.MergeRequests.CreateMergeRequest(repo, opts, gl.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("opening a merge request from %s into %s in %s: %w", pr.Head, pr.Base, repo, classify(resp, err))
	}
	out := pullRequest(&mr.BasicMergeRequest, &mr.DiffRefs)
	return &out, nil
}

// UpdatePullRequest replaces the title and description of merge request
// !number.
func (p *Provider) UpdatePullRequest(ctx context.Context, repo string, number int, title, body string) error {
	opts := &gl.UpdateMergeRequestOptions{Title: gl.Ptr(title), Description: gl.Ptr(body)}
	_, resp, err := p.client.MergeRequests.UpdateMergeRequest(repo, int64(number), opts, gl.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("updating merge request !%d of %s: %w", number, repo, classify(resp, err))
	}
	return nil
}

// ClosePullRequest closes merge request !number without merging it.
func (p *Provider) ClosePullRequest(ctx context.Context, repo string, number int) error {
	opts := &gl.UpdateMergeRequestOptions{StateEvent: gl.Ptr("close")}
	_, resp, err := p.client.MergeRequests.UpdateMergeRequest(repo, int64(number), opts, gl.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("closing merge request !%d of %s: %w", number, repo, classify(resp, err))
	}
	return nil
}

// pullRequest is a merge request in the bot's terms; refs may be nil (lists
// leave them out).
func pullRequest(mr *gl.BasicMergeRequest, refs *gl.MergeRequestDiffRefs) vcs.PullRequest {
	pr := vcs.PullRequest{
		Number:  int(mr.IID),
		Title:   mr.Title,
		Body:    mr.Description,
		Head:    mr.SourceBranch,
		Base:    mr.TargetBranch,
		HeadSHA: mr.SHA,
		HeadRef: headRef(mr.IID),
		State:   state(mr.State),
		URL:     mr.WebURL,
	}
	if mr.CreatedAt != nil {
		pr.CreatedAt = *mr.CreatedAt
	}
	if refs != nil {
		pr.BaseSHA = refs.BaseSha
		if pr.HeadSHA == "" {
			pr.HeadSHA = refs.HeadSha
		}
	}
	if mr.Author != nil {
		pr.Author = vcs.User{Login: mr.Author.Username}
	}
	return pr
}

// headRef is the ref GitLab keeps in the target project for a merge
// request's head, also for merge requests from forks.
func headRef(iid int64) string { return fmt.Sprintf("refs/merge-requests/%d/head", iid) }

// state maps GitLab's merge request states onto "open", "closed" and
// "merged". "locked" is the short moment while GitLab merges: still open.
func state(s string) string {
	switch s {
	case "opened", "locked", "reopened":
		return "open"
	case "closed", "merged":
		return s
	}
	return s
}
