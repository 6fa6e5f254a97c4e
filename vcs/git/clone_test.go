package git

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/test/forge/githttp"
)

const testToken = "ghs_cl0neT0kenS3cret"

// upstream is a bare repository served by git http-backend behind basic
// authentication with testToken, and a work clone of it made by the git
// CLI to change it the way people do.
type upstream struct {
	srv  *githttp.Server
	repo string // "owner/name"
	base string // the server's URL
	url  string // the repository's smart-HTTP URL
	bare string // the bare repository's directory
	work string // the git CLI's clone
}

// newUpstream serves a new repository whose main branch holds files
// (see upstream.commit for links), committed by the git CLI.
func newUpstream(t *testing.T, files map[string]string) *upstream {
	t.Helper()
	srv := githttp.New(t)
	const repo = "giantswarm/gitops"
	src := t.TempDir()
	plain, links := map[string]string{}, map[string]string{}
	for name, content := range files {
		if strings.HasPrefix(content, "link:") {
			links[name] = content
		} else {
			plain[name] = content
		}
	}
	writeFiles(t, src, plain)
	srv.Create(t.Context(), t, repo, src)
	srv.SetAuth(githttp.Token(testToken))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	u := &upstream{srv: srv, repo: repo, base: hs.URL, url: hs.URL + "/" + repo + ".git", bare: srv.Path(repo), work: filepath.Join(t.TempDir(), "work")}
	runGit(t, "", "clone", "--quiet", u.bare, u.work)
	if len(links) > 0 {
		u.commit(t, "main", false, links, "Links")
	}
	return u
}

// gitAs runs git in dir with a committer identity and returns its
// trimmed output.
func gitAs(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return strings.TrimSpace(runGit(t, dir, append([]string{"-c", "user.name=Someone", "-c", "user.email=someone@example.invalid"}, args...)...))
}

// commit changes files in the CLI clone, commits, and pushes HEAD to ref
// of the bare repository (forcing when force is set); it returns the
// commit. An empty content deletes the path; "link:<target>" makes a
// symbolic link; a content starting with "#!" is executable.
func (u *upstream) commit(t *testing.T, ref string, force bool, files map[string]string, message string) string {
	t.Helper()
	write := map[string]string{}
	for name, content := range files {
		p := filepath.Join(u.work, filepath.FromSlash(name))
		target, isLink := strings.CutPrefix(content, "link:")
		if content == "" || isLink {
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
		}
		switch {
		case isLink:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		case content != "":
			write[name] = content
		}
	}
	writeFiles(t, u.work, write)
	gitAs(t, u.work, "add", "-A")
	gitAs(t, u.work, "commit", "--quiet", "--allow-empty", "-m", message)
	args := []string{"push", "--quiet", "origin", "HEAD:" + ref}
	if force {
		args = append(args, "--force")
	}
	gitAs(t, u.work, args...)
	return gitAs(t, u.work, "rev-parse", "HEAD")
}

// git runs git in the bare repository and returns its trimmed output.
func (u *upstream) git(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(u.srv.Git(t.Context(), t, u.repo, args...))
}

// transportCase is one way for the tests to reach an upstream.
type transportCase struct {
	name string
	url  func(u *upstream) string
	cred *Credential
}

// transports are the ways the tests reach an upstream: over smart HTTP
// with the token, or in-process through its path or a file:// URL.
func transports() []transportCase {
	return []transportCase{
		{name: "http", url: func(u *upstream) string { return u.url }, cred: &Credential{Password: testToken}},
		{name: "path", url: func(u *upstream) string { return u.bare }},
		{name: "file URL", url: func(u *upstream) string {
			return (&url.URL{Scheme: "file", Path: filepath.ToSlash(u.bare)}).String()
		}},
	}
}

// gitTree describes the files of rev as the git CLI in dir sees them:
// path → "<mode> <content or link target>".
func gitTree(t *testing.T, dir, rev string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(runGit(t, dir, "ls-tree", "-r", "--full-tree", rev)), "\n") {
		meta, name, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("ls-tree line %q", line)
		}
		f := strings.Fields(meta) // mode type hash
		files[name] = f[0] + " " + runGit(t, dir, "cat-file", "blob", f[2])
	}
	return files
}

// dirTree describes the files under dir like gitTree, skipping the .git
// at its root; an empty directory is "dir".
func dirTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".git":
			return filepath.SkipDir
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			files[rel] = "120000 " + target
		case d.IsDir():
			if entries, err := os.ReadDir(p); err == nil && len(entries) == 0 && rel != "." {
				files[rel] = "dir"
			}
		default:
			fi, err := d.Info()
			if err != nil {
				return err
			}
			content, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			mode := "100644 "
			if fi.Mode()&0o100 != 0 {
				mode = "100755 "
			}
			files[rel] = mode + string(content)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkSynced checks with go-git and the git CLI that the clone at dir
