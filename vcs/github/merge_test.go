package github_test

import (
	"errors"
	"strings"
	"testing"

	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

func TestMergeState(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	w.fake.SetPermission(testRepo, "upgrade-bot-user", "write")
	ctx := t.Context()
	const branch = "upgrade-bot/peu01/v31.0.0"
	head := w.pushBranch(t, testRepo, branch, "31.0.0")
	pr, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "Upgrade peu01 to v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	state := func() vcs.MergeState {
		t.Helper()
		st, err := w.p.MergeState(ctx, testRepo, pr.Number)
		if err != nil {
			t.Fatalf("MergeState: %v", err)
		}
		return st
	}
	if got, want := state(), (vcs.MergeState{HeadSHA: head, Mergeable: true, Checks: vcs.ChecksNone}); got != want {
		t.Errorf("a fresh pull request: %+v, want %+v", got, want)
	}

	// Statuses and check runs both count; the latest verdict of each
	// reviewer counts.
	w.fake.SetStatus(t, testRepo, pr.Number, "ci/lint", "success")
	w.fake.SetCheckRun(t, testRepo, pr.Number, "render", "in_progress", "")
	w.fake.Review(t, testRepo, pr.Number, "alice", "APPROVED")
	w.fake.Review(t, testRepo, pr.Number, "bob", "CHANGES_REQUESTED")
	w.fake.Review(t, testRepo, pr.Number, "carol", "APPROVED")
	w.fake.Review(t, testRepo, pr.Number, "carol", "COMMENTED")
	if got := state(); got.Checks != vcs.ChecksPending || got.Approvals != 2 || !got.Mergeable {
		t.Errorf("one check running, two approvals: %+v", got)
	}
	w.fake.SetCheckRun(t, testRepo, pr.Number, "render", "completed", "failure")
	if got := state(); got.Checks != vcs.ChecksFailed {
		t.Errorf("a failed check run: %+v", got)
	}
	w.fake.SetCheckRun(t, testRepo, pr.Number, "render", "completed", "success")
	w.fake.Review(t, testRepo, pr.Number, "bob", "APPROVED")
	if got := state(); got.Checks != vcs.ChecksPassed || got.Approvals != 3 {
		t.Errorf("every check passed, three approvals: %+v", got)
	}

	// Branch protection blocks it, and says so.
	w.fake.Protect(t, testRepo, "main", 4)
	if got := state(); got.Mergeable || got.Blocker == "" {
		t.Errorf("protected by four approvals: %+v, want blocked with a reason", got)
	}
	if err := w.p.MergePullRequest(ctx, testRepo, pr.Number, vcs.MergeOptions{Method: vcs.MethodSquash, SHA: head}); !errors.Is(err, vcs.ErrNotMergeable) {
		t.Errorf("merging a blocked pull request = %v, want ErrNotMergeable", err)
	}
	w.fake.Protect(t, testRepo, "main", 0)

	// A head that moved since the check is not merged.
	head2 := w.pushBranch(t, testRepo, branch, "31.0.1")
	if err := w.p.MergePullRequest(ctx, testRepo, pr.Number, vcs.MergeOptions{Method: vcs.MethodSquash, SHA: head}); !errors.Is(err, vcs.ErrNotMergeable) {
		t.Errorf("merging with a stale head = %v, want ErrNotMergeable", err)
	}
	if got := state(); got.HeadSHA != head2 || got.Checks != vcs.ChecksNone {
		t.Errorf("after a push the checks are the new head's: %+v", got)
	}
	if err := w.p.MergePullRequest(ctx, testRepo, pr.Number, vcs.MergeOptions{Method: vcs.MethodSquash, SHA: head2}); err != nil {
		t.Fatalf("MergePullRequest: %v", err)
	}
	got, err := w.p.PullRequest(ctx, testRepo, pr.Number)
	if err != nil || got.State != "merged" {
		t.Fatalf("after merging: %+v, %v; want merged", got, err)
	}
	// Squashed: one commit on main whose parent is the old main.
	clone := t.TempDir()
	git(t, clone, "clone", "--quiet", withCredential(t, w.fake.URL+"/git/"+testRepo+".git", "x-access-token", w.token), ".")
	if parent := git(t, clone, "rev-parse", "HEAD^"); parent != w.main {
		t.Errorf("the squashed commit's parent is %s, want %s", parent, w.main)
	}
	if msg := git(t, clone, "log", "-1", "--format=%s"); msg != "Upgrade peu01 to v31.0.0 (#1)" {
		t.Errorf("the squashed commit says %q", msg)
	}
	if err := w.p.MergePullRequest(ctx, testRepo, pr.Number, vcs.MergeOptions{}); !errors.Is(err, vcs.ErrNotMergeable) {
		t.Errorf("merging a merged pull request = %v, want ErrNotMergeable", err)
	}
	if _, err := w.p.MergeState(ctx, testRepo, 99); !errors.Is(err, vcs.ErrNotFound) {
		t.Errorf("MergeState(99) = %v, want ErrNotFound", err)
	}
}

func TestMergeNeedsWriteAccess(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	w.fake.SetPermission(testRepo, "upgrade-bot-user", "triage")
	ctx := t.Context()
	const branch = "upgrade-bot/peu01/v31.0.0"
	head := w.pushBranch(t, testRepo, branch, "31.0.0")
	pr, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	err = w.p.MergePullRequest(ctx, testRepo, pr.Number, vcs.MergeOptions{Method: vcs.MethodMerge, SHA: head})
	if !errors.Is(err, vcs.ErrForbidden) {
		t.Errorf("merging without write access = %v, want ErrForbidden", err)
	}
}

func TestMergeMethods(t *testing.T) {
	for _, tc := range []struct {
		method  vcs.MergeMethod
		parents int
	}{
		{vcs.MethodMerge, 2},
		{vcs.MethodRebase, 1},
	} {
		t.Run(string(tc.method), func(t *testing.T) {
			w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
			w.fake.SetPermission(testRepo, "upgrade-bot-user", "maintain")
			ctx := t.Context()
			const branch = "upgrade-bot/peu01/v31.0.0"
			head := w.pushBranch(t, testRepo, branch, "31.0.0")
			pr, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "t"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.p.MergePullRequest(ctx, testRepo, pr.Number, vcs.MergeOptions{Method: tc.method, SHA: head}); err != nil {
				t.Fatalf("MergePullRequest: %v", err)
			}
			clone := t.TempDir()
			git(t, clone, "clone", "--quiet", withCredential(t, w.fake.URL+"/git/"+testRepo+".git", "x-access-token", w.token), ".")
			if n := len(strings.Fields(git(t, clone, "log", "-1", "--format=%P"))); n != tc.parents {
				t.Errorf("main's tip has %d parents, want %d", n, tc.parents)
			}
			if diff := git(t, clone, "diff", head, "HEAD"); diff != "" {
				t.Errorf("main differs from the merged head:\n%s", diff)
			}
		})
	}
}
