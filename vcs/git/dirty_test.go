package git

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func dirtyFixture() map[string]string {
	return map[string]string{
		".gitignore":              "*.log\n/build/\n!keep.log\ntmp*/\n",
		"README.md":               "# GitOps\nline two\n",
		"clusters/a/cluster.yaml": "kind: Cluster\n",
		"clusters/a/.gitignore":   "local.yaml\n",
		"scripts/run.sh":          "#!/bin/sh\necho ok\n",
		"vendor/tracked.txt":      "vendored\n",
		"data.bin":                "a\x00b\n",
	}
}

type dirtyCase struct {
	name  string
	setup func(t *testing.T, r *Repository)
	want  []string
}

// write writes files under the work tree root.
func write(files map[string]string) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) { writeFiles(t, r.Root(), files) }
}

func steps(fs ...func(t *testing.T, r *Repository)) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		for _, f := range fs {
			f(t, r)
		}
	}
}

func gitConfig(section, key, value string) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		cfg, err := r.repo.Config()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Raw.Section(section).SetOption(key, value)
		if err := r.repo.SetConfig(cfg); err != nil {
			t.Fatal(err)
		}
	}
}

func gitDirFile(name, content string) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		writeFiles(t, filepath.Join(r.Root(), ".git"), map[string]string{name: content})
	}
}

func stage(paths ...string) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		wt, err := r.repo.Worktree()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if _, err := wt.Add(p); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// unstage removes the file from the index only, like git rm --cached.
func unstage(name string) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		idx, err := r.repo.Storer.Index()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := idx.Remove(name); err != nil {
			t.Fatal(err)
		}
		if err := r.repo.Storer.SetIndex(idx); err != nil {
			t.Fatal(err)
		}
	}
}

func chmod(name string, mode os.FileMode) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		if err := os.Chmod(filepath.Join(r.Root(), name), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func remove(name string) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		if err := os.RemoveAll(filepath.Join(r.Root(), name)); err != nil {
			t.Fatal(err)
		}
	}
}

func symlink(target, name string) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		if err := os.Symlink(target, filepath.Join(r.Root(), name)); err != nil {
			t.Fatal(err)
		}
	}
}

// touch moves the file's modification time forward without changing it.
func touch(name string) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		later := time.Now().Add(time.Hour)
		if err := os.Chtimes(filepath.Join(r.Root(), name), later, later); err != nil {
			t.Fatal(err)
		}
	}
}

