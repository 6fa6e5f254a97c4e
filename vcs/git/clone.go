package git

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// ErrRemoteRefNotFound is returned (wrapped) by Sync and FetchRef when the
// remote has no branch or ref of that name.
var ErrRemoteRefNotFound = errors.New("the remote has no such ref")

// FetchedRefPrefix is where FetchRef stores the refs it fetches:
// refs/upgrade-bot/<remote>/<the ref without "refs/">.
const FetchedRefPrefix = "refs/upgrade-bot/"

// cloneRemote is the name Clone gives the remote it clones from.
const cloneRemote = "origin"

// shallowDepth is how many commits a fetch into a shallow repository
// (one made elsewhere with `git clone --depth`) asks for, so that go-git
// tells the server where the local history ends. Clone itself clones the
// whole history: go-git pushes a new branch from a depth-1 clone to git
// http-backend fine, but a push the remote must refuse as
// non-fast-forward (the bot's branch changed by someone) then fails with
// "object not found" instead of ErrNonFastForward, because go-git walks
// the new commit's history past the shallow boundary to decide; the bot
// could not tell that terminal error from a transient one.
// TestClonePush checks both, and fails once go-git changes.
const shallowDepth = 1

// Clone clones the repository at url (https://, http://, ssh, file:// or
// a path) into dir, which must not exist or be empty, and checks out the
// remote's default branch. The remote is called "origin". Over HTTP(S),
// cred is sent with basic authentication when not nil.
//
// The default branch is fetched with its whole history (see shallowDepth
// for why not one commit); Sync and FetchRef fetch any other branch or
// ref later. A repository on the local disk is copied in-process and needs
// no git binary. When the clone fails, dir is left as it was.
func Clone(ctx context.Context, url, dir string, cred *Credential) (*Repository, error) {
	abs, cleanup, err := prepareDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cloning %s into %s: %w", redactURL(url), dir, err)
	}
	r, err := clone(ctx, url, abs, cred, 0)
	if err != nil {
		if cErr := cleanup(); cErr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up %s: %w", dir, cErr))
		}
		return nil, err
	}
	return r, nil
}

// clone clones into the empty directory abs; over the network it fetches
// depth commits when not zero.
func clone(ctx context.Context, rawURL, abs string, cred *Credential, depth int) (*Repository, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cloning %s: %w", redactURL(rawURL), err)
	}
	if isLocalPath(rawURL) {
		// git stores a local remote's absolute path: the clone must not
		// depend on the directory it was made from.
		p, err := filepath.Abs(rawURL)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", rawURL, err)
		}
		rawURL = p
	}
	gr, err := gogit.PlainInitWithOptions(abs, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(defaultBranch)},
	})
	if err != nil {
		return nil, fmt.Errorf("cloning %s: initializing %s: %w", redactURL(rawURL), abs, err)
	}
	_, err = gr.CreateRemote(&config.RemoteConfig{
		Name:  cloneRemote,
		URLs:  []string{rawURL},
		Fetch: []config.RefSpec{config.RefSpec("+refs/heads/*:refs/remotes/" + cloneRemote + "/*")},
	})
	if err != nil {
		return nil, fmt.Errorf("cloning %s: adding the remote: %w", redactURL(rawURL), err)
	}
	r := &Repository{repo: gr, root: abs}
	ep, err := r.endpoint(cloneRemote, cred)
	if err != nil {
		return nil, fmt.Errorf("cloning %s: %w", redactURL(rawURL), err)
	}
	what := fmt.Sprintf("cloning %s into %s", ep.url, abs)
	branch, err := ep.defaultBranch(ctx)
	if err != nil {
		return nil, ep.fail(what+": finding the default branch", err)
	}
	if ep.dir != "" {
		depth = 0
	}
	refName := plumbing.NewBranchReferenceName(branch)
	tip, err := r.fetch(ctx, ep, refName, remoteTrackingRef(cloneRemote, branch), depth)
	if err != nil {
		return nil, ep.fail(fmt.Sprintf("%s: fetching %s", what, branch), err)
	}
	if err := gr.CreateBranch(&config.Branch{Name: branch, Remote: cloneRemote, Merge: refName}); err != nil {
		return nil, fmt.Errorf("%s: configuring branch %s: %w", what, branch, err)
	}
	if err := r.checkout(ctx, tip, branch); err != nil {
		return nil, fmt.Errorf("%s: checking out %s: %w", what, branch, err)
	}
	return r, nil
}