// has branch checked out at commit, with nothing else in the work tree.
func checkSynced(t *testing.T, r *Repository, branch, commit string) {
	t.Helper()
	dir := r.Root()
	if b, c, err := r.Head(); err != nil || b != branch || c != commit {
		t.Errorf("Head() = %q, %q, %v; want %s at %s", b, c, err, branch, commit)
	}
	if dirty, err := r.Dirty(); err != nil || len(dirty) != 0 {
		t.Errorf("Dirty() = %q, %v; want clean", dirty, err)
	}
	if got := gitChanges(t, dir); len(got) != 0 {
		t.Errorf("git sees changes: %q", got)
	}
	if got := strings.TrimSpace(runGit(t, dir, "ls-files", "--others")); got != "" {
		t.Errorf("untracked or ignored files are left: %q", got)
	}
	if got := strings.TrimSpace(runGit(t, dir, "symbolic-ref", "HEAD")); got != "refs/heads/"+branch {
		t.Errorf("git symbolic-ref HEAD = %s", got)
	}
	if diff := cmp.Diff(gitTree(t, dir, commit), dirTree(t, dir)); diff != "" {
		t.Errorf("work tree differs from %s (-git +work tree):\n%s", short(commit), diff)
	}
	runGit(t, dir, "fsck", "--no-progress", "--connectivity-only")
}

func TestCloneHTTP(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, commitFixture())
	main := u.git(t, "rev-parse", "main")
	withPassword, _ := url.Parse(u.url)
	withPassword.User = url.UserPassword("someone", "url-password-789")

	tests := []struct {
		name     string
		url      string
		cred     *Credential
		existing bool // clone into an existing empty directory
		wantErr  []string
		wantIs   error
		secrets  []string
	}{
		{name: "token", url: u.url, cred: &Credential{Password: testToken}},
		{name: "token into an empty directory", url: u.url, cred: &Credential{Username: "bot", Password: testToken}, existing: true},
		{
			name: "no credential", url: u.url, existing: true,
			wantErr: []string{"cloning " + u.url + " into ", "finding the default branch", "the remote requires credentials and none were given"},
			wantIs:  transport.ErrAuthenticationRequired,
		},
		{
			name: "wrong token", url: u.url, cred: &Credential{Password: "ghs_wrongT0ken"},
			wantErr: []string{"cloning " + u.url, "the remote refused the credentials of x-access-token"},
			wantIs:  transport.ErrAuthenticationRequired, secrets: []string{"ghs_wrongT0ken"},
		},
		{
			name: "password in the URL", url: withPassword.String(),
			wantErr: []string{"someone:xxxxx@", "refused the credentials of someone"},
			wantIs:  transport.ErrAuthenticationRequired, secrets: []string{"url-password-789"},
		},
		{
			name: "missing repository", url: u.base + "/giantswarm/missing.git", cred: &Credential{Password: testToken},
			wantErr: []string{"the repository does not exist, or the credentials may not see it"},
			wantIs:  transport.ErrRepositoryNotFound, secrets: []string{testToken},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "clone")
			if tt.existing {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Clone(t.Context(), tt.url, dir, tt.cred)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("Clone succeeded")
				}
				t.Logf("error: %v", err)
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				for _, s := range tt.secrets {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q reveals a secret", err)
					}
				}
				if !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v is not %v", err, tt.wantIs)
				}
				entries, statErr := os.ReadDir(dir)
				switch {
				case tt.existing && (statErr != nil || len(entries) != 0):
					t.Errorf("the empty directory was not left empty: %v, %v", entries, statErr)
				case !tt.existing && !errors.Is(statErr, fs.ErrNotExist):
					t.Errorf("the clone's directory was left behind: %v", statErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Clone: %v", err)
			}
			checkSynced(t, r, "main", main)
			if got := runGit(t, dir, "rev-parse", "--is-shallow-repository"); got != "false\n" {
				t.Errorf("the clone is shallow: %q", got)
			}
			for args, want := range map[string]string{
				"config remote.origin.url":             tt.url,
				"rev-parse refs/remotes/origin/main":   main,
				"rev-parse --abbrev-ref main@{u}":      "origin/main",
				"rev-list --count HEAD":                u.git(t, "rev-list", "--count", "main"),
				"config --get-all remote.origin.fetch": "+refs/heads/*:refs/remotes/origin/*",
			} {
				if got := strings.TrimSpace(runGit(t, dir, strings.Fields(args)...)); got != want {
					t.Errorf("git %s = %q, want %q", args, got, want)
				}
			}
			cfg, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
			if err != nil || strings.Contains(string(cfg), testToken) {
				t.Errorf("the token is stored in .git/config (%v):\n%s", err, cfg)
			}
		})
	}
}

func TestCloneDefaultBranch(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, commitFixture())
	release := u.commit(t, "refs/heads/release", false, map[string]string{"RELEASE": "v31\n"}, "Release branch")
	u.git(t, "symbolic-ref", "HEAD", "refs/heads/release")
	for _, tc := range transports() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := Clone(t.Context(), tc.url(u), filepath.Join(t.TempDir(), "clone"), tc.cred)
			if err != nil {
				t.Fatalf("Clone: %v", err)
			}
			checkSynced(t, r, "release", release)
			if got, err := r.ReadFile("", "RELEASE"); err != nil || string(got) != "v31\n" {
				t.Errorf("RELEASE = %q, %v", got, err)
			}
		})
	}
}

func TestCloneLocal(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, commitFixture())
	main := u.git(t, "rev-parse", "main")
	for _, tc := range transports()[1:] {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := Clone(t.Context(), tc.url(u), filepath.Join(t.TempDir(), "clone"), nil)
			if err != nil {
				t.Fatalf("Clone: %v", err)
			}
			checkSynced(t, r, "main", main)
			// The history came along: git log walks it all.
			if got, want := runGit(t, r.Root(), "log", "--format=%H"), u.git(t, "log", "--format=%H", "main"); strings.TrimSpace(got) != want {
				t.Errorf("history = %q, want %q", got, want)
			}
		})
	}
}

