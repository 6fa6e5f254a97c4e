package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v89/github"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// MergeState reads what GitHub says about merging a pull request: its
// mergeable and mergeable_state, the latest review of each reviewer, and
// the commit statuses and check runs of its head.
func (p *Provider) MergeState(ctx context.Context, repo string, number int) (vcs.MergeState, error) {
	owner, name, err := split(repo)
	if err != nil {
		return vcs.MergeState{}, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return vcs.MergeState{}, fmt.Errorf("reading whether pull request #%d of %s can be merged: %w", number, repo, err)
	}
	pr, _, err := c.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return vcs.MergeState{}, wrap(err, "reading whether pull request #%d of %s can be merged", number, repo)
	}
	st := vcs.MergeState{HeadSHA: pr.GetHead().GetSHA()}
	st.Mergeable, st.Blocker = mergeable(pr)
	if st.Approvals, err = approvals(ctx, c, owner, name, number); err != nil {
		return vcs.MergeState{}, wrap(err, "listing the reviews of pull request #%d of %s", number, repo)
	}
	if st.Checks, err = checks(ctx, c, owner, name, st.HeadSHA); err != nil {
		return vcs.MergeState{}, wrap(err, "reading the checks of pull request #%d of %s at %.12s", number, repo, st.HeadSHA)
	}
	return st, nil
}

// mergeable reads GitHub's verdict. GitHub computes mergeable in the
// background: null means "not yet", so it is not mergeable this time.
// "unstable" (checks not passing but not required) and "has_hooks" merge.
func mergeable(pr *github.PullRequest) (bool, string) {
	if pr.GetState() != "open" {
		return false, "it is " + pr.GetState()
	}
	if pr.GetDraft() {
		return false, "it is a draft"
	}
	if pr.Mergeable == nil {
		return false, "GitHub is still working out whether it can be merged"
	}
	switch st := pr.GetMergeableState(); {
	case !pr.GetMergeable() || st == "dirty":
		return false, "it conflicts with " + pr.GetBase().GetRef()
	case st == "blocked":
		return false, "branch protection blocks it (required reviews or checks)"
	case st == "behind":
		return false, "it is behind " + pr.GetBase().GetRef() + " and branch protection requires it up to date"
	case st == "unknown":
		return false, "GitHub is still working out whether it can be merged"
	}
	return true, ""
}

// approvals counts the reviewers whose latest approving or rejecting
// review approves; comments do not change a verdict, as on GitHub.
func approvals(ctx context.Context, c *github.Client, owner, name string, number int) (int, error) {
	latest := map[string]string{}
	opts := &github.ListOptions{PerPage: perPage}
	for {
		reviews, resp, err := c.PullRequests.ListReviews(ctx, owner, name, number, opts)
		if err != nil {
			return 0, err
		}
		for _, r := range reviews {
			switch st := r.GetState(); st {
			case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
				latest[r.GetUser().GetLogin()] = st
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	n := 0
	for _, st := range latest {
		if st == "APPROVED" {
			n++
		}
	}
	return n, nil
}

// checks sums up the commit statuses and the latest check run of each
// check at sha.
func checks(ctx context.Context, c *github.Client, owner, name, sha string) (vcs.Checks, error) {
	var all []vcs.Checks
	opts := &github.ListOptions{PerPage: perPage}
	for {
		combined, resp, err := c.Repositories.GetCombinedStatus(ctx, owner, name, sha, opts)
		if err != nil {
			return "", err
		}
		for _, s := range combined.Statuses {
			switch s.GetState() {
			case "success":
				all = append(all, vcs.ChecksPassed)
			case "pending":
				all = append(all, vcs.ChecksPending)
			default: // failure, error
				all = append(all, vcs.ChecksFailed)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	runOpts := &github.ListCheckRunsOptions{Filter: github.Ptr("latest"), ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		runs, resp, err := c.Checks.ListCheckRunsForRef(ctx, owner, name, sha, runOpts)
		if err != nil {
			return "", err
		}
		for _, r := range runs.CheckRuns {
			switch {
			case r.GetStatus() != "completed":
				all = append(all, vcs.ChecksPending)
			case r.GetConclusion() == "success" || r.GetConclusion() == "neutral" || r.GetConclusion() == "skipped":
				all = append(all, vcs.ChecksPassed)
			default: // failure, cancelled, timed_out, action_required, stale, startup_failure
				all = append(all, vcs.ChecksFailed)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		runOpts.Page = resp.NextPage
	}
	return vcs.SumChecks(all), nil
}

// MergePullRequest merges a pull request with opts.Method, provided its
// head is still opts.SHA.
func (p *Provider) MergePullRequest(ctx context.Context, repo string, number int, opts vcs.MergeOptions) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return fmt.Errorf("merging pull request #%d of %s: %w", number, repo, err)
	}
	_, _, err = c.PullRequests.Merge(ctx, owner, name, number, "", &github.PullRequestOptions{
		SHA:         opts.SHA,
		MergeMethod: string(opts.Method),
	})
	if err == nil {
		return nil
	}
	var resp *github.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		switch resp.Response.StatusCode {
		case http.StatusMethodNotAllowed, http.StatusConflict, http.StatusUnprocessableEntity:
			// 405: not mergeable; 409: the head moved; 422: e.g. the
			// method is not allowed in the repository.
			return fmt.Errorf("merging pull request #%d of %s: %w: %s", number, repo, vcs.ErrNotMergeable, resp.Message)
		}
	}
	return wrap(err, "merging pull request #%d of %s", number, repo)
}