// racyEdit changes the file keeping its size and modification time, and
// gives the index the same time: only the content tells the change.
func racyEdit(name, content string) func(t *testing.T, r *Repository) {
	return func(t *testing.T, r *Repository) {
		idx, err := r.repo.Storer.Index()
		if err != nil {
			t.Fatal(err)
		}
		e, err := idx.Entry(name)
		if err != nil {
			t.Fatal(err)
		}
		if int(e.Size) != len(content) {
			t.Fatalf("racyEdit needs content of the same size (%d)", e.Size)
		}
		writeFiles(t, r.Root(), map[string]string{name: content})
		for _, p := range []string{filepath.Join(r.Root(), name), filepath.Join(r.Root(), ".git", "index")} {
			if err := os.Chtimes(p, e.ModifiedAt, e.ModifiedAt); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func runDirtyCase(t *testing.T, tt dirtyCase) {
	t.Helper()
	r := newRepo(t, dirtyFixture())
	if tt.setup != nil {
		tt.setup(t, r)
	}
	got, err := r.Dirty()
	if err != nil {
		t.Fatalf("Dirty: %v", err)
	}
	if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Dirty() (-want +got):\n%s", diff)
	}
	if gitPath(t) == "" {
		return
	}
	if diff := cmp.Diff(tt.want, gitChanges(t, r.Root()), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("git disagrees with the expectation (-want +git):\n%s", diff)
	}
}

func TestDirty(t *testing.T) {
	t.Parallel()
	const crlfReadme = "# GitOps\r\nline two\r\n"
	tests := []dirtyCase{
		{name: "clean"},
		{name: "modified", setup: write(map[string]string{"README.md": "# Changed\n"}), want: []string{"README.md"}},
		{name: "modified, same size", setup: write(map[string]string{"README.md": "# GitOps\nline 2!!\n"}), want: []string{"README.md"}},
		{name: "racy edit with equal metadata", setup: racyEdit("README.md", "# GitOps\nline 2!!\n"), want: []string{"README.md"}},
		{name: "touched, same content", setup: touch("README.md")},
		{name: "deleted", setup: remove("clusters/a/cluster.yaml"), want: []string{"clusters/a/cluster.yaml"}},
		{
			name:  "untracked",
			setup: write(map[string]string{"new.yaml": "x", "clusters/b/deep/x.yaml": "x"}),
			want:  []string{"clusters/b/deep/x.yaml", "new.yaml"},
		},
		{name: "staged deletion", setup: unstage("README.md"), want: []string{"README.md"}},
		{name: "staged new file", setup: steps(write(map[string]string{"staged.yaml": "x\n"}), stage("staged.yaml")), want: []string{"staged.yaml"}},
		{
			name:  "staged, then work tree restored",
			setup: steps(write(map[string]string{"README.md": "# Staged\n"}), stage("README.md"), write(map[string]string{"README.md": dirtyFixture()["README.md"]})),
			want:  []string{"README.md"},
		},
		{
			name: "ignored by .gitignore",
			setup: write(map[string]string{
				"debug.log":             "x", // *.log at any depth
				"clusters/a/trace.log":  "x",
				"build/out.yaml":        "x", // /build/ only at the root
				"build/deep/x.yaml":     "x",
				"sub/build/out.yaml":    "x",
				"tmp1/x":                "x", // tmp*/ is a directory
				"tmp2":                  "x", // a file is not matched by a directory pattern
				"keep.log":              "x", // negated
				"clusters/a/local.yaml": "x", // a nested .gitignore applies below it only
				"local.yaml":            "x",
			}),
			want: []string{"keep.log", "local.yaml", "sub/build/out.yaml", "tmp2"},
		},
		{name: ".git/info/exclude", setup: steps(gitDirFile("info/exclude", "*.tmp\n"), write(map[string]string{"x.tmp": "x", "d/y.tmp": "y"}))},
		{name: "ignore file with CRLF and BOM", setup: steps(gitDirFile("info/exclude", "\xef\xbb\xbf*.tmp\r\n*.bak\r\n"), write(map[string]string{"x.tmp": "x", "y.bak": "y"}))},
		{
			// go-git/go-git#2112: re-including a directory does not
			// re-include what a pattern ignores inside it.
			name:  "re-included directory",
			setup: steps(gitDirFile("info/exclude", "a/**/*\n!a/b\n"), write(map[string]string{"a/x": "x", "a/b/c": "c"})),
		},
		{
			name:  "re-included file",
			setup: steps(gitDirFile("info/exclude", "gen/*\n!gen/keep.yaml\n"), write(map[string]string{"gen/x": "x", "gen/keep.yaml": "k", "gen/sub/y": "y"})),
			want:  []string{"gen/keep.yaml"},
		},
		{
			name:  "ignored directory with a tracked file",
			setup: steps(gitDirFile("info/exclude", "vendor/\n"), write(map[string]string{"vendor/tracked.txt": "changed\n", "vendor/new.txt": "new\n"})),
			want:  []string{"vendor/tracked.txt"},
		},
		{name: "made executable", setup: chmod("README.md", 0o755), want: []string{"README.md"}},
		{name: "no longer executable", setup: chmod("scripts/run.sh", 0o644), want: []string{"scripts/run.sh"}},
		{name: "executable bit without core.fileMode", setup: steps(gitConfig("core", "filemode", "false"), chmod("README.md", 0o755))},
		{name: "untracked symlink", setup: symlink("README.md", "link.md"), want: []string{"link.md"}},
		{name: "nested repository", setup: func(t *testing.T, r *Repository) { newNested(t, r.Root()) }, want: []string{"nested/"}},
		{
			name:  "directory replaced by a file",
			setup: steps(remove("clusters/a"), write(map[string]string{"clusters/a": "file\n"})),
			want:  []string{"clusters/a", "clusters/a/.gitignore", "clusters/a/cluster.yaml"},
		},
		{
			name:  "file replaced by a directory",
			setup: steps(remove("README.md"), write(map[string]string{"README.md/x": "x\n"})),
			want:  []string{"README.md", "README.md/x"},
		},
		{name: "CRLF without autocrlf", setup: write(map[string]string{"README.md": crlfReadme}), want: []string{"README.md"}},
		{name: "CRLF with core.autocrlf=true", setup: steps(gitConfig("core", "autocrlf", "true"), write(map[string]string{"README.md": crlfReadme}))},
		{name: "CRLF with core.autocrlf=input", setup: steps(gitConfig("core", "autocrlf", "input"), write(map[string]string{"README.md": crlfReadme}))},
		{
			name:  "CRLF and a real change with autocrlf",
			setup: steps(gitConfig("core", "autocrlf", "true"), write(map[string]string{"README.md": "# GitOps\r\nline 2\r\n"})),
			want:  []string{"README.md"},
		},
		{name: "CRLF with the text attribute", setup: steps(gitDirFile("info/attributes", "*.md text\n"), write(map[string]string{"README.md": crlfReadme}))},
		{
			name:  "CRLF with eol=crlf in .gitattributes",
			setup: steps(gitDirFile("info/exclude", ".gitattributes\n"), write(map[string]string{".gitattributes": "*.md eol=crlf\n", "README.md": crlfReadme})),
		},
		{
			name:  "CRLF with -text and autocrlf",
			setup: steps(gitConfig("core", "autocrlf", "true"), gitDirFile("info/attributes", "*.md -text\n"), write(map[string]string{"README.md": crlfReadme})),
			want:  []string{"README.md"},
		},
		{
			name:  "CRLF in a binary file with autocrlf",
			setup: steps(gitConfig("core", "autocrlf", "true"), write(map[string]string{"data.bin": "a\x00b\r\n"})),
			want:  []string{"data.bin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runDirtyCase(t, tt)
		})
	}
}

// TestDirtyGlobalConfig reads the user's git configuration the way git
// does (go-git/go-git#1708, #436): not parallel, it sets the environment.
func TestDirtyGlobalConfig(t *testing.T) {
	tests := []struct {
		name   string
		global string            // ~/.gitconfig
		files  map[string]string // under the home directory
		dirty  dirtyCase
	}{
		{
			name:   "core.autocrlf in ~/.gitconfig",
			global: "[core]\n\tautocrlf = true\n",
			dirty:  dirtyCase{setup: write(map[string]string{"README.md": "# GitOps\r\nline two\r\n"})},
		},
		{
			name:  "default global ignore file",
			files: map[string]string{".config/git/ignore": "*.tmp\n"},
			dirty: dirtyCase{setup: write(map[string]string{"x.tmp": "x"})},
		},
		{
			name:   "core.excludesFile",
			global: "[core]\n\texcludesFile = ~/my-ignore\n",
			files:  map[string]string{"my-ignore": "*.swp\n"},
			dirty:  dirtyCase{setup: write(map[string]string{"x.swp": "x", "x.tmp": "x"}), want: []string{"x.tmp"}},
		},
		{
			name:   "repository configuration wins",
			global: "[core]\n\tautocrlf = true\n",
			dirty: dirtyCase{
				setup: steps(gitConfig("core", "autocrlf", "false"), write(map[string]string{"README.md": "# GitOps\r\nline two\r\n"})),
				want:  []string{"README.md"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("XDG_CONFIG_HOME", "")
			writeFiles(t, home, tt.files)
			if tt.global != "" {
				writeFiles(t, home, map[string]string{".gitconfig": tt.global})
			}
			runDirtyCase(t, tt.dirty)
		})
	}
}

// TestDirtyGitIndex reads indexes git wrote, in each format version.
func TestDirtyGitIndex(t *testing.T) {
	t.Parallel()
	requireGit(t)
	for _, version := range []string{"2", "3", "4"} {
		t.Run("version "+version, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, dirtyFixture())
			runGit(t, dir, "init", "-q", "-b", "main")
			runGit(t, dir, "add", "-A")
			runGit(t, dir, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "init")
			runGit(t, dir, "update-index", "--index-version", version)
			r, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := r.Dirty(); err != nil || len(got) != 0 {
				t.Fatalf("Dirty() = %v, %v; want clean", got, err)
			}
			writeFiles(t, dir, map[string]string{"clusters/b/new.yaml": "x\n", "README.md": "changed\n", "untracked.yaml": "u\n"})
			runGit(t, dir, "add", "clusters/b/new.yaml")
			runGit(t, dir, "rm", "-q", "--cached", "scripts/run.sh")
			want := []string{"README.md", "clusters/b/new.yaml", "scripts/run.sh", "untracked.yaml"}
			got, err := r.Dirty()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Dirty() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, gitChanges(t, dir)); diff != "" {
				t.Errorf("git (-want +got):\n%s", diff)
			}
		})
	}
}

