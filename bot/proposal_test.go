package bot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/diff"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

var author = git.Signature{Name: "upgrade-bot test", Email: "test@upgrade-bot.invalid"}

// exampleRepo makes a real git repository of the example GitOps tree (below
// sub, when not empty) with a bare remote "origin"; it returns the
// repository, the planned directory and the remote's path.
func exampleRepo(t *testing.T, sub string) (*git.Repository, string, string) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "work")
	src := copyDir(t, exampleGitOps)
	if err := os.Rename(src, filepath.Join(dir, sub)); err != nil {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, sub)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(src, filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := git.Init(context.Background(), dir, "Initial import", author)
	if err != nil {
		t.Fatalf("git init: %v", err)
	}
	remote := filepath.Join(root, "origin.git")
	if err := git.InitBare(remote); err != nil {
		t.Fatal(err)
	}
	if err := repo.AddRemote("origin", remote); err != nil {
		t.Fatal(err)
	}
	return repo, filepath.Join(dir, sub), remote
}

func proposer(repo *git.Repository, dir string) *Proposer {
	return &Proposer{Git: repo, Dir: dir, Author: author, Push: true, Remote: "origin", Now: func() time.Time { return testNow }}
}

func TestProposeCommitsAndPushes(t *testing.T) {
	ctx := context.Background()
	repo, dir, remote := exampleRepo(t, "")
	plan, err := newPlanner(t).Plan(ctx, dir, Request{Clusters: []string{"peu01"}, Target: "v31.0.0", Mode: ModePropose})
	if err != nil {
		t.Fatal(err)
	}
	p := proposer(repo, "")
	if err := p.CheckClean(); err != nil {
		t.Fatalf("a fresh repository is not clean: %v", err)
	}
	props, err := p.Propose(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(props) != 1 {
		t.Fatalf("%d proposals, want 1", len(props))
	}
	pr := props[0]
	if pr.Branch != "upgrade-bot/peu01/v31.0.0" || pr.Reused || !pr.Pushed || pr.Commit == "" {
		t.Errorf("proposal = branch %s commit %s reused %v pushed %v", pr.Branch, pr.Commit, pr.Reused, pr.Pushed)
	}

	// The branch holds the bump; the work tree does not.
	got, err := repo.ReadFile(pr.Branch, peu01File)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(plan.Clusters[0].Changes[0].After) {
		t.Errorf("the branch's %s is not the planned content", peu01File)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, peu01File))
	if err != nil {
		t.Fatal(err)
	}
	if string(onDisk) != string(plan.Clusters[0].Changes[0].Before) {
		t.Error("propose changed the work tree")
	}
	if dirty, err := repo.Dirty(); err != nil || len(dirty) > 0 {
		t.Errorf("after propose the work tree is dirty: %v %v", dirty, err)
	}

	// The remote has the branch at the same commit, with the message.
	bare, err := gogit.PlainOpen(remote)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := bare.Reference(plumbing.NewBranchReferenceName(pr.Branch), true)
	if err != nil {
		t.Fatalf("the remote has no branch %s: %v", pr.Branch, err)
	}
	if ref.Hash().String() != pr.Commit {
		t.Errorf("remote branch at %s, want %s", ref.Hash(), pr.Commit)
	}
	commit, err := bare.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(commit.Message, "Upgrade peu01 to release v31.0.0\n") || commit.Author.Name != author.Name || !commit.Author.When.Equal(testNow) {
		t.Errorf("commit = %q by %s at %s", commit.Message, commit.Author.Name, commit.Author.When)
	}
	assertOnlyFileChanged(t, commit, peu01File)

	// The texts a forge gets.
	contains(t, "the title", pr.Title, "peu01", "v31.0.0")
	contains(t, "the body", pr.Body, "org-acme/peu01", "v30.1.0", "v31.0.0", "kubernetes", MarkerPrefix, peu01File)
	contains(t, "the comment", pr.Comment, "KubeadmControlPlane", "```diff", "<details>")
	if len(pr.Comment) > CommentLimit {
		t.Errorf("the comment has %d bytes, over the limit of %d", len(pr.Comment), CommentLimit)
	}

	// Proposing again is idempotent: same branch, same commit, no new push
	// content.
	again, err := p.Propose(ctx, plan)
	if err != nil {
		t.Fatalf("second propose: %v", err)
	}
	if len(again) != 1 || !again[0].Reused || again[0].Commit != pr.Commit {
		t.Errorf("second propose = %+v, want the branch reused at %s", again[0], pr.Commit)
	}
}

func assertOnlyFileChanged(t *testing.T, c *object.Commit, path string) {
	t.Helper()
	parent, err := c.Parent(0)
	if err != nil {
		t.Fatal(err)
	}
	from, err := parent.Tree()
	if err != nil {
		t.Fatal(err)
	}
	to, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	changes, err := from.Diff(to)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].To.Name != path {
		t.Errorf("the commit changes %v, want only %s", changes, path)
	}
}