// TestCloneRelativePath changes the process's directory: it cannot run
// in parallel with other tests.
func TestCloneRelativePath(t *testing.T) {
	u := newUpstream(t, commitFixture())
	t.Chdir(filepath.Dir(u.bare))
	dir := filepath.Join(t.TempDir(), "clone")
	r, err := Clone(t.Context(), filepath.Base(u.bare), dir, nil)
	if err != nil {
		t.Fatalf("Clone: %v", err)
	}
	if got := strings.TrimSpace(runGit(t, dir, "config", "remote.origin.url")); got != u.bare {
		t.Errorf("remote.origin.url = %q, want the absolute path %s", got, u.bare)
	}
	// The remote still works from elsewhere.
	t.Chdir(t.TempDir())
	tip := u.commit(t, "main", false, map[string]string{"new.yaml": "new\n"}, "New")
	if got, err := r.Sync(t.Context(), "origin", "main", nil); err != nil || got != tip {
		t.Fatalf("Sync = %s, %v; want %s", got, err, tip)
	}
}

func TestCloneErrors(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, commitFixture())
	emptyBare := filepath.Join(u.srv.Root, "giantswarm", "empty.git")
	runGit(t, "", "init", "--quiet", "--bare", emptyBare)
	notEmpty := t.TempDir()
	writeFiles(t, notEmpty, map[string]string{"keep.txt": "mine\n"})
	aFile := filepath.Join(t.TempDir(), "file")
	writeFiles(t, filepath.Dir(aFile), map[string]string{"file": "x\n"})

	tests := []struct {
		name, url, dir string
		cred           *Credential
		wantErr        string
		wantIs         error
	}{
		{name: "directory not empty", url: u.url, dir: notEmpty, cred: &Credential{Password: testToken}, wantErr: "is not empty: use a new or empty directory"},
		{name: "directory is a file", url: u.url, dir: aFile, cred: &Credential{Password: testToken}, wantErr: "not a directory"},
		{name: "empty repository over HTTP", url: u.base + "/giantswarm/empty.git", cred: &Credential{Password: testToken}, wantErr: "remote repository is empty", wantIs: transport.ErrEmptyRemoteRepository},
		{name: "empty repository on disk", url: emptyBare, wantErr: "the repository has no branch yet: push a first commit", wantIs: transport.ErrEmptyRemoteRepository},
		{name: "not a repository", url: t.TempDir(), wantErr: "is not a git repository", wantIs: ErrNotRepository},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tt.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "clone")
			}
			before := dirTree(t, filepath.Dir(dir))
			_, err := Clone(t.Context(), tt.url, dir, tt.cred)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Clone error = %v, want %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if diff := cmp.Diff(before, dirTree(t, filepath.Dir(dir))); diff != "" {
				t.Errorf("Clone left changes behind (-before +after):\n%s", diff)
			}
		})
	}
}

