package git

import (
	"errors"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// remoteBranch returns the commit a branch points to in the repository at
// dir, "" when it does not exist.
func remoteBranch(t *testing.T, dir, branch string) string {
	t.Helper()
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return ref.Hash().String()
}

func commitUpgrade(t *testing.T, r *Repository, branch, content string) CommitResult {
	t.Helper()
	res, err := r.CommitBranch(t.Context(), branch, []Change{{Path: "clusters/org-a/peu01/cluster.yaml", Content: []byte(content)}}, "Upgrade", testAuthor(), testTime())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPushLocal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  func(bare string) string
	}{
		{name: "path", url: func(bare string) string { return bare }},
		{name: "file URL", url: func(bare string) string { return (&url.URL{Scheme: "file", Path: filepath.ToSlash(bare)}).String() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t, commitFixture())
			bare := filepath.Join(t.TempDir(), "origin.git")
			if err := InitBare(bare); err != nil {
				t.Fatal(err)
			}
			if err := r.AddRemote("origin", tt.url(bare)); err != nil {
				t.Fatal(err)
			}
			res := commitUpgrade(t, r, "upgrade-bot/peu01/v31.0.0", "v31\n")
			for i := range 2 { // the second push is up to date
				if err := r.Push(t.Context(), "origin", res.Branch, nil); err != nil {
					t.Fatalf("push %d: %v", i+1, err)
				}
			}
			if got := remoteBranch(t, bare, res.Branch); got != res.Commit {
				t.Fatalf("remote branch = %q, want %s", got, res.Commit)
			}
			// A second branch sends only what the remote lacks.
			res2 := commitUpgrade(t, r, "upgrade-bot/peu01/v32.0.0", "v32\n")
			if err := r.Push(t.Context(), "origin", res2.Branch, nil); err != nil {
				t.Fatal(err)
			}
			if got := remoteBranch(t, bare, res2.Branch); got != res2.Commit {
				t.Fatalf("remote branch = %q, want %s", got, res2.Commit)
			}

			if gitPath(t) == "" {
				return
			}
			runGit(t, bare, "fsck", "--strict", "--no-progress")
			if got := runGit(t, bare, "show", res.Branch+":clusters/org-a/peu01/cluster.yaml"); got != "v31\n" {
				t.Errorf("file on the remote branch = %q", got)
			}
			if got := runGit(t, bare, "symbolic-ref", "HEAD"); got != "refs/heads/main\n" {
				t.Errorf("bare HEAD = %q", got)
			}
		})
	}
}

func TestPushNonFastForward(t *testing.T) {
	t.Parallel()
	r := newRepo(t, commitFixture())
	bare := filepath.Join(t.TempDir(), "origin.git")
	if err := InitBare(bare); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRemote("origin", bare); err != nil {
		t.Fatal(err)
	}
	first := commitUpgrade(t, r, "topic", "one\n")
	if err := r.Push(t.Context(), "origin", "topic", nil); err != nil {
		t.Fatal(err)
	}
	// Someone else's history on the same branch name.
	if err := r.repo.Storer.RemoveReference(plumbing.NewBranchReferenceName("topic")); err != nil {
		t.Fatal(err)
	}
	commitUpgrade(t, r, "topic", "two\n")
	err := r.Push(t.Context(), "origin", "topic", nil)
	if !errors.Is(err, ErrNonFastForward) {
		t.Fatalf("Push = %v, want ErrNonFastForward", err)
	}
	if !strings.Contains(err.Error(), "someone changed it") {
		t.Errorf("error %q does not explain", err)
	}
	if got := remoteBranch(t, bare, "topic"); got != first.Commit {
		t.Errorf("remote branch moved to %s", got)
	}
}

