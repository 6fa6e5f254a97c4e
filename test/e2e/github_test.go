package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
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
	spec := githubfake.LoadSpec(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	runScenarios(t, func(t *testing.T) forge {
		s := githubfake.New(t, githubfake.Options{Spec: spec, PathPrefix: "/api/v3"})
		s.CreateRepo(t.Context(), t, repo, filepath.Join(moduleRoot(t), "examples", "gitops"))
		s.SetApp(githubfake.App{ID: 4242, Slug: "upgrade-bot", PublicKey: &key.PublicKey})
		s.InstallApp("acme")
		s.SetPermission(repo, "alice", "write")
		s.SetPermission(repo, "eve", "read")
		p, err := github.New(t.Context(), github.Options{BaseURL: s.APIURL(), AppID: 4242, AppPrivateKey: keyPEM, WebhookSecret: githubSecret})
		if err != nil {
			t.Fatal(err)
		}
		return &githubForge{s: s, p: p, bot: "upgrade-bot[bot]"}
	})
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

// openPull pushes a branch into the bare repository with the git command,
// as a person would, and opens a pull request from it.
func (f *githubForge) openPull(t *testing.T, user, branch string, files map[string]string) int {
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
	run("clone", "--quiet", f.s.Git().Path(repo), ".")
	run("checkout", "--quiet", "-b", branch)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(work, filepath.FromSlash(name)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("commit", "--quiet", "-am", "Bump a cluster")
	run("push", "--quiet", "origin", branch)
	return f.s.OpenPullRequest(t.Context(), t, repo, user, branch, "main", "Bump a cluster", "")
}

func (f *githubForge) git(t *testing.T, args ...string) string {
	return f.s.Git().Git(t.Context(), t, repo, args...)
}