// TestClonePush pushes branches made by CommitBranch from a clone, and
// shows why Clone clones the whole history: from a depth-1 clone go-git
// pushes a new branch fine, but a push that the remote must refuse fails
// with "object not found" rather than ErrNonFastForward. When go-git
// learns to tell it, this test fails: then Clone may fetch one commit
// only.
func TestClonePush(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		depth       int
		wantShallow string
		// wantNonFastForward: refusing a changed branch is reported as
		// ErrNonFastForward.
		wantNonFastForward bool
	}{
		{name: "full clone", depth: 0, wantShallow: "false\n", wantNonFastForward: true},
		{name: "depth 1", depth: 1, wantShallow: "true\n", wantNonFastForward: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, commitFixture())
			u.commit(t, "main", false, map[string]string{"second.yaml": "2\n"}, "Second")
			cred := &Credential{Password: testToken}
			dir := t.TempDir()
			r, err := clone(t.Context(), u.url, dir, cred, tt.depth)
			if err != nil {
				t.Fatalf("clone: %v", err)
			}
			if got := runGit(t, dir, "rev-parse", "--is-shallow-repository"); got != tt.wantShallow {
				t.Fatalf("is-shallow-repository = %q, want %q", got, tt.wantShallow)
			}
			push := func(res CommitResult) error {
				t.Helper()
				if err := r.Push(t.Context(), "origin", res.Branch, cred); err != nil {
					return err
				}
				if got := u.git(t, "rev-parse", "refs/heads/"+res.Branch); got != res.Commit {
					t.Errorf("the remote branch is at %s, want %s", got, res.Commit)
				}
				u.git(t, "fsck", "--strict", "--no-progress")
				if got := u.git(t, "show", res.Branch+":clusters/org-a/peu01/cluster.yaml"); !strings.HasPrefix(got, "v3") {
					t.Errorf("cluster.yaml on the remote branch = %q", got)
				}
				return nil
			}

			// A new branch, then again after the remote moved and after
			// it was force-pushed, each time on the synced HEAD.
			if err := push(commitUpgrade(t, r, "upgrade-bot/peu01/v31.0.0", "v31\n")); err != nil {
				t.Fatalf("pushing a new branch: %v", err)
			}
			u.commit(t, "main", false, map[string]string{"a.yaml": "a\n"}, "A")
			tip := u.commit(t, "main", false, map[string]string{"b.yaml": "b\n"}, "B")
			if got, err := r.Sync(t.Context(), "origin", "main", cred); err != nil || got != tip {
				t.Fatalf("Sync = %s, %v; want %s", got, err, tip)
			}
			if err := push(commitUpgrade(t, r, "upgrade-bot/peu01/v32.0.0", "v32\n")); err != nil {
				t.Fatalf("pushing a new branch after Sync: %v", err)
			}
			gitAs(t, u.work, "reset", "--quiet", "--hard", "HEAD~3")
			tip = u.commit(t, "main", true, map[string]string{"c.yaml": "c\n"}, "C")
			if got, err := r.Sync(t.Context(), "origin", "main", cred); err != nil || got != tip {
				t.Fatalf("Sync after a force-push = %s, %v; want %s", got, err, tip)
			}
			if err := push(commitUpgrade(t, r, "upgrade-bot/peu01/v33.0.0", "v33\n")); err != nil {
				t.Fatalf("pushing a new branch after a force-push: %v", err)
			}

			// The first branch made again on the new base: the remote
			// refuses it.
			if err := r.repo.Storer.RemoveReference(plumbing.NewBranchReferenceName("upgrade-bot/peu01/v31.0.0")); err != nil {
				t.Fatal(err)
			}
			err = r.Push(t.Context(), "origin", commitUpgrade(t, r, "upgrade-bot/peu01/v31.0.0", "v31 again\n").Branch, cred)
			t.Logf("pushing a changed branch: %v", err)
			if err == nil {
				t.Fatal("the remote took a non-fast-forward push")
			}
			if got := errors.Is(err, ErrNonFastForward) || strings.Contains(err.Error(), "non-fast-forward"); got != tt.wantNonFastForward {
				t.Errorf("the refused push is reported as non-fast-forward: %v, want %v (when go-git now reports it from a shallow clone, Clone may fetch one commit only: see shallowDepth)", got, tt.wantNonFastForward)
			}
		})
	}
}

func TestSync(t *testing.T) {
	t.Parallel()
	files := commitFixture()
	files[".gitignore"] = "*.tmp\nbuild/\n"
	files["current"] = "link:clusters/org-a/peu01"

	// What the bot (or anything) may have left in its clone.
	mess := func(t *testing.T, dir, outside string) {
		t.Helper()
		writeFiles(t, dir, map[string]string{
			"clusters/org-a/peu01/cluster.yaml":  "kind: Cluster # edited\n",
			"clusters/org-a/peu01/machines.yaml": "kind: MachineP00l\n", // the same size
			"untracked.yaml":                     "x\n",
			"junk.tmp":                           "ignored\n",
			"build/out/render.yaml":              "ignored\n",
			"stray/deep/dir/file":                "x\n",
		})
		if err := os.Mkdir(filepath.Join(dir, "empty-dir"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, "scripts", "bump.sh"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A tracked file replaced by a directory.
		if err := os.Remove(filepath.Join(dir, "README.md")); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{"README.md/inner": "x\n"})
		// A tracked directory replaced by a link out of the clone: Sync
		// must not write through it.
		if err := os.RemoveAll(filepath.Join(dir, "clusters", "org-b")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "clusters", "org-b")); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		branch string
		// change moves the remote and returns the commit to sync to.
		change func(t *testing.T, u *upstream) string
	}{
		{name: "unchanged", branch: "main", change: func(t *testing.T, u *upstream) string { return u.git(t, "rev-parse", "main") }},
		{name: "fast-forward", branch: "main", change: func(t *testing.T, u *upstream) string {
			u.commit(t, "main", false, map[string]string{"clusters/org-a/peu01/cluster.yaml": "kind: Cluster\nversion: 31\n"}, "Upgrade")
			return u.commit(t, "main", false, map[string]string{
				"clusters/org-b/old/cluster.yaml": "", // deleted
				"clusters/org-c/new/cluster.yaml": "kind: Cluster\n",
				"scripts/bump.sh":                 "#!/bin/sh\necho 31\n",
				"scripts/plain.sh":                "echo not executable\n",
				"current":                         "link:clusters/org-c/new",
			}, "More")
		}},
		{name: "force-push", branch: "main", change: func(t *testing.T, u *upstream) string {
			u.commit(t, "main", false, map[string]string{"later.yaml": "gone soon\n"}, "Later")
			gitAs(t, u.work, "reset", "--quiet", "--hard", "HEAD~2")
			return u.commit(t, "main", true, map[string]string{
				"README.md": "# Rewritten\n",
				"clusters":  "", // every cluster gone
			}, "Rewritten history")
		}},
		{name: "another branch", branch: "release/v31", change: func(t *testing.T, u *upstream) string {
			return u.commit(t, "refs/heads/release/v31", false, map[string]string{"RELEASE": "v31\n"}, "Release")
		}},
	}
	for _, tc := range transports() {
		for _, tt := range tests {
			t.Run(tc.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				u := newUpstream(t, files)
				r, err := Clone(t.Context(), tc.url(u), filepath.Join(t.TempDir(), "clone"), tc.cred)
				if err != nil {
					t.Fatalf("Clone: %v", err)
				}
				outside := t.TempDir()
				writeFiles(t, outside, map[string]string{"precious.txt": "not the bot's\n"})
				mess(t, r.Root(), outside)
				want := tt.change(t, u)

				got, err := r.Sync(t.Context(), "origin", tt.branch, tc.cred)
				if err != nil {
					t.Fatalf("Sync: %v", err)
				}
				if got != want {
					t.Errorf("Sync = %s, want %s", got, want)
				}
				checkSynced(t, r, tt.branch, want)
				if diff := cmp.Diff(map[string]string{"precious.txt": "100644 not the bot's\n"}, dirTree(t, outside)); diff != "" {
					t.Errorf("Sync wrote through a link out of the clone (-want +got):\n%s", diff)
				}
				if got := strings.TrimSpace(runGit(t, r.Root(), "rev-parse", "refs/remotes/origin/"+tt.branch)); got != want {
					t.Errorf("origin/%s = %s, want %s", tt.branch, got, want)
				}

				// Again: nothing to do, and unchanged files are kept as
				// they are rather than written again.
				before, err := os.Lstat(filepath.Join(r.Root(), ".gitignore"))
				if err != nil {
					t.Fatal(err)
				}
				if got, err := r.Sync(t.Context(), "origin", tt.branch, tc.cred); err != nil || got != want {
					t.Fatalf("Sync again = %s, %v; want %s", got, err, want)
				}
				after, err := os.Lstat(filepath.Join(r.Root(), ".gitignore"))
				if err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
					t.Errorf("an unchanged file was written again (%v)", err)
				}
				checkSynced(t, r, tt.branch, want)
			})
		}
	}
}