// Sync makes the local branch of that name, HEAD and the work tree
// exactly the tip of branch on remote, and returns that commit: it
// fetches the branch (into refs/remotes/<remote>/<branch> too), points
// the local branch to it whatever it held (a force-pushed remote branch
// is followed), checks it out, and deletes every file the commit does not
// have, untracked and ignored ones included. The work tree is the bot's
// own cache: whatever was changed in it is lost. A Sync that fails or is
// canceled half-way leaves HEAD where it was; the next Sync finishes the
// work tree. Over HTTP(S), cred is sent with basic authentication when
// not nil.
func (r *Repository) Sync(ctx context.Context, remote, branch string, cred *Credential) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	refName := plumbing.NewBranchReferenceName(branch)
	if err := refName.Validate(); err != nil || branch == "" {
		return "", fmt.Errorf("syncing: invalid branch name %q", branch)
	}
	ep, err := r.endpoint(remote, cred)
	if err != nil {
		return "", fmt.Errorf("syncing %s: %w", branch, err)
	}
	what := fmt.Sprintf("syncing %s with %s (%s)", branch, remote, ep.url)
	tip, err := r.fetch(ctx, ep, refName, remoteTrackingRef(remote, branch), r.fetchDepth(ep))
	if err != nil {
		return "", ep.fail(what+": fetching", err)
	}
	if err := r.checkout(ctx, tip, branch); err != nil {
		return "", fmt.Errorf("%s: checking out %s: %w", what, short(tip.String()), err)
	}
	return tip.String(), nil
}

// FetchRef fetches ref (a full name such as refs/pull/7/head,
// refs/merge-requests/7/head or refs/heads/topic) from remote into the
// local ref FetchedRefPrefix+<remote>/<ref without "refs/">, replacing
// what it held, and returns its commit. Neither HEAD, the branches nor the
// work tree change. Over HTTP(S), cred is sent with basic authentication
// when not nil.
func (r *Repository) FetchRef(ctx context.Context, remote, ref string, cred *Credential) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rest, ok := strings.CutPrefix(ref, "refs/")
	if err := plumbing.ReferenceName(ref).Validate(); err != nil || !ok || rest == "" || strings.Contains(ref, "*") {
		return "", fmt.Errorf("fetching %q: not a full ref name such as refs/pull/7/head", ref)
	}
	ep, err := r.endpoint(remote, cred)
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", ref, err)
	}
	local := plumbing.ReferenceName(FetchedRefPrefix + remote + "/" + rest)
	tip, err := r.fetch(ctx, ep, plumbing.ReferenceName(ref), local, r.fetchDepth(ep))
	if err != nil {
		return "", ep.fail(fmt.Sprintf("fetching %s from %s (%s)", ref, remote, ep.url), err)
	}
	return tip.String(), nil
}

// RemoteBranch asks remote for the tip of branch, the way `git ls-remote`
// does, without fetching anything: exists is false when the remote has
// no such branch (or no commit at all). Over HTTP(S), cred is sent with
// basic authentication when not nil.
func (r *Repository) RemoteBranch(ctx context.Context, remote, branch string, cred *Credential) (commit string, exists bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	refName := plumbing.NewBranchReferenceName(branch)
	if err := refName.Validate(); err != nil || branch == "" {
		return "", false, fmt.Errorf("asking for a remote branch: invalid branch name %q", branch)
	}
	ep, err := r.endpoint(remote, cred)
	if err != nil {
		return "", false, fmt.Errorf("asking for branch %s: %w", branch, err)
	}
	refs, err := ep.list(ctx)
	if err != nil {
		return "", false, ep.fail(fmt.Sprintf("asking %s (%s) for branch %s", remote, ep.url, branch), err)
	}
	for _, ref := range refs {
		if ref.Name() == refName && ref.Type() == plumbing.HashReference {
			return ref.Hash().String(), true, nil
		}
	}
	return "", false, nil
}

