package bot

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/test/forge/githttp"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

const releasesToken = "ghs_r3leasesT0ken"

// addRelease copies the release directory capa/v<from> under dir to
// capa/v<to>, with its version changed everywhere it is written.
func addRelease(t *testing.T, dir, from, to string) {
	t.Helper()
	src := filepath.Join(dir, "capa", "v"+from)
	dst := filepath.Join(dir, "capa", "v"+to)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := strings.NewReplacer(from, to, strings.ReplaceAll(from, ".", "-"), strings.ReplaceAll(to, ".", "-")).Replace(string(b))
		return os.WriteFile(filepath.Join(dst, rel), []byte(s), 0o644)
	})
	if err != nil {
		t.Fatalf("copying release %s to %s: %v", from, to, err)
	}
}

// breakRelease overwrites a release's release.yaml with YAML that does not
// parse, and returns its old content.
func breakRelease(t *testing.T, dir, version string) []byte {
	t.Helper()
	p := filepath.Join(dir, "capa", "v"+version, "release.yaml")
	old, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("apiVersion: release.giantswarm.io/v1alpha1\nkind: Release\nspec: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return old
}

// stepper runs the poller's steps and keeps what they report and log.
type stepper struct {
	p    *ReleasePoller
	logs *bytes.Buffer
}

func newStepper() (*bytes.Buffer, *slog.Logger) {
	var logs bytes.Buffer
	return &logs, slog.New(slog.NewTextHandler(&logs, nil))
}

// step polls once and returns the versions reported and the logs written.
func (s *stepper) step(t *testing.T) ([]string, string) {
	t.Helper()
	s.logs.Reset()
	var got []string
	s.p.step(t.Context(), func(r releases.NewRelease) { got = append(got, r.Provider+"/"+r.Version+" "+r.Source) })
	return got, s.logs.String()
}

func hasRelease(c *releases.Catalog, version string) bool {
	_, err := c.Get("capa", version)
	return err == nil
}

func TestDirReleasePoller(t *testing.T) {
	t.Parallel()
	dir := copyDir(t, exampleReleases)
	logs, log := newStepper()
	p, err := NewDirReleasePoller(t.Context(), dir, log)
	if err != nil {
		t.Fatal(err)
	}
	s := &stepper{p: p, logs: logs}
	if got, _ := s.step(t); got != nil {
		t.Errorf("a poll without a change reported %q", got)
	}

	addRelease(t, dir, "32.0.0", "32.1.0")
	got, _ := s.step(t)
	if diff := cmp.Diff([]string{"capa/32.1.0 " + filepath.Join(dir, "capa", "v32.1.0", "release.yaml")}, got); diff != "" {
		t.Errorf("new releases (-want +got):\n%s", diff)
	}
	if !hasRelease(p.Catalog(), "32.1.0") || len(p.Catalog().Warnings()) != 0 {
		t.Errorf("the catalog lacks 32.1.0 or has problems: %q", p.Catalog().Warnings())
	}
	if got, _ := s.step(t); got != nil {
		t.Errorf("the release was reported again: %q", got)
	}

	// A broken release.yaml: the last catalog stays, the file is named.
	before := p.Catalog()
	old := breakRelease(t, dir, "31.0.0")
	addRelease(t, dir, "32.0.0", "32.2.0")
	got, logged := s.step(t)
	if got != nil || p.Catalog() != before {
		t.Errorf("a broken reload was adopted: reported %q", got)
	}
	broken := filepath.Join(dir, "capa", "v31.0.0", "release.yaml")
	if !strings.Contains(logged, broken) || !strings.Contains(logged, "the last catalog stays in force") {
		t.Errorf("the logs do not name %s:\n%s", broken, logged)
	}
	if got, logged := s.step(t); got != nil || logged != "" {
		t.Errorf("an unchanged broken directory was reported again: %q\n%s", got, logged)
	}

	// Fixed: the release added meanwhile is reported, once.
	if err := os.WriteFile(broken, old, 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ = s.step(t)
	if diff := cmp.Diff([]string{"capa/32.2.0 " + filepath.Join(dir, "capa", "v32.2.0", "release.yaml")}, got); diff != "" {
		t.Errorf("new releases after the fix (-want +got):\n%s", diff)
	}
	if !hasRelease(p.Catalog(), "31.0.0") || !hasRelease(p.Catalog(), "32.2.0") {
		t.Error("the fixed catalog lacks 31.0.0 or 32.2.0")
	}

	// A removed release that comes back is not new.
	if err := os.Rename(filepath.Join(dir, "capa", "v32.2.0"), filepath.Join(t.TempDir(), "v32.2.0")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.step(t); got != nil || hasRelease(p.Catalog(), "32.2.0") {
		t.Errorf("removing a release reported %q, or the catalog still has it", got)
	}
	addRelease(t, dir, "32.0.0", "32.2.0")
	if got, _ := s.step(t); got != nil {
		t.Errorf("a release seen before was reported again: %q", got)
	}

	// A directory with no release at all keeps the last catalog too.
	before = p.Catalog()
	if err := os.Rename(filepath.Join(dir, "capa"), filepath.Join(dir, "v1")); err != nil {
		t.Fatal(err)
	}
	if _, logged := s.step(t); p.Catalog() != before || !strings.Contains(logged, "no releases found") {
		t.Errorf("an empty directory replaced the catalog, or was not logged:\n%s", logged)
	}
}

func TestNewDirReleasePollerErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewDirReleasePoller(t.Context(), filepath.Join(t.TempDir(), "nope"), nil); err == nil {
		t.Error("a missing directory did not fail")
	}
}

// releasesUpstream is a bare repository of releases behind git
// http-backend, and a work clone of it made by the git CLI.
type releasesUpstream struct {
	srv      *githttp.Server
	url      string // smart HTTP
	work     string
	mu       sync.Mutex
	requests []string // "METHOD path?query" of each HTTP request
}

func newReleasesUpstream(t *testing.T, subdir string) *releasesUpstream {
	t.Helper()
	srv := githttp.New(t)
	src := t.TempDir()
	if err := os.CopyFS(filepath.Join(src, filepath.FromSlash(subdir)), os.DirFS(exampleReleases)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte("# releases\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const repo = "giantswarm/releases"
	srv.Create(t.Context(), t, repo, src)
	srv.SetAuth(githttp.Token(releasesToken))
	u := &releasesUpstream{srv: srv, work: filepath.Join(t.TempDir(), "work")}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.requests = append(u.requests, r.Method+" "+r.URL.RequestURI())
		u.mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	u.url = hs.URL + "/" + repo + ".git"
	u.git(t, "", "clone", "--quiet", srv.Path(repo), u.work)
	return u
}

func (u *releasesUpstream) git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", append([]string{"-c", "user.name=Someone", "-c", "user.email=someone@example.invalid"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+u.srv.Root, "XDG_CONFIG_HOME="+u.srv.Root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// push commits everything in the work clone and pushes it to main.
func (u *releasesUpstream) push(t *testing.T, message string) {
	t.Helper()
	u.git(t, u.work, "add", "-A")
	u.git(t, u.work, "commit", "--quiet", "-m", message)
	u.git(t, u.work, "push", "--quiet", "origin", "HEAD:main")
}

// taken returns the requests made since the last call.
func (u *releasesUpstream) taken() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.requests
	u.requests = nil
	return r
}

const advertisement = "GET /giantswarm/releases.git/info/refs?service=git-upload-pack"

func TestGitReleasePoller(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, subdir string
		http         bool
	}{
		{name: "smart HTTP, releases in a subdirectory", subdir: "releases", http: true},
		{name: "file URL, releases at the root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := newReleasesUpstream(t, tc.subdir)
			g := GitReleases{URL: u.url, Subdir: tc.subdir, Workdir: t.TempDir(), Credential: &git.Credential{Password: releasesToken}}
			if !tc.http {
				g.URL = (&url.URL{Scheme: "file", Path: filepath.ToSlash(u.srv.Path("giantswarm/releases"))}).String()
				g.Credential = nil
			}
			releasesDir := filepath.Join(u.work, filepath.FromSlash(tc.subdir))
			logs, log := newStepper()
			p, err := NewGitReleasePoller(t.Context(), g, log)
			if err != nil {
				t.Fatal(err)
			}
			s := &stepper{p: p, logs: logs}
			if !hasRelease(p.Catalog(), "32.0.0") || len(p.Catalog().Warnings()) != 0 {
				t.Fatalf("the first catalog lacks 32.0.0 or has problems: %q", p.Catalog().Warnings())
			}
			// checkRequests checks that a poll made only the ref
			// advertisement (fetched is false) or fetched too.
			checkRequests := func(what string, fetched bool) {
				t.Helper()
				got := u.taken()
				if !tc.http {
					return
				}
				want := []string{advertisement}
				if fetched {
					if !slices.Contains(got, "POST /giantswarm/releases.git/git-upload-pack") {
						t.Errorf("%s: no fetch: %q", what, got)
					}
					return
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: requests (-want +got):\n%s", what, diff)
				}
			}
			u.taken()
			if got, _ := s.step(t); got != nil {
				t.Errorf("a poll without a change reported %q", got)
			}
			checkRequests("a poll without a change", false)

			addRelease(t, releasesDir, "32.0.0", "32.1.0")
			u.push(t, "Add capa v32.1.0")
			got, _ := s.step(t)
			if diff := cmp.Diff([]string{"capa/32.1.0 " + strings.TrimPrefix(tc.subdir+"/capa/v32.1.0/release.yaml", "/")}, got); diff != "" {
				t.Errorf("new releases (-want +got):\n%s", diff)
			}
			checkRequests("a poll after a commit", true)
			if !hasRelease(p.Catalog(), "32.1.0") {
				t.Error("the catalog lacks 32.1.0")
			}
			if got, _ := s.step(t); got != nil {
				t.Errorf("the release was reported again: %q", got)
			}
			checkRequests("a second poll", false)

			// A commit that breaks a release.yaml: the last catalog stays.
			before := p.Catalog()
			old := breakRelease(t, releasesDir, "31.0.0")
			u.push(t, "Break capa v31.0.0")
			got, logged := s.step(t)
			if got != nil || p.Catalog() != before || !hasRelease(p.Catalog(), "31.0.0") {
				t.Errorf("a broken commit was adopted: reported %q", got)
			}
			if !strings.Contains(logged, "capa/v31.0.0/release.yaml") || !strings.Contains(logged, "the last catalog stays in force") {
				t.Errorf("the logs do not name the broken file:\n%s", logged)
			}
			checkRequests("a poll after the broken commit", true)
			if got, logged := s.step(t); got != nil || logged != "" {
				t.Errorf("an unchanged broken commit was reported again: %q\n%s", got, logged)
			}
			checkRequests("a poll of the broken commit", false)

			if err := os.WriteFile(filepath.Join(releasesDir, "capa", "v31.0.0", "release.yaml"), old, 0o644); err != nil {
				t.Fatal(err)
			}
			addRelease(t, releasesDir, "32.0.0", "32.2.0")
			u.push(t, "Fix capa v31.0.0, add v32.2.0")
			if got, _ := s.step(t); len(got) != 1 || !strings.HasPrefix(got[0], "capa/32.2.0 ") {
				t.Errorf("after the fix, new releases = %q, want 32.2.0", got)
			}

			// A restart reuses the clone and knows the releases.
			u.taken()
			p2, err := NewGitReleasePoller(t.Context(), g, log)
			if err != nil {
				t.Fatal(err)
			}
			if !hasRelease(p2.Catalog(), "32.2.0") {
				t.Error("after a restart, the catalog lacks 32.2.0")
			}
			if tc.http && slices.Contains(u.taken(), "POST /giantswarm/releases.git/git-upload-pack") {
				t.Error("a restart with an up-to-date clone fetched")
			}
			if got, _ := (&stepper{p: p2, logs: logs}).step(t); got != nil {
				t.Errorf("after a restart, a poll reported %q", got)
			}
			if strings.Contains(logs.String(), releasesToken) {
				t.Errorf("the logs show the token:\n%s", logs)
			}
		})
	}
}

func TestNewGitReleasePollerErrors(t *testing.T) {
	t.Parallel()
	u := newReleasesUpstream(t, "")
	for _, tc := range []struct {
		name string
		g    GitReleases
		want string
	}{
		{"wrong token", GitReleases{URL: u.url, Credential: &git.Credential{Password: "ghs_wr0ng"}}, "the remote refused the credentials"},
		{"no token", GitReleases{URL: u.url}, "requires credentials and none were given"},
		{"missing branch", GitReleases{URL: u.url, Branch: "nope", Credential: &git.Credential{Password: releasesToken}}, "has no branch nope"},
		{"missing subdirectory", GitReleases{URL: u.url, Subdir: "releases", Credential: &git.Credential{Password: releasesToken}}, `has no directory "releases" on main`},
		{"subdirectory outside", GitReleases{URL: u.url, Subdir: "../x"}, "must be a relative path inside the repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.g.Workdir = t.TempDir()
			_, err := NewGitReleasePoller(context.WithoutCancel(t.Context()), tc.g, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "ghs_") {
				t.Errorf("error = %v, want %q without a token", err, tc.want)
			}
		})
	}
}
