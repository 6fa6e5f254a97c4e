package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// MergeState reads what GitLab says about merging a merge request: its
// detailed_merge_status, who approved it, and its head pipeline.
func (p *Provider) MergeState(ctx context.Context, repo string, number int) (vcs.MergeState, error) {
	mr, resp, err := p.client.MergeRequests.GetMergeRequest(repo, int64(number), nil, gl.WithContext(ctx))
	if err != nil {
		return vcs.MergeState{}, fmt.Errorf("reading whether merge request !%d of %s can be merged: %w", number, repo, classify(resp, err))
	}
	st := vcs.MergeState{HeadSHA: mr.SHA, Checks: vcs.ChecksNone}
	st.Mergeable, st.Blocker = mergeable(mr)
	if mr.HeadPipeline != nil {
		st.Checks = pipelineChecks(mr.HeadPipeline.Status)
	}
	ap, resp, err := p.client.MergeRequestApprovals.GetConfiguration(repo, int64(number), gl.WithContext(ctx))
	if err != nil {
		return vcs.MergeState{}, fmt.Errorf("reading the approvals of merge request !%d of %s: %w", number, repo, classify(resp, err))
	}
	st.Approvals = len(ap.ApprovedBy)
	return st, nil
}

// mergeable reads detailed_merge_status (GitLab 15.6 and later), which
// already weighs conflicts, drafts, discussions, required approvals and
// pipelines the project requires.
func mergeable(mr *gl.MergeRequest) (bool, string) {
	if mr.State != "opened" {
		return false, "it is " + mr.State
	}
	switch st := mr.DetailedMergeStatus; st {
	case "mergeable":
		return true, ""
	case "checking", "unchecked", "preparing", "approvals_syncing", "":
		return false, "GitLab is still working out whether it can be merged"
	case "conflict":
		return false, "it conflicts with " + mr.TargetBranch
	case "need_rebase":
		return false, "it must be rebased onto " + mr.TargetBranch
	case "not_approved":
		return false, "the project's approval rules are not met"
	case "ci_must_pass", "ci_still_running":
		return false, "the project requires a passing pipeline"
	case "draft_status":
		return false, "it is a draft"
	default:
		return false, "GitLab says " + strings.ReplaceAll(st, "_", " ")
	}
}

// pipelineChecks maps a pipeline's status onto the bot's terms. A manual
// pipeline waits for a person.
func pipelineChecks(status string) vcs.Checks {
	switch status {
	case "success", "skipped":
		return vcs.ChecksPassed
	case "failed", "canceled", "canceling":
		return vcs.ChecksFailed
	default: // created, waiting_for_resource, preparing, pending, running, manual, scheduled
		return vcs.ChecksPending
	}
}

// MergePullRequest accepts a merge request, provided its head is still
// opts.SHA. GitLab merges as the project's merge method says (merge
// commit, semi-linear or fast-forward); MethodSquash squashes.
func (p *Provider) MergePullRequest(ctx context.Context, repo string, number int, opts vcs.MergeOptions) error {
	o := &gl.AcceptMergeRequestOptions{}
	if opts.SHA != "" {
		o.SHA = gl.Ptr(opts.SHA)
	}
	if opts.Method == vcs.MethodSquash {
		o.Squash = gl.Ptr(true)
	}
	_, resp, err := p.client.MergeRequests.AcceptMergeRequest(repo, int64(number), o, gl.WithContext(ctx))
	if err == nil {
		return nil
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusConflict, http.StatusUnprocessableEntity:
			// 405/422: not mergeable now; 406: conflicts (older
			// GitLab); 409: the head moved.
			return fmt.Errorf("merging merge request !%d of %s: %w: %s", number, repo, vcs.ErrNotMergeable, er.Message)
		}
	}
	return fmt.Errorf("merging merge request !%d of %s: %w", number, repo, classify(resp, err))
}
