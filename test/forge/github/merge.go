package githubfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// review is a pull request review.
type review struct {
	id        int64
	user      *user
	state     string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
	commitID  string
	submitted string
}

// commitStatus is a commit status (the statuses API).
type commitStatus struct {
	id               int64
	context, state   string
	created, updated string
}

// checkRun is a check run (the checks API), as CI apps report them.
type checkRun struct {
	id                 int64
	name               string
	status, conclusion string
	started, completed string
}

// merge merges pull request i as merger with method, the way GitHub's
// merge button does: a merge commit, one squashed commit, or the commits
// rebased onto the base. It returns the new commit, or GitHub's status and
// message when GitHub would refuse. Rebasing needs the head to contain the
// base (git 2.39 cannot replay commits in a bare repository): the fake
// refuses otherwise, as GitHub does when a rebase conflicts. s.mu is held.
func (s *Server) merge(ctx context.Context, i *issue, merger *user, method, title, sha string) (string, int, string) {
	rp, p := i.repo, i.pull
	if i.state != "open" {
		return "", http.StatusMethodNotAllowed, "Pull Request is not mergeable"
	}
	if sha != "" && sha != p.headSHA {
		return "", http.StatusConflict, "Head branch was modified. Review and try the merge again."
	}
	baseSHA, ok := s.revParse(ctx, rp, "refs/heads/"+p.base)
	if !ok {
		return "", http.StatusUnprocessableEntity, "Base branch was deleted"
	}
	if need := rp.protection[p.base]; need > 0 && approvalsOf(i) < need {
		return "", http.StatusMethodNotAllowed, fmt.Sprintf("At least %d approving review is required by reviewers with write access.", need)
	}
	tree, err := s.gitIn(ctx, rp, "merge-tree", "--write-tree", baseSHA, p.headSHA)
	if err != nil {
		// merge-tree exits 1 on conflicts.
		return "", http.StatusMethodNotAllowed, "Pull Request is not mergeable"
	}
	tree, _, _ = strings.Cut(tree, "\n")
	var commit string
	switch method {
	case "", "merge":
		msg := fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", i.number, p.headRepo.owner.login, p.head, i.title)
		if title != "" {
			msg = title
		}
		commit, err = s.gitIn(ctx, rp, "commit-tree", tree, "-p", baseSHA, "-p", p.headSHA, "-m", msg)
	case "squash":
		msg := fmt.Sprintf("%s (#%d)", i.title, i.number)
		if title != "" {
			msg = title
		}
		commit, err = s.gitIn(ctx, rp, "commit-tree", tree, "-p", baseSHA, "-m", msg)
	case "rebase":
		if _, err := s.gitIn(ctx, rp, "merge-base", "--is-ancestor", baseSHA, p.headSHA); err != nil {
			return "", http.StatusMethodNotAllowed, "This branch can't be rebased"
		}
		list, err := s.gitIn(ctx, rp, "rev-list", "--reverse", "--no-merges", baseSHA+".."+p.headSHA)
		if err != nil {
			return "", http.StatusInternalServerError, err.Error()
		}
		commit = baseSHA
		for _, c := range strings.Fields(list) {
			msg, err := s.gitIn(ctx, rp, "log", "-1", "--format=%B", c)
			if err == nil {
				commit, err = s.gitIn(ctx, rp, "commit-tree", c+"^{tree}", "-p", commit, "-m", msg)
			}
			if err != nil {
				return "", http.StatusInternalServerError, err.Error()
			}
		}
	default:
		return "", http.StatusUnprocessableEntity, "Invalid merge_method"
	}
	if err == nil {
		_, err = s.gitIn(ctx, rp, "update-ref", "refs/heads/"+p.base, commit, baseSHA)
	}
	if err != nil {
		return "", http.StatusInternalServerError, err.Error()
	}
	now := s.clock()
	i.state, i.closedAt, i.updated = "closed", now, now
	p.merged, p.mergedAt, p.mergedBy, p.mergeSHA = true, now, merger, commit
	rp.pushed = now
	return commit, 0, ""
}

