package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/upgrade-bot/upgrade-bot/vcs"
	"github.com/upgrade-bot/upgrade-bot/vcs/github"

	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
)

var githubSecret = []byte("github-webhook-s3cret")

// githubForge is the GitHub fake, checked against GitHub's API
// description, served as GitHub Enterprise is (/api/v3), with the bot
// authenticated as a GitHub App: its installation tokens also push.
type githubForge struct {
	s   *githubfake.Server
	p   *github.Provider
	bot string
}

func TestGitHub(t *testing.T) {
	t.Parallel()
	runScenarios(t, gitHubFactory(t))
}

// newGitHubForge is one GitHub fake for one test.
func newGitHubForge(t *testing.T) forge {
	return gitHubFactory(t)(t)
}

// gitHubFactory loads GitHub's API description and makes the App's key
// once, and returns a maker of fakes with the example repository, the App
// installed on its owner, "alice" (write) and "eve" (read).
func gitHubFactory(t *testing.T) func(t *testing.T) forge {
	return gitHubFactoryFor(t, filepath.Join(moduleRoot(t), "examples", "gitops"))
}

// gitHubFactoryFor is gitHubFactory for a repository seeded from the
// directory seed.
func gitHubFactoryFor(t *testing.T, seed string) func(t *testing.T) forge {
	spec := githubfake.LoadSpec(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return func(t *testing.T) forge {
		s := githubfake.New(t, githubfake.Options{Spec: spec, PathPrefix: "/api/v3"})
		s.CreateRepo(t.Context(), t, repo, seed)
		s.SetApp(githubfake.App{ID: 4242, Slug: "upgrade-bot", PublicKey: &key.PublicKey})
		s.InstallApp("acme")
		s.SetPermission(repo, "alice", "write")
		s.SetPermission(repo, "eve", "read")
		p, err := github.New(t.Context(), github.Options{BaseURL: s.APIURL(), AppID: 4242, AppPrivateKey: keyPEM, WebhookSecret: githubSecret})
		if err != nil {
			t.Fatal(err)
		}
		return &githubForge{s: s, p: p, bot: "upgrade-bot[bot]"}
	}
}

func (f *githubForge) provider() vcs.Provider { return f.p }
func (f *githubForge) webhookRoute() string   { return "github" }
func (f *githubForge) setWebhook(url string)  { f.s.SetWebhook(url, githubSecret) }
func (f *githubForge) writes() int            { return f.s.Writes() }
func (f *githubForge) botLogin() string       { return f.bot }

func (f *githubForge) issue(t *testing.T, user string) int {
	return f.s.CreateIssue(repo, user, "Upgrade our clusters")
}

func (f *githubForge) comment(t *testing.T, th vcs.Thread, user, body string) (int64, func() int) {
	id := f.s.AddComment(repo, th.Number, user, body)
	ds := f.s.Deliveries()
	last := ds[len(ds)-1].ID
	return id, func() int { return f.s.Redeliver(last).Status }
}

func (f *githubForge) reactions(t *testing.T, th vcs.Thread, id int64) []string {
	var out []string
	for _, r := range f.s.Reactions(repo, id) {
		out = append(out, r.User+":"+r.Content)
	}
	return out
}

func (f *githubForge) pulls(t *testing.T) []pull {
	var out []pull
	for _, pr := range f.s.PullRequests(repo) {
		out = append(out, pull{Number: pr.Number, Head: pr.Head, Title: pr.Title, Body: pr.Body, State: pr.State})
	}
	return out
}

func (f *githubForge) comments(t *testing.T, th vcs.Thread) []comment {
	var out []comment
	for _, c := range f.s.Comments(repo, th.Number) {
		out = append(out, comment{Author: c.User, Body: c.Body})
	}
	return out
}

// openPull pushes a branch with the git command, as a person would, and
// opens a pull request from it.
func (f *githubForge) openPull(t *testing.T, user, branch string, files map[string]string) int {
	f.gitPush(t, user, "main", branch, files)
	return f.s.OpenPullRequest(t.Context(), t, repo, user, branch, "main", "Bump a cluster", "")
}

func (f *githubForge) merge(t *testing.T, user string, number int) {
	f.s.MergePullRequest(t.Context(), t, repo, number, user)
}

func (f *githubForge) approve(t *testing.T, user string, number int) {
	f.s.Review(t, repo, number, user, "APPROVED")
}

// checks reports a GitHub Actions-style check run.
func (f *githubForge) checks(t *testing.T, number int, state string) {
	switch state {
	case "pending":
		f.s.SetCheckRun(t, repo, number, "ci", "in_progress", "")
	case "passed":
		f.s.SetCheckRun(t, repo, number, "ci", "completed", "success")
	default:
		f.s.SetCheckRun(t, repo, number, "ci", "completed", "failure")
	}
}

// letBotMerge does nothing: the App may write, and write merges.
func (f *githubForge) letBotMerge(t *testing.T) {}

func (f *githubForge) push(t *testing.T, user, branch string, files map[string]string) {
	f.gitPush(t, user, branch, branch, files)
}

func (f *githubForge) failCreatePull(status int, retryAfter string) {
	f.s.FailNext(http.MethodPost, "/repos/{owner}/{repo}/pulls", status, retryHeader(retryAfter))
}

// gitPush commits files on top of from and pushes them to branch over
// HTTP with user's token, so the fake sees the push.
func (f *githubForge) gitPush(t *testing.T, user, from, branch string, files map[string]string) {
	work := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+work,
			"GIT_AUTHOR_NAME="+user, "GIT_AUTHOR_EMAIL="+user+"@example.com",
			"GIT_COMMITTER_NAME="+user, "GIT_COMMITTER_EMAIL="+user+"@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	u, err := url.Parse(f.s.URL + "/git/" + repo + ".git")
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, f.s.AddToken(user))
	run("clone", "--quiet", "--branch", from, u.String(), ".")
	run("checkout", "--quiet", "-B", branch)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(work, filepath.FromSlash(name)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("add", "-A")
	run("commit", "--quiet", "-m", "Bump a cluster")
	run("push", "--quiet", "origin", branch)
}

func (f *githubForge) git(t *testing.T, args ...string) string {
	return f.s.Git().Git(t.Context(), t, repo, args...)
}

func (f *githubForge) issues(t *testing.T) []issueView {
	var out []issueView
	for _, i := range f.s.Issues(repo) {
		out = append(out, issueView{Number: i.Number, Title: i.Title, Body: i.Body, Author: i.User})
	}
	return out
}

func (f *githubForge) editIssue(t *testing.T, number int, user, body string) int {
	return f.s.EditIssue(repo, number, user, body).Status
}
