package github_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
	"github.com/upgrade-bot/upgrade-bot/vcs"
	ghp "github.com/upgrade-bot/upgrade-bot/vcs/github"
)

func TestOptionsValidate(t *testing.T) {
	key := []byte("-----BEGIN RSA PRIVATE KEY-----\n...")
	tests := []struct {
		name    string
		opts    ghp.Options
		wantErr string
	}{
		{"token", ghp.Options{Token: "t"}, ""},
		{"app", ghp.Options{AppID: 1, AppPrivateKey: key}, ""},
		{"app with installation", ghp.Options{AppID: 1, AppPrivateKey: key, InstallationID: 7}, ""},
		{"enterprise", ghp.Options{Token: "t", BaseURL: "https://ghe.example.com/api/v3/"}, ""},
		{"nothing", ghp.Options{}, "neither a token nor a GitHub App"},
		{"both", ghp.Options{Token: "t", AppID: 1, AppPrivateKey: key}, "both a token and a GitHub App"},
		{"app without key", ghp.Options{AppID: 1}, "private key is missing"},
		{"key without app", ghp.Options{AppPrivateKey: key}, "id is missing"},
		{"installation without app", ghp.Options{InstallationID: 3}, "id is missing"},
		{"negative installation", ghp.Options{AppID: 1, AppPrivateKey: key, InstallationID: -1}, "negative"},
		{"base URL not http", ghp.Options{Token: "t", BaseURL: "ghe.example.com"}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), string(key)) {
				t.Errorf("the error shows the private key: %v", err)
			}
		})
	}

	if _, err := ghp.New(t.Context(), ghp.Options{AppID: 1, AppPrivateKey: []byte("not a key")}); err == nil {
		t.Error("New accepted a private key that is not PEM")
	}
}

func TestSelf(t *testing.T) {
	spec := githubfake.LoadSpec(t)
	tests := []struct {
		name string
		bot  bool
	}{
		{"person", false},
		{"bot account", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := githubfake.New(t, githubfake.Options{Spec: spec})
			fake.AddUser("upgrader", tt.bot)
			p, err := ghp.New(t.Context(), ghp.Options{BaseURL: fake.APIURL(), Token: fake.AddToken("upgrader")})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				self, err := p.Self(t.Context())
				if err != nil {
					t.Fatalf("Self: %v", err)
				}
				if want := (vcs.User{Login: "upgrader", Bot: tt.bot}); self != want {
					t.Fatalf("Self = %+v, want %+v", self, want)
				}
			}
			if n := fake.Requests("GET /user"); n != 1 {
				t.Errorf("Self asked GitHub %d times, want once", n)
			}
		})
	}
}

func TestRepository(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	got, err := w.p.Repository(t.Context(), testRepo)
	if err != nil {
		t.Fatalf("Repository: %v", err)
	}
	want := vcs.Repository{
		FullName:      testRepo,
		CloneURL:      w.fake.URL + "/git/" + testRepo + ".git",
		DefaultBranch: "main",
		WebURL:        w.fake.URL + "/" + testRepo,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Repository (-want +got):\n%s", diff)
	}

	// The clone URL and the credential really reach the repository.
	user, pass, err := w.p.GitCredential(t.Context(), testRepo)
	if err != nil {
		t.Fatalf("GitCredential: %v", err)
	}
	if user != "x-access-token" || pass != w.token {
		t.Errorf("GitCredential = %q, (the token: %v), want x-access-token and the token", user, pass == w.token)
	}
	out := git(t, t.TempDir(), "ls-remote", withCredential(t, got.CloneURL, user, pass), "refs/heads/main")
	if !strings.HasPrefix(out, w.main) {
		t.Errorf("ls-remote of the clone URL = %q, want main at %s", out, w.main)
	}
	if _, err := tryGit(t, t.TempDir(), "ls-remote", withCredential(t, got.CloneURL, user, "wrong")); err == nil {
		t.Error("the git server accepted a wrong token")
	}

	for _, repo := range []string{"acme/missing", "nobody/gitops"} {
		_, err := w.p.Repository(t.Context(), repo)
		if !errors.Is(err, vcs.ErrNotFound) {
			t.Errorf("Repository(%s) = %v, want ErrNotFound", repo, err)
		}
		if err != nil && !strings.Contains(err.Error(), "getting repository "+repo) {
			t.Errorf("the error does not say what was being done: %v", err)
		}
	}
	if _, err := w.p.Repository(t.Context(), "no-slash"); err == nil {
		t.Error("Repository accepted a name that is not owner/name")
	}
}