// RemoteDefaultBranch asks remote which branch its HEAD names (its
// default branch), the way `git ls-remote --symref` does, without fetching
// anything. Over HTTP(S), cred is sent with basic authentication when not
// nil.
func (r *Repository) RemoteDefaultBranch(ctx context.Context, remote string, cred *Credential) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ep, err := r.endpoint(remote, cred)
	if err != nil {
		return "", fmt.Errorf("asking for the default branch: %w", err)
	}
	branch, err := ep.defaultBranch(ctx)
	if err != nil {
		return "", ep.fail(fmt.Sprintf("asking %s (%s) for its default branch", remote, ep.url), err)
	}
	return branch, nil
}

// Export writes the tree of commit (a hash or any revision go-git
// resolves) into dir as plain files, without .git: dir must not exist or
// be empty. Files keep their executable bit (within the umask) and
// symbolic links stay links, except those that lead out of dir, directly
// or through other links of the tree: they are neither followed nor
// created. Submodules become empty directories. The work tree, the index
// and HEAD are not touched. When the export fails, dir is left as it was.
func (r *Repository) Export(ctx context.Context, commit, dir string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commit(commit)
	if err != nil {
		return fmt.Errorf("exporting %s: %w", commit, err)
	}
	abs, cleanup, err := prepareDir(dir)
	if err != nil {
		return fmt.Errorf("exporting %s into %s: %w", commit, dir, err)
	}
	if err := r.materialize(ctx, c, abs, true); err != nil {
		if cErr := cleanup(); cErr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up %s: %w", dir, cErr))
		}
		return fmt.Errorf("exporting %s into %s: %w", commit, dir, err)
	}
	return nil
}

// commit resolves a revision to its commit.
func (r *Repository) commit(rev string) (*object.Commit, error) {
	if rev == "" {
		return nil, errors.New("no commit given")
	}
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("resolving revision %s: %w", rev, err)
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", rev, err)
	}
	return c, nil
}

// remoteTrackingRef is refs/remotes/<remote>/<branch>.
func remoteTrackingRef(remote, branch string) plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName(remote, branch)
}

// fetchDepth is the depth of fetches from ep: one commit in a shallow
// clone, so that go-git tells the server which commits it lacks the
// parents of; the whole history otherwise.
func (r *Repository) fetchDepth(ep *endpoint) int {
	if ep.dir != "" {
		return 0
	}
	if shallow, err := r.repo.Storer.Shallow(); err == nil && len(shallow) > 0 {
		return shallowDepth
	}
	return 0
}

// isLocalPath reports whether a remote URL is a path rather than a URL or
// an scp-like ssh address.
func isLocalPath(rawURL string) bool {
	ep, err := transport.NewEndpoint(rawURL)
	return err == nil && ep.Protocol == "file" && !strings.HasPrefix(rawURL, "file://")
}

// endpoint is a remote resolved for one operation.
type endpoint struct {
	remote *gogit.Remote
	url    string // redacted, for errors
	// dir is the repository's directory for a remote on the local disk,
	// which is read in-process; "" for a remote reached through a
	// transport.
	dir     string
	auth    transport.AuthMethod
	user    string // HTTP user name sent, "" when none
	secrets []string
}

