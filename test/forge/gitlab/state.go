package gitlabfake

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// The fake's records. Ids come from one sequence shared by every kind, so
// that an id used where an iid belongs (or a user id for a project id)
// finds nothing instead of something.
type (
	user struct {
		id       int64
		username string
		bot      bool
		state    string
		created  time.Time
	}
	project struct {
		id       int64
		nsID     int64 // the group's id
		path     string
		created  time.Time
		issues   []*issue
		mrs      []*mergeRequest
		members  map[int64]int // user id → access level
		lastIID  int64         // issues and merge requests each count from 1
		lastMRID int64
		// pipelines are the latest pipeline of each commit.
		pipelines    map[string]*pipeline
		lastPipeline int64
		// approvalsRequired, pipelinesMustSucceed and mergeLevel are the
		// project's merge rules.
		approvalsRequired    int
		pipelinesMustSucceed bool
		mergeLevel           int
	}
	// thread is what issues and merge requests share: notes.
	thread struct {
		id, iid int64
		title   string
		desc    string
		state   string
		author  *user
		created time.Time
		updated time.Time
		closed  time.Time
		notes   []*note
	}
	issue        struct{ thread }
	mergeRequest struct {
		thread
		source, target string
		merged         time.Time
		mergeSHA       string
		approvedBy     []*user
	}
	note struct {
		id      int64
		body    string
		author  *user
		system  bool
		created time.Time
		updated time.Time
		awards  []*award
	}
	award struct {
		id      int64
		name    string
		user    *user
		created time.Time
	}
)

// now is the fake's clock: wall time rounded up to the millisecond (GitLab
// stores milliseconds), and always later than the last change, so that
// "since" queries are exact. Call with s.mu held.
func (s *Server) now() time.Time {
	t := time.Now().UTC()
	if r := t.Truncate(time.Millisecond); r.Before(t) {
		t = r.Add(time.Millisecond)
	}
	if !t.After(s.last) {
		t = s.last.Add(time.Millisecond)
	}
	s.last = t
	return t
}

// nextID is the next id of any kind. Call with s.mu held.
func (s *Server) nextID() int64 {
	s.ids++
	return s.ids
}

// userLocked returns the user named username, creating an active human
// account on first use. Call with s.mu held (or before serving).
func (s *Server) userLocked(username string) *user {
	key := strings.ToLower(username)
	if u, ok := s.users[key]; ok {
		return u
	}
	u := &user{id: s.nextID(), username: username, state: "active", created: s.now()}
	s.users[key] = u
	s.usersByID[u.id] = u
	return u
}

// projectLocked finds a project by path or numeric id. Call with s.mu held.
func (s *Server) projectLocked(ref string) *project {
	if p, ok := s.projects[ref]; ok {
		return p
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return s.byID[id]
	}
	return nil
}

func (s *Server) mustProject(t testing.TB, repo string) *project {
	t.Helper()
	p := s.projectLocked(repo)
	if p == nil {
		t.Fatalf("gitlab fake: no project %s (CreateProject first)", repo)
	}
	return p
}

// threadOf finds an issue or merge request by iid. Call with s.mu held.
func (p *project) threadOf(th vcs.Thread) *thread {
	if th.PullRequest {
		if mr := p.mr(int64(th.Number)); mr != nil {
			return &mr.thread
		}
		return nil
	}
	for _, is := range p.issues {
		if is.iid == int64(th.Number) {
			return &is.thread
		}
	}
	return nil
}

func (p *project) mr(iid int64) *mergeRequest {
	for _, mr := range p.mrs {
		if mr.iid == iid {
			return mr
		}
	}
	return nil
}

func (t *thread) note(id int64) *note {
	for _, n := range t.notes {
		if n.id == id {
			return n
		}
	}
	return nil
}