func TestPullRequests(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	ctx := t.Context()
	const branch = "upgrade-bot/peu01/v31.0.0"

	if pr, err := w.p.FindPullRequest(ctx, testRepo, branch); err != nil || pr != nil {
		t.Fatalf("FindPullRequest before any = %+v, %v; want nil, nil", pr, err)
	}
	head := w.pushBranch(t, testRepo, branch, "31.0.0")
	created, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "Upgrade peu01 to v31.0.0", Body: "Body"})
	if err != nil {
		t.Fatalf("CreatePullRequest: %v", err)
	}
	want := &vcs.PullRequest{
		Number: 1, Title: "Upgrade peu01 to v31.0.0", Body: "Body",
		Head: branch, Base: "main", HeadSHA: head, BaseSHA: w.main, HeadRef: "refs/pull/1/head",
		State: "open", Author: vcs.User{Login: "upgrade-bot-user"}, URL: w.fake.URL + "/" + testRepo + "/pull/1",
	}
	// The forge stamps the creation; it must be now, give or take.
	if age := time.Since(created.CreatedAt); age < -time.Minute || age > time.Minute {
		t.Errorf("CreatedAt = %v, want about now", created.CreatedAt)
	}
	want.CreatedAt = created.CreatedAt
	if diff := cmp.Diff(want, created); diff != "" {
		t.Fatalf("CreatePullRequest (-want +got):\n%s", diff)
	}
	// The head ref fetches the pull request's head from the base repository.
	out := git(t, t.TempDir(), "ls-remote", withCredential(t, w.fake.URL+"/git/"+testRepo+".git", "x-access-token", w.token), created.HeadRef)
	if !strings.HasPrefix(out, head) {
		t.Errorf("ls-remote %s = %q, want %s", created.HeadRef, out, head)
	}

	if _, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "again"}); err == nil ||
		errors.Is(err, vcs.ErrNotFound) || errors.Is(err, vcs.ErrForbidden) {
		t.Errorf("creating a second pull request for the branch = %v, want a plain error", err)
	} else if _, transient := vcs.IsTransient(err); transient {
		t.Errorf("a refused pull request is not worth retrying: %v", err)
	}

	found, err := w.p.FindPullRequest(ctx, testRepo, branch)
	if err != nil {
		t.Fatalf("FindPullRequest: %v", err)
	}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("FindPullRequest (-want +got):\n%s", diff)
	}
	got, err := w.p.PullRequest(ctx, testRepo, 1)
	if err != nil {
		t.Fatalf("PullRequest: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PullRequest (-want +got):\n%s", diff)
	}
	if _, err := w.p.PullRequest(ctx, testRepo, 99); !errors.Is(err, vcs.ErrNotFound) {
		t.Errorf("PullRequest(99) = %v, want ErrNotFound", err)
	}

	if err := w.p.UpdatePullRequest(ctx, testRepo, 1, "New title", "New body"); err != nil {
		t.Fatalf("UpdatePullRequest: %v", err)
	}
	if prs := w.fake.PullRequests(testRepo); prs[0].Title != "New title" || prs[0].Body != "New body" {
		t.Errorf("after UpdatePullRequest the fake holds %+v", prs[0])
	}

	// A push to the branch moves the head.
	head2 := w.pushBranch(t, testRepo, branch, "31.0.1")
	got, err = w.p.PullRequest(ctx, testRepo, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.HeadSHA != head2 {
		t.Errorf("after a push HeadSHA = %s, want %s", got.HeadSHA, head2)
	}

	if err := w.p.ClosePullRequest(ctx, testRepo, 1); err != nil {
		t.Fatalf("ClosePullRequest: %v", err)
	}
	if got, err := w.p.PullRequest(ctx, testRepo, 1); err != nil || got.State != "closed" {
		t.Errorf("after ClosePullRequest = %+v, %v; want closed", got, err)
	}
	if pr, err := w.p.FindPullRequest(ctx, testRepo, branch); err != nil || pr != nil {
		t.Errorf("FindPullRequest after closing = %+v, %v; want nil, nil", pr, err)
	}
	// The closed one is remembered on the branch; another branch has none.
	if hist, err := w.p.BranchHistory(ctx, testRepo, branch); err != nil || len(hist) != 1 || hist[0].Number != 1 || hist[0].State != "closed" {
		t.Errorf("BranchHistory after closing = %+v, %v; want the closed pull request 1", hist, err)
	}
	if hist, err := w.p.BranchHistory(ctx, testRepo, "upgrade-bot/other/v1.0.0"); err != nil || len(hist) != 0 {
		t.Errorf("BranchHistory of a branch without pull requests = %+v, %v", hist, err)
	}

	// A merged pull request says so.
	w.pushBranch(t, testRepo, "upgrade-bot/peu01/v32.0.0", "32.0.0")
	merged, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: "upgrade-bot/peu01/v32.0.0", Base: "main", Title: "v32"})
	if err != nil {
		t.Fatal(err)
	}
	w.fake.MergePullRequest(ctx, t, testRepo, merged.Number, "alice")
	if got, err := w.p.PullRequest(ctx, testRepo, merged.Number); err != nil || got.State != "merged" {
		t.Errorf("after merging = %+v, %v; want merged", got, err)
	}
}

