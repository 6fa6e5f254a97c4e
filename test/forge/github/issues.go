package githubfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v89/github"
)

// issueObject is the "issue" schema. GitHub lists pull requests among the
// issues, marked by their pull_request links.
func (s *Server) issueObject(i *issue) object {
	full := i.repo.fullName()
	api := s.apiURL("repos/%s/issues/%d", full, i.number)
	kind := "issues"
	if i.pull != nil {
		kind = "pull"
	}
	o := object{
		"id":                 i.id,
		"node_id":            nodeID("I", i.id),
		"url":                api,
		"repository_url":     s.apiURL("repos/%s", full),
		"labels_url":         api + "/labels{/name}",
		"comments_url":       api + "/comments",
		"events_url":         api + "/events",
		"html_url":           s.webURL("%s/%s/%d", full, kind, i.number),
		"number":             i.number,
		"state":              i.state,
		"title":              i.title,
		"body":               nullableString(i.body),
		"user":               s.simpleUser(i.user),
		"labels":             []any{},
		"assignee":           nil,
		"assignees":          []any{},
		"milestone":          nil,
		"locked":             false,
		"comments":           len(i.comments),
		"closed_at":          nullableStamp(i.closedAt),
		"created_at":         stamp(i.created),
		"updated_at":         stamp(i.updated),
		"author_association": authorAssociation(i.repo, i.user),
	}
	if i.pull != nil {
		html := s.webURL("%s/pull/%d", full, i.number)
		o["pull_request"] = object{
			"url":       s.apiURL("repos/%s/pulls/%d", full, i.number),
			"html_url":  html,
			"diff_url":  html + ".diff",
			"patch_url": html + ".patch",
			"merged_at": nullableStamp(i.pull.mergedAt),
		}
	}
	return o
}

// listIssues is "GET /repos/{owner}/{repo}/issues": issues and pull
// requests, filtered by state and creator, newest first unless asked.
func (s *Server) listIssues(w *recorder, r *http.Request, rp *repo) {
	q := r.URL.Query()
	state := cmp.Or(q.Get("state"), "open")
	var list []*issue
	for _, i := range rp.issues {
		if state != "all" && i.state != state {
			continue
		}
		if c := q.Get("creator"); c != "" && !strings.EqualFold(i.user.login, c) {
			continue
		}
		list = append(list, i)
	}
	key := func(i *issue) time.Time { return i.created }
	if q.Get("sort") == "updated" {
		key = func(i *issue) time.Time { return i.updated }
	}
	slices.SortFunc(list, func(a, b *issue) int {
		return cmp.Or(key(a).Compare(key(b)), cmp.Compare(a.number, b.number))
	})
	if q.Get("direction") != "asc" {
		slices.Reverse(list)
	}
	items := []object{}
	for _, i := range list {
		items = append(items, s.issueObject(i))
	}
	s.writePage(w, r, items)
}

type issueInput struct {
	Title *string `json:"title"`
	Body  *string `json:"body"`
}

func checkIssueBody(body *string) string {
	if body != nil && utf8.RuneCountInString(*body) > maxCommentLength {
		return fmt.Sprintf("body is too long (maximum is %d characters)", maxCommentLength)
	}
	return ""
}

// createIssue is "POST /repos/{owner}/{repo}/issues".
func (s *Server) createIssue(w *recorder, rp *repo, body []byte, who principal) []event {
	var in issueInput
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil
	}
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		s.writeValidation(w, "Issue", "title", "missing_field", "title is missing")
		return nil
	}
	if msg := checkIssueBody(in.Body); msg != "" {
		s.writeValidation(w, "Issue", "body", "custom", msg)
		return nil
	}
	rp.nextNumber++
	now := s.clock()
	i := &issue{id: s.id(), repo: rp, number: rp.nextNumber, title: *in.Title, user: who.user, state: "open", created: now, updated: now}
	if in.Body != nil {
		i.body = *in.Body
	}
	rp.issues[i.number] = i
	s.writeJSON(w, http.StatusCreated, s.issueObject(i))
	return []event{s.issueEvent(i, "opened", who.user, "")}
}

// editIssue is "PATCH /repos/{owner}/{repo}/issues/{issue_number}": the
// author, a collaborator with write access or an installation may edit.
func (s *Server) editIssue(w *recorder, rp *repo, number string, body []byte, who principal) []event {
	n, _ := strconv.Atoi(number)
	i, ok := rp.issues[n]
	if !ok {
		s.writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	if i.user != who.user && who.installation == nil && !slices.Contains([]string{"admin", "maintain", "write", "triage"}, rp.role(who.user)) {
		s.writeError(w, http.StatusForbidden, "Must have admin rights to Repository.")
		return nil
	}
	var in issueInput
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil
	}
	if msg := checkIssueBody(in.Body); msg != "" {
		s.writeValidation(w, "Issue", "body", "custom", msg)
		return nil
	}
	old := i.body
	if in.Title != nil {
		i.title = *in.Title
	}
	if in.Body != nil {
		i.body = *in.Body
	}
	i.updated = s.clock()
	s.writeJSON(w, http.StatusOK, s.issueObject(i))
	if old == i.body {
		return nil
	}
	return []event{s.issueEvent(i, "edited", who.user, old)}
}

// issueEvent is an "issues" webhook; old is the body before an edit.
func (s *Server) issueEvent(i *issue, action string, sender *user, old string) event {
	e := &github.IssuesEvent{
		Action:       github.Ptr(action),
		Issue:        s.ghIssue(i),
		Repo:         s.ghRepo(i.repo),
		Sender:       s.ghUser(sender),
		Installation: s.ghInstallation(i.repo),
	}
	if action == "edited" {
		e.Changes = &github.EditChange{Body: &github.EditBody{From: github.Ptr(old)}}
	}
	return event{name: "issues", action: action, payload: e}
}

// Issue is an issue as the fake holds it.
type Issue struct {
	Number      int
	Title, Body string
	User        string
	State       string
}

// Issues are a repository's issues (not pull requests), by number.
func (s *Server) Issues(repoName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repoLocked(repoName)
	var out []Issue
	for n := 1; n <= rp.nextNumber; n++ {
		if i, ok := rp.issues[n]; ok && i.pull == nil {
			out = append(out, Issue{Number: n, Title: i.title, Body: i.body, User: i.user.login, State: i.state})
		}
	}
	return out
}

// EditIssue replaces an issue's body as login (ticking a box of a task
// list is such an edit), delivers the "issues" webhook and waits for the
// answer.
func (s *Server) EditIssue(repoName string, number int, login, body string) Delivery {
	var e event
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		rp := s.repoLocked(repoName)
		i, ok := rp.issues[number]
		if !ok || i.pull != nil {
			s.t.Fatalf("github fake: %s has no issue #%d", repoName, number)
		}
		old := i.body
		i.body, i.updated = body, s.clock()
		e = s.issueEvent(i, "edited", s.userLocked(login), old)
	}()
	return s.deliver(e)
}