// endpoint resolves a configured remote and the authentication to use
// with it.
func (r *Repository) endpoint(remote string, cred *Credential) (*endpoint, error) {
	rem, err := r.repo.Remote(remote)
	if errors.Is(err, gogit.ErrRemoteNotFound) {
		return nil, fmt.Errorf("remote %q is not configured: add it with `git remote add %s <url>`", remote, remote)
	}
	if err != nil {
		return nil, fmt.Errorf("reading remote %s: %w", remote, err)
	}
	urls := rem.Config().URLs
	if len(urls) == 0 {
		return nil, fmt.Errorf("remote %s has no URL", remote)
	}
	rawURL := urls[0]
	ep := &endpoint{remote: rem, url: redactURL(rawURL)}
	tep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		// go-git's message repeats the URL, which may hold a password.
		return nil, fmt.Errorf("remote %s has an invalid URL: %s", remote, ep.url)
	}
	ep.secrets = []string{tep.Password}
	ep.user = tep.User
	if cred != nil {
		ep.secrets = append(ep.secrets, cred.Password)
	}
	switch tep.Protocol {
	case "file":
		ep.dir = filepath.FromSlash(tep.Path)
		if !strings.HasPrefix(rawURL, "file://") && !filepath.IsAbs(rawURL) {
			ep.dir = filepath.Join(r.root, rawURL) // as Push does
		}
	case "http", "https":
		if cred != nil {
			ep.auth = &githttp.BasicAuth{Username: cred.username(), Password: cred.Password}
			ep.user = cred.username()
		}
	}
	return ep, nil
}

// openLocal opens the repository of a remote on the local disk.
func (ep *endpoint) openLocal() (*gogit.Repository, error) {
	src, err := gogit.PlainOpen(ep.dir)
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%s is %w", ep.dir, ErrNotRepository)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ep.dir, err)
	}
	return src, nil
}

// list returns the remote's references, HEAD included (as a symbolic
// reference when the remote says which branch it names); none for an
// empty repository.
func (ep *endpoint) list(ctx context.Context) ([]*plumbing.Reference, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ep.dir == "" {
		refs, err := ep.remote.ListContext(ctx, &gogit.ListOptions{Auth: ep.auth})
		if errors.Is(err, transport.ErrEmptyRemoteRepository) {
			return nil, nil
		}
		return refs, canceled(ctx, err)
	}
	src, err := ep.openLocal()
	if err != nil {
		return nil, err
	}
	iter, err := src.Storer.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("listing the references of %s: %w", ep.dir, err)
	}
	var refs []*plumbing.Reference
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.SymbolicReference && ref.Name() != plumbing.HEAD {
			resolved, err := storer.ResolveReference(src.Storer, ref.Name())
			if err != nil {
				return nil // dangling, as git ls-remote leaves it out
			}
			ref = plumbing.NewHashReference(ref.Name(), resolved.Hash())
		}
		refs = append(refs, ref)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the references of %s: %w", ep.dir, err)
	}
	return refs, nil
}

// defaultBranch returns the branch the remote's HEAD names.
func (ep *endpoint) defaultBranch(ctx context.Context) (string, error) {
	refs, err := ep.list(ctx)
	if err != nil {
		return "", err
	}
	var head *plumbing.Reference
	branches := map[plumbing.ReferenceName]plumbing.Hash{}
	for _, ref := range refs {
		switch {
		case ref.Name() == plumbing.HEAD:
			head = ref
		case ref.Name().IsBranch() && ref.Type() == plumbing.HashReference:
			branches[ref.Name()] = ref.Hash()
		}
	}
	if len(branches) == 0 {
		return "", fmt.Errorf("%w: the repository has no branch yet: push a first commit", transport.ErrEmptyRemoteRepository)
	}
	if head == nil {
		return "", errors.New("the remote does not say which branch is its default: its HEAD is missing")
	}
	if head.Type() == plumbing.SymbolicReference {
		if _, ok := branches[head.Target()]; !ok {
			return "", fmt.Errorf("the remote's default branch %s has no commit", head.Target().Short())
		}
		return head.Target().Short(), nil
	}
	// An old server does not name HEAD's branch: take the branch HEAD
	// points to, main or master first, as git does.
	var candidates []string
	for name, h := range branches {
		if h == head.Hash() {
			candidates = append(candidates, name.Short())
		}
	}
	sort.Strings(candidates)
	for _, pref := range []string{defaultBranch, "master"} {
		for _, c := range candidates {
			if c == pref {
				return c, nil
			}
		}
	}
	if len(candidates) > 0 {
		return candidates[0], nil
	}
	return "", errors.New("the remote's HEAD is detached: it names no branch to check out")
}