func TestPullRequestsByPrefix(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	ctx := t.Context()
	// A fork with a branch of the same name must not count: its head is
	// not in the repository.
	w.fake.CreateRepo(ctx, t, "mallory/gitops", gitopsDir(t))
	pushBranch(t, w.fake.URL+"/git/mallory/gitops.git", w.token, "upgrade-bot/peu01/v31.0.0", "31.0.0")
	fork := w.fake.OpenPullRequest(ctx, t, testRepo, "mallory", "mallory:upgrade-bot/peu01/v31.0.0", "main", "From a fork", "")

	var want []int
	for i, branch := range []string{"upgrade-bot/peu01/v31.0.0", "feature/x", "upgrade-bot/peu02/v31.0.0", "upgrade-bot/closed"} {
		w.pushBranch(t, testRepo, branch, fmt.Sprintf("31.0.%d", i))
		pr, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: branch, Base: "main", Title: branch})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case branch == "upgrade-bot/closed":
			if err := w.p.ClosePullRequest(ctx, testRepo, pr.Number); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(branch, "upgrade-bot/"):
			want = append(want, pr.Number)
		}
	}

	prs, err := w.p.PullRequests(ctx, testRepo, "upgrade-bot/")
	if err != nil {
		t.Fatalf("PullRequests: %v", err)
	}
	var got []int
	for _, pr := range prs {
		got = append(got, pr.Number)
		if pr.Number == fork {
			t.Errorf("PullRequests lists the fork's pull request #%d", fork)
		}
	}
	// GitHub lists the newest first.
	if diff := cmp.Diff([]int{want[1], want[0]}, got); diff != "" {
		t.Errorf("PullRequests numbers (-want +got):\n%s", diff)
	}

	found, err := w.p.FindPullRequest(ctx, testRepo, "upgrade-bot/peu01/v31.0.0")
	if err != nil || found == nil || found.Number != want[0] {
		t.Errorf("FindPullRequest = %+v, %v; want #%d, not the fork's #%d", found, err, want[0], fork)
	}
}

