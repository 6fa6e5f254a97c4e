// Package git works with local git repositories through go-git: it opens
// or creates them, reports uncommitted changes, builds commits on branches
// from objects without touching the work tree, pushes branches and reads
// files at a revision. It knows nothing about what the files contain.
package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// ErrNotRepository is returned (wrapped) by Open for a path that is not
// inside a git work tree.
var ErrNotRepository = errors.New("not a git repository")

// defaultBranch is the branch Init and InitBare point HEAD to.
const defaultBranch = "main"

// Repository is a git repository with a work tree. Its methods may be
// called from several goroutines: they run one at a time.
type Repository struct {
	repo *gogit.Repository
	root string
	mu   sync.Mutex // go-git's repository is not safe for concurrent use
}

// Signature names the author (and committer) of a commit.
type Signature struct {
	Name, Email string
}

func (s Signature) validate() error {
	switch {
	case strings.TrimSpace(s.Name) == "" || strings.TrimSpace(s.Email) == "":
		return errors.New("the commit author needs a name and an email")
	case strings.ContainsAny(s.Name+s.Email, "<>\n\x00"):
		return fmt.Errorf("the commit author %q <%s> may not contain '<', '>' or a line break", s.Name, s.Email)
	}
	return nil
}

// Open opens the repository whose work tree contains path; path may be a
// subdirectory of the work tree.
func Open(path string) (*Repository, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("opening repository: %w", err)
	}
	r, err := gogit.PlainOpenWithOptions(abs, &gogit.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		if _, bareErr := gogit.PlainOpen(abs); bareErr == nil {
			err = gogit.ErrIsBareRepository
		} else {
			return nil, fmt.Errorf("%s is %w: run `git init` or pass --repo", path, ErrNotRepository)
		}
	}
	var wt *gogit.Worktree
	if err == nil {
		wt, err = r.Worktree()
	}
	if errors.Is(err, gogit.ErrIsBareRepository) {
		return nil, fmt.Errorf("%s is a bare repository: pass the path of a work tree", path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening repository %s: %w", path, err)
	}
	return &Repository{repo: r, root: wt.Filesystem.Root()}, nil
}

// Init makes dir a new repository whose HEAD is the branch main, and
// commits every file in it that is not ignored by .gitignore, as author,
// with the given message. The index is written too, so the work tree is
// clean afterwards.
func Init(ctx context.Context, dir, message string, author Signature) (*Repository, error) {
	if err := author.validate(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(message) == "" {
		return nil, errors.New("the commit message is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", dir, err)
	}
	r, err := gogit.PlainInitWithOptions(abs, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(defaultBranch)},
	})
	if err != nil {
		return nil, fmt.Errorf("initializing repository %s: %w", dir, err)
	}
	repo := &Repository{repo: r, root: abs}
	if err := repo.commitAll(ctx, message, author, time.Now()); err != nil {
		// Leave the directory as it was, so that Init can be run again.
		if rmErr := os.RemoveAll(filepath.Join(abs, gogit.GitDirName)); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
		return nil, fmt.Errorf("making the first commit in %s: %w", dir, err)
	}
	return repo, nil
}

// commitAll commits every file that is not ignored on the branch HEAD
// points to and writes the index to match.
func (r *Repository) commitAll(ctx context.Context, message string, author Signature, when time.Time) error {
	st, err := r.newStatus(&index.Index{})
	if err != nil {
		return err
	}
	found := map[string]struct{}{}
	if err := st.walkUntracked(ctx, found); err != nil {
		return err
	}
	paths := sortedKeys(found)
	b := treeBuilder{ctx: ctx, s: r.repo.Storer}
	idx := &index.Index{Version: 2}
	edits := make([]edit, 0, len(paths))
	for _, p := range paths {
		if strings.HasSuffix(p, "/") {
			continue // a nested repository
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, content, err := readWorktreeFile(filepath.Join(r.root, filepath.FromSlash(p)))
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		mode := worktreeMode(fi, filemode.Regular, true)
		if mode == 0 {
			continue // replaced by a directory or a device meanwhile
		}
		h, err := b.writeBlob(content)
		if err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		edits = append(edits, edit{path: p, content: content, mode: mode})
		idx.Entries = append(idx.Entries, &index.Entry{
			Name: p, Hash: h, Mode: mode, ModifiedAt: fi.ModTime(), Size: uint32(fi.Size()),
		})
	}
	tree, _, err := b.build(plumbing.ZeroHash, edits, "")
	if err != nil {
		return err
	}
	if tree.IsZero() {
		if tree, err = b.writeTree(nil); err != nil {
			return err
		}
	}
	commit, err := writeCommit(r.repo.Storer, tree, nil, message, author, when)
	if err != nil {
		return err
	}
	head, err := r.repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return fmt.Errorf("reading HEAD: %w", err)
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(head.Target(), commit)); err != nil {
		return fmt.Errorf("setting %s: %w", head.Target(), err)
	}
	if err := r.repo.Storer.SetIndex(idx); err != nil {
		return fmt.Errorf("writing the index: %w", err)
	}
	return nil
}

// InitBare makes dir a new bare repository whose HEAD is refs/heads/main.
func InitBare(dir string) error {
	_, err := gogit.PlainInitWithOptions(dir, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(defaultBranch)},
		Bare:        true,
	})
	if err != nil {
		return fmt.Errorf("initializing bare repository %s: %w", dir, err)
	}
	return nil
}

// AddRemote adds a remote with one URL (a path, file://, http(s):// or
// ssh).
func (r *Repository) AddRemote(name, url string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.repo.CreateRemote(&config.RemoteConfig{Name: name, URLs: []string{url}})
	if err != nil {
		return fmt.Errorf("adding remote %s (%s): %w", name, redactURL(url), err)
	}
	return nil
}

// Root is the absolute path of the work tree.
func (r *Repository) Root() string { return r.root }

// Head returns the short name of the checked-out branch ("" when HEAD is
// detached) and the commit HEAD points to ("" on a branch with no commit
// yet).
func (r *Repository) Head() (branch, commit string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return "", "", fmt.Errorf("reading HEAD: %w", err)
	}
	if ref.Type() == plumbing.HashReference {
		return "", ref.Hash().String(), nil
	}
	branch = ref.Target().Short()
	resolved, err := r.repo.Reference(ref.Target(), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return branch, "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("resolving HEAD: %w", err)
	}
	return branch, resolved.Hash().String(), nil
}

// ReadFile returns the content of the file at path (slash-separated,
// relative to the root) in the commit rev names ("HEAD" when empty; a
// branch, tag, hash or any revision go-git resolves).
func (r *Repository) ReadFile(rev, path string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rev == "" {
		rev = "HEAD"
	}
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("resolving revision %s: %w", rev, err)
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", rev, err)
	}
	f, err := c.File(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", p, rev, err)
	}
	rd, err := f.Reader()
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", p, rev, err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", p, rev, err)
	}
	return b, nil
}
