package gitlabfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// pipelineJSON is a merge request's head_pipeline.
type pipelineJSON struct {
	ID        int64   `json:"id"`
	IID       int64   `json:"iid"`
	ProjectID int64   `json:"project_id"`
	Status    string  `json:"status"`
	Source    string  `json:"source"`
	Ref       string  `json:"ref"`
	SHA       string  `json:"sha"`
	WebURL    string  `json:"web_url"`
	CreatedAt *string `json:"created_at"`
	UpdatedAt *string `json:"updated_at"`
}

// approvalsJSON is GET /projects/:id/merge_requests/:iid/approvals.
type approvalsJSON struct {
	ID                 int64            `json:"id"`
	IID                int64            `json:"iid"`
	ProjectID          int64            `json:"project_id"`
	Title              string           `json:"title"`
	State              string           `json:"state"`
	Approved           bool             `json:"approved"`
	ApprovalsRequired  int              `json:"approvals_required"`
	ApprovalsLeft      int              `json:"approvals_left"`
	ApprovedBy         []approvedByJSON `json:"approved_by"`
	UserHasApproved    bool             `json:"user_has_approved"`
	UserCanApprove     bool             `json:"user_can_approve"`
	SuggestedApprovers []basicUserJSON  `json:"suggested_approvers"`
}

type approvedByJSON struct {
	User basicUserJSON `json:"user"`
}

// pipeline is the latest pipeline of a commit.
type pipeline struct {
	id, iid          int64
	status           string
	created, updated string
}

// detailedMergeStatus is GitLab's detailed_merge_status of a merge
// request: conflicts, the project's approval rule and its "pipelines
// must succeed" setting weigh in. Call with s.mu held.
func (s *Server) detailedMergeStatus(ctx context.Context, p *project, mr *mergeRequest, head string) string {
	if mr.state != "opened" {
		return "not_open"
	}
	target := s.headOf(ctx, p.path, mr.target)
	if head == "" || target == "" {
		return "conflict"
	}
	if _, err := s.gitOut(ctx, s.git.Path(p.path), "merge-tree", "--write-tree", target, head); err != nil {
		return "conflict"
	}
	if p.approvalsRequired > len(mr.approvedBy) {
		return "not_approved"
	}
	if p.pipelinesMustSucceed {
		switch pl := p.pipelines[head]; {
		case pl == nil || pl.status == "failed" || pl.status == "canceled":
			return "ci_must_pass"
		case pl.status != "success" && pl.status != "skipped":
			return "ci_still_running"
		}
	}
	return "mergeable"
}

// headPipeline is the pipeline of head, nil when there is none. Call with
// s.mu held.
func (s *Server) headPipeline(p *project, head string) *pipelineJSON {
	pl := p.pipelines[head]
	if pl == nil {
		return nil
	}
	return &pipelineJSON{
		ID: pl.id, IID: pl.iid, ProjectID: p.id, Status: pl.status, Source: "merge_request_event",
		SHA: head, WebURL: fmt.Sprintf("%s/-/pipelines/%d", s.projectURL(p), pl.id),
		CreatedAt: &pl.created, UpdatedAt: &pl.updated,
	}
}

func (s *Server) getApprovals(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, mr, status, msg := s.mergeRequestFor(c)
	if mr == nil {
		return status, msg
	}
	out := approvalsJSON{
		ID: mr.id, IID: mr.iid, ProjectID: p.id, Title: mr.title, State: mr.state,
		ApprovalsRequired: p.approvalsRequired, ApprovedBy: []approvedByJSON{}, SuggestedApprovers: []basicUserJSON{},
		UserCanApprove: true,
	}
	for _, u := range mr.approvedBy {
		out.ApprovedBy = append(out.ApprovedBy, approvedByJSON{User: s.basicUser(u)})
		out.UserHasApproved = out.UserHasApproved || u == s.bot
	}
	out.ApprovalsLeft = max(p.approvalsRequired-len(mr.approvedBy), 0)
	out.Approved = out.ApprovalsLeft == 0
	return http.StatusOK, out
}

