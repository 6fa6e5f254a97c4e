package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
)

func mustFiles(t *testing.T, tree *object.Tree) []*object.File {
	t.Helper()
	var out []*object.File
	if err := tree.Files().ForEach(func(f *object.File) error { out = append(out, f); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func commitFixture() map[string]string {
	return map[string]string{
		"README.md":                           "# GitOps\n",
		"clusters/org-a/peu01/cluster.yaml":   "kind: Cluster\nlabels:\n  release.giantswarm.io/version: 30.0.0\n",
		"clusters/org-a/peu01/machines.yaml":  "kind: MachinePool\n",
		"clusters/org-b/old/cluster.yaml":     "kind: Cluster\n",
		"scripts/bump.sh":                     "#!/bin/sh\necho 30\n",
		"clusters/org-a/peu02/kustomize.yaml": "resources: []\n",
	}
}

func TestCommitBranch(t *testing.T) {
	t.Parallel()
	r := newRepo(t, commitFixture())
	_, head, _ := r.Head()
	idxPath := filepath.Join(r.Root(), ".git", "index")
	indexBefore, err := os.ReadFile(idxPath)
	if err != nil {
		t.Fatal(err)
	}

	changes := []Change{
		{Path: "clusters/org-a/peu01/cluster.yaml", Content: []byte("kind: Cluster\nlabels:\n  release.giantswarm.io/version: 31.0.0\n")},
		{Path: "clusters/org-c/new/deep/cluster.yaml", Content: []byte("kind: Cluster\n")},
		{Path: "clusters/org-b/old/cluster.yaml", Content: nil},
		{Path: "scripts/bump.sh", Content: []byte("#!/bin/sh\necho 31\n")},
		{Path: "README.md", Content: []byte("# GitOps\n")}, // unchanged: a no-op
		{Path: "gone.yaml", Content: nil},                  // absent: a no-op
	}
	res, err := r.CommitBranch(t.Context(), "upgrade-bot/peu01/v31.0.0", changes, "Upgrade peu01 to v31.0.0\n\nBody.", testAuthor(), testTime())
	if err != nil {
		t.Fatalf("CommitBranch: %v", err)
	}
	if res.Branch != "upgrade-bot/peu01/v31.0.0" || res.Base != head || res.Reused || len(res.Commit) != 40 {
		t.Fatalf("CommitBranch = %+v, want a new commit on %s", res, head)
	}

	// The commit.
	c, err := r.repo.CommitObject(plumbing.NewHash(res.Commit))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ParentHashes) != 1 || c.ParentHashes[0].String() != head {
		t.Errorf("parents = %v, want [%s]", c.ParentHashes, head)
	}
	for _, sig := range []struct {
		name, email string
		when        time.Time
	}{{c.Author.Name, c.Author.Email, c.Author.When}, {c.Committer.Name, c.Committer.Email, c.Committer.When}} {
		if sig.name != testAuthor().Name || sig.email != testAuthor().Email || !sig.when.Equal(testTime()) {
			t.Errorf("signature = %+v, want %+v at %s", sig, testAuthor(), testTime())
		}
	}
	if c.Message != "Upgrade peu01 to v31.0.0\n\nBody.\n" {
		t.Errorf("message = %q", c.Message)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	modes := map[string]filemode.FileMode{}
	for _, f := range mustFiles(t, tree) {
		content, _ := f.Contents()
		got[f.Name] = content
		modes[f.Name] = f.Mode
	}
	want := commitFixture()
	want["clusters/org-a/peu01/cluster.yaml"] = string(changes[0].Content)
	want["clusters/org-c/new/deep/cluster.yaml"] = "kind: Cluster\n"
	want["scripts/bump.sh"] = "#!/bin/sh\necho 31\n"
	delete(want, "clusters/org-b/old/cluster.yaml")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("branch content (-want +got):\n%s", diff)
	}
	if modes["scripts/bump.sh"] != filemode.Executable {
		t.Errorf("scripts/bump.sh mode = %v, want executable", modes["scripts/bump.sh"])
	}
	if _, err := tree.Tree("clusters/org-b"); err == nil {
		t.Error("clusters/org-b still exists though its only file was deleted")
	}
	if b, err := r.ReadFile(res.Branch, "clusters/org-c/new/deep/cluster.yaml"); err != nil || string(b) != "kind: Cluster\n" {
		t.Errorf("ReadFile on the branch = %q, %v", b, err)
	}

	// Nothing else moved.
	if branch, now, _ := r.Head(); branch != "main" || now != head {
		t.Errorf("HEAD moved to %s %s", branch, now)
	}
	disk, _ := os.ReadFile(filepath.Join(r.Root(), "clusters/org-a/peu01/cluster.yaml"))
	if string(disk) != commitFixture()["clusters/org-a/peu01/cluster.yaml"] {
		t.Errorf("the work tree file changed: %q", disk)
	}
	if _, err := os.Stat(filepath.Join(r.Root(), "clusters/org-c")); !os.IsNotExist(err) {
		t.Errorf("the new directory appeared in the work tree: %v", err)
	}
	indexAfter, _ := os.ReadFile(idxPath)
	if !bytes.Equal(indexBefore, indexAfter) {
		t.Error("the index changed")
	}
	if dirty, err := r.Dirty(); err != nil || len(dirty) != 0 {
		t.Errorf("Dirty() = %v, %v; want clean", dirty, err)
	}

	if gitPath(t) == "" {
		return
	}
	runGit(t, r.Root(), "fsck", "--strict", "--no-progress")
	if st := gitStatus(t, r.Root()); len(st) != 0 {
		t.Errorf("git status = %q, want clean", st)
	}
	diff := runGit(t, r.Root(), "diff", "--name-status", "--no-renames", head, res.Branch)
	wantDiff := "M\tclusters/org-a/peu01/cluster.yaml\nD\tclusters/org-b/old/cluster.yaml\nA\tclusters/org-c/new/deep/cluster.yaml\nM\tscripts/bump.sh\n"
	if diff != wantDiff {
		t.Errorf("git diff --name-status:\n%s\nwant:\n%s", diff, wantDiff)
	}
	log := runGit(t, r.Root(), "log", "-1", "--format=%an <%ae> %aI|%cn <%ce> %cI|%P|%s", res.Branch)
	wantLog := "Test Bot <bot@example.invalid> 2025-03-04T05:06:07+00:00|Test Bot <bot@example.invalid> 2025-03-04T05:06:07+00:00|" + head + "|Upgrade peu01 to v31.0.0\n"
	if log != wantLog {
		t.Errorf("git log = %q, want %q", log, wantLog)
	}
	if ls := runGit(t, r.Root(), "ls-tree", res.Branch, "scripts/bump.sh"); !strings.HasPrefix(ls, "100755 blob") {
		t.Errorf("git ls-tree scripts/bump.sh = %q, want mode 100755", ls)
	}
}

func TestCommitBranchIdempotent(t *testing.T) {
	t.Parallel()
	r := newRepo(t, commitFixture())
	const branch = "upgrade-bot/peu01/v31.0.0"
	changes := []Change{{Path: "clusters/org-a/peu01/cluster.yaml", Content: []byte("v31\n")}}
	first, err := r.CommitBranch(t.Context(), branch, changes, "Upgrade", testAuthor(), testTime())
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.CommitBranch(t.Context(), branch, changes, "Upgrade, second run", testAuthor(), testTime().Add(time.Hour))
	if err != nil {
		t.Fatalf("second CommitBranch: %v", err)
	}
	want := first
	want.Reused = true
	if again != want {
		t.Errorf("second CommitBranch = %+v, want %+v", again, want)
	}

	other := []Change{{Path: "clusters/org-a/peu01/cluster.yaml", Content: []byte("v32\n")}}
	_, err = r.CommitBranch(t.Context(), branch, other, "Upgrade", testAuthor(), testTime())
	var exists *BranchExistsError
	if !errors.As(err, &exists) {
		t.Fatalf("CommitBranch with other content = %v, want *BranchExistsError", err)
	}
	if exists.Branch != branch || exists.Commit != first.Commit {
		t.Errorf("BranchExistsError = %+v, want branch %s at %s", exists, branch, first.Commit)
	}
	for _, s := range []string{"already exists", "different content", `git branch -D ` + branch, "re-run"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	tip, _ := r.repo.Storer.Reference(plumbing.NewBranchReferenceName(branch))
	if tip.Hash().String() != first.Commit {
		t.Errorf("the branch moved to %s", tip.Hash())
	}
}

func TestCommitBranchErrors(t *testing.T) {
	t.Parallel()
	r := newRepo(t, commitFixture())
	change := func(p string) []Change { return []Change{{Path: p, Content: []byte("x\n")}} }
	tests := []struct {
		name    string
		branch  string
		changes []Change
		message string
		author  Signature
		when    time.Time
		wantErr string
		wantIs  error
	}{
		{name: "parent directory", changes: change("../outside.yaml"), wantErr: `invalid path "../outside.yaml"`},
		{name: "dot dot inside", changes: change("clusters/../../x"), wantErr: "invalid path"},
		{name: "absolute", changes: change("/etc/passwd"), wantErr: "absolute"},
		{name: "windows absolute", changes: change("C:/x"), wantErr: "absolute"},
		{name: "git directory", changes: change(".git/config"), wantErr: "inside .git"},
		{name: "nested git directory", changes: change("a/.GIT/hooks/x"), wantErr: "inside .git"},
		{name: "empty", changes: change(""), wantErr: "empty"},
		{name: "double slash", changes: change("a//b"), wantErr: "empty path element"},
		{name: "trailing slash", changes: change("a/"), wantErr: "empty path element"},
		{name: "backslash", changes: change(`a\b`), wantErr: "backslash"},
		{name: "twice", changes: append(change("a.yaml"), change("a.yaml")...), wantErr: "changed twice"},
		{name: "file under a file", changes: change("README.md/x"), wantErr: "README.md is a file, not a directory"},
		{name: "directory as file", changes: change("clusters/org-a"), wantErr: "clusters/org-a is a directory"},
		{name: "file and directory", changes: append(change("new"), change("new/x")...), wantErr: "both as a file and as a directory"},
		{name: "same content", changes: []Change{{Path: "README.md", Content: []byte("# GitOps\n")}}, wantErr: "nothing to commit", wantIs: ErrNothingToCommit},
		{name: "delete absent", changes: []Change{{Path: "nope.yaml"}}, wantIs: ErrNothingToCommit},
		{name: "no changes", changes: nil, wantIs: ErrNothingToCommit},
		{name: "bad branch", branch: "a..b", changes: change("a.yaml"), wantErr: `invalid branch name "a..b"`},
		{name: "space in branch", branch: "a b", changes: change("a.yaml"), wantErr: "invalid branch name"},
		{name: "checked out branch", branch: "main", changes: change("a.yaml"), wantErr: "branch main is checked out"},
		{name: "no message", message: " ", changes: change("a.yaml"), wantErr: "message is empty"},
		{name: "no author", author: Signature{Name: "x"}, changes: change("a.yaml"), wantErr: "name and an email"},
		{name: "no time", when: time.Time{}, changes: change("a.yaml"), wantErr: "time is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			branch, message, author, when := "topic", "msg", testAuthor(), testTime()
			if tt.branch != "" {
				branch = tt.branch
			}
			if tt.message != "" {
				message = tt.message
			}
			if tt.author != (Signature{}) {
				author = tt.author
			}
			if tt.name == "no time" {
				when = tt.when
			}
			_, err := r.CommitBranch(t.Context(), branch, tt.changes, message, author, when)
			if err == nil {
				t.Fatal("CommitBranch succeeded")
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error = %v, want errors.Is %v", err, tt.wantIs)
			}
		})
	}
	t.Run("no branch was created", func(t *testing.T) {
		refs, _ := r.repo.Branches()
		var names []string
		_ = refs.ForEach(func(ref *plumbing.Reference) error { names = append(names, ref.Name().Short()); return nil })
		sort.Strings(names)
		if diff := cmp.Diff([]string{"main"}, names); diff != "" {
			t.Errorf("branches (-want +got):\n%s", diff)
		}
	})
}

func TestCommitBranchDeletesEverything(t *testing.T) {
	t.Parallel()
	r := newRepo(t, map[string]string{"a/b.yaml": "b\n"})
	res, err := r.CommitBranch(t.Context(), "empty", []Change{{Path: "a/b.yaml"}}, "Remove all", testAuthor(), testTime())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.repo.CommitObject(plumbing.NewHash(res.Commit))
	tree, _ := c.Tree()
	if len(tree.Entries) != 0 {
		t.Errorf("tree = %v, want empty", tree.Entries)
	}
	if gitPath(t) != "" {
		runGit(t, r.Root(), "fsck", "--strict", "--no-progress")
	}
}

func TestCommitBranchCanceled(t *testing.T) {
	t.Parallel()
	r := newRepo(t, commitFixture())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := r.CommitBranch(ctx, "b", []Change{{Path: "a", Content: []byte("a")}}, "m", testAuthor(), testTime())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CommitBranch with a canceled context = %v", err)
	}
}

// TestConcurrentUse runs the methods from several goroutines; run with
// -race it proves they do not share go-git's state unguarded.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	r := newRepo(t, commitFixture())
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			content := []byte(fmt.Sprintf("version %d\n", i))
			res, err := r.CommitBranch(t.Context(), fmt.Sprintf("topic-%d", i), []Change{{Path: "clusters/org-a/peu01/cluster.yaml", Content: content}}, "m", testAuthor(), testTime())
			if err == nil {
				_, err = r.Dirty()
			}
			if err == nil {
				var got []byte
				got, err = r.ReadFile(res.Commit, "clusters/org-a/peu01/cluster.yaml")
				if err == nil && !bytes.Equal(got, content) {
					err = fmt.Errorf("branch %d holds %q", i, got)
				}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("goroutine %d: %v", i, errs[i])
		}
	}
}
