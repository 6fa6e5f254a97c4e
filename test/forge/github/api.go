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
)

// maxCommentLength is GitHub's limit on a comment's body, in characters.
const maxCommentLength = 65536

// handle serves one authenticated request. Webhooks the request causes are
// delivered afterwards, asynchronously, as GitHub does.
func (s *Server) handle(w *recorder, r *http.Request, op string, params map[string]string, body []byte, who principal) {
	var hooks []event
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		hooks = s.handleLocked(w, r, op, params, body, who)
	}()
	for _, h := range hooks {
		s.hooks.Go(func() { s.deliver(h) })
	}
}

func (s *Server) handleLocked(w *recorder, r *http.Request, op string, params map[string]string, body []byte, who principal) []event {
	switch op {
	case "GET /user":
		if who.installation != nil {
			s.writeError(w, http.StatusForbidden, "Resource not accessible by integration")
			return nil
		}
		s.writeJSON(w, http.StatusOK, s.privateUser(who.user))
		return nil
	case "GET /app":
		s.writeJSON(w, http.StatusOK, s.integration(s.app))
		return nil
	case "POST /app/installations/{installation_id}/access_tokens":
		id, _ := strconv.ParseInt(params["installation_id"], 10, 64)
		inst, ok := s.installations[id]
		if !ok {
			s.writeError(w, http.StatusNotFound, "Not Found")
			return nil
		}
		value := "ghs_" + randomHex(18)
		expires := time.Now().Add(s.tokenTTL).UTC().Truncate(time.Second)
		s.tokens[value] = &token{user: s.app.bot, installation: inst, expires: expires}
		s.minted++
		s.writeJSON(w, http.StatusCreated, object{
			"token":                value,
			"expires_at":           stamp(expires),
			"permissions":          appPermissions(),
			"repository_selection": "all",
		})
		return nil
	}

	rp := s.visibleRepo(who, params["owner"], params["repo"])
	if rp == nil {
		s.writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	switch op {
	case "GET /repos/{owner}/{repo}":
		s.writeJSON(w, http.StatusOK, s.repository(rp))
	case "GET /repos/{owner}/{repo}/installation":
		inst := s.installationFor(rp.owner)
		if inst == nil {
			s.writeError(w, http.StatusNotFound, "Not Found")
			return nil
		}
		s.writeJSON(w, http.StatusOK, s.installationObject(inst))
	case "GET /repos/{owner}/{repo}/pulls":
		s.listPulls(w, r, rp)
	case "POST /repos/{owner}/{repo}/pulls":
		return s.createPull(w, r, rp, body, who)
	case "GET /repos/{owner}/{repo}/pulls/{pull_number}":
		if i := pullOf(rp, params["pull_number"]); i != nil {
			s.writeJSON(w, http.StatusOK, s.pullRequest(i, false))
		} else {
			s.writeError(w, http.StatusNotFound, "Not Found")
		}
	case "PATCH /repos/{owner}/{repo}/pulls/{pull_number}":
		return s.editPull(w, r, rp, params["pull_number"], body, who)
	case "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge":
		return s.mergePull(w, r, rp, params["pull_number"], body, who)
	case "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews":
		i := pullOf(rp, params["pull_number"])
		if i == nil {
			s.writeError(w, http.StatusNotFound, "Not Found")
			return nil
		}
		items := []object{}
		for _, rv := range i.pull.reviews {
			items = append(items, s.reviewObject(i, rv))
		}
		s.writePage(w, r, items)
	case "GET /repos/{owner}/{repo}/commits/{ref}/status":
		sha, ok := s.revParse(r.Context(), rp, params["ref"])
		if !ok {
			s.writeError(w, http.StatusNotFound, "No commit found for SHA: "+params["ref"])
			return nil
		}
		s.writeJSON(w, http.StatusOK, s.combinedStatus(rp, sha))
	case "GET /repos/{owner}/{repo}/commits/{ref}/check-runs":
		sha, ok := s.revParse(r.Context(), rp, params["ref"])
		if !ok {
			s.writeError(w, http.StatusNotFound, "No commit found for SHA: "+params["ref"])
			return nil
		}
		runs := []object{}
		for _, c := range rp.checkRuns[sha] {
			runs = append(runs, s.checkRunObject(rp, sha, c))
		}
		s.writeJSON(w, http.StatusOK, object{"total_count": len(runs), "check_runs": runs})
	case "GET /repos/{owner}/{repo}/issues":
		s.listIssues(w, r, rp)
	case "POST /repos/{owner}/{repo}/issues":
		return s.createIssue(w, rp, body, who)
	case "PATCH /repos/{owner}/{repo}/issues/{issue_number}":
		return s.editIssue(w, rp, params["issue_number"], body, who)
	case "GET /repos/{owner}/{repo}/issues/{issue_number}/comments":
		n, _ := strconv.Atoi(params["issue_number"])
		i, ok := rp.issues[n]
		if !ok {
			s.writeError(w, http.StatusNotFound, "Not Found")
			return nil
		}
		s.listComments(w, r, i.comments)
	case "POST /repos/{owner}/{repo}/issues/{issue_number}/comments":
		return s.createComment(w, r, rp, params["issue_number"], body, who)
	case "GET /repos/{owner}/{repo}/issues/comments":
		var all []*comment
		for _, i := range rp.issues {
			all = append(all, i.comments...)
		}
		s.listComments(w, r, all)
	case "GET /repos/{owner}/{repo}/issues/comments/{comment_id}":
		if c := s.commentOf(rp, params["comment_id"]); c != nil {
			s.writeJSON(w, http.StatusOK, s.issueComment(c))
		} else {
			s.writeError(w, http.StatusNotFound, "Not Found")
		}
	case "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}":
		return s.editComment(w, rp, params["comment_id"], body, who)
	case "GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions":
		c := s.commentOf(rp, params["comment_id"])
		if c == nil {
			s.writeError(w, http.StatusNotFound, "Not Found")
			return nil
		}
		content := r.URL.Query().Get("content")
		var items []object
		for _, re := range c.reactions {
			if content == "" || re.content == content {
				items = append(items, s.reactionObject(re))
			}
		}
		s.writePage(w, r, items)
	case "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions":
		s.react(w, rp, params["comment_id"], body, who)
	case "GET /repos/{owner}/{repo}/collaborators/{username}/permission":
		u, ok := s.users[strings.ToLower(params["username"])]
		if !ok {
			s.writeError(w, http.StatusNotFound, "Not Found")
			return nil
		}
		s.writeJSON(w, http.StatusOK, s.collaboratorPermission(rp, u))
	default:
		s.t.Errorf("github fake: %s has no handler", op)
		s.writeError(w, http.StatusNotFound, "Not Found")
	}
	return nil
}

// visibleRepo is the repository owner/name when who may see it: a
// personal access token sees every repository, an installation token
// those of the account the App is installed on, and the App itself all.
func (s *Server) visibleRepo(who principal, owner, name string) *repo {
	rp, ok := s.repos[strings.ToLower(owner+"/"+name)]
	if !ok {
		return nil
	}
	if who.installation != nil && who.installation.account != rp.owner {
		return nil
	}
	return rp
}

func pullOf(rp *repo, number string) *issue {
	n, _ := strconv.Atoi(number)
	i, ok := rp.issues[n]
	if !ok || i.pull == nil {
		return nil
	}
	return i
}

func (s *Server) commentOf(rp *repo, id string) *comment {
	n, _ := strconv.ParseInt(id, 10, 64)
	c, ok := s.comments[n]
	if !ok || c.issue.repo != rp {
		return nil
	}
	return c
}

func (s *Server) listPulls(w *recorder, r *http.Request, rp *repo) {
	q := r.URL.Query()
	state := cmp.Or(q.Get("state"), "open")
	headOwner, headRef, hasHead := strings.Cut(q.Get("head"), ":")
	if !hasHead {
		headOwner, headRef = rp.owner.login, q.Get("head")
	}
	var pulls []*issue
	for _, i := range rp.issues {
		if i.pull == nil || (state != "all" && i.state != state) {
			continue
		}
		if q.Get("head") != "" && (!strings.EqualFold(i.pull.headRepo.owner.login, headOwner) || i.pull.head != headRef) {
			continue
		}
		if q.Get("base") != "" && i.pull.base != q.Get("base") {
			continue
		}
		pulls = append(pulls, i)
	}
	key := func(i *issue) time.Time { return i.created }
	if q.Get("sort") == "updated" {
		key = func(i *issue) time.Time { return i.updated }
	}
	slices.SortFunc(pulls, func(a, b *issue) int {
		return cmp.Or(key(a).Compare(key(b)), cmp.Compare(a.number, b.number))
	})
	if q.Get("direction") != "asc" {
		slices.Reverse(pulls)
	}
	items := []object{}
	for _, i := range pulls {
		items = append(items, s.pullRequest(i, true))
	}
	s.writePage(w, r, items)
}

func (s *Server) listComments(w *recorder, r *http.Request, all []*comment) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.writeValidation(w, "IssueComment", "since", "invalid", "since is not a timestamp")
			return
		}
		since = t
	}
	var cs []*comment
	for _, c := range all {
		if !c.updated.Before(since) {
			cs = append(cs, c)
		}
	}
	key := func(c *comment) time.Time { return c.created }
	if q.Get("sort") == "updated" {
		key = func(c *comment) time.Time { return c.updated }
	}
	slices.SortFunc(cs, func(a, b *comment) int {
		return cmp.Or(key(a).Compare(key(b)), cmp.Compare(a.id, b.id))
	})
	if q.Get("sort") != "" && q.Get("direction") == "desc" {
		slices.Reverse(cs)
	}
	items := []object{}
	for _, c := range cs {
		items = append(items, s.issueComment(c))
	}
	s.writePage(w, r, items)
}

