package git

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrNothingToCommit is returned (wrapped) by CommitBranch when every
// change leaves the file as it is at HEAD.
var ErrNothingToCommit = errors.New("nothing to commit")

// Change sets the content of one file.
type Change struct {
	// Path is slash-separated and relative to the work tree root.
	Path string
	// Content is the new content; nil deletes the file.
	Content []byte
}

// CommitResult says which commit a branch points to.
type CommitResult struct {
	Branch string
	Commit string
	// Base is the parent of Commit: HEAD when the commit was made.
	Base string
	// Reused is true when the branch already held exactly these changes
	// and no commit was made.
	Reused bool
}

// BranchExistsError is returned by CommitBranch when the branch exists
// with content other than the commit would have.
type BranchExistsError struct {
	Branch string
	// Commit is the branch's tip.
	Commit string
}

func (e *BranchExistsError) Error() string {
	return fmt.Sprintf("branch %s already exists at %s with different content: it was changed by someone, or made from another base; "+
		"delete it with \"git branch -D %s\" and re-run", e.Branch, short(e.Commit), e.Branch)
}

// CommitBranch makes one commit on top of HEAD that applies the changes,
// and points refs/heads/<branch> to it. The commit is built from objects:
// neither the work tree nor the index is touched. Files keep their mode.
// Author and committer are author, both at when.
//
// It is idempotent: when the branch already exists with the very tree
// this commit would have, it is returned with Reused set and nothing is
// written. When it exists with another tree the error is a
// *BranchExistsError. Changes that leave a file as it is at HEAD are
// no-ops; when all are, the error wraps ErrNothingToCommit.
func (r *Repository) CommitBranch(ctx context.Context, branch string, changes []Change, message string, author Signature, when time.Time) (CommitResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return CommitResult{}, err
	}
	refName := plumbing.NewBranchReferenceName(branch)
	if err := refName.Validate(); err != nil || branch == "" {
		return CommitResult{}, fmt.Errorf("invalid branch name %q", branch)
	}
	if err := author.validate(); err != nil {
		return CommitResult{}, err
	}
	if strings.TrimSpace(message) == "" {
		return CommitResult{}, errors.New("the commit message is empty")
	}
	if when.IsZero() {
		return CommitResult{}, errors.New("the commit time is not set")
	}
	edits, err := toEdits(changes)
	if err != nil {
		return CommitResult{}, err
	}

	headRef, err := r.repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return CommitResult{}, fmt.Errorf("reading HEAD: %w", err)
	}
	if headRef.Type() == plumbing.SymbolicReference && headRef.Target() == refName {
		return CommitResult{}, fmt.Errorf("branch %s is checked out: the commit goes on a branch of its own, choose another name", branch)
	}
	head, err := r.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return CommitResult{}, errors.New("the repository has no commit yet: commit something first")
	}
	if err != nil {
		return CommitResult{}, fmt.Errorf("resolving HEAD: %w", err)
	}
	base, err := r.repo.CommitObject(head.Hash())
	if err != nil {
		return CommitResult{}, fmt.Errorf("reading the HEAD commit: %w", err)
	}

	b := treeBuilder{ctx: ctx, s: r.repo.Storer}
	tree, _, err := b.build(base.TreeHash, edits, "")
	if err != nil {
		return CommitResult{}, err
	}
	if tree.IsZero() {
		if tree, err = b.writeTree(nil); err != nil {
			return CommitResult{}, err
		}
	}
	if tree == base.TreeHash {
		return CommitResult{}, fmt.Errorf("committing to %s: %w: every change leaves its file as it is at HEAD", branch, ErrNothingToCommit)
	}

	existing, err := r.repo.Storer.Reference(refName)
	switch {
	case err == nil:
		tip, err := r.repo.CommitObject(existing.Hash())
		if err != nil {
			return CommitResult{}, fmt.Errorf("reading the tip of branch %s: %w", branch, err)
		}
		if tip.TreeHash != tree {
			return CommitResult{}, &BranchExistsError{Branch: branch, Commit: tip.Hash.String()}
		}
		res := CommitResult{Branch: branch, Commit: tip.Hash.String(), Base: base.Hash.String(), Reused: true}
		if len(tip.ParentHashes) > 0 {
			res.Base = tip.ParentHashes[0].String()
		}
		return res, nil
	case !errors.Is(err, plumbing.ErrReferenceNotFound):
		return CommitResult{}, fmt.Errorf("reading branch %s: %w", branch, err)
	}

	commit, err := writeCommit(r.repo.Storer, tree, []plumbing.Hash{base.Hash}, message, author, when)
	if err != nil {
		return CommitResult{}, err
	}
	if err := r.repo.Storer.CheckAndSetReference(plumbing.NewHashReference(refName, commit), nil); err != nil {
		return CommitResult{}, fmt.Errorf("creating branch %s: %w", branch, err)
	}
	return CommitResult{Branch: branch, Commit: commit.String(), Base: base.Hash.String()}, nil
}

// edit is one validated change; mode is used for new files (0: regular).
type edit struct {
	path    string
	content []byte
	delete  bool
	mode    filemode.FileMode
}

func toEdits(changes []Change) ([]edit, error) {
	if len(changes) == 0 {
		return nil, fmt.Errorf("%w: no changes", ErrNothingToCommit)
	}
	seen := make(map[string]bool, len(changes))
	edits := make([]edit, 0, len(changes))
	for _, c := range changes {
		p, err := cleanPath(c.Path)
		if err != nil {
			return nil, err
		}
		if seen[p] {
			return nil, fmt.Errorf("path %s is changed twice", p)
		}
		seen[p] = true
		edits = append(edits, edit{path: p, content: c.Content, delete: c.Content == nil})
	}
	return edits, nil
}

