package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

// ReleasePoller keeps a release catalog in step with where the releases
// come from — a releases directory, or a git repository that holds one —
// by polling it with a cheap change check, and reports each release that
// appears. A reload that fails, or that brings problems the catalog in
// force did not have (a broken release.yaml, a bad ConfigMap), is not
// adopted: the last good catalog stays in force until the files are
// fixed. Its methods may be called from several goroutines.
type ReleasePoller struct {
	source releaseSource
	log    *slog.Logger

	catalog atomic.Pointer[releases.Catalog]

	mu       sync.Mutex      // one Poll at a time
	mark     string          // what the source held at the last reload, adopted or not
	seen     map[string]bool // "provider/version" of every release adopted so far
	problems map[string]bool // the warnings of the catalog in force
}

// releaseSource is where a ReleasePoller reads releases.
type releaseSource interface {
	// check tells cheaply what the source holds now: a mark that changes
	// when its content may have.
	check(ctx context.Context) (string, error)
	// load brings the content up to mark (or newer) and loads it. It
	// returns the mark of the content it loaded even when loading it
	// failed, or "" when it could not get the content (to try again).
	load(ctx context.Context, mark string) (*releases.Catalog, string, error)
	// where names the release directory dir (of the catalog) in logs.
	where(dir string) string
	// attrs describe the source in logs.
	attrs() []any
}

// ReleaseProblemsError is a reload that was not adopted because it has
// problems the catalog in force does not have.
type ReleaseProblemsError struct {
	// Problems are the new ones, "path:line: message".
	Problems []string
}

