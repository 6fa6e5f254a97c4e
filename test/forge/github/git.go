package githubfake

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-github/v89/github"
)

// serveGit serves "/git/<owner>/<name>.git/..." from the bare
// repositories. A push updates the pull requests whose head it moved, and
// delivers their "synchronize" webhooks, as GitHub does.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	req := r.Clone(r.Context())
	req.URL.Path, req.URL.RawPath = strings.TrimPrefix(r.URL.Path, "/git"), ""
	s.git.ServeHTTP(w, req)
	if r.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, ".git/git-receive-pack") {
		return
	}
	name := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/"), ".git/git-receive-pack")
	_, password, _ := r.BasicAuth()
	var events []event
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		rp, ok := s.repos[strings.ToLower(name)]
		pusher := s.tokenUser(password)
		if !ok || pusher == nil {
			return
		}
		events = s.afterPush(r.Context(), rp, pusher)
	}()
	for _, e := range events {
		s.hooks.Go(func() { s.deliver(e) })
	}
}

// afterPush moves the heads of the open pull requests from rp. s.mu is
// held.
func (s *Server) afterPush(ctx context.Context, rp *repo, pusher *user) []event {
	rp.pushed = s.clock()
	var events []event
	for _, base := range s.repos {
		for _, i := range base.issues {
			p := i.pull
			if p == nil || i.state != "open" || p.headRepo != rp {
				continue
			}
			sha, ok := s.revParse(ctx, rp, "refs/heads/"+p.head)
			if !ok || sha == p.headSHA {
				continue
			}
			if err := s.setPullRef(ctx, i, sha); err != nil {
				s.t.Errorf("github fake: updating the head of %s#%d: %v", base.fullName(), i.number, err)
				continue
			}
			before := p.headSHA
			p.headSHA = sha
			if b, ok := s.revParse(ctx, base, "refs/heads/"+p.base); ok {
				p.baseSHA = b
			}
			s.pullStats(ctx, i)
			i.updated = s.clock()
			e := s.pullEvent(i, "synchronize", pusher)
			payload := e.payload.(*github.PullRequestEvent)
			payload.Before, payload.After = github.Ptr(before), github.Ptr(sha)
			events = append(events, e)
		}
	}
	return events
}

