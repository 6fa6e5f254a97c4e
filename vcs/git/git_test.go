package git

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	r := newRepo(t, map[string]string{"clusters/a/cluster.yaml": "kind: Cluster\n"})
	plain := t.TempDir()
	bare := filepath.Join(t.TempDir(), "origin.git")
	if err := InitBare(bare); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		wantErr string
		wantIs  error
	}{
		{name: "root", path: r.Root()},
		{name: "subdirectory", path: filepath.Join(r.Root(), "clusters", "a")},
		{name: "relative path with dots", path: filepath.Join(r.Root(), "clusters", "..", "clusters")},
		{name: "not a repository", path: plain, wantErr: plain + " is not a git repository: run `git init` or pass --repo", wantIs: ErrNotRepository},
		{name: "missing directory", path: filepath.Join(plain, "missing"), wantErr: "no such file or directory"},
		{name: "bare repository", path: bare, wantErr: "is a bare repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Open(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open(%s) error = %v, want it to contain %q", tt.path, err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("Open error %v is not %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%s): %v", tt.path, err)
			}
			if got.Root() != r.Root() {
				t.Errorf("Root() = %s, want %s", got.Root(), r.Root())
			}
			dirty, err := got.Dirty()
			if err != nil || len(dirty) != 0 {
				t.Errorf("Dirty() = %v, %v; want clean", dirty, err)
			}
		})
	}
}

func TestInit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".gitignore":              "*.log\nbuild/\n",
		"README.md":               "# GitOps\n",
		"clusters/a/cluster.yaml": "kind: Cluster\n",
		"scripts/check.sh":        "#!/bin/sh\necho ok\n",
		"debug.log":               "ignored\n",
		"build/out.yaml":          "ignored\n",
	})
	if err := os.Symlink("clusters/a/cluster.yaml", filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	r, err := Init(t.Context(), dir, "Initial commit", testAuthor())
	if err != nil {
		t.Fatalf("Init: %v", err)
	}

	branch, commit, err := r.Head()
	if err != nil || branch != "main" || len(commit) != 40 {
		t.Fatalf("Head() = %q, %q, %v; want main and a commit", branch, commit, err)
	}
	c, err := r.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]filemode.FileMode{}
	files, _ := c.Files()
	_ = files.ForEach(func(f *object.File) error { got[f.Name] = f.Mode; return nil })
	want := map[string]filemode.FileMode{
		".gitignore":              filemode.Regular,
		"README.md":               filemode.Regular,
		"clusters/a/cluster.yaml": filemode.Regular,
		"scripts/check.sh":        filemode.Executable,
		"link.yaml":               filemode.Symlink,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("committed files (-want +got):\n%s", diff)
	}
	if c.Author.Name != testAuthor().Name || c.Message != "Initial commit\n" {
		t.Errorf("commit author %q message %q", c.Author.Name, c.Message)
	}
	if dirty, err := r.Dirty(); err != nil || len(dirty) != 0 {
		t.Errorf("Dirty() after Init = %v, %v; want clean", dirty, err)
	}
	if _, err := Init(t.Context(), dir, "again", testAuthor()); err == nil {
		t.Error("Init of an existing repository succeeded")
	}

	if gitPath(t) == "" {
		return
	}
	runGit(t, dir, "fsck", "--strict", "--no-progress")
	if st := gitStatus(t, dir); len(st) != 0 {
		t.Errorf("git status after Init: %q", st)
	}
	if got := runGit(t, dir, "symbolic-ref", "HEAD"); got != "refs/heads/main\n" {
		t.Errorf("HEAD = %q", got)
	}
}

func TestInitValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		message string
		author  Signature
		wantErr string
	}{
		{name: "no author", message: "m", author: Signature{}, wantErr: "needs a name and an email"},
		{name: "angle bracket", message: "m", author: Signature{Name: "a<b", Email: "e@x"}, wantErr: "may not contain"},
		{name: "empty message", message: " \n", author: testAuthor(), wantErr: "message is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Init(t.Context(), t.TempDir(), tt.message, tt.author)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Init error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestInitCanceled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yaml": "a\n"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Init(ctx, dir, "m", testAuthor()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Init with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
		t.Errorf("a failed Init left .git behind: %v", err)
	}
	if _, err := Init(t.Context(), dir, "m", testAuthor()); err != nil {
		t.Errorf("Init after a failed Init: %v", err)
	}
}

func TestHeadDetached(t *testing.T) {
	t.Parallel()
	r := newRepo(t, map[string]string{"a.yaml": "a\n"})
	_, commit, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.HEAD, plumbing.NewHash(commit))); err != nil {
		t.Fatal(err)
	}
	branch, got, err := r.Head()
	if err != nil || branch != "" || got != commit {
		t.Fatalf("Head() detached = %q, %q, %v; want \"\", %s", branch, got, err, commit)
	}
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	r := newRepo(t, map[string]string{"clusters/a/cluster.yaml": "kind: Cluster\n"})
	_, head, _ := r.Head()
	tests := []struct {
		name, rev, path string
		want            string
		wantErr         string
	}{
		{name: "HEAD", rev: "HEAD", path: "clusters/a/cluster.yaml", want: "kind: Cluster\n"},
		{name: "empty rev is HEAD", path: "clusters/a/cluster.yaml", want: "kind: Cluster\n"},
		{name: "branch", rev: "main", path: "clusters/a/cluster.yaml", want: "kind: Cluster\n"},
		{name: "hash", rev: head, path: "clusters/a/cluster.yaml", want: "kind: Cluster\n"},
		{name: "missing file", rev: "HEAD", path: "clusters/b.yaml", wantErr: "reading clusters/b.yaml at HEAD: file not found"},
		{name: "directory", rev: "HEAD", path: "clusters", wantErr: "file not found"},
		{name: "bad revision", rev: "nope", path: "a", wantErr: "resolving revision nope"},
		{name: "escaping path", rev: "HEAD", path: "../x", wantErr: "invalid path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.ReadFile(tt.rev, tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadFile error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("ReadFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestAddRemote(t *testing.T) {
	t.Parallel()
	r := newRepo(t, map[string]string{"a.yaml": "a\n"})
	if err := r.AddRemote("origin", "https://user:hunter2@example.invalid/repo.git"); err != nil {
		t.Fatal(err)
	}
	err := r.AddRemote("origin", "https://user:hunter2@example.invalid/other.git")
	if err == nil {
		t.Fatal("adding the same remote twice succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}