func TestPushErrors(t *testing.T) {
	t.Parallel()
	r := newRepo(t, commitFixture())
	commitUpgrade(t, r, "topic", "one\n")
	notRepo := t.TempDir()
	if err := r.AddRemote("plain", notRepo); err != nil {
		t.Fatal(err)
	}
	worktree := newRepo(t, map[string]string{"a": "a\n"})
	if err := worktree.repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName("topic"))); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRemote("checkout", worktree.Root()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote, branch string
		wantErr              string
	}{
		{name: "unknown remote", remote: "upstream", branch: "topic", wantErr: `remote "upstream" is not configured`},
		{name: "unknown branch", remote: "plain", branch: "nope", wantErr: "pushing nope to plain: reading the local branch"},
		{name: "not a repository", remote: "plain", branch: "topic", wantErr: "is not a git repository"},
		{name: "checked out", remote: "checkout", branch: "topic", wantErr: "branch topic is checked out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := r.Push(t.Context(), tt.remote, tt.branch, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Push error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestPushHTTP pushes over smart HTTP to git http-backend behind a handler
// that checks basic authentication.
func TestPushHTTP(t *testing.T) {
	t.Parallel()
	gitBin := requireGit(t)
	root := t.TempDir()
	bare := filepath.Join(root, "origin.git")
	if err := InitBare(bare); err != nil {
		t.Fatal(err)
	}
	runGit(t, bare, "config", "http.receivepack", "true")
	backend := &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root},
	}
	const user, token = "x-access-token", "ghs_s3cretT0ken"
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		mu.Lock()
		seen = append(seen, req.Header.Get("Authorization"))
		mu.Unlock()
		if !ok || u != user || p != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)

	r := newRepo(t, commitFixture())
	if err := r.AddRemote("origin", srv.URL+"/origin.git"); err != nil {
		t.Fatal(err)
	}
	srvURL, _ := url.Parse(srv.URL)
	srvURL.User = url.UserPassword("someone", "url-password-123")
	srvURL.Path = "/origin.git"
	if err := r.AddRemote("withuserinfo", srvURL.String()); err != nil {
		t.Fatal(err)
	}
	res := commitUpgrade(t, r, "upgrade-bot/peu01/v31.0.0", "v31\n")

	tests := []struct {
		name      string
		remote    string
		cred      *Credential
		wantErr   []string
		secrets   []string
		wantIs    error
		wantAuthz string
	}{
		{
			name: "no credential", remote: "origin", cred: nil,
			wantErr: []string{"pushing upgrade-bot/peu01/v31.0.0 to origin (" + srv.URL + "/origin.git)", "requires credentials and none were given"},
			wantIs:  transport.ErrAuthenticationRequired,
		},
		{
			name: "wrong password", remote: "origin", cred: &Credential{Password: "wrong-password-456"},
			wantErr:   []string{"refused the credentials of x-access-token"},
			secrets:   []string{"wrong-password-456"},
			wantIs:    transport.ErrAuthenticationRequired,
			wantAuthz: basicAuth(user, "wrong-password-456"),
		},
		{
			name: "password in the remote URL", remote: "withuserinfo", cred: nil,
			wantErr: []string{"someone:xxxxx@", "refused the credentials of someone"},
			secrets: []string{"url-password-123"},
			wantIs:  transport.ErrAuthenticationRequired,
		},
		{name: "token", remote: "origin", cred: &Credential{Password: token}, wantAuthz: basicAuth(user, token)},
		{name: "token again is up to date", remote: "origin", cred: &Credential{Username: user, Password: token}, wantAuthz: basicAuth(user, token)},
	}
	for _, tt := range tests { // in order: the last ones push
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			err := r.Push(t.Context(), tt.remote, res.Branch, tt.cred)
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("Push: %v", err)
			}
			if len(tt.wantErr) > 0 && err == nil {
				t.Fatal("Push succeeded")
			}
			if err != nil {
				t.Logf("error: %v", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			for _, s := range tt.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q reveals a password", err)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if tt.wantAuthz != "" {
				mu.Lock()
				defer mu.Unlock()
				if len(seen) == 0 {
					t.Fatal("no request reached the server")
				}
				for _, h := range seen {
					if h != tt.wantAuthz {
						t.Errorf("Authorization = %q, want %q", h, tt.wantAuthz)
					}
				}
			}
		})
	}
	if got := remoteBranch(t, bare, res.Branch); got != res.Commit {
		t.Fatalf("remote branch = %q, want %s", got, res.Commit)
	}
	runGit(t, bare, "fsck", "--strict", "--no-progress")
}

func basicAuth(user, password string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://github.com/o/r.git", "https://github.com/o/r.git"},
		{"https://x-access-token:ghs_abc@github.com/o/r.git", "https://x-access-token:xxxxx@github.com/o/r.git"},
		{"/srv/git/r.git", "/srv/git/r.git"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"https://u:p%zz@host/r.git", "(URL not shown)"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPushRelativeRemotePath(t *testing.T) {
	t.Parallel()
	r := newRepo(t, commitFixture())
	bare := filepath.Join(r.Root(), "..", "origin.git")
	if err := InitBare(bare); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRemote("origin", "../origin.git"); err != nil {
		t.Fatal(err)
	}
	res := commitUpgrade(t, r, "topic", "v31\n")
	if err := r.Push(t.Context(), "origin", "topic", nil); err != nil {
		t.Fatal(err)
	}
	if got := remoteBranch(t, bare, "topic"); got != res.Commit {
		t.Fatalf("remote branch = %q, want %s", got, res.Commit)
	}
	if _, err := os.Stat(filepath.Join(bare, "refs", "heads", "topic")); err != nil {
		t.Errorf("the branch was not written into the bare repository next to the work tree: %v", err)
	}
}
