package gitlabfake

import (
	"net/http"
	"strings"
)

// route is one endpoint the fake serves: its method, its path below
// /api/v4 (":name" is a parameter, "(a|b)" one of the literals, captured as
// "kind"), the query parameters and body fields it accepts, and its
// handler, which answers a status and a JSON value (a message for errors).
type route struct {
	method  string
	pattern string
	query   []string
	body    []string
	handle  func(s *Server, c *call) (int, any)
}

// paging are the query parameters of GitLab's offset pagination.
var paging = []string{"page", "per_page"}

// routes are the endpoints, as documented at docs.gitlab.com/api/.
func routes() []route {
	notes := "/projects/:project/(issues|merge_requests)/:iid/notes"
	return []route{
		{method: http.MethodGet, pattern: "/user", handle: (*Server).getCurrentUser},
		{method: http.MethodGet, pattern: "/users", query: append([]string{"username"}, paging...), handle: (*Server).listUsers},
		{method: http.MethodGet, pattern: "/projects/:project", handle: (*Server).getProject},
		{method: http.MethodGet, pattern: "/projects/:project/members/all/:user", handle: (*Server).getMember},
		{method: http.MethodGet, pattern: "/projects/:project/issues",
			query:  append([]string{"state", "author_username", "updated_after", "updated_before", "order_by", "sort"}, paging...),
			handle: (*Server).listIssues},
		{method: http.MethodPost, pattern: "/projects/:project/issues", body: []string{"title", "description"}, handle: (*Server).createIssue},
		{method: http.MethodPut, pattern: "/projects/:project/issues/:iid", body: []string{"title", "description"}, handle: (*Server).updateIssue},
		{method: http.MethodGet, pattern: "/projects/:project/merge_requests",
			query:  append([]string{"state", "source_branch", "target_branch", "created_after", "updated_after", "updated_before", "order_by", "sort"}, paging...),
			handle: (*Server).listMergeRequests},
		{method: http.MethodPost, pattern: "/projects/:project/merge_requests",
			body:   []string{"title", "description", "source_branch", "target_branch"},
			handle: (*Server).createMergeRequest},
		{method: http.MethodGet, pattern: "/projects/:project/merge_requests/:iid", handle: (*Server).getMergeRequest},
		{method: http.MethodPut, pattern: "/projects/:project/merge_requests/:iid",
			body:   []string{"title", "description", "state_event"},
			handle: (*Server).updateMergeRequest},
		{method: http.MethodGet, pattern: "/projects/:project/merge_requests/:iid/approvals", handle: (*Server).getApprovals},
		{method: http.MethodPut, pattern: "/projects/:project/merge_requests/:iid/merge", body: []string{"sha", "squash"}, handle: (*Server).acceptMergeRequest},
		{method: http.MethodGet, pattern: notes, query: append([]string{"order_by", "sort"}, paging...), handle: (*Server).listNotes},
		{method: http.MethodPost, pattern: notes, body: []string{"body"}, handle: (*Server).createNote},
		{method: http.MethodPut, pattern: notes + "/:note", body: []string{"body"}, handle: (*Server).updateNote},
		{method: http.MethodGet, pattern: notes + "/:note/award_emoji", query: paging, handle: (*Server).listAwards},
		{method: http.MethodPost, pattern: notes + "/:note/award_emoji", body: []string{"name"}, handle: (*Server).createAward},
	}
}

// matchRoute finds the route for a request; pathKnown says whether some
// route matched the path with another method.
func matchRoute(method string, segs []string) (rt *route, params map[string]string, pathKnown bool) {
	all := routes()
	for i := range all {
		p, ok := matchPattern(all[i].pattern, segs)
		if !ok {
			continue
		}
		if all[i].method == method {
			return &all[i], p, true
		}
		pathKnown = true
	}
	return nil, nil, pathKnown
}

func matchPattern(pattern string, segs []string) (map[string]string, bool) {
	parts := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	if len(parts) != len(segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, part := range parts {
		switch {
		case strings.HasPrefix(part, ":"):
			if segs[i] == "" {
				return nil, false
			}
			params[part[1:]] = segs[i]
		case strings.HasPrefix(part, "("):
			alts := strings.Split(strings.Trim(part, "()"), "|")
			found := false
			for _, a := range alts {
				found = found || a == segs[i]
			}
			if !found {
				return nil, false
			}
			params["kind"] = segs[i]
		case part != segs[i]:
			return nil, false
		}
	}
	return params, true
}
