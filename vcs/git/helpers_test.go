package git

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain keeps the tests (and the git binary they cross-check with)
// away from the configuration of whoever runs them.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "vcs-git-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for k, v := range map[string]string{
		"HOME":                home,
		"XDG_CONFIG_HOME":     filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_CONFIG_GLOBAL":   "",
		"GIT_DIR":             "",
		"GIT_WORK_TREE":       "",
		"GIT_INDEX_FILE":      "",
	} {
		if v == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, v)
		}
	}
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

func testAuthor() Signature {
	return Signature{Name: "Test Bot", Email: "bot@example.invalid"}
}

func testTime() time.Time {
	return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
}

// writeFiles writes files (slash paths → content) under dir; a content
// starting with "#!" is made executable.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// newRepo makes a repository holding files with one commit.
func newRepo(t testing.TB, files map[string]string) *Repository {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	r, err := Init(context.Background(), dir, "Initial commit", testAuthor())
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	return r
}

// gitPath returns the git binary, or "" after logging why the checks
// that need it are skipped.
func gitPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		t.Log("git is not on PATH: skipping the cross-checks with the git binary")
		return ""
	}
	return p
}

// requireGit skips the test when git is not on PATH.
func requireGit(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not on PATH: this test needs the git binary")
	}
	return p
}

// runGit runs git in dir and returns its standard output.
func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// gitStatus lists the paths `git status` reports, like Dirty does.
func gitStatus(t testing.TB, dir string) []string {
	t.Helper()
	out := runGit(t, dir, "--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all")
	var paths []string
	for _, rec := range strings.Split(out, "\x00") {
		if len(rec) > 3 {
			paths = append(paths, rec[3:])
		}
	}
	return paths
}

// gitChanges lists what git sees as changed content: the work tree
// against the index and the index against HEAD (`git diff`, which
// re-reads files whose metadata changed, where `git status` trusts a size
// change even when line-ending conversion makes the content equal:
// git-for-windows/git#6410), and the untracked files that are not ignored.
func gitChanges(t testing.TB, dir string) []string {
	t.Helper()
	seen := map[string]struct{}{}
	for _, args := range [][]string{
		{"diff", "--name-only", "-z", "--no-renames"},
		{"diff", "--cached", "--name-only", "-z", "--no-renames"},
		{"ls-files", "-z", "--others", "--exclude-standard"},
	} {
		for _, p := range strings.Split(runGit(t, dir, append([]string{"--no-optional-locks"}, args...)...), "\x00") {
			if p != "" {
				seen[p] = struct{}{}
			}
		}
	}
	return sortedKeys(seen)
}