func TestSyncErrors(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, commitFixture())
	cred := &Credential{Password: testToken}
	r, err := Clone(t.Context(), u.url, filepath.Join(t.TempDir(), "clone"), cred)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddRemote("disk", u.bare); err != nil {
		t.Fatal(err)
	}
	main := u.git(t, "rev-parse", "main")
	u.commit(t, "main", false, map[string]string{"new.yaml": "new\n"}, "New")

	tests := []struct {
		name, remote, branch string
		cred                 *Credential
		wantErr              []string
		wantIs               error
	}{
		{name: "missing branch", remote: "origin", branch: "nope", cred: cred,
			wantErr: []string{"syncing nope with origin (" + u.url + "): fetching: the remote has no such ref: refs/heads/nope"}, wantIs: ErrRemoteRefNotFound},
		{name: "missing branch on disk", remote: "disk", branch: "nope",
			wantErr: []string{"syncing nope with disk (" + u.bare + ")", "no such ref"}, wantIs: ErrRemoteRefNotFound},
		{name: "no credential", remote: "origin", branch: "main",
			wantErr: []string{"syncing main with origin", "requires credentials and none were given"}, wantIs: transport.ErrAuthenticationRequired},
		{name: "wrong token", remote: "origin", branch: "main", cred: &Credential{Password: "ghs_wr0ng"},
			wantErr: []string{"refused the credentials of x-access-token"}, wantIs: transport.ErrAuthenticationRequired},
		{name: "unknown remote", remote: "upstream", branch: "main", wantErr: []string{`remote "upstream" is not configured`}},
		{name: "invalid branch", remote: "origin", branch: "a..b", wantErr: []string{`invalid branch name "a..b"`}},
	}
	for _, tt := range tests { // one at a time: they share the clone
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Sync(t.Context(), tt.remote, tt.branch, tt.cred)
			if err == nil {
				t.Fatal("Sync succeeded")
			}
			t.Logf("error: %v", err)
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "ghs_") {
				t.Errorf("error %q reveals a token", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			checkSynced(t, r, "main", main)
		})
	}
}

