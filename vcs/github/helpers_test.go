package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
	ghp "github.com/upgrade-bot/upgrade-bot/vcs/github"
)

const testRepo = "acme/gitops"

// world is a fake GitHub with one repository, and a provider talking to
// it with a personal access token.
type world struct {
	fake  *githubfake.Server
	p     *ghp.Provider
	token string
	// main is the commit of the repository's default branch.
	main string
}

// newWorld starts a fake with testRepo, owned by acme, and a provider
// acting as the person "upgrade-bot-user" with a token.
func newWorld(t *testing.T, spec *githubfake.Spec, opts githubfake.Options) *world {
	t.Helper()
	opts.Spec = spec
	fake := githubfake.New(t, opts)
	w := &world{fake: fake, token: fake.AddToken("upgrade-bot-user")}
	w.main = fake.CreateRepo(t.Context(), t, testRepo, gitopsDir(t))
	p, err := ghp.New(t.Context(), ghp.Options{BaseURL: fake.APIURL(), Token: w.token, WebhookSecret: []byte("s3cret")})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w.p = p
	return w
}

// gitopsDir is a small GitOps tree.
func gitopsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "clusters", "peu01.yaml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	content := "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: peu01\n  labels:\n    release.giantswarm.io/version: 30.1.0\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// git runs the git command line in dir, away from the user's
// configuration, and returns its output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.invalid",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// tryGit is git that returns the error instead of failing the test.
func tryGit(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
	)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// withCredential puts a git credential into a clone URL.
func withCredential(t *testing.T, cloneURL, username, password string) string {
	t.Helper()
	u, err := url.Parse(cloneURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(username, password)
	return u.String()
}

// pushBranch clones repo over HTTP with token, commits a change of
// clusters/peu01.yaml on branch (from main, or from the branch when it
// exists) and pushes it; it returns the new commit.
func (w *world) pushBranch(t *testing.T, repo, branch, version string) string {
	t.Helper()
	return pushBranch(t, w.fake.URL+"/git/"+repo+".git", w.token, branch, version)
}

func pushBranch(t *testing.T, cloneURL, token, branch, version string) string {
	t.Helper()
	dir := t.TempDir()
	remote := withCredential(t, cloneURL, "x-access-token", token)
	git(t, dir, "clone", "--quiet", remote, ".")
	if _, err := tryGit(t, dir, "rev-parse", "--verify", "--quiet", "origin/"+branch); err == nil {
		git(t, dir, "checkout", "--quiet", "-b", branch, "origin/"+branch)
	} else {
		git(t, dir, "checkout", "--quiet", "-b", branch)
	}
	p := filepath.Join(dir, "clusters", "peu01.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.Contains(l, "release.giantswarm.io/version:") {
			lines[i] = "    release.giantswarm.io/version: " + version
		}
	}
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "commit", "--quiet", "-am", "Upgrade peu01 to "+version)
	git(t, dir, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
	return git(t, dir, "rev-parse", "HEAD")
}

// newKey is a GitHub App's RSA key pair, PEM-encoded private key.
func newKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// steppingClock is a clock that moves a minute at every reading, so that
// every object the fake creates has its own timestamp.
type steppingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Minute)
	return c.now
}

// contextCanceled is a context of the test with its cancel function.
func contextCanceled(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