// gitIn runs git in a bare repository and returns its output.
func (s *Server) gitIn(ctx context.Context, rp *repo, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = s.git.Path(rp.fullName())
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+s.git.Root, "XDG_CONFIG_HOME="+s.git.Root,
		"GIT_AUTHOR_NAME=GitHub", "GIT_AUTHOR_EMAIL=noreply@github.com",
		"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// revParse is the commit a ref points at, if it exists.
func (s *Server) revParse(ctx context.Context, rp *repo, ref string) (string, bool) {
	sha, err := s.gitIn(ctx, rp, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	return sha, err == nil && sha != ""
}

// setPullRef points refs/pull/<n>/head of the base repository at sha,
// fetching it from a fork when the head lives there.
func (s *Server) setPullRef(ctx context.Context, i *issue, sha string) error {
	ref := fmt.Sprintf("refs/pull/%d/head", i.number)
	if i.pull.headRepo == i.repo {
		_, err := s.gitIn(ctx, i.repo, "update-ref", ref, sha)
		return err
	}
	_, err := s.gitIn(ctx, i.repo, "fetch", "--quiet", s.git.Path(i.pull.headRepo.fullName()), "+refs/heads/"+i.pull.head+":"+ref)
	if err != nil {
		return err
	}
	_, err = s.gitIn(ctx, i.repo, "update-ref", ref, sha)
	return err
}

// pullStats counts a pull request's commits and changed lines.
func (s *Server) pullStats(ctx context.Context, i *issue) {
	p := i.pull
	if n, err := s.gitIn(ctx, i.repo, "rev-list", "--count", p.baseSHA+".."+p.headSHA); err == nil {
		p.commits, _ = strconv.Atoi(n)
	}
	out, err := s.gitIn(ctx, i.repo, "diff", "--numstat", p.baseSHA+"..."+p.headSHA)
	if err != nil {
		return
	}
	p.additions, p.deletions, p.changedFiles = 0, 0, 0
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		a, _ := strconv.Atoi(f[0])
		d, _ := strconv.Atoi(f[1])
		p.additions += a
		p.deletions += d
		p.changedFiles++
	}
}

// openPull opens a pull request from head ("branch", or "owner:branch" for
// a fork) into base. It returns nil and GitHub's message when GitHub would
// refuse. s.mu is held.
func (s *Server) openPull(ctx context.Context, rp *repo, author *user, head, base, title, body string) (*issue, string) {
	headRepo, branch := rp, head
	if owner, b, ok := strings.Cut(head, ":"); ok {
		branch = b
		if !strings.EqualFold(owner, rp.owner.login) {
			fork, ok := s.repos[strings.ToLower(owner+"/"+rp.name)]
			if !ok {
				return nil, fmt.Sprintf("head %s: %s has no fork of %s", head, owner, rp.fullName())
			}
			headRepo = fork
		}
	}
	headSHA, ok := s.revParse(ctx, headRepo, "refs/heads/"+branch)
	if !ok {
		return nil, fmt.Sprintf("head %s: no such branch", head)
	}
	baseSHA, ok := s.revParse(ctx, rp, "refs/heads/"+base)
	if !ok {
		return nil, fmt.Sprintf("base %s: no such branch", base)
	}
	for _, i := range rp.issues {
		if i.pull != nil && i.state == "open" && i.pull.headRepo == headRepo && i.pull.head == branch && i.pull.base == base {
			return nil, fmt.Sprintf("A pull request already exists for %s:%s.", headRepo.owner.login, branch)
		}
	}
	rp.nextNumber++
	now := s.clock()
	i := &issue{
		id: s.id(), repo: rp, number: rp.nextNumber, title: title, body: body, user: author,
		state: "open", created: now, updated: now,
		pull: &pull{head: branch, base: base, headRepo: headRepo, headSHA: headSHA, baseSHA: baseSHA},
	}
	if err := s.setPullRef(ctx, i, headSHA); err != nil {
		rp.nextNumber--
		return nil, "head: " + err.Error()
	}
	s.pullStats(ctx, i)
	if i.pull.commits == 0 {
		_, _ = s.gitIn(ctx, rp, "update-ref", "-d", fmt.Sprintf("refs/pull/%d/head", i.number))
		rp.nextNumber--
		return nil, fmt.Sprintf("No commits between %s and %s", base, head)
	}
	rp.issues[i.number] = i
	return i, ""
}

// CreateRepo creates the repository name ("owner/name") whose default
// branch "main" holds the files of dir, and returns its commit.
func (s *Server) CreateRepo(ctx context.Context, t testing.TB, name, dir string) string {
	t.Helper()
	sha := s.git.Create(ctx, t, name, dir)
	owner, repoName, ok := strings.Cut(name, "/")
	if !ok {
		t.Fatalf("github fake: repository name %q is not owner/name", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	s.repos[strings.ToLower(name)] = &repo{
		id: s.id(), owner: s.userLocked(owner), name: repoName, defaultBranch: "main",
		created: now, pushed: now, issues: map[int]*issue{}, roles: map[string]string{},
		statuses: map[string][]*commitStatus{}, checkRuns: map[string][]*checkRun{}, protection: map[string]int{},
	}
	return sha
}

// OpenPullRequest opens a pull request as login (a person, typically) from
// head ("branch", or "owner:branch" from a fork created with CreateRepo)
// into base, and delivers the "pull_request" webhook. It returns the
// number.
func (s *Server) OpenPullRequest(ctx context.Context, t testing.TB, repoName, login, head, base, title, body string) int {
	t.Helper()
	var e event
	var number int
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		rp := s.repoLocked(repoName)
		author := s.userLocked(login)
		i, msg := s.openPull(ctx, rp, author, head, base, title, body)
		if i == nil {
			t.Fatalf("github fake: opening a pull request from %s into %s of %s: %s", head, base, repoName, msg)
		}
		number = i.number
		e = s.pullEvent(i, "opened", author)
	}()
	s.deliver(e)
	return number
}

// MergePullRequest merges a pull request as login, with a merge commit
// as GitHub's merge button makes, and delivers the "pull_request" closed
// webhook with merged set.
func (s *Server) MergePullRequest(ctx context.Context, t testing.TB, repoName string, number int, login string) {
	t.Helper()
	var e event
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, i := s.pullLocked(t, repoName, number)
		if i.state != "open" {
			t.Fatalf("github fake: %s has no open pull request #%d", repoName, number)
		}
		merger := s.userLocked(login)
		if _, status, msg := s.merge(ctx, i, merger, "merge", "", ""); status != 0 {
			t.Fatalf("github fake: merging %s#%d: %d %s", repoName, number, status, msg)
		}
		e = s.pullEvent(i, "closed", merger)
	}()
	s.deliver(e)
}