// acceptMergeRequest is PUT /projects/:id/merge_requests/:iid/merge: a
// merge commit, or one squashed commit with squash=true.
func (s *Server) acceptMergeRequest(c *call) (int, any) {
	sha, _, err := s.stringField(c, "sha", false)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	var squash bool
	if raw, ok := c.body["squash"]; ok {
		if err := json.Unmarshal(raw, &squash); err != nil {
			return http.StatusBadRequest, "squash is invalid"
		}
	}
	ctx := c.r.Context()
	s.mu.Lock()
	p, mr, status, msg := s.mergeRequestFor(c)
	if mr == nil {
		s.mu.Unlock()
		return status, msg
	}
	head := s.headOf(ctx, p.path, mr.source)
	var refuse string
	switch st := s.detailedMergeStatus(ctx, p, mr, head); {
	case p.members[s.bot.id] < p.mergeLevel:
		s.mu.Unlock()
		return http.StatusUnauthorized, "401 Unauthorized"
	case mr.state != "opened":
		refuse = "405 Method Not Allowed"
	case sha != "" && sha != head:
		s.mu.Unlock()
		return http.StatusConflict, "SHA does not match HEAD of source branch: " + head
	case st != "mergeable":
		refuse = "Branch cannot be merged"
	}
	if refuse != "" {
		s.mu.Unlock()
		return http.StatusMethodNotAllowed, refuse
	}
	source, target, title, repo := mr.source, mr.target, mr.title, p.path
	s.mu.Unlock()

	commit, err := s.mergeGit(ctx, repo, source, target, title, mr.iid, squash)
	if err != nil {
		return http.StatusInternalServerError, err.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	mr.state, mr.merged, mr.updated, mr.mergeSHA = "merged", now, now, commit
	s.merges++
	s.deliverLater("Merge Request Hook", s.mergeRequestHookLocked(ctx, p, mr, s.bot, "merge", ""))
	return http.StatusOK, s.mergeRequestJSON(ctx, p, mr, true)
}

// mergeGit merges source into target of repo as GitLab does, with a merge
// commit or squashed into one commit, and returns the target's new head.
func (s *Server) mergeGit(ctx context.Context, repo, source, target, title string, iid int64, squash bool) (string, error) {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	work := s.t.TempDir()
	steps := [][]string{
		{"clone", "--quiet", s.git.Path(repo), work},
		{"checkout", "--quiet", "-B", target, "origin/" + target},
	}
	if squash {
		steps = append(steps,
			[]string{"merge", "--quiet", "--squash", "origin/" + source},
			[]string{"commit", "--quiet", "-m", title})
	} else {
		steps = append(steps, []string{"merge", "--quiet", "--no-ff", "-m",
			fmt.Sprintf("Merge branch '%s' into '%s'\n\n%s\n\nSee merge request %s!%d", source, target, title, repo, iid), "origin/" + source})
	}
	steps = append(steps, []string{"push", "--quiet", "origin", "HEAD:refs/heads/" + target})
	for i, args := range steps {
		dir := work
		if i == 0 {
			dir = ""
		}
		if _, err := s.gitOut(ctx, dir, args...); err != nil {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
	}
	out, err := s.gitOut(ctx, work, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// Approve approves merge request iid of repo as username.
func (s *Server) Approve(t testing.TB, repo string, iid int, username string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	mr := s.mustProject(t, repo).mr(int64(iid))
	if mr == nil {
		t.Fatalf("gitlab fake: no merge request !%d in %s", iid, repo)
	}
	u := s.userLocked(username)
	for _, a := range mr.approvedBy {
		if a == u {
			return
		}
	}
	mr.approvedBy = append(mr.approvedBy, u)
}

// SetPipeline sets the status of the pipeline of merge request iid's
// head: created, pending, running, success, failed, canceled, skipped or
// manual.
func (s *Server) SetPipeline(ctx context.Context, t testing.TB, repo string, iid int, status string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(t, repo)
	mr := p.mr(int64(iid))
	if mr == nil {
		t.Fatalf("gitlab fake: no merge request !%d in %s", iid, repo)
	}
	head := s.headOf(ctx, p.path, mr.source)
	now := *apiTime(s.now())
	if pl := p.pipelines[head]; pl != nil {
		pl.status, pl.updated = status, now
		return
	}
	p.lastPipeline++
	p.pipelines[head] = &pipeline{id: s.nextID(), iid: p.lastPipeline, status: status, created: now, updated: now}
}

// Protect sets the project's merge rules: approvals required by its
// approval rule, whether pipelines must succeed, and the access level
// allowed to merge into the default branch (40, Maintainer, unless set).
func (s *Server) Protect(t testing.TB, repo string, approvals int, pipelinesMustSucceed bool, mergeLevel int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(t, repo)
	p.approvalsRequired, p.pipelinesMustSucceed, p.mergeLevel = approvals, pipelinesMustSucceed, mergeLevel
}

// Merges counts the merge requests merged through the API.
func (s *Server) Merges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.merges
}