// TestProposeFromSubdirectory: the GitOps tree may be a directory of a
// larger repository; the commit must change the file at its real path.
func TestProposeFromSubdirectory(t *testing.T) {
	ctx := context.Background()
	repo, dir, _ := exampleRepo(t, "fleet/gitops")
	plan, err := newPlanner(t).Plan(ctx, dir, Request{Clusters: []string{"peu02"}, Target: "v30.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	p := proposer(repo, "fleet/gitops")
	p.Push = false
	props, err := p.Propose(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	got, err := repo.ReadFile(props[0].Branch, "fleet/gitops/"+peu02Kust)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "release.giantswarm.io/version: 30.1.0") {
		t.Errorf("the branch's kustomization is not bumped:\n%s", got)
	}
}

func TestProposeRefusesDirtyTree(t *testing.T) {
	repo, dir, _ := exampleRepo(t, "")
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("wip\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := proposer(repo, "").CheckClean()
	if err == nil || !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("CheckClean = %v, want an invalid-request error", err)
	}
	contains(t, "the error", err.Error(), "notes.txt", "commit or stash")
}

// TestProposeExistingBranchWithOtherContent: when the branch exists with a
// different change (someone pushed to it, or main moved), propose refuses
// instead of overwriting it.
func TestProposeExistingBranchWithOtherContent(t *testing.T) {
	ctx := context.Background()
	repo, dir, _ := exampleRepo(t, "")
	p := proposer(repo, "")
	p.Push = false
	plan, err := newPlanner(t).Plan(ctx, dir, Request{Clusters: []string{"peu01"}, Target: "v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Propose(ctx, plan); err != nil {
		t.Fatal(err)
	}

	// main moves on: a comment is added to the cluster file.
	replaceInFile(t, dir, peu01File, "# Workload cluster peu01", "# Workload cluster peu01 (owned by team payments)")
	wt, err := gogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wt.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Add(peu01File); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit("Name the owner", &gogit.CommitOptions{Author: &object.Signature{Name: "someone", Email: "someone@example.com", When: testNow}}); err != nil {
		t.Fatal(err)
	}

	plan, err = newPlanner(t).Plan(ctx, dir, Request{Clusters: []string{"peu01"}, Target: "v31.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Propose(ctx, plan)
	var exists *git.BranchExistsError
	if !errors.As(err, &exists) || !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("Propose = %v, want a BranchExistsError marked invalid", err)
	}
	contains(t, "the error", err.Error(), "upgrade-bot/peu01/v31.0.0")
}

// TestDiffCommentStaysUnderLimit: a cluster with very many changed
// resources still gets a comment a forge accepts.
func TestDiffCommentStaysUnderLimit(t *testing.T) {
	c := &ClusterPlan{Name: "big", Namespace: "org", Provider: "capa", From: "30.1.0", To: "31.0.0", Status: StatusUpgrade,
		Files:     []diff.File{{Path: "big.yaml", Unified: "--- a/big.yaml\n+++ b/big.yaml\n@@ -1 +1 @@\n-v: 30.1.0\n+v: 31.0.0\n"}},
		Locations: []render.Location{{Path: "big.yaml", Line: 1}}}
	for i := range 400 {
		c.Resources = append(c.Resources, diff.Resource{Kind: "MachinePool", Name: "pool" + strings.Repeat("x", i%7) + string(rune('a'+i%26)), Status: diff.StatusChanged,
			Unified: strings.Repeat("-  old line of a long rendered diff\n+  new line of a long rendered diff\n", 20),
			Changes: []diff.FieldChange{{Path: "spec.template.spec.version", Before: "v1.30.9", After: "v1.31.4"}}})
	}
	got := DiffComment(c)
	if len(got) > CommentLimit {
		t.Errorf("the comment has %d bytes, over the limit of %d", len(got), CommentLimit)
	}
	contains(t, "the comment", got, "left out", "upgrade-bot plan")
}

// TestDiffCommentsSplitIntoParts: the bot's diff comments leave nothing
// out; a diff over the forge's limit becomes numbered parts, each within
// the limit with room for the marker.
func TestDiffCommentsSplitIntoParts(t *testing.T) {
	c := &ClusterPlan{Name: "big", Namespace: "org", Provider: "capa", From: "30.1.0", To: "31.0.0", Status: StatusUpgrade}
	for i := range 400 {
		c.Resources = append(c.Resources, diff.Resource{Kind: "MachinePool", Name: fmt.Sprintf("pool%03d", i), Status: diff.StatusChanged,
			Unified: strings.Repeat("-  old line of a long rendered diff\n+  new line of a long rendered diff\n", 20),
			Changes: []diff.FieldChange{{Path: "spec.template.spec.version", Before: "v1.30.9", After: "v1.31.4"}}})
	}
	const limit, reserve = 65536, 200
	parts := DiffComments(c, limit, reserve)
	if len(parts) < 2 {
		t.Fatalf("got %d part for a diff of about %d bytes", len(parts), 400*1500)
	}
	all := strings.Join(parts, "")
	for i, p := range parts {
		if len(p)+reserve > limit {
			t.Errorf("part %d has %d bytes, over the limit less the reserve", i+1, len(p))
		}
		contains(t, fmt.Sprintf("part %d", i+1), p, fmt.Sprintf("(part %d of %d)", i+1, len(parts)))
	}
	for i := range 400 {
		contains(t, "the parts", all, fmt.Sprintf("MachinePool pool%03d", i))
	}
	if strings.Contains(all, "left out") {
		t.Error("the parts leave diffs out")
	}
	if one := DiffComments(&ClusterPlan{Name: "s", From: "1.0.0", To: "2.0.0"}, limit, reserve); len(one) != 1 || strings.Contains(one[0], "part") {
		t.Errorf("a small diff: %q", one)
	}
}