// CreateProject makes the project repo ("group/name" or
// "group/subgroup/name") whose default branch "main" holds the files of
// dir, and returns that commit.
func (s *Server) CreateProject(ctx context.Context, t testing.TB, repo, dir string) string {
	t.Helper()
	s.mu.Lock()
	_, exists := s.projects[repo]
	s.mu.Unlock()
	if exists {
		t.Fatalf("gitlab fake: project %s exists already", repo)
	}
	if strings.Count(repo, "/") < 1 || strings.HasSuffix(repo, "/") || strings.HasPrefix(repo, "/") {
		t.Fatalf("gitlab fake: project path %q needs a namespace: \"group/name\"", repo)
	}
	sha := s.git.Create(ctx, t, repo, dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &project{nsID: s.nextID(), id: s.nextID(), path: repo, created: s.now(), members: map[int64]int{},
		pipelines: map[string]*pipeline{}, mergeLevel: 40}
	p.members[s.bot.id] = 30
	s.projects[repo] = p
	s.byID[p.id] = p
	return sha
}

// SetAccessLevel gives username the access level in repo (10 Guest, 15
// Planner, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner); 0 removes
// the membership. The bot starts as Developer.
func (s *Server) SetAccessLevel(t testing.TB, repo, username string, level int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(t, repo)
	u := s.userLocked(username)
	if level == 0 {
		delete(p.members, u.id)
		return
	}
	p.members[u.id] = level
}

// SetUserState sets an account's state ("active", "blocked", ...).
func (s *Server) SetUserState(username, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(username).state = state
}

// SetBot marks an account as a bot user (or not).
func (s *Server) SetBot(username string, bot bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(username).bot = bot
}

// CreateIssue opens an issue in repo as username and returns its iid.
func (s *Server) CreateIssue(t testing.TB, repo, username, title, description string) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(t, repo)
	now := s.now()
	p.lastIID++
	is := &issue{thread{id: s.nextID(), iid: p.lastIID, title: title, desc: description, state: "opened",
		author: s.userLocked(username), created: now, updated: now}}
	p.issues = append(p.issues, is)
	return int(is.iid)
}

// AddNote writes a note on an issue or merge request as username, as a
// person would in GitLab's UI, and delivers the Note Hook. It returns the
// note's id and the delivery.
func (s *Server) AddNote(t testing.TB, repo string, th vcs.Thread, username, body string) (int64, Delivery) {
	t.Helper()
	id, payload := func() (int64, map[string]any) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.mustProject(t, repo)
		target := p.threadOf(th)
		if target == nil {
			t.Fatalf("gitlab fake: no %s in %s", th, repo)
		}
		n := s.addNoteLocked(target, s.userLocked(username), body, false)
		return n.id, s.noteHookLocked(p, th, n, "create")
	}()
	return id, s.deliver(t, "Note Hook", payload)
}

// AddSystemNote writes one of GitLab's system notes ("added 1 commit") on
// an issue or merge request. GitLab sends no webhook for those.
func (s *Server) AddSystemNote(t testing.TB, repo string, th vcs.Thread, body string) int64 {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(t, repo)
	target := p.threadOf(th)
	if target == nil {
		t.Fatalf("gitlab fake: no %s in %s", th, repo)
	}
	return s.addNoteLocked(target, s.bot, body, true).id
}

// EditNote replaces a note's body as its author would, without a webhook.
func (s *Server) EditNote(t testing.TB, repo string, th vcs.Thread, id int64, body string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.mustProject(t, repo).threadOf(th)
	var n *note
	if target != nil {
		n = target.note(id)
	}
	if n == nil {
		t.Fatalf("gitlab fake: no note %d on %s in %s", id, th, repo)
	}
	n.body = body
	n.updated = s.now()
	target.updated = n.updated
}

// addNoteLocked appends a note and touches its issue or merge request, as
// GitLab's Note#touch_noteable does.
func (s *Server) addNoteLocked(target *thread, author *user, body string, system bool) *note {
	now := s.now()
	n := &note{id: s.nextID(), body: body, author: author, system: system, created: now, updated: now}
	target.notes = append(target.notes, n)
	target.updated = now
	return n
}

// CreateBranch commits files (path → content) onto branch of repo, which
// starts from from (a branch) when it does not exist yet, and returns the
// commit. It acts as a person pushing, without webhooks: see Push.
func (s *Server) CreateBranch(ctx context.Context, t testing.TB, repo, branch, from string, files map[string]string) string {
	t.Helper()
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.mustProject(t, repo)
	}()
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	work := t.TempDir()
	s.run(ctx, t, "", "clone", "--quiet", s.git.Path(repo), work)
	if _, err := s.gitOut(ctx, work, "rev-parse", "--verify", "--quiet", "refs/remotes/origin/"+branch); err == nil {
		s.run(ctx, t, work, "checkout", "--quiet", "-B", branch, "origin/"+branch)
	} else {
		s.run(ctx, t, work, "checkout", "--quiet", "-B", branch, "origin/"+from)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatalf("gitlab fake: %v", err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			t.Fatalf("gitlab fake: %v", err)
		}
	}
	s.run(ctx, t, work, "add", "-A")
	s.run(ctx, t, work, "commit", "--quiet", "--allow-empty", "-m", "Change "+strings.Join(names, ", "))
	s.run(ctx, t, work, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
	return strings.TrimSpace(s.run(ctx, t, work, "rev-parse", "HEAD"))
}

