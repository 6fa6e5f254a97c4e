// Package githttp serves real bare git repositories over git's smart HTTP
// protocol (git http-backend), behind basic authentication, for the forge
// fakes: the bot under test really clones, fetches and pushes.
package githttp

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Server serves the bare repositories under Root at "/<path>.git".
type Server struct {
	// Root holds the bare repositories, "<owner>/<name>.git".
	Root string
	git  string

	mu    sync.Mutex
	auth  func(user, password string) bool
	count map[string]int
}

// New returns a server for bare repositories under a new temporary
// directory; without SetAuth it accepts every request. It skips the test
// when git is not installed.
func New(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed: the forge fakes serve repositories with git http-backend")
	}
	return &Server{Root: t.TempDir(), git: bin, count: map[string]int{}}
}

// SetAuth makes the server require basic authentication accepted by ok.
func (s *Server) SetAuth(ok func(user, password string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = ok
}

// Pushes is how many pushes (receive-pack requests) reached repo.
func (s *Server) Pushes(repo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[repo]
}

// Create makes the bare repository repo ("owner/name") whose default
// branch holds the files of dir, committed by git itself; it returns the
// commit.
func (s *Server) Create(ctx context.Context, t testing.TB, repo, dir string) string {
	t.Helper()
	bare := s.Path(repo)
	work := t.TempDir()
	s.run(ctx, t, "", "init", "--bare", "--initial-branch=main", bare)
	s.run(ctx, t, bare, "config", "http.receivepack", "true")
	s.run(ctx, t, "", "clone", "--quiet", bare, work)
	if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
		t.Fatalf("copying %s into the new repository: %v", dir, err)
	}
	s.run(ctx, t, work, "add", "-A")
	s.run(ctx, t, work, "commit", "--quiet", "-m", "Initial commit")
	s.run(ctx, t, work, "push", "--quiet", "origin", "HEAD:main")
	return strings.TrimSpace(s.run(ctx, t, work, "rev-parse", "HEAD"))
}

// Path is the bare repository's directory.
func (s *Server) Path(repo string) string {
	return filepath.Join(s.Root, filepath.FromSlash(repo)+".git")
}

// Git runs git in the bare repository of repo and returns its output.
func (s *Server) Git(ctx context.Context, t testing.TB, repo string, args ...string) string {
	t.Helper()
	return s.run(ctx, t, s.Path(repo), args...)
}

func (s *Server) run(ctx context.Context, t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, s.git, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv(s.Root)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func gitEnv(home string) []string {
	return []string{
		"GIT_CONFIG_NOSYSTEM=1", "HOME=" + home, "XDG_CONFIG_HOME=" + home,
		"GIT_AUTHOR_NAME=Forge Fake", "GIT_AUTHOR_EMAIL=fake@example.com",
		"GIT_COMMITTER_NAME=Forge Fake", "GIT_COMMITTER_EMAIL=fake@example.com",
	}
}

// ServeHTTP serves "/<owner>/<name>.git/..." from Root.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	auth := s.auth
	s.mu.Unlock()
	if auth != nil {
		u, p, ok := r.BasicAuth()
		if !ok || !auth(u, p) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	if strings.HasSuffix(r.URL.Path, "/git-receive-pack") && r.Method == http.MethodPost {
		repo := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".git/git-receive-pack")
		s.mu.Lock()
		s.count[repo]++
		s.mu.Unlock()
	}
	h := &cgi.Handler{
		Path: s.git,
		Args: []string{"http-backend"},
		Env:  append([]string{"GIT_PROJECT_ROOT=" + s.Root, "GIT_HTTP_EXPORT_ALL=1"}, gitEnv(s.Root)...),
	}
	h.ServeHTTP(w, r)
}

// Token checks a password in constant time, for SetAuth.
func Token(want string) func(user, password string) bool {
	return func(_, password string) bool {
		return subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1
	}
}

// String names the server in test logs.
func (s *Server) String() string { return fmt.Sprintf("git http-backend for %s", s.Root) }