// fetch copies the commit ref names on the remote, with what it reaches
// (up to depth commits when not zero), points the local reference local
// to it, whatever it held, and returns it.
func (r *Repository) fetch(ctx context.Context, ep *endpoint, ref, local plumbing.ReferenceName, depth int) (plumbing.Hash, error) {
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	if ep.dir != "" {
		src, err := ep.openLocal()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		tip, err := src.Reference(ref, true)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return plumbing.ZeroHash, fmt.Errorf("%w: %s", ErrRemoteRefNotFound, ref)
		}
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading %s in %s: %w", ref, ep.dir, err)
		}
		if err := copyObjects(ctx, src.Storer, r.repo.Storer, tip.Hash()); err != nil {
			return plumbing.ZeroHash, err
		}
		if err := r.repo.Storer.SetReference(plumbing.NewHashReference(local, tip.Hash())); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("setting %s: %w", local, err)
		}
		return tip.Hash(), nil
	}
	err := ep.remote.FetchContext(ctx, &gogit.FetchOptions{
		RemoteName: ep.remote.Config().Name,
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + ref + ":" + local)},
		Depth:      depth,
		Auth:       ep.auth,
		Tags:       gogit.NoTags,
	})
	switch {
	case errors.Is(err, gogit.NoMatchingRefSpecError{}):
		return plumbing.ZeroHash, fmt.Errorf("%w: %s", ErrRemoteRefNotFound, ref)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return plumbing.ZeroHash, fmt.Errorf("%w: %s: the repository has no commit yet", ErrRemoteRefNotFound, ref)
	case err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate):
		return plumbing.ZeroHash, canceled(ctx, err)
	}
	tip, err := r.repo.Storer.Reference(local)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading %s after the fetch: %w", local, err)
	}
	return tip.Hash(), nil
}

// canceled returns the context's error when it is done: go-git reports
// a request it aborted as an "unexpected client error" that does not
// unwrap to it.
func canceled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	return err
}

// fail wraps err, from what was being done with the remote, in an error
// that explains it and holds no password.
func (ep *endpoint) fail(what string, err error) error {
	return &remoteError{what: what, user: ep.user, secrets: ep.secrets, err: err}
}

// remoteError explains a failed clone, fetch, ls-remote or push; its text never
// holds a password. It unwraps to the cause, go-git's transport errors
// (transport.ErrAuthenticationRequired and the like) included.
type remoteError struct {
	what    string // what was being done, with the redacted URL
	access  string // what the credentials must allow: "read" (the default) or "push to"
	user    string // HTTP user name sent, "" when none
	secrets []string
	err     error
}

func (e *remoteError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	var hint string
	switch {
	case errors.Is(e.err, transport.ErrAuthenticationRequired) && e.user == "":
		hint = "the remote requires credentials and none were given: "
	case errors.Is(e.err, transport.ErrAuthenticationRequired):
		hint = fmt.Sprintf("the remote refused the credentials of %s: check that the token is valid: ", e.user)
	case errors.Is(e.err, transport.ErrAuthorizationFailed):
		hint = fmt.Sprintf("the credentials of %s may not %s this repository: ", e.user, cmp.Or(e.access, "read"))
	case errors.Is(e.err, ErrNonFastForward) || strings.Contains(msg, "non-fast-forward"):
		hint = "the remote branch has commits the local one does not: someone changed it; delete the remote branch or start again from it: "
	case errors.Is(e.err, transport.ErrRepositoryNotFound):
		hint = "the repository does not exist, or the credentials may not see it: "
	}
	return fmt.Sprintf("%s: %s%s", e.what, hint, msg)
}