func TestComments(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	ctx := t.Context()
	issue := w.fake.CreateIssue(testRepo, "alice", "Upgrades")
	w.fake.AddUser("dependabot[bot]", true)
	human := w.fake.AddComment(testRepo, issue, "alice", "/upgrade v31.0.0 peu01")
	w.fake.AddComment(testRepo, issue, "dependabot[bot]", "beep")

	mine, err := w.p.CreateComment(ctx, testRepo, vcs.Thread{Number: issue}, "On it.")
	if err != nil {
		t.Fatalf("CreateComment: %v", err)
	}
	if mine.Thread != (vcs.Thread{Number: issue}) || mine.Author.Login != "upgrade-bot-user" || mine.Body != "On it." || mine.ID == 0 {
		t.Errorf("CreateComment = %+v", mine)
	}
	if err := w.p.EditComment(ctx, testRepo, mine.CommentRef, "Done."); err != nil {
		t.Fatalf("EditComment: %v", err)
	}

	got, err := w.p.Comments(ctx, testRepo, vcs.Thread{Number: issue})
	if err != nil {
		t.Fatalf("Comments: %v", err)
	}
	type short struct {
		ID     int64
		Thread vcs.Thread
		Author vcs.User
		Body   string
	}
	var gotShort []short
	for _, c := range got {
		gotShort = append(gotShort, short{c.ID, c.Thread, c.Author, c.Body})
		if c.CreatedAt.IsZero() || c.UpdatedAt.Before(c.CreatedAt) || !strings.Contains(c.URL, fmt.Sprintf("/issues/%d#issuecomment-%d", issue, c.ID)) {
			t.Errorf("comment %d: times %s, %s, URL %s", c.ID, c.CreatedAt, c.UpdatedAt, c.URL)
		}
	}
	want := []short{
		{human, vcs.Thread{Number: issue}, vcs.User{Login: "alice"}, "/upgrade v31.0.0 peu01"},
		{got[1].ID, vcs.Thread{Number: issue}, vcs.User{Login: "dependabot[bot]", Bot: true}, "beep"},
		{mine.ID, vcs.Thread{Number: issue}, vcs.User{Login: "upgrade-bot-user"}, "Done."},
	}
	if diff := cmp.Diff(want, gotShort); diff != "" {
		t.Errorf("Comments (-want +got):\n%s", diff)
	}

	// Comments on a pull request are on a pull request thread.
	w.pushBranch(t, testRepo, "upgrade-bot/x", "31.0.0")
	pr, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: "upgrade-bot/x", Base: "main", Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	onPR, err := w.p.CreateComment(ctx, testRepo, vcs.Thread{Number: pr.Number, PullRequest: true}, "diff")
	if err != nil {
		t.Fatal(err)
	}
	if onPR.Thread != (vcs.Thread{Number: pr.Number, PullRequest: true}) {
		t.Errorf("comment on a pull request has thread %+v", onPR.Thread)
	}

	// Reactions: reacting twice is fine and leaves one reaction.
	ref := vcs.CommentRef{Thread: vcs.Thread{Number: issue}, ID: human}
	for range 2 {
		if err := w.p.React(ctx, testRepo, ref, vcs.ReactionEyes); err != nil {
			t.Fatalf("React: %v", err)
		}
	}
	if err := w.p.React(ctx, testRepo, ref, vcs.ReactionRocket); err != nil {
		t.Fatalf("React: %v", err)
	}
	reactions, err := w.p.Reactions(ctx, testRepo, ref)
	if err != nil {
		t.Fatalf("Reactions: %v", err)
	}
	wantReactions := []vcs.Reaction{
		{Content: vcs.ReactionEyes, User: vcs.User{Login: "upgrade-bot-user"}},
		{Content: vcs.ReactionRocket, User: vcs.User{Login: "upgrade-bot-user"}},
	}
	if diff := cmp.Diff(wantReactions, reactions); diff != "" {
		t.Errorf("Reactions (-want +got):\n%s", diff)
	}
	if n := len(w.fake.Reactions(testRepo, human)); n != 2 {
		t.Errorf("the fake holds %d reactions, want 2", n)
	}

	// A comment GitHub would refuse, and one that is not there.
	if _, err := w.p.CreateComment(ctx, testRepo, vcs.Thread{Number: issue}, strings.Repeat("x", w.p.CommentLimit()+1)); err == nil {
		t.Error("CreateComment accepted a comment over the limit")
	}
	if _, err := w.p.CreateComment(ctx, testRepo, vcs.Thread{Number: issue}, strings.Repeat("x", w.p.CommentLimit())); err != nil {
		t.Errorf("CreateComment refused a comment at the limit: %v", err)
	}
	if err := w.p.EditComment(ctx, testRepo, vcs.CommentRef{Thread: vcs.Thread{Number: issue}, ID: 1}, "x"); !errors.Is(err, vcs.ErrNotFound) {
		t.Errorf("EditComment of a missing comment = %v, want ErrNotFound", err)
	}
	if _, err := w.p.Comments(ctx, testRepo, vcs.Thread{Number: 404}); !errors.Is(err, vcs.ErrNotFound) {
		t.Errorf("Comments of a missing issue = %v, want ErrNotFound", err)
	}
}