func TestFetchRef(t *testing.T) {
	t.Parallel()
	for _, tc := range transports() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, commitFixture())
			main := u.git(t, "rev-parse", "main")
			// Pull and merge request heads live outside refs/heads, as
			// forges keep them.
			pr := map[string]string{}
			for _, ref := range []string{"refs/pull/7/head", "refs/merge-requests/7/head"} {
				gitAs(t, u.work, "checkout", "--quiet", "--detach", main)
				c := u.commit(t, "refs/heads/tmp", false, map[string]string{"clusters/org-a/peu01/cluster.yaml": "kind: Cluster\n# " + ref + "\n"}, "Change from "+ref)
				u.git(t, "update-ref", ref, c)
				u.git(t, "update-ref", "-d", "refs/heads/tmp")
				pr[ref] = c
			}
			pr["refs/heads/feature"] = u.commit(t, "refs/heads/feature", false, map[string]string{"feature.yaml": "f\n"}, "Feature")

			r, err := Clone(t.Context(), tc.url(u), filepath.Join(t.TempDir(), "clone"), tc.cred)
			if err != nil {
				t.Fatalf("Clone: %v", err)
			}
			tests := []struct {
				ref, wantLocal string
				wantErr        string
				wantIs         error
			}{
				{ref: "refs/pull/7/head", wantLocal: "refs/upgrade-bot/origin/pull/7/head"},
				{ref: "refs/merge-requests/7/head", wantLocal: "refs/upgrade-bot/origin/merge-requests/7/head"},
				{ref: "refs/heads/feature", wantLocal: "refs/upgrade-bot/origin/heads/feature"},
				{ref: "refs/pull/8/head", wantErr: "fetching refs/pull/8/head from origin (", wantIs: ErrRemoteRefNotFound},
				{ref: "pull/7/head", wantErr: "not a full ref name"},
				{ref: "refs/pull/*/head", wantErr: "not a full ref name"},
				{ref: "refs/", wantErr: "not a full ref name"},
			}
			for _, tt := range tests { // in order: they share the clone
				got, err := r.FetchRef(t.Context(), "origin", tt.ref, tc.cred)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Errorf("FetchRef(%s) error = %v, want %q", tt.ref, err, tt.wantErr)
					}
					if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
						t.Errorf("FetchRef(%s) error %v is not %v", tt.ref, err, tt.wantIs)
					}
					continue
				}
				if err != nil || got != pr[tt.ref] {
					t.Errorf("FetchRef(%s) = %s, %v; want %s", tt.ref, got, err, pr[tt.ref])
					continue
				}
				if local := strings.TrimSpace(runGit(t, r.Root(), "rev-parse", tt.wantLocal)); local != got {
					t.Errorf("%s = %s, want %s", tt.wantLocal, local, got)
				}
				want := gitTree(t, u.bare, got)
				if diff := cmp.Diff(want, gitTree(t, r.Root(), got)); diff != "" {
					t.Errorf("fetched tree of %s differs (-remote +local):\n%s", tt.ref, diff)
				}
				// Planning a pull request reads its head from an export.
				out := filepath.Join(t.TempDir(), "head")
				if err := r.Export(t.Context(), got, out); err != nil {
					t.Errorf("Export(%s): %v", tt.ref, err)
				} else if diff := cmp.Diff(want, dirTree(t, out)); diff != "" {
					t.Errorf("export of %s differs (-remote +export):\n%s", tt.ref, diff)
				}
			}
			// HEAD, the branch and the work tree stayed.
			checkSynced(t, r, "main", main)

			// A pull request's head moves (force-pushed): fetching again
			// follows it.
			moved := u.commit(t, "refs/pull/7/head", true, map[string]string{"moved.yaml": "m\n"}, "Moved")
			if got, err := r.FetchRef(t.Context(), "origin", "refs/pull/7/head", tc.cred); err != nil || got != moved {
				t.Errorf("FetchRef after a force-push = %s, %v; want %s", got, err, moved)
			}
			if data, err := r.ReadFile(moved, "moved.yaml"); err != nil || string(data) != "m\n" {
				t.Errorf("ReadFile(moved.yaml) = %q, %v", data, err)
			}
		})
	}
}