func (e *remoteError) Unwrap() error { return e.err }

// prepareDir makes sure dir is an empty directory, creating it when it
// does not exist, and returns its absolute path and a function that
// undoes whatever was written into it since.
func prepareDir(dir string) (string, func() error, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, fmt.Errorf("resolving %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o777); err != nil {
			return "", nil, err
		}
		return abs, func() error { return os.RemoveAll(abs) }, nil
	case err != nil:
		return "", nil, err
	case len(entries) > 0:
		return "", nil, fmt.Errorf("%s is not empty: use a new or empty directory", dir)
	}
	return abs, func() error {
		entries, err := os.ReadDir(abs)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			errs = append(errs, os.RemoveAll(filepath.Join(abs, e.Name())))
		}
		return errors.Join(errs...)
	}, nil
}

// checkout makes the work tree and the index exactly the tree of commit
// tip, then points refs/heads/<branch> to tip and HEAD to that branch.
func (r *Repository) checkout(ctx context.Context, tip plumbing.Hash, branch string) error {
	c, err := r.repo.CommitObject(tip)
	if err != nil {
		return fmt.Errorf("reading commit %s: %w", short(tip.String()), err)
	}
	if err := r.materialize(ctx, c, r.root, false); err != nil {
		return err
	}
	refName := plumbing.NewBranchReferenceName(branch)
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(refName, tip)); err != nil {
		return fmt.Errorf("setting branch %s: %w", branch, err)
	}
	if err := r.repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, refName)); err != nil {
		return fmt.Errorf("setting HEAD: %w", err)
	}
	return nil
}

// materialize writes the tree of commit c into dir. For an export, dir is
// empty and symbolic links that lead out of it are skipped; otherwise dir
// is the work tree: everything the tree lacks is deleted (but .git) and
// the index is written to match.
func (r *Repository) materialize(ctx context.Context, c *object.Commit, dir string, export bool) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	m := &materializer{ctx: ctx, s: r.repo.Storer, root: root, export: export, commit: short(c.Hash.String())}
	if !export {
		// The previous index says which files are already right; an
		// unreadable one only costs rewriting them.
		if idx, err := r.repo.Storer.Index(); err == nil {
			m.old = make(map[string]*index.Entry, len(idx.Entries))
			for _, e := range idx.Entries {
				if e.Stage == 0 {
					m.old[e.Name] = e
				}
			}
			m.oldTime = idx.ModTime
		}
	}
	if err := m.writeTree("", c.TreeHash); err != nil {
		return err
	}
	if err := m.writeLinks(); err != nil {
		return err
	}
	if export {
		return nil
	}
	sort.Slice(m.entries, func(i, j int) bool { return m.entries[i].Name < m.entries[j].Name })
	if err := r.repo.Storer.SetIndex(&index.Index{Version: 2, Entries: m.entries}); err != nil {
		return fmt.Errorf("writing the index: %w", err)
	}
	return nil
}

// materializer writes a tree into a directory through an os.Root, so
// that nothing is ever written through a symbolic link out of it.
type materializer struct {
	ctx     context.Context
	s       storer.EncodedObjectStorer
	root    *os.Root
	export  bool
	commit  string                  // short hash, for errors
	old     map[string]*index.Entry // the previous index by path
	oldTime time.Time               // when the previous index was written
	entries []*index.Entry          // the new index
	links   []treeLink              // created last, once all are known
	targets map[string]string       // every symbolic link of the tree by path
}

type treeLink struct {
	path, target string
	hash         plumbing.Hash
}