func TestCommentsPagination(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	ctx := t.Context()
	issue := w.fake.CreateIssue(testRepo, "alice", "Many")
	const n = 250
	var want []string
	for i := range n {
		w.fake.AddComment(testRepo, issue, "alice", fmt.Sprintf("comment %d", i))
		want = append(want, fmt.Sprintf("comment %d", i))
	}
	got, err := w.p.Comments(ctx, testRepo, vcs.Thread{Number: issue})
	if err != nil {
		t.Fatalf("Comments: %v", err)
	}
	var bodies []string
	for _, c := range got {
		bodies = append(bodies, c.Body)
	}
	if diff := cmp.Diff(want, bodies); diff != "" {
		t.Errorf("Comments (-want +got):\n%s", diff)
	}
	if pages := w.fake.Requests("GET /repos/{owner}/{repo}/issues/{issue_number}/comments"); pages != 3 {
		t.Errorf("Comments read %d pages, want 3 of 100", pages)
	}

	recent, err := w.p.RecentComments(ctx, testRepo, time.Time{})
	if err != nil {
		t.Fatalf("RecentComments: %v", err)
	}
	if len(recent) != n {
		t.Errorf("RecentComments returned %d comments, want %d", len(recent), n)
	}
}

func TestRecentComments(t *testing.T) {
	clock := &steppingClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{Now: clock.Now})
	ctx := t.Context()

	issue := w.fake.CreateIssue(testRepo, "alice", "Upgrades")
	w.pushBranch(t, testRepo, "upgrade-bot/x", "31.0.0")
	pr := w.fake.OpenPullRequest(ctx, t, testRepo, "bob", "upgrade-bot/x", "main", "x", "")

	old := w.fake.AddComment(testRepo, issue, "alice", "old")
	since := clock.Now()
	onIssue := w.fake.AddComment(testRepo, issue, "alice", "/upgrade v31.0.0")
	onPR := w.fake.AddComment(testRepo, pr, "bob", "/upgrade plan v31.0.0")
	// An old comment edited now counts as recent.
	oldRef := vcs.CommentRef{Thread: vcs.Thread{Number: issue}, ID: old}
	w2, err := ghp.New(ctx, ghp.Options{BaseURL: w.fake.APIURL(), Token: w.fake.AddToken("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.EditComment(ctx, testRepo, oldRef, "old, edited"); err != nil {
		t.Fatal(err)
	}

	got, err := w.p.RecentComments(ctx, testRepo, since)
	if err != nil {
		t.Fatalf("RecentComments: %v", err)
	}
	type short struct {
		ID     int64
		Thread vcs.Thread
		Author string
	}
	var gotShort []short
	for _, c := range got {
		gotShort = append(gotShort, short{c.ID, c.Thread, c.Author.Login})
	}
	want := []short{
		{old, vcs.Thread{Number: issue}, "alice"},
		{onIssue, vcs.Thread{Number: issue}, "alice"},
		{onPR, vcs.Thread{Number: pr, PullRequest: true}, "bob"},
	}
	if diff := cmp.Diff(want, gotShort); diff != "" {
		t.Errorf("RecentComments (-want +got):\n%s", diff)
	}
}

func TestPermission(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	tests := []struct {
		user, role string
		want       vcs.Permission
	}{
		{"admin-user", "admin", vcs.PermissionAdmin},
		{"maintainer", "maintain", vcs.PermissionWrite},
		{"writer", "write", vcs.PermissionWrite},
		{"triager", "triage", vcs.PermissionRead},
		{"reader", "read", vcs.PermissionRead},
		{"outsider", "none", vcs.PermissionNone},
		{"acme", "", vcs.PermissionAdmin}, // the owner
		{"ghost", "", vcs.PermissionNone}, // unknown to GitHub: 404
	}
	for _, tt := range tests {
		if tt.role != "" {
			w.fake.SetPermission(testRepo, tt.user, tt.role)
		}
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, err := w.p.Permission(t.Context(), testRepo, tt.user)
			if err != nil {
				t.Fatalf("Permission: %v", err)
			}
			if got != tt.want {
				t.Errorf("Permission(%s) = %s, want %s", tt.user, got, tt.want)
			}
		})
	}
}