func (s *Server) createPull(w *recorder, r *http.Request, rp *repo, body []byte, who principal) []event {
	var in struct {
		Title *string `json:"title"`
		Head  string  `json:"head"`
		Base  string  `json:"base"`
		Body  *string `json:"body"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil
	}
	if in.Title == nil || *in.Title == "" {
		s.writeValidation(w, "PullRequest", "title", "missing_field", "")
		return nil
	}
	i, msg := s.openPull(r.Context(), rp, who.user, in.Head, in.Base, *in.Title, deref(in.Body))
	if i == nil {
		s.writeValidation(w, "PullRequest", "", "custom", msg)
		return nil
	}
	s.writeJSON(w, http.StatusCreated, s.pullRequest(i, false))
	return []event{s.pullEvent(i, "opened", who.user)}
}

func (s *Server) editPull(w *recorder, r *http.Request, rp *repo, number string, body []byte, who principal) []event {
	i := pullOf(rp, number)
	if i == nil {
		s.writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil
	}
	var events []event
	if in.Title != nil || in.Body != nil || in.Base != nil {
		if in.Base != nil {
			sha, ok := s.revParse(r.Context(), rp, "refs/heads/"+*in.Base)
			if !ok {
				s.writeValidation(w, "PullRequest", "base", "invalid", "")
				return nil
			}
			i.pull.base, i.pull.baseSHA = *in.Base, sha
		}
		if in.Title != nil {
			i.title = *in.Title
		}
		if in.Body != nil {
			i.body = *in.Body
		}
		events = append(events, s.pullEvent(i, "edited", who.user))
	}
	if in.State != nil && *in.State != i.state {
		switch {
		case *in.State == "closed":
			i.state, i.closedAt = "closed", s.clock()
			events = append(events, s.pullEvent(i, "closed", who.user))
		case *in.State == "open" && !i.pull.merged:
			i.state, i.closedAt = "open", time.Time{}
			events = append(events, s.pullEvent(i, "reopened", who.user))
		default:
			s.writeValidation(w, "PullRequest", "state", "invalid", "state cannot be changed. The pull request cannot be reopened")
			return nil
		}
	}
	i.updated = s.clock()
	s.writeJSON(w, http.StatusOK, s.pullRequest(i, false))
	return events
}

func (s *Server) createComment(w *recorder, r *http.Request, rp *repo, number string, body []byte, who principal) []event {
	n, _ := strconv.Atoi(number)
	i, ok := rp.issues[n]
	if !ok {
		s.writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil
	}
	if msg := checkCommentBody(in.Body); msg != "" {
		s.writeValidation(w, "IssueComment", "body", "custom", msg)
		return nil
	}
	c := s.addCommentLocked(i, who.user, *in.Body)
	s.writeJSON(w, http.StatusCreated, s.issueComment(c))
	return []event{s.commentEvent(c, "created", who.user, "")}
}

func checkCommentBody(body *string) string {
	switch {
	case body == nil || strings.TrimSpace(*body) == "":
		return "Body cannot be blank"
	case utf8.RuneCountInString(*body) > maxCommentLength:
		return fmt.Sprintf("Body is too long (maximum is %d characters)", maxCommentLength)
	}
	return ""
}

func (s *Server) editComment(w *recorder, rp *repo, id string, body []byte, who principal) []event {
	c := s.commentOf(rp, id)
	if c == nil {
		s.writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	if c.user != who.user && who.installation == nil && !slices.Contains([]string{"admin", "maintain", "write"}, rp.role(who.user)) {
		s.writeError(w, http.StatusForbidden, "Must have admin rights to Repository.")
		return nil
	}
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil
	}
	if msg := checkCommentBody(in.Body); msg != "" {
		s.writeValidation(w, "IssueComment", "body", "custom", msg)
		return nil
	}
	old := c.body
	c.body, c.updated = *in.Body, s.clock()
	s.writeJSON(w, http.StatusOK, s.issueComment(c))
	return []event{s.commentEvent(c, "edited", who.user, old)}
}

func (s *Server) react(w *recorder, rp *repo, id string, body []byte, who principal) {
	c := s.commentOf(rp, id)
	if c == nil {
		s.writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var in struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	for _, re := range c.reactions {
		if re.user == who.user && re.content == in.Content {
			s.writeJSON(w, http.StatusOK, s.reactionObject(re))
			return
		}
	}
	re := &reaction{id: s.id(), user: who.user, content: in.Content, created: s.clock()}
	c.reactions = append(c.reactions, re)
	s.writeJSON(w, http.StatusCreated, s.reactionObject(re))
}

// writePage writes one page of a list, with GitHub's Link header.
func (s *Server) writePage(w *recorder, r *http.Request, items []object) {
	q := r.URL.Query()
	perPage := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	page := 1
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	last := max(1, (len(items)+perPage-1)/perPage)
	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		u := s.APIURL() + strings.TrimPrefix(r.URL.Path, "/") + "?" + q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u, rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.header.Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*perPage, len(items))
	end := min(start+perPage, len(items))
	s.writeJSON(w, http.StatusOK, append([]object{}, items[start:end]...))
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Errorf("github fake: encoding an answer: %v", err)
		status, b = http.StatusInternalServerError, []byte(`{"message":"Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) writeError(w http.ResponseWriter, status int, message string) {
	s.writeJSON(w, status, object{
		"message":           message,
		"documentation_url": "https://docs.github.com/rest",
		"status":            strconv.Itoa(status),
	})
}

// writeValidation is GitHub's 422 answer.
func (s *Server) writeValidation(w http.ResponseWriter, resource, field, code, message string) {
	e := object{"resource": resource, "code": code}
	if field != "" {
		e["field"] = field
	}
	if message != "" {
		e["message"] = message
	}
	s.writeJSON(w, http.StatusUnprocessableEntity, object{
		"message":           "Validation Failed",
		"errors":            []object{e},
		"documentation_url": "https://docs.github.com/rest",
		"status":            "422",
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// clock is the fake's time for new objects, to the second as on GitHub.
func (s *Server) clock() time.Time { return s.now().UTC().Truncate(time.Second) }
