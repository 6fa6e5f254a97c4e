package gitlab

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	gitlabfake "github.com/upgrade-bot/upgrade-bot/test/forge/gitlab"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

func TestSelf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts gitlabfake.Options
		want vcs.User
	}{
		{name: "project access token: a bot user", opts: gitlabfake.Options{BotUsername: "project_7_bot_3f2a"}, want: vcs.User{Login: "project_7_bot_3f2a", Bot: true}},
		{name: "personal access token: a person", opts: gitlabfake.Options{BotUsername: "ops-robot", BotIsHuman: true}, want: vcs.User{Login: "ops-robot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, tt.opts)
			got, err := e.p.Self(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Self = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNameAndCommentLimit(t *testing.T) {
	t.Parallel()
	p, err := New(t.Context(), Options{Token: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "gitlab" || p.CommentLimit() != 1_000_000 {
		t.Errorf("Name, CommentLimit = %q, %d; want gitlab, 1000000", p.Name(), p.CommentLimit())
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "gitlab.com", opts: Options{Token: "t"}},
		{name: "self-managed under a path", opts: Options{Token: "t", BaseURL: "https://example.com/gitlab"}},
		{name: "no token", opts: Options{}, wantErr: "access token is required"},
		{name: "no scheme", opts: Options{Token: "t", BaseURL: "gitlab.example.com"}, wantErr: "must start with https://"},
		{name: "query", opts: Options{Token: "t", BaseURL: "https://gitlab.example.com/?x=1"}, wantErr: "query or fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.opts.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
			if _, newErr := New(t.Context(), tt.opts); (newErr == nil) != (tt.wantErr == "") {
				t.Errorf("New() = %v, want an error: %v", newErr, tt.wantErr != "")
			}
		})
	}
}

func TestOptionsKeepSecretsOut(t *testing.T) {
	t.Parallel()
	o := Options{BaseURL: "https://gitlab.example.com", Token: "glpat-SECRET", WebhookSecret: []byte("HOOKSECRET")}
	for _, s := range []string{o.String(), fmt.Sprint(o), o.LogValue().String()} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("a secret shows in %q", s)
		}
	}
}

func TestRepositoryAndGitCredential(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/gitlab"} {
		t.Run("prefix "+prefix, func(t *testing.T) {
			t.Parallel()
			e := setup(t, gitlabfake.Options{PathPrefix: prefix})
			got, err := e.p.Repository(t.Context(), e.repo)
			if err != nil {
				t.Fatal(err)
			}
			want := vcs.Repository{
				FullName:      e.repo,
				CloneURL:      e.fake.BaseURL() + "/" + e.repo + ".git",
				DefaultBranch: "main",
				WebURL:        e.fake.BaseURL() + "/" + e.repo,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Repository (-want +got):\n%s", diff)
			}
			// The clone URL and the credential really work with git.
			user, password, err := e.p.GitCredential(t.Context(), e.repo)
			if err != nil {
				t.Fatal(err)
			}
			if user != "oauth2" || password != e.fake.Token() {
				t.Errorf("GitCredential = %q, %q; want oauth2 and the token", user, password)
			}
			heads := git(t, "", "ls-remote", withCredential(t, got.CloneURL, user, password), "refs/heads/main")
			if !strings.HasPrefix(heads, e.main) {
				t.Errorf("ls-remote main = %q, want %s", heads, e.main)
			}

			_, err = e.p.Repository(t.Context(), "platform/nope")
			if !errors.Is(err, vcs.ErrNotFound) {
				t.Errorf("Repository(unknown) = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestPullRequestLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t, gitlabfake.Options{PathPrefix: "/gitlab"})
	ctx := t.Context()
	branch := "upgrade-bot/peu01/v31.0.0"
	head := e.fake.CreateBranch(ctx, t, e.repo, branch, "main", map[string]string{"cluster.yaml": "v31.0.0\n"})

	if pr, err := e.p.FindPullRequest(ctx, e.repo, branch); err != nil || pr != nil {
		t.Fatalf("FindPullRequest before opening = %+v, %v; want nil, nil", pr, err)
	}
	created, err := e.p.CreatePullRequest(ctx, e.repo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "Upgrade peu01 to v31.0.0", Body: "The diff follows."})
	if err != nil {
		t.Fatal(err)
	}
	want := &vcs.PullRequest{
		Number: 1, Title: "Upgrade peu01 to v31.0.0", Body: "The diff follows.",
		Head: branch, Base: "main", HeadSHA: head, BaseSHA: e.main,
		HeadRef: "refs/merge-requests/1/head", State: "open",
		Author: vcs.User{Login: "upgrade-bot"},
		URL:    e.fake.BaseURL() + "/" + e.repo + "/-/merge_requests/1",
	}
	// The forge stamps the creation; it must be now, give or take.
	if age := time.Since(created.CreatedAt); age < -time.Minute || age > time.Minute {
		t.Errorf("CreatedAt = %v, want about now", created.CreatedAt)
	}
	want.CreatedAt = created.CreatedAt
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("CreatePullRequest (-want +got):\n%s", diff)
	}
	found, err := e.p.FindPullRequest(ctx, e.repo, branch)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("FindPullRequest (-want +got):\n%s", diff)
	}

	// The head ref fetches the head, as git sees it.
	user, password, _ := e.p.GitCredential(ctx, e.repo)
	remote := withCredential(t, e.fake.BaseURL()+"/"+e.repo+".git", user, password)
	if got := git(t, "", "ls-remote", remote, created.HeadRef); !strings.HasPrefix(got, head) {
		t.Errorf("ls-remote %s = %q, want %s", created.HeadRef, got, head)
	}

	// A second merge request from the same branch is refused, and not as
	// something missing or worth retrying.
	_, err = e.p.CreatePullRequest(ctx, e.repo, vcs.NewPullRequest{Head: branch, Base: "main", Title: "again"})
	if _, transient := vcs.IsTransient(err); err == nil || errors.Is(err, vcs.ErrNotFound) || transient {
		t.Errorf("CreatePullRequest twice = %v, want a plain error", err)
	}

	if err := e.p.UpdatePullRequest(ctx, e.repo, 1, "Upgrade peu01 to v31.0.1", "New diff."); err != nil {
		t.Fatal(err)
	}
	got, err := e.p.PullRequest(ctx, e.repo, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Upgrade peu01 to v31.0.1" || got.Body != "New diff." {
		t.Errorf("after UpdatePullRequest: title %q, body %q", got.Title, got.Body)
	}

	if err := e.p.ClosePullRequest(ctx, e.repo, 1); err != nil {
		t.Fatal(err)
	}
	if got, err := e.p.PullRequest(ctx, e.repo, 1); err != nil || got.State != "closed" {
		t.Errorf("after ClosePullRequest: %+v, %v; want state closed", got, err)
	}
	if pr, err := e.p.FindPullRequest(ctx, e.repo, branch); err != nil || pr != nil {
		t.Errorf("FindPullRequest after closing = %+v, %v; want nil, nil", pr, err)
	}
	// The closed one is remembered on the branch; another branch has none.
	if hist, err := e.p.BranchHistory(ctx, e.repo, branch); err != nil || len(hist) != 1 || hist[0].Number != 1 || hist[0].State != "closed" {
		t.Errorf("BranchHistory after closing = %+v, %v; want the closed pull request 1", hist, err)
	}
	if hist, err := e.p.BranchHistory(ctx, e.repo, "upgrade-bot/other/v1.0.0"); err != nil || len(hist) != 0 {
		t.Errorf("BranchHistory of a branch without pull requests = %+v, %v", hist, err)
	}
	if _, err := e.p.PullRequest(ctx, e.repo, 99); !errors.Is(err, vcs.ErrNotFound) {
		t.Errorf("PullRequest(99) = %v, want ErrNotFound", err)
	}
	if mrs := e.fake.MergeRequests(t, e.repo); len(mrs) != 1 || mrs[0].State != "closed" || mrs[0].Description != "New diff." {
		t.Errorf("the fake holds %+v", mrs)
	}
	// Create, update and close wrote; the refused create did not.
	if got := e.fake.Writes(); got != 3 {
		t.Errorf("Writes = %d, want 3", got)
	}
}

func TestPullRequestMerged(t *testing.T) {
	t.Parallel()
	e := setup(t, gitlabfake.Options{})
	ctx := t.Context()
	e.fake.CreateBranch(ctx, t, e.repo, "feature", "main", map[string]string{"a": "1"})
	iid, _ := e.fake.OpenMergeRequest(ctx, t, e.repo, "alice", "feature", "main", "Feature", "")
	e.fake.MergeMergeRequest(ctx, t, e.repo, iid, "bob")
	got, err := e.p.PullRequest(ctx, e.repo, iid)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "merged" || got.Author.Login != "alice" {
		t.Errorf("merged merge request: state %q, author %q; want merged, alice", got.State, got.Author.Login)
	}
}

func TestPullRequestsByPrefix(t *testing.T) {
	t.Parallel()
	// Two to a page: the lists need several pages.
	e := setup(t, gitlabfake.Options{MaxPerPage: 2})
	ctx := t.Context()
	branches := []string{"upgrade-bot/a/v1", "feature/x", "upgrade-bot/b/v1", "upgrade-bot/c/v2", "upgrade-botany", "upgrade-bot/d/v1"}
	for _, b := range branches {
		e.fake.CreateBranch(ctx, t, e.repo, b, "main", map[string]string{"f": b})
		if _, err := e.p.CreatePullRequest(ctx, e.repo, vcs.NewPullRequest{Head: b, Base: "main", Title: b}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.p.ClosePullRequest(ctx, e.repo, 6); err != nil { // upgrade-bot/d/v1
		t.Fatal(err)
	}
	got, err := e.p.PullRequests(ctx, e.repo, "upgrade-bot/")
	if err != nil {
		t.Fatal(err)
	}
	var heads []string
	for _, pr := range got {
		heads = append(heads, pr.Head)
		if pr.State != "open" || pr.HeadRef != fmt.Sprintf("refs/merge-requests/%d/head", pr.Number) || pr.HeadSHA == "" {
			t.Errorf("listed %+v", pr)
		}
	}
	slices.Sort(heads)
	if want := []string{"upgrade-bot/a/v1", "upgrade-bot/b/v1", "upgrade-bot/c/v2"}; !slices.Equal(heads, want) {
		t.Errorf("PullRequests(upgrade-bot/) heads = %v, want %v", heads, want)
	}
}

func TestPullRequestsCreatedSince(t *testing.T) {
	t.Parallel()
	e := setup(t, gitlabfake.Options{MaxPerPage: 2})
	ctx := t.Context()
	before := time.Now().Add(-time.Minute)
	for _, b := range []string{"upgrade-bot/a/v1", "feature/x", "upgrade-bot/b/v1", "upgrade-bot/c/v2"} {
		e.fake.CreateBranch(ctx, t, e.repo, b, "main", map[string]string{"f": b})
		if _, err := e.p.CreatePullRequest(ctx, e.repo, vcs.NewPullRequest{Head: b, Base: "main", Title: b}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.p.ClosePullRequest(ctx, e.repo, 3); err != nil { // upgrade-bot/b/v1
		t.Fatal(err)
	}
	got, err := e.p.PullRequestsCreatedSince(ctx, e.repo, "upgrade-bot/", before)
	if err != nil {
		t.Fatal(err)
	}
	var heads []string
	for _, pr := range got {
		heads = append(heads, pr.Head)
	}
	// Newest first, the closed one included, the person's branch not.
	if want := []string{"upgrade-bot/c/v2", "upgrade-bot/b/v1", "upgrade-bot/a/v1"}; !slices.Equal(heads, want) {
		t.Errorf("PullRequestsCreatedSince heads = %v, want %v", heads, want)
	}
	later, err := e.p.PullRequestsCreatedSince(ctx, e.repo, "upgrade-bot/", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(later) != 0 {
		t.Errorf("opened after an hour from now: %+v, want none", later)
	}
}

func TestComments(t *testing.T) {
	t.Parallel()
	for _, onMR := range []bool{false, true} {
		t.Run(fmt.Sprintf("merge request %v", onMR), func(t *testing.T) {
			t.Parallel()
			e := setup(t, gitlabfake.Options{MaxPerPage: 2})
			ctx := t.Context()
			var thread vcs.Thread
			if onMR {
				e.fake.CreateBranch(ctx, t, e.repo, "feature", "main", map[string]string{"a": "1"})
				iid, _ := e.fake.OpenMergeRequest(ctx, t, e.repo, "alice", "feature", "main", "Feature", "")
				thread = vcs.Thread{Number: iid, PullRequest: true}
			} else {
				thread = vcs.Thread{Number: e.fake.CreateIssue(t, e.repo, "alice", "Upgrade please", "")}
			}
			first, _ := e.fake.AddNote(t, e.repo, thread, "alice", "/upgrade v31.0.0 peu01")
			e.fake.AddSystemNote(t, e.repo, thread, "changed the description")
			second, _ := e.fake.AddNote(t, e.repo, thread, "bob", "+1")
			mine, err := e.p.CreateComment(ctx, e.repo, thread, "On it.")
			if err != nil {
				t.Fatal(err)
			}
			third, _ := e.fake.AddNote(t, e.repo, thread, "alice", "thanks")

			if mine.Thread != thread || mine.Author.Login != "upgrade-bot" || mine.Body != "On it." || mine.CreatedAt.IsZero() {
				t.Errorf("CreateComment = %+v", mine)
			}
			got, err := e.p.Comments(ctx, e.repo, thread)
			if err != nil {
				t.Fatal(err)
			}
			kind := "issues"
			if onMR {
				kind = "merge_requests"
			}
			var summary []string
			for _, c := range got {
				summary = append(summary, fmt.Sprintf("%d %s: %s", c.ID, c.Author.Login, c.Body))
				if c.Thread != thread || c.CreatedAt.IsZero() || c.UpdatedAt.Before(c.CreatedAt) {
					t.Errorf("comment %+v", c)
				}
				if want := fmt.Sprintf("%s/%s/-/%s/%d#note_%d", e.fake.BaseURL(), e.repo, kind, thread.Number, c.ID); c.URL != want {
					t.Errorf("URL = %q, want %q", c.URL, want)
				}
			}
			want := []string{
				fmt.Sprintf("%d alice: /upgrade v31.0.0 peu01", first),
				fmt.Sprintf("%d bob: +1", second),
				fmt.Sprintf("%d upgrade-bot: On it.", mine.ID),
				fmt.Sprintf("%d alice: thanks", third),
			}
			if diff := cmp.Diff(want, summary); diff != "" {
				t.Errorf("Comments, oldest first, without system notes (-want +got):\n%s", diff)
			}

			if err := e.p.EditComment(ctx, e.repo, mine.CommentRef, "Done."); err != nil {
				t.Fatal(err)
			}
			notes := e.fake.Notes(t, e.repo, thread)
			if i := slices.IndexFunc(notes, func(n gitlabfake.Note) bool { return n.ID == mine.ID }); i < 0 || notes[i].Body != "Done." {
				t.Errorf("after EditComment the fake holds %+v", notes)
			}
			err = e.p.EditComment(ctx, e.repo, vcs.CommentRef{Thread: thread, ID: first}, "hijacked")
			if !errors.Is(err, vcs.ErrForbidden) {
				t.Errorf("editing someone else's note = %v, want ErrForbidden", err)
			}
			err = e.p.EditComment(ctx, e.repo, vcs.CommentRef{Thread: thread, ID: 1}, "x")
			if !errors.Is(err, vcs.ErrNotFound) {
				t.Errorf("editing a missing note = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestRecentComments(t *testing.T) {
	t.Parallel()
	e := setup(t, gitlabfake.Options{MaxPerPage: 2})
	ctx := t.Context()
	issue := vcs.Thread{Number: e.fake.CreateIssue(t, e.repo, "alice", "one", "")}
	quiet := vcs.Thread{Number: e.fake.CreateIssue(t, e.repo, "alice", "quiet", "")}
	e.fake.CreateBranch(ctx, t, e.repo, "feature", "main", map[string]string{"a": "1"})
	mrIID, _ := e.fake.OpenMergeRequest(ctx, t, e.repo, "alice", "feature", "main", "Feature", "")
	mr := vcs.Thread{Number: mrIID, PullRequest: true}
	old, _ := e.fake.AddNote(t, e.repo, issue, "alice", "old")
	e.fake.AddNote(t, e.repo, quiet, "alice", "old and quiet")
	e.fake.AddNote(t, e.repo, mr, "bob", "old on the MR")

	since := time.Now()
	a, _ := e.fake.AddNote(t, e.repo, mr, "bob", "/upgrade plan v31.0.0")
	e.fake.AddSystemNote(t, e.repo, issue, "added a label")
	b, _ := e.fake.AddNote(t, e.repo, issue, "carol", "/upgrade v31.0.0")
	e.fake.EditNote(t, e.repo, issue, old, "old, edited")
	later := vcs.Thread{Number: e.fake.CreateIssue(t, e.repo, "dave", "new", "")}
	c, _ := e.fake.AddNote(t, e.repo, later, "dave", "new issue")

	got, err := e.p.RecentComments(ctx, e.repo, since)
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, cm := range got {
		summary = append(summary, fmt.Sprintf("%v %d %s", cm.Thread, cm.ID, cm.Body))
	}
	want := []string{
		fmt.Sprintf("%v %d old, edited", issue, old), // created first, edited since
		fmt.Sprintf("%v %d /upgrade plan v31.0.0", mr, a),
		fmt.Sprintf("%v %d /upgrade v31.0.0", issue, b),
		fmt.Sprintf("%v %d new issue", later, c),
	}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("RecentComments, oldest first (-want +got):\n%s", diff)
	}
}

func TestReactions(t *testing.T) {
	t.Parallel()
	for _, onMR := range []bool{false, true} {
		t.Run(fmt.Sprintf("merge request %v", onMR), func(t *testing.T) {
			t.Parallel()
			e := setup(t, gitlabfake.Options{})
			ctx := t.Context()
			thread := vcs.Thread{Number: e.fake.CreateIssue(t, e.repo, "alice", "x", "")}
			if onMR {
				e.fake.CreateBranch(ctx, t, e.repo, "feature", "main", map[string]string{"a": "1"})
				iid, _ := e.fake.OpenMergeRequest(ctx, t, e.repo, "alice", "feature", "main", "Feature", "")
				thread = vcs.Thread{Number: iid, PullRequest: true}
			}
			id, _ := e.fake.AddNote(t, e.repo, thread, "alice", "/upgrade v31.0.0")
			ref := vcs.CommentRef{Thread: thread, ID: id}
			e.fake.AwardEmojiAs(t, e.repo, thread, id, "bob", "eyes")

			for range 2 { // the second time GitLab answers "already awarded"
				if err := e.p.React(ctx, e.repo, ref, vcs.ReactionEyes); err != nil {
					t.Fatalf("React: %v", err)
				}
			}
			if err := e.p.React(ctx, e.repo, ref, vcs.ReactionRocket); err != nil {
				t.Fatal(err)
			}
			got, err := e.p.Reactions(ctx, e.repo, ref)
			if err != nil {
				t.Fatal(err)
			}
			want := []vcs.Reaction{
				{Content: "eyes", User: vcs.User{Login: "bob"}},
				{Content: "eyes", User: vcs.User{Login: "upgrade-bot"}},
				{Content: "rocket", User: vcs.User{Login: "upgrade-bot"}},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Reactions (-want +got):\n%s", diff)
			}
			if n := len(e.fake.AwardEmoji(t, e.repo, thread, id)); n != 3 {
				t.Errorf("the fake holds %d award emoji, want 3", n)
			}

			missing := vcs.CommentRef{Thread: thread, ID: 424242}
			if err := e.p.React(ctx, e.repo, missing, vcs.ReactionEyes); !errors.Is(err, vcs.ErrNotFound) {
				t.Errorf("React on a missing note = %v, want ErrNotFound", err)
			}
			if _, err := e.p.Reactions(ctx, e.repo, missing); !errors.Is(err, vcs.ErrNotFound) {
				t.Errorf("Reactions of a missing note = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestPermission(t *testing.T) {
	t.Parallel()
	e := setup(t, gitlabfake.Options{})
	e.fake.SetAccessLevel(t, e.repo, "blocked-maintainer", 40)
	e.fake.SetUserState("blocked-maintainer", "blocked")
	e.fake.SetAccessLevel(t, e.repo, "someone", 30)
	e.fake.SetAccessLevel(t, e.repo, "someone", 0) // removed again
	tests := []struct {
		user  string
		level int // 0: not a member
		want  vcs.Permission
	}{
		{user: "owner", level: 50, want: vcs.PermissionAdmin},
		{user: "maintainer", level: 40, want: vcs.PermissionAdmin},
		{user: "developer", level: 30, want: vcs.PermissionWrite},
		{user: "reporter", level: 20, want: vcs.PermissionRead},
		{user: "planner", level: 15, want: vcs.PermissionRead},
		{user: "guest", level: 10, want: vcs.PermissionRead},
		{user: "minimal", level: 5, want: vcs.PermissionNone},
		{user: "someone", want: vcs.PermissionNone},
		{user: "blocked-maintainer", want: vcs.PermissionNone},
		{user: "nobody-at-all", want: vcs.PermissionNone},
	}
	for _, tt := range tests {
		if tt.level > 0 {
			e.fake.SetAccessLevel(t, e.repo, tt.user, tt.level)
		}
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			t.Parallel()
			got, err := e.p.Permission(t.Context(), e.repo, tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Permission(%s) = %v, want %v", tt.user, got, tt.want)
			}
		})
	}
}