// writeTree writes the tree h into the directory at prefix (slash path,
// "" for the root), which exists, removing what does not belong there.
func (m *materializer) writeTree(prefix string, h plumbing.Hash) error {
	if err := m.ctx.Err(); err != nil {
		return err
	}
	t, err := object.GetTree(m.s, h)
	if err != nil {
		return fmt.Errorf("reading tree %s: %w", displayDir(prefix), err)
	}
	want := make(map[string]object.TreeEntry, len(t.Entries))
	for _, e := range t.Entries {
		if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, "/\x00") || strings.EqualFold(e.Name, ".git") {
			return fmt.Errorf("commit %s has an invalid path %q in %s: git refuses to check it out", m.commit, e.Name, displayDir(prefix))
		}
		want[e.Name] = e
	}
	if err := m.clean(prefix, want); err != nil {
		return err
	}
	for _, e := range t.Entries {
		if err := m.ctx.Err(); err != nil {
			return err
		}
		p := prefix + e.Name
		switch e.Mode {
		case filemode.Dir:
			if err := m.root.Mkdir(p, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("creating directory %s: %w", p, err)
			}
			if err := m.writeTree(p+"/", e.Hash); err != nil {
				return err
			}
		case filemode.Submodule:
			// Like an uninitialized submodule: an empty directory.
			if err := m.root.RemoveAll(p); err != nil {
				return fmt.Errorf("removing %s: %w", p, err)
			}
			if err := m.root.Mkdir(p, 0o777); err != nil {
				return fmt.Errorf("creating directory %s: %w", p, err)
			}
			m.entries = append(m.entries, &index.Entry{Name: p, Hash: e.Hash, Mode: filemode.Submodule})
		case filemode.Symlink:
			target, err := m.readBlob(e.Hash, p)
			if err != nil {
				return err
			}
			if m.targets == nil {
				m.targets = map[string]string{}
			}
			m.targets[p] = string(target)
			m.links = append(m.links, treeLink{path: p, target: string(target), hash: e.Hash})
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			if err := m.writeFile(p, e.Hash, normalMode(e.Mode)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("commit %s has %s with unknown mode %o", m.commit, p, uint32(e.Mode))
		}
	}
	return nil
}

// clean removes the entries of the directory at prefix that the tree
// does not have, or has as another kind of file. The .git of the work
// tree stays.
func (m *materializer) clean(prefix string, want map[string]object.TreeEntry) error {
	name := strings.TrimSuffix(prefix, "/")
	if name == "" {
		name = "."
	}
	f, err := m.root.Open(name)
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", displayDir(prefix), err)
	}
	existing, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", displayDir(prefix), err)
	}
	for _, de := range existing {
		if prefix == "" && de.Name() == gogit.GitDirName && !m.export {
			continue
		}
		e, ok := want[de.Name()]
		var fits bool
		switch t := de.Type(); {
		case !ok:
		case e.Mode == filemode.Dir || e.Mode == filemode.Submodule:
			fits = t.IsDir()
		case e.Mode == filemode.Symlink:
			fits = t&fs.ModeSymlink != 0
		default:
			fits = t.IsRegular()
		}
		if fits {
			continue
		}
		if err := m.root.RemoveAll(prefix + de.Name()); err != nil {
			return fmt.Errorf("removing %s: %w", prefix+de.Name(), err)
		}
	}
	return nil
}

// writeFile writes the blob h at p with mode, unless the file there
// already holds it: the previous index says so when the file's metadata
// has not changed since, and otherwise its content is compared.
func (m *materializer) writeFile(p string, h plumbing.Hash, mode filemode.FileMode) error {
	if fi, err := m.root.Lstat(p); err == nil && fi.Mode().IsRegular() && worktreeMode(fi, mode, true) == mode {
		old := m.old[p]
		if old != nil && old.Hash == h && old.Mode == mode &&
			uint32(fi.Size()) == old.Size && sameTime(fi, old) && old.ModifiedAt.Before(m.oldTime) {
			m.add(p, h, mode, fi)
			return nil
		}
		same, err := m.holds(p, fi.Size(), h)
		if err != nil {
			return err
		}
		if same {
			m.add(p, h, mode, fi)
			return nil
		}
	}
	// A new file rather than writing into the old one, which could be a
	// hard link to a file elsewhere.
	if err := m.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", p, err)
	}
	perm := os.FileMode(0o666)
	if mode == filemode.Executable {
		perm = 0o777
	}
	blob, err := object.GetBlob(m.s, h)
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	rd, err := blob.Reader()
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	defer rd.Close()
	f, err := m.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	_, err = io.Copy(f, rd)
	if cErr := f.Close(); err == nil {
		err = cErr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if !m.export {
		fi, err := m.root.Lstat(p)
		if err != nil {
			return fmt.Errorf("checking %s: %w", p, err)
		}
		m.add(p, h, mode, fi)
	}
	return nil
}