func newNested(t *testing.T, root string) {
	t.Helper()
	dir := filepath.Join(root, "nested")
	writeFiles(t, dir, map[string]string{"inner.yaml": "x\n"})
	if _, err := Init(t.Context(), dir, "inner", testAuthor()); err != nil {
		t.Fatal(err)
	}
}

func TestDirtyNoCommit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := gogit.PlainInit(dir, false); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"a.yaml": "a\n"})
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Dirty()
	if err != nil || !slices.Equal(got, []string{"a.yaml"}) {
		t.Fatalf("Dirty() = %v, %v; want [a.yaml]", got, err)
	}
	if branch, commit, err := r.Head(); err != nil || branch != "master" || commit != "" {
		t.Errorf("Head() on an unborn branch = %q, %q, %v", branch, commit, err)
	}
}

// bigRepo makes a repository of files in dirs directories, plus an
// ignored directory of ignored files.
func bigRepo(b *testing.B, files, dirs, ignored int) *Repository {
	b.Helper()
	dir := b.TempDir()
	content := map[string]string{".gitignore": "node_modules/\n*.tmp\n"}
	for i := range files {
		content[fmt.Sprintf("clusters/org-%02d/cluster-%03d/resource-%d.yaml", i%dirs%20, i%dirs, i)] = fmt.Sprintf("kind: Resource\nname: r%d\n", i)
	}
	writeFiles(b, dir, content)
	r, err := Init(b.Context(), dir, "Big", testAuthor())
	if err != nil {
		b.Fatal(err)
	}
	junk := map[string]string{}
	for i := range ignored {
		junk[fmt.Sprintf("node_modules/pkg-%d/index-%d.js", i%100, i)] = "module.exports = {}\n"
	}
	writeFiles(b, dir, junk)
	return r
}

// BenchmarkDirty measures Dirty on a clean 15,000-file work tree with
// 5,000 ignored files beside it.
func BenchmarkDirty(b *testing.B) {
	r := bigRepo(b, 15000, 500, 5000)
	if got, err := r.Dirty(); err != nil || len(got) != 0 {
		b.Fatalf("Dirty() = %d paths, %v; want clean", len(got), err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Dirty(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoGitStatus is go-git's Worktree.Status on the same tree, for
// comparison.
func BenchmarkGoGitStatus(b *testing.B) {
	r := bigRepo(b, 15000, 500, 5000)
	wt, err := r.repo.Worktree()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := wt.Status(); err != nil {
			b.Fatal(err)
		}
	}
}
