package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// ErrNonFastForward is returned (wrapped) by Push when the remote branch
// has commits the local branch does not contain.
var ErrNonFastForward = errors.New("non-fast-forward update")

// defaultUsername is the HTTP user name when a Credential has none; GitHub
// expects it with installation and personal access tokens.
const defaultUsername = "x-access-token"

// Credential authenticates pushes over HTTP(S). Printing or logging it
// never shows the password.
type Credential struct {
	Username, Password string
}

func (c Credential) username() string {
	if c.Username == "" {
		return defaultUsername
	}
	return c.Username
}

// String returns "user:***".
func (c Credential) String() string { return c.username() + ":***" }

// GoString is used by %#v; it hides the password too.
func (c Credential) GoString() string {
	return fmt.Sprintf("git.Credential{Username:%q, Password:\"***\"}", c.Username)
}

// Format prints String for every verb and GoString for %#v, so that no
// verb (%d or %x included) prints the fields.
func (c Credential) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, c.GoString())
		return
	}
	io.WriteString(f, c.String())
}

// LogValue logs the user name and a masked password.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.username()), slog.String("password", "***"))
}

// Push pushes refs/heads/<branch> to the same branch of the remote. A
// remote that already has it is success. Over HTTP(S), cred is sent with
// basic authentication when not nil; other transports ignore it. A remote on the local disk (a path
// or a file:// URL; a relative path is taken from the work tree root) is
// written in-process, without git's receive hooks.
func (r *Repository) Push(ctx context.Context, remote, branch string, cred *Credential) error {
	return r.push(ctx, remote, branch, cred, nil)
}

// PushReplacing pushes refs/heads/<branch> like Push, but replaces the
// remote branch even when the push is not a fast-forward — as long as the
// remote branch is still at commit old (a "force with lease"). The bot
// uses it for its own branches, after checking that old is its own work.
func (r *Repository) PushReplacing(ctx context.Context, remote, branch, old string, cred *Credential) error {
	h := plumbing.NewHash(old)
	if old == "" || h.IsZero() || h.String() != old {
		return fmt.Errorf("pushing %s: %q is not the commit the remote branch is expected at", branch, old)
	}
	return r.push(ctx, remote, branch, cred, &h)
}

func (r *Repository) push(ctx context.Context, remote, branch string, cred *Credential, lease *plumbing.Hash) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rem, err := r.repo.Remote(remote)
	if errors.Is(err, gogit.ErrRemoteNotFound) {
		return fmt.Errorf("pushing %s: remote %q is not configured: add it with `git remote add %s <url>`", branch, remote, remote)
	}
	if err != nil {
		return fmt.Errorf("pushing %s: reading remote %s: %w", branch, remote, err)
	}
	urls := rem.Config().URLs
	if len(urls) == 0 {
		return fmt.Errorf("pushing %s: remote %s has no URL", branch, remote)
	}
	rawURL := urls[0]
	refName := plumbing.NewBranchReferenceName(branch)
	local, err := r.repo.Storer.Reference(refName)
	if err != nil {
		return fmt.Errorf("pushing %s to %s: reading the local branch: %w", branch, remote, err)
	}

	pe := &remoteError{what: fmt.Sprintf("pushing %s to %s (%s)", branch, remote, redactURL(rawURL)), access: "push to"}
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		pe.err = err
		return pe
	}
	pe.secrets = []string{ep.Password}
	pe.user = ep.User
	if cred != nil {
		pe.secrets = append(pe.secrets, cred.Password)
	}

	if ep.Protocol == "file" {
		dir := filepath.FromSlash(ep.Path)
		if !strings.HasPrefix(rawURL, "file://") && !filepath.IsAbs(rawURL) {
			dir = filepath.Join(r.root, rawURL) // go-git took it from the process's directory
		}
		pe.err = pushLocal(ctx, r.repo.Storer, dir, local, lease)
	} else {
		opts := &gogit.PushOptions{
			RemoteName: remote,
			RefSpecs:   []config.RefSpec{config.RefSpec(refName + ":" + refName)},
		}
		if lease != nil {
			opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + refName + ":" + refName)}
			opts.ForceWithLease = &gogit.ForceWithLease{RefName: refName, Hash: *lease}
		}
		if cred != nil && (ep.Protocol == "http" || ep.Protocol == "https") {
			opts.Auth = &githttp.BasicAuth{Username: cred.username(), Password: cred.Password}
			pe.user = cred.username()
		}
		pe.err = r.repo.PushContext(ctx, opts)
		if errors.Is(pe.err, gogit.NoErrAlreadyUpToDate) {
			pe.err = nil
		}
	}
	if pe.err == nil {
		return nil
	}
	return pe
}