// writeLinks creates the symbolic links of the tree; an export skips
// those that lead out of the directory.
func (m *materializer) writeLinks() error {
	for _, l := range m.links {
		if err := m.ctx.Err(); err != nil {
			return err
		}
		if m.export {
			if !linkStaysInside(m.targets, l.path) {
				continue
			}
		} else if fi, err := m.root.Lstat(l.path); err == nil {
			if cur, err := m.root.Readlink(l.path); err == nil && cur == l.target {
				m.add(l.path, l.hash, filemode.Symlink, fi)
				continue
			}
			if err := m.root.Remove(l.path); err != nil {
				return fmt.Errorf("removing %s: %w", l.path, err)
			}
		}
		if err := m.root.Symlink(l.target, l.path); err != nil {
			return fmt.Errorf("creating link %s: %w", l.path, err)
		}
		if !m.export {
			fi, err := m.root.Lstat(l.path)
			if err != nil {
				return fmt.Errorf("checking %s: %w", l.path, err)
			}
			m.add(l.path, l.hash, filemode.Symlink, fi)
		}
	}
	return nil
}

// holds reports whether the file at p, of size bytes, is the blob h.
func (m *materializer) holds(p string, size int64, h plumbing.Hash) (bool, error) {
	obj, err := m.s.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", p, err)
	}
	if obj.Size() != size {
		return false, nil
	}
	f, err := m.root.Open(p)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	hasher := plumbing.NewHasher(plumbing.BlobObject, size)
	if _, err := io.Copy(hasher, f); err != nil {
		return false, fmt.Errorf("reading %s: %w", p, err)
	}
	return hasher.Sum() == h, nil
}

func (m *materializer) readBlob(h plumbing.Hash, p string) ([]byte, error) {
	blob, err := object.GetBlob(m.s, h)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	rd, err := blob.Reader()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return b, nil
}

func (m *materializer) add(p string, h plumbing.Hash, mode filemode.FileMode, fi fs.FileInfo) {
	m.entries = append(m.entries, &index.Entry{Name: p, Hash: h, Mode: mode, ModifiedAt: fi.ModTime(), Size: uint32(fi.Size())})
}

// maxLinkHops bounds how many symbolic links resolving one may follow,
// as the kernel does.
const maxLinkHops = 40

// linkStaysInside reports whether the symbolic link at link (a slash path
// relative to the root) resolves to a path inside the root, following
// the other links of the tree (links, by path) on the way. A target that
// does not exist counts as inside: nothing would be created out of the
// root by following it.
func linkStaysInside(links map[string]string, link string) bool {
	var cur []string // the directory resolved so far
	if d := path.Dir(link); d != "." {
		cur = strings.Split(d, "/")
	}
	rest := splitTarget(links[link])
	if rest == nil {
		return false
	}
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return false
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := strings.Join(append(cur[:len(cur):len(cur)], part), "/")
		target, isLink := links[next]
		if !isLink {
			cur = append(cur, part)
			continue
		}
		if hops++; hops > maxLinkHops {
			return false
		}
		more := splitTarget(target)
		if more == nil {
			return false
		}
		rest = append(more, rest...)
	}
	return true
}

// splitTarget splits a link target into its parts; nil for an absolute
// or empty target, which never stays inside.
func splitTarget(target string) []string {
	if target == "" || strings.HasPrefix(target, "/") || filepath.IsAbs(target) || filepath.VolumeName(target) != "" {
		return nil
	}
	return strings.Split(target, "/")
}
