package e2e

import (
	"cmp"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/upgrade-bot/upgrade-bot/vcs"
	"github.com/upgrade-bot/upgrade-bot/vcs/gitlab"

	gitlabfake "github.com/upgrade-bot/upgrade-bot/test/forge/gitlab"
)

const gitlabSecret = "gitlab-webhook-s3cret"

// gitlabForge is the GitLab fake, served under a relative URL root as a
// self-managed instance may be.
type gitlabForge struct {
	s *gitlabfake.Server
	p *gitlab.Provider
}

func newGitLab(t *testing.T) forge {
	t.Helper()
	s := gitlabfake.New(t, gitlabfake.Options{PathPrefix: "/gitlab", WebhookSecret: gitlabSecret})
	s.CreateProject(t.Context(), t, repo, filepath.Join(moduleRoot(t), "examples", "gitops"))
	s.SetAccessLevel(t, repo, "alice", 30)
	s.SetAccessLevel(t, repo, "eve", 20)
	p, err := gitlab.New(t.Context(), gitlab.Options{BaseURL: s.BaseURL(), Token: s.Token(), WebhookSecret: []byte(gitlabSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return &gitlabForge{s: s, p: p}
}

func TestGitLab(t *testing.T) {
	t.Parallel()
	runScenarios(t, newGitLab)
}

func (f *gitlabForge) provider() vcs.Provider { return f.p }
func (f *gitlabForge) webhookRoute() string   { return "gitlab" }
func (f *gitlabForge) setWebhook(url string)  { f.s.SetWebhook(url, gitlabSecret) }
func (f *gitlabForge) writes() int            { return f.s.Writes() }
func (f *gitlabForge) botLogin() string       { return f.s.BotUsername() }

func (f *gitlabForge) issue(t *testing.T, user string) int {
	return f.s.CreateIssue(t, repo, user, "Upgrade our clusters", "")
}

func (f *gitlabForge) comment(t *testing.T, th vcs.Thread, user, body string) (int64, func() int) {
	id, d := f.s.AddNote(t, repo, th, user, body)
	key := d.IdempotencyKey
	return id, func() int { return f.s.Redeliver(t, key).Status }
}

func (f *gitlabForge) reactions(t *testing.T, th vcs.Thread, id int64) []string {
	var out []string
	for _, a := range f.s.AwardEmoji(t, repo, th, id) {
		out = append(out, a.User+":"+a.Name)
	}
	return out
}

func (f *gitlabForge) pulls(t *testing.T) []pull {
	var out []pull
	for _, mr := range f.s.MergeRequests(t, repo) {
		state := mr.State
		if state == "opened" {
			state = "open"
		}
		out = append(out, pull{Number: mr.IID, Head: mr.SourceBranch, Title: mr.Title, Body: mr.Description, State: state})
	}
	return out
}

func (f *gitlabForge) comments(t *testing.T, th vcs.Thread) []comment {
	var out []comment
	for _, n := range f.s.Notes(t, repo, th) {
		if !n.System {
			out = append(out, comment{Author: n.Author, Body: n.Body})
		}
	}
	return out
}

func (f *gitlabForge) openPull(t *testing.T, user, branch string, files map[string]string) int {
	f.s.CreateBranch(t.Context(), t, repo, branch, "main", files)
	iid, d := f.s.OpenMergeRequest(t.Context(), t, repo, user, branch, "main", "Bump a cluster", "")
	if d.Status/100 != 2 {
		t.Fatalf("the merge request hook was answered %d (%v)", d.Status, d.Err)
	}
	return iid
}

func (f *gitlabForge) git(t *testing.T, args ...string) string {
	return f.s.Git().Git(t.Context(), t, repo, args...)
}

func (f *gitlabForge) merge(t *testing.T, user string, number int) {
	f.s.MergeMergeRequest(t.Context(), t, repo, number, user)
}

func (f *gitlabForge) approve(t *testing.T, user string, number int) {
	f.s.Approve(t, repo, number, user)
}

func (f *gitlabForge) checks(t *testing.T, number int, state string) {
	status := map[string]string{"pending": "running", "passed": "success"}[state]
	f.s.SetPipeline(t.Context(), t, repo, number, cmp.Or(status, "failed"))
}

// letBotMerge makes the bot a Maintainer: GitLab's protected default
// branch lets Maintainers merge.
func (f *gitlabForge) letBotMerge(t *testing.T) {
	f.s.SetAccessLevel(t, repo, f.s.BotUsername(), 40)
}

func (f *gitlabForge) push(t *testing.T, user, branch string, files map[string]string) {
	f.s.Push(t.Context(), t, repo, user, branch, files)
}

func (f *gitlabForge) failCreatePull(status int, retryAfter string) {
	f.s.FailNext(http.MethodPost, "/projects/*/merge_requests", status, retryHeader(retryAfter))
}

func (f *gitlabForge) issues(t *testing.T) []issueView {
	var out []issueView
	for _, i := range f.s.Issues(t, repo) {
		out = append(out, issueView{Number: i.IID, Title: i.Title, Body: i.Description, Author: i.Author})
	}
	return out
}

func (f *gitlabForge) editIssue(t *testing.T, number int, user, body string) int {
	return f.s.EditIssue(t, repo, number, user, body).Status
}