// redactURL hides the password of a URL's user information.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") && strings.Contains(raw, "://") {
			return "(URL not shown)"
		}
		return raw
	}
	return u.Redacted()
}

// pushLocal updates the branch of the repository in dir to the local ref,
// copying the objects it lacks; it allows fast-forwards only.
func pushLocal(ctx context.Context, src storer.EncodedObjectStorer, dir string, ref *plumbing.Reference, lease *plumbing.Hash) error {
	dst, err := gogit.PlainOpen(dir)
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		return fmt.Errorf("%s is %w", dir, ErrNotRepository)
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	if _, err := dst.Worktree(); err == nil {
		if head, err := dst.Storer.Reference(plumbing.HEAD); err == nil && head.Target() == ref.Name() {
			return fmt.Errorf("branch %s is checked out in %s: push to a bare repository", ref.Name().Short(), dir)
		}
	}
	cur, err := dst.Storer.Reference(ref.Name())
	switch {
	case err == nil:
		if cur.Hash() == ref.Hash() {
			return nil
		}
		if lease != nil {
			if cur.Hash() != *lease {
				return fmt.Errorf("%w: %s is at %s, not at %s as expected", ErrNonFastForward, ref.Name(), short(cur.Hash().String()), short(lease.String()))
			}
			break
		}
		ok, err := isAncestor(src, cur.Hash(), ref.Hash())
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s is at %s", ErrNonFastForward, ref.Name(), short(cur.Hash().String()))
		}
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		cur = nil
	default:
		return fmt.Errorf("reading %s in %s: %w", ref.Name(), dir, err)
	}
	if err := copyObjects(ctx, src, dst.Storer, ref.Hash()); err != nil {
		return err
	}
	if err := dst.Storer.CheckAndSetReference(plumbing.NewHashReference(ref.Name(), ref.Hash()), cur); err != nil {
		return fmt.Errorf("updating %s in %s: %w", ref.Name(), dir, err)
	}
	return nil
}

// isAncestor reports whether commit old is reachable from commit tip in s;
// false when s does not have old.
func isAncestor(s storer.EncodedObjectStorer, old, tip plumbing.Hash) (bool, error) {
	oldCommit, err := object.GetCommit(s, old)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	tipCommit, err := object.GetCommit(s, tip)
	if err != nil {
		return false, err
	}
	return oldCommit.IsAncestor(tipCommit)
}

// copyObjects copies the commits reachable from tip that dst lacks, with
// their trees and blobs. Objects are written before whatever refers to
// them, so an interrupted copy leaves dst consistent: having an object
// means having everything it reaches.
func copyObjects(ctx context.Context, src, dst storer.EncodedObjectStorer, tip plumbing.Hash) error {
	type frame struct {
		h        plumbing.Hash
		expanded bool
	}
	stack := []frame{{h: tip}}
	done := map[plumbing.Hash]bool{}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := stack[len(stack)-1]
		if done[f.h] || dst.HasEncodedObject(f.h) == nil {
			stack = stack[:len(stack)-1]
			continue
		}
		c, err := object.GetCommit(src, f.h)
		if err != nil {
			return fmt.Errorf("reading commit %s: %w", short(f.h.String()), err)
		}
		if !f.expanded {
			stack[len(stack)-1].expanded = true
			for _, p := range c.ParentHashes {
				stack = append(stack, frame{h: p})
			}
			continue
		}
		stack = stack[:len(stack)-1]
		if err := copyTree(src, dst, c.TreeHash); err != nil {
			return err
		}
		if err := copyObject(src, dst, f.h); err != nil {
			return err
		}
		done[f.h] = true
	}
	return nil
}

func copyTree(src, dst storer.EncodedObjectStorer, h plumbing.Hash) error {
	if dst.HasEncodedObject(h) == nil {
		return nil
	}
	t, err := object.GetTree(src, h)
	if err != nil {
		return fmt.Errorf("reading tree %s: %w", short(h.String()), err)
	}
	for _, e := range t.Entries {
		switch e.Mode {
		case filemode.Dir:
			err = copyTree(src, dst, e.Hash)
		case filemode.Submodule:
			continue
		default:
			if dst.HasEncodedObject(e.Hash) != nil {
				err = copyObject(src, dst, e.Hash)
			}
		}
		if err != nil {
			return err
		}
	}
	return copyObject(src, dst, h)
}

func copyObject(src, dst storer.EncodedObjectStorer, h plumbing.Hash) error {
	o, err := src.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return fmt.Errorf("reading object %s: %w", short(h.String()), err)
	}
	if _, err := dst.SetEncodedObject(o); err != nil {
		return fmt.Errorf("writing object %s: %w", short(h.String()), err)
	}
	return nil
}