// cleanPath checks that p is a relative, slash-separated path inside the
// work tree and outside .git.
func cleanPath(p string) (string, error) {
	bad := func(why string) (string, error) { return "", fmt.Errorf("invalid path %q: %s", p, why) }
	switch {
	case p == "":
		return bad("empty")
	case strings.ContainsAny(p, "\\\x00"):
		return bad("paths are slash-separated and may not hold a backslash or NUL")
	case strings.HasPrefix(p, "/") || (len(p) >= 2 && p[1] == ':' && ('a' <= p[0]|0x20 && p[0]|0x20 <= 'z')):
		return bad("absolute; paths are relative to the repository root")
	}
	for _, part := range strings.Split(p, "/") {
		switch {
		case part == "":
			return bad("empty path element")
		case part == "." || part == "..":
			return bad(`"." and ".." are not allowed`)
		case strings.EqualFold(part, ".git"):
			return bad("inside .git")
		}
	}
	return p, nil
}

// treeBuilder writes blobs and trees into an object store.
type treeBuilder struct {
	ctx context.Context
	s   storer.EncodedObjectStorer
}

// build applies the edits (paths relative to this tree; prefix names the
// tree in errors) to the tree at hash (zero: no tree) and returns the new
// tree's hash, unchanged when no edit changes anything, and whether the
// result is empty (its hash is then zero unless it was unchanged).
func (b *treeBuilder) build(hash plumbing.Hash, edits []edit, prefix string) (plumbing.Hash, bool, error) {
	if err := b.ctx.Err(); err != nil {
		return plumbing.ZeroHash, false, err
	}
	entries := map[string]object.TreeEntry{}
	if !hash.IsZero() {
		t, err := object.GetTree(b.s, hash)
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("reading tree %s: %w", displayDir(prefix), err)
		}
		for _, e := range t.Entries {
			entries[e.Name] = e
		}
	}

	direct := map[string]edit{}
	nested := map[string][]edit{}
	for _, e := range edits {
		first, rest, ok := strings.Cut(e.path, "/")
		if !ok {
			direct[first] = e
			continue
		}
		e.path = rest
		nested[first] = append(nested[first], e)
	}

	changed := false
	for _, name := range sortedKeys(direct) {
		e := direct[name]
		full := prefix + name
		if _, ok := nested[name]; ok {
			return plumbing.ZeroHash, false, fmt.Errorf("path %s is changed both as a file and as a directory", full)
		}
		old, exists := entries[name]
		switch {
		case exists && old.Mode == filemode.Dir:
			return plumbing.ZeroHash, false, fmt.Errorf("path %s is a directory, not a file", full)
		case exists && old.Mode == filemode.Submodule:
			return plumbing.ZeroHash, false, fmt.Errorf("path %s is a submodule, not a file", full)
		}
		if e.delete {
			if exists {
				delete(entries, name)
				changed = true
			}
			continue
		}
		h := plumbing.ComputeHash(plumbing.BlobObject, e.content)
		if exists && old.Hash == h {
			continue
		}
		if _, err := b.writeBlob(e.content); err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("writing %s: %w", full, err)
		}
		mode := e.mode
		switch {
		case exists:
			mode = old.Mode
		case mode == 0:
			mode = filemode.Regular
		}
		entries[name] = object.TreeEntry{Name: name, Mode: mode, Hash: h}
		changed = true
	}

	for _, name := range sortedKeys(nested) {
		full := prefix + name
		old, exists := entries[name]
		var sub plumbing.Hash
		if exists {
			if old.Mode != filemode.Dir {
				return plumbing.ZeroHash, false, fmt.Errorf("path %s is a file, not a directory", full)
			}
			sub = old.Hash
		}
		h, empty, err := b.build(sub, nested[name], full+"/")
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		switch {
		case h == sub && !empty:
			// unchanged
		case empty:
			if exists {
				delete(entries, name)
				changed = true
			}
		default:
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
			changed = true
		}
	}

	if !changed {
		return hash, len(entries) == 0, nil
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, true, nil
	}
	list := make([]object.TreeEntry, 0, len(entries))
	for _, e := range entries {
		list = append(list, e)
	}
	h, err := b.writeTree(list)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("writing tree %s: %w", displayDir(prefix), err)
	}
	return h, false, nil
}

// writeBlob stores content as a blob unless the store has it already.
func (b *treeBuilder) writeBlob(content []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(plumbing.BlobObject, content)
	if b.s.HasEncodedObject(h) == nil {
		return h, nil
	}
	obj := b.s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(content)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(content); err != nil {
		w.Close()
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return b.s.SetEncodedObject(obj)
}

// writeTree stores a tree of the entries in git's order.
func (b *treeBuilder) writeTree(entries []object.TreeEntry) (plumbing.Hash, error) {
	entries = slices.Clone(entries)
	sort.Sort(object.TreeEntrySorter(entries))
	obj := b.s.NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return b.s.SetEncodedObject(obj)
}

// writeCommit stores a commit and returns its hash.
func writeCommit(s storer.EncodedObjectStorer, tree plumbing.Hash, parents []plumbing.Hash, message string, author Signature, when time.Time) (plumbing.Hash, error) {
	if !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	sig := object.Signature{Name: author.Name, Email: author.Email, When: when}
	c := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: tree, ParentHashes: parents}
	obj := s.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding the commit: %w", err)
	}
	h, err := s.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing the commit: %w", err)
	}
	return h, nil
}

func displayDir(prefix string) string {
	if prefix == "" {
		return "/"
	}
	return strings.TrimSuffix(prefix, "/")
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
