package gitlabfake

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxDescription is GitLab's limit on an issue's description, in
// characters.
const maxDescription = 1_048_576

func checkDescription(desc string) (int, any) {
	if utf8.RuneCountInString(desc) > maxDescription {
		return http.StatusBadRequest, map[string][]string{"description": {fmt.Sprintf("is too long (maximum is %d characters)", maxDescription)}}
	}
	return 0, nil
}

// createIssue is "POST /projects/:id/issues", as the bot.
func (s *Server) createIssue(c *call) (int, any) {
	title, _, err := s.stringField(c, "title", true)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	if strings.TrimSpace(title) == "" {
		return http.StatusBadRequest, map[string][]string{"title": {"can't be blank"}}
	}
	desc, _, err := s.stringField(c, "description", false)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	if status, msg := checkDescription(desc); status != 0 {
		return status, msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(c.params["project"])
	if p == nil {
		return http.StatusNotFound, "404 Project Not Found"
	}
	now := s.now()
	p.lastIID++
	is := &issue{thread{id: s.nextID(), iid: p.lastIID, title: title, desc: desc, state: "opened", author: s.bot, created: now, updated: now}}
	p.issues = append(p.issues, is)
	s.deliverLater("Issue Hook", s.issueHookLocked(p, is, s.bot, "open", ""))
	return http.StatusCreated, s.issueJSON(p, is)
}

// updateIssue is "PUT /projects/:id/issues/:iid", as the bot.
func (s *Server) updateIssue(c *call) (int, any) {
	title, hasTitle, err := s.stringField(c, "title", false)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	desc, hasDesc, err := s.stringField(c, "description", false)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	if !hasTitle && !hasDesc {
		return http.StatusBadRequest, "400 Bad request - at least one parameter must be provided"
	}
	if hasTitle && strings.TrimSpace(title) == "" {
		return http.StatusBadRequest, map[string][]string{"title": {"can't be blank"}}
	}
	if status, msg := checkDescription(desc); status != 0 {
		return status, msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(c.params["project"])
	if p == nil {
		return http.StatusNotFound, "404 Project Not Found"
	}
	is := p.issue(c.params["iid"])
	if is == nil {
		return http.StatusNotFound, "404 Not found"
	}
	old := is.desc
	if hasTitle {
		is.title = title
	}
	if hasDesc {
		is.desc = desc
	}
	is.updated = s.now()
	s.deliverLater("Issue Hook", s.issueHookLocked(p, is, s.bot, "update", old))
	return http.StatusOK, s.issueJSON(p, is)
}

func (p *project) issue(iid string) *issue {
	for _, is := range p.issues {
		if fmt.Sprint(is.iid) == iid {
			return is
		}
	}
	return nil
}

// issueHookLocked is the Issue Hook payload, shaped like GitLab's
// documented example; old is the description before an update (the
// changes carry it only when it changed). Call with s.mu held.
func (s *Server) issueHookLocked(p *project, is *issue, sender *user, action, old string) map[string]any {
	changes := map[string]any{}
	if action == "update" && old != is.desc {
		changes["description"] = map[string]any{"previous": old, "current": is.desc}
	}
	return map[string]any{
		"object_kind": "issue", "event_type": "issue",
		"user": s.hookUser(sender), "project": s.hookProject(p, true, false), "repository": s.hookRepository(p),
		"object_attributes": map[string]any{
			"id": is.id, "iid": is.iid, "title": is.title, "description": is.desc, "state": is.state,
			"action": action, "author_id": is.author.id, "project_id": p.id,
			"created_at": hookTime(is.created), "updated_at": hookTime(is.updated),
			"url": fmt.Sprintf("%s/-/issues/%d", s.projectURL(p), is.iid),
		},
		"changes": changes,
	}
}

// Issue is an issue as the fake holds it.
type Issue struct {
	IID                int
	Title, Description string
	State, Author      string
}

// Issues are the issues of repo, in the order they were opened.
func (s *Server) Issues(t testing.TB, repo string) []Issue {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(t, repo)
	out := make([]Issue, 0, len(p.issues))
	for _, is := range p.issues {
		out = append(out, Issue{IID: int(is.iid), Title: is.title, Description: is.desc, State: is.state, Author: is.author.username})
	}
	return out
}

// EditIssue replaces an issue's description as username (ticking a box
// of a task list is such an edit) and delivers the Issue Hook.
func (s *Server) EditIssue(t testing.TB, repo string, iid int, username, desc string) Delivery {
	t.Helper()
	var payload map[string]any
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.mustProject(t, repo)
		is := p.issue(fmt.Sprint(iid))
		if is == nil {
			t.Fatalf("gitlab fake: %s has no issue #%d", repo, iid)
		}
		old := is.desc
		is.desc, is.updated = desc, s.now()
		payload = s.issueHookLocked(p, is, s.userLocked(username), "update", old)
	}()
	return s.deliver(t, "Issue Hook", payload)
}