// approvalsOf counts the reviewers whose latest verdict approves.
func approvalsOf(i *issue) int {
	latest := map[*user]string{}
	for _, r := range i.pull.reviews {
		if r.state != "COMMENTED" {
			latest[r.user] = r.state
		}
	}
	n := 0
	for _, st := range latest {
		if st == "APPROVED" {
			n++
		}
	}
	return n
}

// mergeableState is GitHub's mergeable and mergeable_state of an open
// pull request: dirty on conflicts, blocked by branch protection, unstable
// with checks not passing, else clean.
func (s *Server) mergeableState(ctx context.Context, i *issue) (bool, string) {
	p := i.pull
	baseSHA, ok := s.revParse(ctx, i.repo, "refs/heads/"+p.base)
	if !ok {
		return false, "dirty"
	}
	if _, err := s.gitIn(ctx, i.repo, "merge-tree", "--write-tree", baseSHA, p.headSHA); err != nil {
		return false, "dirty"
	}
	if need := i.repo.protection[p.base]; need > 0 && approvalsOf(i) < need {
		return true, "blocked"
	}
	for _, st := range i.repo.statuses[p.headSHA] {
		if st.state != "success" {
			return true, "unstable"
		}
	}
	for _, r := range i.repo.checkRuns[p.headSHA] {
		if r.status != "completed" || (r.conclusion != "success" && r.conclusion != "neutral" && r.conclusion != "skipped") {
			return true, "unstable"
		}
	}
	return true, "clean"
}