// Push commits files onto an existing branch as username would and, for
// every open merge request from that branch, delivers the Merge Request
// Hook with action "update" and the old head in "oldrev", as GitLab does.
func (s *Server) Push(ctx context.Context, t testing.TB, repo, username, branch string, files map[string]string) (string, []Delivery) {
	t.Helper()
	old := s.headOf(ctx, repo, branch)
	if old == "" {
		t.Fatalf("gitlab fake: branch %s of %s does not exist", branch, repo)
	}
	sha := s.CreateBranch(ctx, t, repo, branch, branch, files)
	s.syncMergeRequestRefs(ctx, repo)
	payloads := func() []map[string]any {
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.mustProject(t, repo)
		sender := s.userLocked(username)
		var out []map[string]any
		for _, mr := range p.mrs {
			if mr.state == "opened" && mr.source == branch {
				mr.updated = s.now()
				out = append(out, s.mergeRequestHookLocked(ctx, p, mr, sender, "update", old))
			}
		}
		return out
	}()
	var out []Delivery
	for _, pl := range payloads {
		out = append(out, s.deliver(t, "Merge Request Hook", pl))
	}
	return sha, out
}

// OpenMergeRequest opens a merge request from source into target as
// username, as a person would in GitLab's UI, and delivers the Merge
// Request Hook (action "open"). It returns the iid and the delivery.
func (s *Server) OpenMergeRequest(ctx context.Context, t testing.TB, repo, username, source, target, title, description string) (int, Delivery) {
	t.Helper()
	iid, payload := func() (int64, map[string]any) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.mustProject(t, repo)
		mr, msg := s.openMergeRequestLocked(ctx, p, s.userLocked(username), source, target, title, description)
		if mr == nil {
			t.Fatalf("gitlab fake: opening a merge request from %s into %s in %s: %v", source, target, repo, msg)
		}
		return mr.iid, s.mergeRequestHookLocked(ctx, p, mr, mr.author, "open", "")
	}()
	s.syncMergeRequestRefs(ctx, repo)
	return int(iid), s.deliver(t, "Merge Request Hook", payload)
}

// MergeMergeRequest merges an open merge request as username (a merge
// commit on the target branch) and delivers the Merge Request Hook with
// action "merge".
func (s *Server) MergeMergeRequest(ctx context.Context, t testing.TB, repo string, iid int, username string) Delivery {
	t.Helper()
	source, target, title := func() (string, string, string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		mr := s.mustProject(t, repo).mr(int64(iid))
		if mr == nil || mr.state != "opened" {
			t.Fatalf("gitlab fake: no open merge request !%d in %s", iid, repo)
		}
		return mr.source, mr.target, mr.title
	}()
	sha, err := s.mergeGit(ctx, repo, source, target, title, int64(iid), false)
	if err != nil {
		t.Fatalf("gitlab fake: merging !%d of %s: %v", iid, repo, err)
	}
	payload := func() map[string]any {
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.mustProject(t, repo)
		mr := p.mr(int64(iid))
		now := s.now()
		mr.state, mr.merged, mr.updated, mr.mergeSHA = "merged", now, now, sha
		return s.mergeRequestHookLocked(ctx, p, mr, s.userLocked(username), "merge", "")
	}()
	return s.deliver(t, "Merge Request Hook", payload)
}

// openMergeRequestLocked checks and records a new merge request; on
// failure it returns nil and GitLab's message. Call with s.mu held.
func (s *Server) openMergeRequestLocked(ctx context.Context, p *project, author *user, source, target, title, desc string) (*mergeRequest, any) {
	switch {
	case strings.TrimSpace(title) == "":
		return nil, map[string][]string{"title": {"can't be blank"}}
	case source == target:
		return nil, []string{"You can't use same project/branch for source and target"}
	}
	for _, b := range []string{source, target} {
		if _, err := s.gitOut(ctx, s.git.Path(p.path), "rev-parse", "--verify", "--quiet", "refs/heads/"+b); err != nil {
			return nil, []string{fmt.Sprintf("Branch %q does not exist", b)}
		}
	}
	for _, mr := range p.mrs {
		if mr.state == "opened" && mr.source == source && mr.target == target {
			return nil, []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", mr.iid)}
		}
	}
	now := s.now()
	p.lastMRID++
	mr := &mergeRequest{
		thread: thread{id: s.nextID(), iid: p.lastMRID, title: title, desc: desc, state: "opened", author: author, created: now, updated: now},
		source: source, target: target,
	}
	p.mrs = append(p.mrs, mr)
	return mr, nil
}

