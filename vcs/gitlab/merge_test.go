package gitlab

import (
	"errors"
	"strings"
	"testing"

	gitlabfake "github.com/upgrade-bot/upgrade-bot/test/forge/gitlab"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

func TestMergeState(t *testing.T) {
	t.Parallel()
	e := setup(t, gitlabfake.Options{})
	ctx := t.Context()
	branch := "upgrade-bot/peu01/v31.0.0"
	head := e.fake.CreateBranch(ctx, t, e.repo, branch, "main", map[string]string{"cluster.yaml": "v31.0.0\n"})
	pr, err := e.p.CreatePullRequest(ctx, e.repo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "Upgrade peu01 to v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	state := func() vcs.MergeState {
		t.Helper()
		st, err := e.p.MergeState(ctx, e.repo, pr.Number)
		if err != nil {
			t.Fatalf("MergeState: %v", err)
		}
		return st
	}
	if got, want := state(), (vcs.MergeState{HeadSHA: head, Mergeable: true, Checks: vcs.ChecksNone}); got != want {
		t.Errorf("a fresh merge request: %+v, want %+v", got, want)
	}
	e.fake.SetPipeline(ctx, t, e.repo, pr.Number, "running")
	e.fake.Approve(t, e.repo, pr.Number, "alice")
	if got := state(); got.Checks != vcs.ChecksPending || got.Approvals != 1 || !got.Mergeable {
		t.Errorf("a running pipeline, one approval: %+v", got)
	}
	e.fake.SetPipeline(ctx, t, e.repo, pr.Number, "failed")
	if got := state(); got.Checks != vcs.ChecksFailed {
		t.Errorf("a failed pipeline: %+v", got)
	}
	// The project's rules: GitLab weighs them into detailed_merge_status.
	e.fake.Protect(t, e.repo, 2, true, 30)
	if got := state(); got.Mergeable || !strings.Contains(got.Blocker, "approval") {
		t.Errorf("two approvals required, one given: %+v, want blocked by the approval rules", got)
	}
	if err := e.p.MergePullRequest(ctx, e.repo, pr.Number, vcs.MergeOptions{SHA: head}); !errors.Is(err, vcs.ErrNotMergeable) {
		t.Errorf("merging a blocked merge request = %v, want ErrNotMergeable", err)
	}
	e.fake.Approve(t, e.repo, pr.Number, "bob")
	if got := state(); got.Mergeable || !strings.Contains(got.Blocker, "pipeline") {
		t.Errorf("approved, pipeline failed, pipelines must succeed: %+v", got)
	}
	e.fake.SetPipeline(ctx, t, e.repo, pr.Number, "success")
	if got := state(); !got.Mergeable || got.Checks != vcs.ChecksPassed || got.Approvals != 2 {
		t.Errorf("approved, pipeline passed: %+v", got)
	}
	if err := e.p.MergePullRequest(ctx, e.repo, pr.Number, vcs.MergeOptions{Method: vcs.MethodSquash, SHA: "0123456789abcdef0123456789abcdef01234567"}); !errors.Is(err, vcs.ErrNotMergeable) {
		t.Errorf("merging with a stale head = %v, want ErrNotMergeable", err)
	}
	if err := e.p.MergePullRequest(ctx, e.repo, pr.Number, vcs.MergeOptions{Method: vcs.MethodSquash, SHA: head}); err != nil {
		t.Fatalf("MergePullRequest: %v", err)
	}
	got, err := e.p.PullRequest(ctx, e.repo, pr.Number)
	if err != nil || got.State != "merged" {
		t.Fatalf("after merging: %+v, %v; want merged", got, err)
	}
	if err := e.p.MergePullRequest(ctx, e.repo, pr.Number, vcs.MergeOptions{}); !errors.Is(err, vcs.ErrNotMergeable) {
		t.Errorf("merging a merged merge request = %v, want ErrNotMergeable", err)
	}
	if e.fake.Merges() != 1 {
		t.Errorf("the fake merged %d merge requests, want 1", e.fake.Merges())
	}
}

func TestMergeNeedsTheMergeLevel(t *testing.T) {
	t.Parallel()
	e := setup(t, gitlabfake.Options{})
	ctx := t.Context()
	branch := "upgrade-bot/peu01/v31.0.0"
	head := e.fake.CreateBranch(ctx, t, e.repo, branch, "main", map[string]string{"cluster.yaml": "v31.0.0\n"})
	pr, err := e.p.CreatePullRequest(ctx, e.repo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	// The bot is a Developer; main allows Maintainers to merge.
	err = e.p.MergePullRequest(ctx, e.repo, pr.Number, vcs.MergeOptions{SHA: head})
	if !errors.Is(err, vcs.ErrForbidden) {
		t.Errorf("merging as a Developer = %v, want ErrForbidden", err)
	}
}