// mergePull is "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge".
func (s *Server) mergePull(w *recorder, r *http.Request, rp *repo, number string, body []byte, who principal) []event {
	i := pullOf(rp, number)
	if i == nil {
		s.writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	if role := rp.role(who.user); who.installation == nil && role != "admin" && role != "maintain" && role != "write" {
		s.writeError(w, http.StatusForbidden, "Must have write access to merge")
		return nil
	}
	var in struct {
		CommitTitle string `json:"commit_title"`
		SHA         string `json:"sha"`
		MergeMethod string `json:"merge_method"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			s.writeError(w, http.StatusBadRequest, "Problems parsing JSON")
			return nil
		}
	}
	commit, status, msg := s.merge(r.Context(), i, who.user, in.MergeMethod, in.CommitTitle, in.SHA)
	if status != 0 {
		s.writeError(w, status, msg)
		return nil
	}
	s.merges++
	s.writeJSON(w, http.StatusOK, object{"sha": commit, "merged": true, "message": "Pull Request successfully merged"})
	return []event{s.pullEvent(i, "closed", who.user)}
}

// reviewObject is the "pull-request-review" schema.
func (s *Server) reviewObject(i *issue, r *review) object {
	full := i.repo.fullName()
	html := s.webURL("%s/pull/%d#pullrequestreview-%d", full, i.number, r.id)
	pullURL := s.apiURL("repos/%s/pulls/%d", full, i.number)
	return object{
		"id":                 r.id,
		"node_id":            nodeID("PRR", r.id),
		"user":               s.simpleUser(r.user),
		"body":               "",
		"state":              r.state,
		"html_url":           html,
		"pull_request_url":   pullURL,
		"_links":             object{"html": object{"href": html}, "pull_request": object{"href": pullURL}},
		"submitted_at":       r.submitted,
		"commit_id":          r.commitID,
		"author_association": authorAssociation(i.repo, r.user),
	}
}

// combinedStatus is the "combined-commit-status" schema.
func (s *Server) combinedStatus(rp *repo, sha string) object {
	statuses := []object{}
	state := "pending" // GitHub's answer for a commit without statuses
	if len(rp.statuses[sha]) > 0 {
		state = "success"
	}
	for _, st := range rp.statuses[sha] {
		switch {
		case st.state == "failure" || st.state == "error":
			state = "failure"
		case st.state == "pending" && state != "failure":
			state = "pending"
		}
		statuses = append(statuses, object{
			"id":          st.id,
			"node_id":     nodeID("SC", st.id),
			"url":         s.apiURL("repos/%s/statuses/%s", rp.fullName(), sha),
			"avatar_url":  nil,
			"state":       st.state,
			"description": nil,
			"target_url":  nil,
			"context":     st.context,
			"created_at":  st.created,
			"updated_at":  st.updated,
		})
	}
	return object{
		"state":       state,
		"statuses":    statuses,
		"sha":         sha,
		"total_count": len(statuses),
		"repository":  s.repository(rp),
		"commit_url":  s.apiURL("repos/%s/commits/%s", rp.fullName(), sha),
		"url":         s.apiURL("repos/%s/commits/%s/status", rp.fullName(), sha),
	}
}

// checkRunObject is the "check-run" schema.
func (s *Server) checkRunObject(rp *repo, sha string, c *checkRun) object {
	url := s.apiURL("repos/%s/check-runs/%d", rp.fullName(), c.id)
	return object{
		"id":            c.id,
		"node_id":       nodeID("CR", c.id),
		"head_sha":      sha,
		"external_id":   nil,
		"url":           url,
		"html_url":      s.webURL("%s/runs/%d", rp.fullName(), c.id),
		"details_url":   nil,
		"status":        c.status,
		"conclusion":    nullableString(c.conclusion),
		"started_at":    nullableString(c.started),
		"completed_at":  nullableString(c.completed),
		"name":          c.name,
		"check_suite":   object{"id": c.id},
		"app":           nil,
		"pull_requests": []any{},
		"output": object{
			"title": nil, "summary": nil, "text": nil, "annotations_count": 0,
			"annotations_url": url + "/annotations",
		},
	}
}

// pullLocked is pull request number of repoName, failing the test when
// there is none. s.mu is held.
func (s *Server) pullLocked(t testing.TB, repoName string, number int) (*repo, *issue) {
	t.Helper()
	rp := s.repoLocked(repoName)
	i := pullOf(rp, strconv.Itoa(number))
	if i == nil {
		t.Fatalf("github fake: %s has no pull request #%d", repoName, number)
	}
	return rp, i
}

// Review submits a review of pull request number as login: state is
// APPROVED, CHANGES_REQUESTED or COMMENTED.
func (s *Server) Review(t testing.TB, repoName string, number int, login, state string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, i := s.pullLocked(t, repoName, number)
	i.pull.reviews = append(i.pull.reviews, &review{
		id: s.id(), user: s.userLocked(login), state: state, commitID: i.pull.headSHA, submitted: stamp(s.clock()),
	})
}

// SetStatus sets the commit status context of the head of pull request
// number to state: success, pending, failure or error.
func (s *Server) SetStatus(t testing.TB, repoName string, number int, context, state string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, i := s.pullLocked(t, repoName, number)
	now := stamp(s.clock())
	sha := i.pull.headSHA
	for _, st := range rp.statuses[sha] {
		if st.context == context {
			st.state, st.updated = state, now
			return
		}
	}
	rp.statuses[sha] = append(rp.statuses[sha], &commitStatus{id: s.id(), context: context, state: state, created: now, updated: now})
}

// SetCheckRun reports check run name on the head of pull request number:
// status is queued, in_progress or completed, conclusion (when completed)
// success, failure, neutral, cancelled, skipped or timed_out.
func (s *Server) SetCheckRun(t testing.TB, repoName string, number int, name, status, conclusion string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, i := s.pullLocked(t, repoName, number)
	now := stamp(s.clock())
	sha := i.pull.headSHA
	run := &checkRun{id: s.id(), name: name, status: status, started: now}
	if status == "completed" {
		run.conclusion, run.completed = conclusion, now
	}
	for k, r := range rp.checkRuns[sha] {
		if r.name == name {
			rp.checkRuns[sha][k] = run
			return
		}
	}
	rp.checkRuns[sha] = append(rp.checkRuns[sha], run)
}

// Protect requires approvals approving reviews before a pull request into
// branch of repoName merges, as branch protection does.
func (s *Server) Protect(t testing.TB, repoName, branch string, approvals int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoLocked(repoName).protection[branch] = approvals
}

// Merges counts the pull requests merged through the API.
func (s *Server) Merges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.merges
}