func TestNameAndLimit(t *testing.T) {
	p, err := ghp.New(t.Context(), ghp.Options{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "github" || p.CommentLimit() != 65536 {
		t.Errorf("Name, CommentLimit = %s, %d", p.Name(), p.CommentLimit())
	}
}

// TestEnterpriseWithToken runs against an API under /api/v3/, as GitHub
// Enterprise Server serves it: every request, and the pagination links,
// must stay under the prefix (the fake reports any that does not).
func TestEnterpriseWithToken(t *testing.T) {
	w := newWorld(t, githubfake.LoadSpec(t), githubfake.Options{PathPrefix: "/api/v3"})
	ctx := t.Context()
	if !strings.HasSuffix(w.fake.APIURL(), "/api/v3/") {
		t.Fatalf("the fake's API is at %s", w.fake.APIURL())
	}
	if self, err := w.p.Self(ctx); err != nil || self.Login != "upgrade-bot-user" {
		t.Errorf("Self = %+v, %v", self, err)
	}
	repo, err := w.p.Repository(ctx, testRepo)
	if err != nil {
		t.Fatalf("Repository: %v", err)
	}
	head := pushBranch(t, repo.CloneURL, w.token, "upgrade-bot/peu01/v31.0.0", "31.0.0")
	pr, err := w.p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: "upgrade-bot/peu01/v31.0.0", Base: "main", Title: "t"})
	if err != nil || pr.HeadSHA != head {
		t.Fatalf("CreatePullRequest = %+v, %v", pr, err)
	}
	for i := range 120 {
		w.fake.AddComment(testRepo, pr.Number, "alice", fmt.Sprint(i))
	}
	cs, err := w.p.Comments(ctx, testRepo, vcs.Thread{Number: pr.Number, PullRequest: true})
	if err != nil || len(cs) != 120 || !cs[0].Thread.PullRequest {
		t.Fatalf("Comments = %d comments, %v", len(cs), err)
	}
	if pages := w.fake.Requests("GET /repos/{owner}/{repo}/issues/{issue_number}/comments"); pages != 2 {
		t.Errorf("Comments read %d pages, want 2", pages)
	}
	if p, err := w.p.Permission(ctx, testRepo, "acme"); err != nil || p != vcs.PermissionAdmin {
		t.Errorf("Permission = %s, %v", p, err)
	}
}