// syncMergeRequestRefs points refs/merge-requests/<iid>/head at the head
// of each open merge request's source branch, as GitLab keeps them.
func (s *Server) syncMergeRequestRefs(ctx context.Context, repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(repo)
	if p == nil {
		return
	}
	for _, mr := range p.mrs {
		if mr.state == "opened" {
			s.updateMergeRequestRefLocked(ctx, p, mr)
		}
	}
}

// updateMergeRequestRefLocked points refs/merge-requests/<iid>/head at
// the head of the merge request's source branch. Call with s.mu held.
func (s *Server) updateMergeRequestRefLocked(ctx context.Context, p *project, mr *mergeRequest) {
	head := s.headOf(ctx, p.path, mr.source)
	if head == "" {
		return
	}
	ref := fmt.Sprintf("refs/merge-requests/%d/head", mr.iid)
	if _, err := s.gitOut(ctx, s.git.Path(p.path), "update-ref", ref, head); err != nil {
		s.t.Errorf("gitlab fake: updating %s in %s: %v", ref, p.path, err)
	}
}

// run runs git for a test control; a failure fails the test.
func (s *Server) run(ctx context.Context, t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := s.gitOut(ctx, dir, args...)
	if err != nil {
		t.Fatalf("gitlab fake: git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// gitOut runs git in dir and returns its output; the error carries the
// output.
func (s *Server) gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	home := s.git.Root
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+home, "XDG_CONFIG_HOME="+home,
		"GIT_AUTHOR_NAME=Forge Fake", "GIT_AUTHOR_EMAIL=fake@example.com",
		"GIT_COMMITTER_NAME=Forge Fake", "GIT_COMMITTER_EMAIL=fake@example.com",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// headOf is the commit at the head of a branch, or "" when it does not
// exist.
func (s *Server) headOf(ctx context.Context, repo, branch string) string {
	out, err := s.gitOut(ctx, s.git.Path(repo), "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// Note is a note as the fake holds it.
type Note struct {
	ID        int64
	Author    string
	Body      string
	System    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Notes are the notes of an issue or merge request, oldest first, system
// notes included.
func (s *Server) Notes(t testing.TB, repo string, th vcs.Thread) []Note {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.mustProject(t, repo).threadOf(th)
	if target == nil {
		t.Fatalf("gitlab fake: no %s in %s", th, repo)
	}
	out := make([]Note, 0, len(target.notes))
	for _, n := range target.notes {
		out = append(out, Note{ID: n.id, Author: n.author.username, Body: n.body, System: n.system, CreatedAt: n.created, UpdatedAt: n.updated})
	}
	return out
}

// Award is an award emoji as the fake holds it.
type Award struct {
	ID   int64
	Name string
	User string
}

// AwardEmoji are the award emoji on a note, in the order given.
func (s *Server) AwardEmoji(t testing.TB, repo string, th vcs.Thread, noteID int64) []Award {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.mustProject(t, repo).threadOf(th)
	var n *note
	if target != nil {
		n = target.note(noteID)
	}
	if n == nil {
		t.Fatalf("gitlab fake: no note %d on %s in %s", noteID, th, repo)
	}
	out := make([]Award, 0, len(n.awards))
	for _, a := range n.awards {
		out = append(out, Award{ID: a.id, Name: a.name, User: a.user.username})
	}
	return out
}

// AwardEmojiAs awards an emoji to a note as username, as a person would.
func (s *Server) AwardEmojiAs(t testing.TB, repo string, th vcs.Thread, noteID int64, username, name string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.mustProject(t, repo).threadOf(th)
	var n *note
	if target != nil {
		n = target.note(noteID)
	}
	if n == nil {
		t.Fatalf("gitlab fake: no note %d on %s in %s", noteID, th, repo)
	}
	n.awards = append(n.awards, &award{id: s.nextID(), name: name, user: s.userLocked(username), created: s.now()})
}

// MergeRequest is a merge request as the fake holds it.
type MergeRequest struct {
	IID          int
	Title        string
	Description  string
	SourceBranch string
	TargetBranch string
	State        string // "opened", "closed" or "merged"
	Author       string
}

// MergeRequests are the merge requests of repo in the order opened.
func (s *Server) MergeRequests(t testing.TB, repo string) []MergeRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(t, repo)
	out := make([]MergeRequest, 0, len(p.mrs))
	for _, mr := range p.mrs {
		out = append(out, MergeRequest{IID: int(mr.iid), Title: mr.title, Description: mr.desc,
			SourceBranch: mr.source, TargetBranch: mr.target, State: mr.state, Author: mr.author.username})
	}
	return out
}