func TestRemoteBranch(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, commitFixture())
	main := u.git(t, "rev-parse", "main")
	botBranch := u.commit(t, "refs/heads/upgrade-bot/peu01/v31.0.0", false, map[string]string{"x": "x\n"}, "Bot")
	r := newRepo(t, map[string]string{"a": "a\n"})
	for _, tc := range transports() {
		if err := r.AddRemote(strings.ReplaceAll(tc.name, " ", "-"), tc.url(u)); err != nil {
			t.Fatal(err)
		}
	}
	emptyBare := filepath.Join(t.TempDir(), "empty.git")
	if err := InitBare(emptyBare); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRemote("empty", emptyBare); err != nil {
		t.Fatal(err)
	}
	runGit(t, "", "init", "--quiet", "--bare", filepath.Join(u.srv.Root, "giantswarm", "empty.git"))
	if err := r.AddRemote("empty-http", u.base+"/giantswarm/empty.git"); err != nil {
		t.Fatal(err)
	}
	cred := &Credential{Password: testToken}

	tests := []struct {
		name, remote, branch string
		cred                 *Credential
		want                 string
		wantExists           bool
		wantErr              string
		wantIs               error
	}{
		{name: "http main", remote: "http", branch: "main", cred: cred, want: main, wantExists: true},
		{name: "http bot branch", remote: "http", branch: "upgrade-bot/peu01/v31.0.0", cred: cred, want: botBranch, wantExists: true},
		{name: "http missing", remote: "http", branch: "upgrade-bot/peu01/v32.0.0", cred: cred},
		{name: "http prefix of a branch", remote: "http", branch: "upgrade-bot/peu01", cred: cred},
		{name: "path bot branch", remote: "path", branch: "upgrade-bot/peu01/v31.0.0", want: botBranch, wantExists: true},
		{name: "file URL missing", remote: "file-URL", branch: "nope"},
		{name: "empty repository", remote: "empty", branch: "main"},
		{name: "empty repository over HTTP", remote: "empty-http", branch: "main", cred: cred},
		{name: "wrong token", remote: "http", branch: "main", cred: &Credential{Password: "ghs_wr0ng"},
			wantErr: "asking http (" + u.url + ") for branch main: the remote refused the credentials", wantIs: transport.ErrAuthenticationRequired},
		{name: "invalid branch", remote: "http", branch: "a b", wantErr: `invalid branch name "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, exists, err := r.RemoteBranch(t.Context(), tt.remote, tt.branch, tt.cred)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "ghs_") {
					t.Fatalf("RemoteBranch error = %v, want %q without a token", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v is not %v", err, tt.wantIs)
				}
				return
			}
			if err != nil || got != tt.want || exists != tt.wantExists {
				t.Fatalf("RemoteBranch = %q, %v, %v; want %q, %v", got, exists, err, tt.want, tt.wantExists)
			}
			// The git CLI agrees.
			if tt.remote == "http" {
				ls := strings.Fields(u.git(t, "ls-remote", ".", "refs/heads/"+tt.branch))
				if (len(ls) > 0) != exists || (exists && ls[0] != got) {
					t.Errorf("git ls-remote says %q", ls)
				}
			}
		})
	}
}

func TestRemoteDefaultBranch(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, commitFixture())
	r := newRepo(t, map[string]string{"a": "a\n"})
	for _, tc := range transports() {
		if err := r.AddRemote(strings.ReplaceAll(tc.name, " ", "-"), tc.url(u)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want string) {
		t.Helper()
		for _, tc := range transports() {
			got, err := r.RemoteDefaultBranch(t.Context(), strings.ReplaceAll(tc.name, " ", "-"), tc.cred)
			if err != nil || got != want {
				t.Errorf("%s: RemoteDefaultBranch = %q, %v; want %q", tc.name, got, err, want)
			}
		}
	}
	check("main")
	u.commit(t, "refs/heads/release", false, map[string]string{"RELEASE": "v31\n"}, "Release branch")
	u.git(t, "symbolic-ref", "HEAD", "refs/heads/release")
	check("release")

	_, err := r.RemoteDefaultBranch(t.Context(), "http", &Credential{Password: "ghs_wr0ng"})
	if err == nil || !strings.Contains(err.Error(), "for its default branch: the remote refused the credentials") || strings.Contains(err.Error(), "ghs_") {
		t.Errorf("with a wrong token: %v", err)
	}
	if _, err := r.RemoteDefaultBranch(t.Context(), "nope", nil); err == nil || !strings.Contains(err.Error(), `remote "nope" is not configured`) {
		t.Errorf("an unknown remote: %v", err)
	}
}

func TestExport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"README.md":               "# GitOps\n",
		"clusters/a/cluster.yaml": "kind: Cluster\n",
		"scripts/run.sh":          "#!/bin/sh\necho run\n",
		"empty.txt":               "",
	})
	links := map[string]string{
		// Kept: they stay inside.
		"link.yaml":            "clusters/a/cluster.yaml",
		"clusters/a/up.yaml":   "../../README.md",
		"clusters/dirlink":     "a",
		"via-dirlink.yaml":     "clusters/dirlink/cluster.yaml",
		"clusters/up":          "..",
		"dangling":             "missing/file",
		"clusters/a/self-dir":  ".",
		"clusters/a/dot-slash": "./cluster.yaml",
		// Skipped: they lead out of the export.
		"absolute":           "/etc/passwd",
		"escape":             "../outside",
		"clusters/escape":    "../../outside",
		"clusters/a/through": "../up/../outside", // "clusters/outside" read without the links
		"via-escape":         "escape/x",
		"loop1":              "loop2",
		"loop2":              "loop1",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Init(t.Context(), dir, "Initial commit", testAuthor())
	if err != nil {
		t.Fatal(err)
	}
	_, head, _ := r.Head()
	want := gitTree(t, dir, head)
	for _, name := range []string{"absolute", "escape", "clusters/escape", "clusters/a/through", "via-escape", "loop1", "loop2"} {
		if _, ok := want[name]; !ok {
			t.Fatalf("%s was not committed", name)
		}
		delete(want, name)
	}
	if want["scripts/run.sh"] != "100755 #!/bin/sh\necho run\n" {
		t.Fatalf("fixture: run.sh = %q", want["scripts/run.sh"])
	}
	indexBefore, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, rev string
		prepare   func(t *testing.T, out string)
	}{
		{name: "new directory", rev: head},
		{name: "empty directory", rev: "HEAD", prepare: func(t *testing.T, out string) {
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "branch name", rev: "main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := filepath.Join(t.TempDir(), "deeper")
			out := filepath.Join(parent, "export")
			if err := os.Mkdir(parent, 0o755); err != nil {
				t.Fatal(err)
			}
			if tt.prepare != nil {
				tt.prepare(t, out)
			}
			if err := r.Export(t.Context(), tt.rev, out); err != nil {
				t.Fatalf("Export: %v", err)
			}
			if diff := cmp.Diff(want, dirTree(t, out)); diff != "" {
				t.Errorf("export differs from the commit (-git +export):\n%s", diff)
			}
			if _, err := os.Lstat(filepath.Join(parent, "outside")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("something was created out of the export: %v", err)
			}
			// Through the kept links, files read as in the commit.
			for link, file := range map[string]string{"via-dirlink.yaml": "clusters/a/cluster.yaml", "clusters/a/up.yaml": "README.md", "clusters/up/link.yaml": "clusters/a/cluster.yaml"} {
				got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(link)))
				if err != nil || "100644 "+string(got) != want[file] {
					t.Errorf("reading %s = %q, %v; want the content of %s", link, got, err, file)
				}
			}
		})
	}
	if after, err := os.ReadFile(filepath.Join(dir, ".git", "index")); err != nil || string(after) != string(indexBefore) {
		t.Errorf("Export changed the index (%v)", err)
	}
	if dirty, err := r.Dirty(); err != nil || len(dirty) != 0 {
		t.Errorf("Dirty() after Export = %q, %v", dirty, err)
	}
}

func TestExportErrors(t *testing.T) {
	t.Parallel()
	r := newRepo(t, commitFixture())
	// A commit with a tree git refuses to check out: an entry ".git".
	b := treeBuilder{ctx: t.Context(), s: r.repo.Storer}
	blob, err := b.writeBlob([]byte("[core]\n\tworktree = /\n"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := b.writeTree([]object.TreeEntry{{Name: "config", Mode: filemode.Regular, Hash: blob}})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := b.writeTree([]object.TreeEntry{{Name: "a.txt", Mode: filemode.Regular, Hash: blob}, {Name: ".GIT", Mode: filemode.Dir, Hash: sub}})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := writeCommit(r.repo.Storer, tree, nil, "bad", testAuthor(), testTime())
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name, rev string
		ctx       context.Context
		existing  map[string]string
		wantErr   string
		wantIs    error
	}{
		{name: "directory not empty", rev: "HEAD", existing: map[string]string{"mine.txt": "x\n"}, wantErr: "is not empty"},
		{name: "unknown revision", rev: "nope", wantErr: "resolving revision nope"},
		{name: "no revision", rev: "", wantErr: "no commit given"},
		{name: ".git in the tree", rev: bad.String(), wantErr: `has an invalid path ".GIT" in /`},
		{name: "canceled", rev: "HEAD", ctx: canceled, wantErr: "context canceled", wantIs: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "export")
			if tt.existing != nil {
				writeFiles(t, out, tt.existing)
			}
			before := dirTree(t, filepath.Dir(out))
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			err := r.Export(ctx, tt.rev, out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Export error = %v, want %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if diff := cmp.Diff(before, dirTree(t, filepath.Dir(out))); diff != "" {
				t.Errorf("a failed Export left changes (-before +after):\n%s", diff)
			}
		})
	}
}

func TestLinkStaysInside(t *testing.T) {
	t.Parallel()
	tree := map[string]string{
		"up":          "..",
		"a/up":        "..",
		"a/root":      "../a/up",
		"a/out":       "../..",
		"loop":        "loop",
		"abs":         "/x",
		"empty":       "",
		"a/b/deep":    "../../a/b/../../c",
		"a/b/deeper":  "../../a/b/../../../c",
		"a/via-root":  "root/a/root/up/x",
		"a/via-out":   "out/x",
		"a/plain":     "file.yaml",
		"a/dots":      "./../a/./file",
		"a/sneaky":    "up/../x", // a/up is the root: its parent is out
		"a/backslash": `..\..\x`, // one odd file name on POSIX systems
	}
	tests := map[string]bool{
		"up": false, "a/up": true, "a/root": true, "a/out": false, "loop": false, "abs": false, "empty": false,
		"a/b/deep": true, "a/b/deeper": false, "a/via-root": false, "a/via-out": false, "a/plain": true, "a/dots": true, "a/sneaky": false,
		"a/backslash": filepath.Separator == '/',
	}
	for link, want := range tests {
		if got := linkStaysInside(tree, link); got != want {
			t.Errorf("linkStaysInside(%s → %s) = %v, want %v", link, tree[link], got, want)
		}
	}
}

func TestRemoteCanceled(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, commitFixture())
	cred := &Credential{Password: testToken}
	r, err := Clone(t.Context(), u.url, filepath.Join(t.TempDir(), "clone"), cred)
	if err != nil {
		t.Fatal(err)
	}
	main := u.git(t, "rev-parse", "main")
	u.commit(t, "main", false, map[string]string{"new.yaml": "new\n"}, "New")

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	dir := filepath.Join(t.TempDir(), "clone")
	tests := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{name: "Clone", run: func(ctx context.Context) error { _, err := Clone(ctx, u.url, dir, cred); return err }},
		{name: "Clone from disk", run: func(ctx context.Context) error { _, err := Clone(ctx, u.bare, dir, nil); return err }},
		{name: "Sync", run: func(ctx context.Context) error { _, err := r.Sync(ctx, "origin", "main", cred); return err }},
		{name: "FetchRef", run: func(ctx context.Context) error {
			_, err := r.FetchRef(ctx, "origin", "refs/heads/main", cred)
			return err
		}},
		{name: "RemoteBranch", run: func(ctx context.Context) error { _, _, err := r.RemoteBranch(ctx, "origin", "main", cred); return err }},
	}
	for _, tt := range tests { // in order: they share the clone
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(canceled)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error = %v, want context.Canceled", err)
			}
			if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a canceled Clone left %s behind", dir)
			}
			checkSynced(t, r, "main", main)
		})
	}

	// Canceled while the server is sending the pack.
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/git-upload-pack") && req.Method == http.MethodPost {
			select {
			case arrived <- struct{}{}:
			default:
			}
			select {
			case <-req.Context().Done():
			case <-release:
			}
			return
		}
		u.srv.ServeHTTP(w, req)
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // before slow.Close
	if err := r.AddRemote("slow", slow.URL+"/"+u.repo+".git"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		select {
		case <-arrived:
		case <-t.Context().Done():
		}
		cancel()
	}()
	start := time.Now()
	_, err = r.Sync(ctx, "slow", "main", cred)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync canceled during the fetch: error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Sync took %v to stop", d)
	}
	checkSynced(t, r, "main", main)
}
