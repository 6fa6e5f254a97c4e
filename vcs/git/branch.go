package git

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// SetBranch points the local branch at commit, which the repository must
// have; an empty commit deletes the branch (deleting a missing branch is
// not an error). The checked-out branch cannot be changed this way.
func (r *Repository) SetBranch(branch, commit string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	refName := plumbing.NewBranchReferenceName(branch)
	if err := refName.Validate(); err != nil || branch == "" {
		return fmt.Errorf("invalid branch name %q", branch)
	}
	if head, err := r.repo.Storer.Reference(plumbing.HEAD); err == nil && head.Type() == plumbing.SymbolicReference && head.Target() == refName {
		return fmt.Errorf("branch %s is checked out: it cannot be moved or deleted", branch)
	}
	if commit == "" {
		if err := r.repo.Storer.RemoveReference(refName); err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
			return fmt.Errorf("deleting branch %s: %w", branch, err)
		}
		return nil
	}
	h := plumbing.NewHash(commit)
	if h.String() != commit {
		return fmt.Errorf("setting branch %s: %q is not a commit id", branch, commit)
	}
	if _, err := r.repo.CommitObject(h); err != nil {
		return fmt.Errorf("setting branch %s to %s: %w", branch, short(commit), err)
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(refName, h)); err != nil {
		return fmt.Errorf("setting branch %s: %w", branch, err)
	}
	return nil
}

// CommitAuthors returns the authors of the commits reachable from tip but
// not from base (base may be empty: then every commit of tip's history),
// newest first; the bot checks them before it replaces a branch, so that a
// person's commits on it are never thrown away.
func (r *Repository) CommitAuthors(tip, base string) ([]Signature, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stop := map[plumbing.Hash]bool{}
	if base != "" {
		bc, err := r.repo.CommitObject(plumbing.NewHash(base))
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", short(base), err)
		}
		// The ancestors of base, as far as they are needed: a bounded walk
		// keeps a long history cheap.
		queue := []plumbing.Hash{bc.Hash}
		for len(queue) > 0 && len(stop) < 10000 {
			h := queue[0]
			queue = queue[1:]
			if stop[h] {
				continue
			}
			stop[h] = true
			c, err := r.repo.CommitObject(h)
			if err != nil {
				continue // a shallow history ends here
			}
			queue = append(queue, c.ParentHashes...)
		}
	}
	var out []Signature
	queue := []plumbing.Hash{plumbing.NewHash(tip)}
	seen := map[plumbing.Hash]bool{}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if seen[h] || stop[h] {
			continue
		}
		seen[h] = true
		c, err := r.repo.CommitObject(h)
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", short(h.String()), err)
		}
		out = append(out, Signature{Name: c.Author.Name, Email: c.Author.Email})
		if base == "" && len(out) >= 100 {
			break
		}
		queue = append(queue, c.ParentHashes...)
	}
	return out, nil
}

// LastChange is the commit time of the newest commit on HEAD that changed
// anything under path (a file or directory, slash-separated, relative to
// the work tree's root); false when none did. The bot takes it as the time
// a cluster reached the version its files hold.
func (r *Repository) LastChange(path string) (time.Time, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	head, err := r.repo.Head()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("resolving HEAD: %w", err)
	}
	prefix := strings.TrimSuffix(path, "/")
	iter, err := r.repo.Log(&gogit.LogOptions{From: head.Hash(), PathFilter: func(p string) bool {
		return p == prefix || strings.HasPrefix(p, prefix+"/")
	}})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the history of %s: %w", path, err)
	}
	defer iter.Close()
	c, err := iter.Next()
	if errors.Is(err, io.EOF) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the history of %s: %w", path, err)
	}
	return c.Committer.When, true, nil
}