func (e *ReleaseProblemsError) Error() string {
	return fmt.Sprintf("the releases changed, with %d new problems; the last catalog stays in force: %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// NewDirReleasePoller loads the releases directory dir; its Poll reloads
// it when releases.Fingerprint changes.
func NewDirReleasePoller(ctx context.Context, dir string, log *slog.Logger) (*ReleasePoller, error) {
	return newReleasePoller(ctx, &dirSource{dir: dir}, log)
}

// GitReleases is a git repository that holds releases, for
// NewGitReleasePoller.
type GitReleases struct {
	// URL is the repository: https://, http:// or file://.
	URL string
	// Branch is the branch to follow; the remote's default branch when
	// empty.
	Branch string
	// Subdir is the releases directory inside the repository,
	// slash-separated; the repository's root when empty.
	Subdir string
	// Workdir is where the clone is kept, in a directory named after URL.
	Workdir string
	// Credential is sent over HTTP(S) when not nil.
	Credential *git.Credential
}

// NewGitReleasePoller clones the repository (or reuses the clone a
// previous run left in the workdir), checks out the branch and loads its
// releases; its Poll asks the remote for the branch's tip — one small
// request, like a conditional GET — and fetches and reloads only when the
// tip moved.
func NewGitReleasePoller(ctx context.Context, g GitReleases, log *slog.Logger) (*ReleasePoller, error) {
	subdir, err := cleanSubdir(g.Subdir)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(g.URL))
	dir, err := filepath.Abs(filepath.Join(g.Workdir, "releases", hex.EncodeToString(sum[:8])))
	if err != nil {
		return nil, fmt.Errorf("resolving the workdir: %w", err)
	}
	src := &gitSource{url: redact(g.URL), branch: g.Branch, subdir: subdir, cred: g.Credential}
	reused := false
	if r, err := git.Open(dir); err == nil && r.Root() == dir {
		src.repo, reused = r, true
	} else if src.repo, err = cloneReleases(ctx, g.URL, dir, g.Credential); err != nil {
		return nil, err
	}
	if src.branch == "" {
		if src.branch, err = src.repo.RemoteDefaultBranch(ctx, "origin", g.Credential); err != nil {
			return nil, fmt.Errorf("finding the default branch of the releases repository: %w", err)
		}
	}
	p, err := newReleasePoller(ctx, src, log)
	if err != nil && reused && ctx.Err() == nil {
		// The clone a previous run left may be broken: start afresh.
		orDiscard(log).Warn("the releases repository's clone could not be used; cloning again", "repository", src.url, "error", err)
		if src.repo, err = cloneReleases(ctx, g.URL, dir, g.Credential); err != nil {
			return nil, err
		}
		p, err = newReleasePoller(ctx, src, log)
	}
	return p, err
}

func cloneReleases(ctx context.Context, rawURL, dir string, cred *git.Credential) (*git.Repository, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("removing the old clone of the releases repository: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("making the releases repository's directory: %w", err)
	}
	r, err := git.Clone(ctx, rawURL, dir, cred)
	if err != nil {
		return nil, fmt.Errorf("cloning the releases repository: %w", err)
	}
	return r, nil
}

// cleanSubdir checks a directory inside a repository.
func cleanSubdir(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	c := path.Clean(strings.ReplaceAll(s, `\`, "/"))
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("the releases subdirectory %q must be a relative path inside the repository", s)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

// shortCommit is a commit hash cut to 12 digits, for messages.
func shortCommit(h string) string { return h[:min(len(h), 12)] }

// redact hides the password of a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(URL not shown)"
	}
	return u.Redacted()
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

func newReleasePoller(ctx context.Context, src releaseSource, log *slog.Logger) (*ReleasePoller, error) {
	mark, err := src.check(ctx)
	if err != nil {
		return nil, err
	}
	c, loaded, err := src.load(ctx, mark)
	if err != nil {
		return nil, err
	}
	p := &ReleasePoller{source: src, log: orDiscard(log), mark: loaded, seen: map[string]bool{}}
	p.adopt(c)
	p.log.Info("read the releases", append(src.attrs(), "providers", strings.Join(c.Providers(), ","), "releases", len(p.seen))...)
	return p, nil
}

// Catalog is the catalog in force.
func (p *ReleasePoller) Catalog() *releases.Catalog { return p.catalog.Load() }

// Poll checks the source once and reloads it when it changed. It returns
// the releases the new catalog holds that no catalog in force held
// before — each is reported once, archived ones are not reported — or a
// *ReleaseProblemsError when the reload was not adopted.
func (p *ReleasePoller) Poll(ctx context.Context) ([]releases.NewRelease, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	mark, err := p.source.check(ctx)
	if err != nil {
		return nil, err
	}
	if mark == p.mark {
		return nil, nil
	}
	c, loaded, err := p.source.load(ctx, mark)
	if loaded != "" {
		p.mark = loaded // a broken state is reported once, not at every poll
	}
	if err != nil {
		return nil, err
	}
	var fresh []string
	for _, w := range c.Warnings() {
		if !p.problems[w] {
			fresh = append(fresh, w)
		}
	}
	if len(fresh) > 0 {
		return nil, &ReleaseProblemsError{Problems: fresh}
	}
	return p.adopt(c), nil
}

// adopt puts c in force and returns its releases not seen before.
func (p *ReleasePoller) adopt(c *releases.Catalog) []releases.NewRelease {
	first := p.catalog.Load() == nil
	p.catalog.Store(c)
	p.problems = map[string]bool{}
	for _, w := range c.Warnings() {
		p.problems[w] = true
	}
	var added []releases.NewRelease
	for _, provider := range c.Providers() {
		for _, r := range c.List(provider) {
			key := provider + "/" + r.Version.String()
			if p.seen[key] {
				continue
			}
			p.seen[key] = true
			if !first && !r.Archived {
				added = append(added, releases.NewRelease{Provider: provider, Version: r.Version.String(), Source: p.source.where(r.Dir)})
			}
		}
	}
	return added
}

// Run polls every interval until ctx ends, calling onNew for each new
// release; problems are logged, and the last good catalog stays in force.
// An interval of 0 or less polls never.
func (p *ReleasePoller) Run(ctx context.Context, interval time.Duration, onNew func(releases.NewRelease)) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ctx.Err() == nil {
			p.step(ctx, onNew)
		}
	}
}

// step is one poll of Run: it logs what it found and calls onNew.
func (p *ReleasePoller) step(ctx context.Context, onNew func(releases.NewRelease)) {
	added, err := p.Poll(ctx)
	var pe *ReleaseProblemsError
	switch {
	case ctx.Err() != nil:
		return
	case errors.As(err, &pe):
		for _, problem := range pe.Problems {
			p.log.Error("the releases changed with a problem; the last catalog stays in force", append(p.source.attrs(), "problem", problem)...)
		}
	case err != nil:
		p.log.Warn("polling the releases; the last catalog stays in force", append(p.source.attrs(), "error", err)...)
	}
	for _, r := range added {
		p.log.Info("a new release appeared", append(p.source.attrs(), "provider", r.Provider, "version", r.Version, "source", r.Source)...)
		onNew(r)
	}
}

// dirSource is a releases directory.
type dirSource struct{ dir string }

func (s *dirSource) check(ctx context.Context) (string, error) {
	fp, err := releases.Fingerprint(ctx, s.dir)
	if err != nil {
		return "", fmt.Errorf("checking the releases directory for changes: %w", err)
	}
	return fp, nil
}

func (s *dirSource) load(ctx context.Context, mark string) (*releases.Catalog, string, error) {
	c, err := releases.Load(ctx, s.dir)
	if err != nil {
		return nil, mark, fmt.Errorf("reading the releases directory %s: %w", s.dir, err)
	}
	return c, mark, nil
}

func (s *dirSource) where(dir string) string {
	return filepath.Join(s.dir, filepath.FromSlash(dir), "release.yaml")
}

func (s *dirSource) attrs() []any { return []any{"releases", s.dir} }

// gitSource is a branch of a git repository.
type gitSource struct {
	repo           *git.Repository
	url            string // redacted
	branch, subdir string
	cred           *git.Credential
}

func (s *gitSource) check(ctx context.Context) (string, error) {
	tip, ok, err := s.repo.RemoteBranch(ctx, "origin", s.branch, s.cred)
	if err != nil {
		return "", fmt.Errorf("checking the releases repository for changes: %w", err)
	}
	if !ok {
		return "", fmt.Errorf("checking the releases repository for changes: %s has no branch %s", s.url, s.branch)
	}
	return tip, nil
}

func (s *gitSource) load(ctx context.Context, _ string) (*releases.Catalog, string, error) {
	head, err := s.repo.Sync(ctx, "origin", s.branch, s.cred)
	if err != nil {
		return nil, "", fmt.Errorf("fetching the releases repository: %w", err)
	}
	dir := filepath.Join(s.repo.Root(), filepath.FromSlash(s.subdir))
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, head, fmt.Errorf("reading the releases: %s has no directory %q on %s at %s", s.url, s.subdir, s.branch, shortCommit(head))
	}
	// Paths in warnings are those inside the releases directory.
	c, err := releases.LoadFS(ctx, os.DirFS(dir))
	if err != nil {
		return nil, head, fmt.Errorf("reading the releases of %s at %s: %w", s.url, shortCommit(head), err)
	}
	return c, head, nil
}

func (s *gitSource) where(dir string) string {
	return path.Join(s.subdir, dir, "release.yaml")
}

func (s *gitSource) attrs() []any {
	_, commit, _ := s.repo.Head()
	return []any{"repository", s.url, "branch", s.branch, "subdir", s.subdir, "commit", shortCommit(commit)}
}
