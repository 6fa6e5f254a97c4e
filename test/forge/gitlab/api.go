package gitlabfake

import (
	"cmp"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// noteLimit is the longest note GitLab accepts, in characters.
const noteLimit = 1_000_000

// emojiName is what GitLab accepts as an award emoji's name (its list of
// emoji names, approximately).
var emojiName = regexp.MustCompile(`^[a-z0-9_+-]+$`)

func (s *Server) getCurrentUser(_ *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, s.fullUser(s.bot)
}

func (s *Server) listUsers(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := strings.ToLower(c.query.Get("username"))
	var users []*user
	for _, u := range s.usersByID {
		if want == "" || strings.ToLower(u.username) == want {
			users = append(users, u)
		}
	}
	slices.SortFunc(users, func(a, b *user) int { return cmp.Compare(a.id, b.id) })
	items := make([]any, 0, len(users))
	for _, u := range users {
		items = append(items, s.fullUser(u))
	}
	return http.StatusOK, s.paginate(c, items)
}

func (s *Server) getProject(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(c.params["project"])
	if p == nil {
		return http.StatusNotFound, "404 Project Not Found"
	}
	return http.StatusOK, s.projectJSON(p)
}

func (s *Server) getMember(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(c.params["project"])
	if p == nil {
		return http.StatusNotFound, "404 Project Not Found"
	}
	id, err := strconv.ParseInt(c.params["user"], 10, 64)
	if err != nil {
		s.t.Errorf("gitlab fake: %s %s: user_id %q is not a number (GitLab wants the user's id here, not the username)", c.r.Method, c.path, c.params["user"])
		return http.StatusBadRequest, "400 Bad request - user_id is invalid"
	}
	level, ok := p.members[id]
	u := s.usersByID[id]
	if !ok || u == nil {
		return http.StatusNotFound, "404 Not found"
	}
	return http.StatusOK, memberJSON{ID: u.id, Username: u.username, Name: displayName(u.username), State: u.state,
		AvatarURL: "https://www.gravatar.com/avatar/" + u.username, WebURL: s.userURL(u),
		AccessLevel: level, CreatedAt: apiTime(p.created)}
}

// listFilter is what the issue and merge request lists have in common.
type listFilter struct {
	state          string
	after, before  time.Time
	createdAfter   time.Time
	orderBy, order string
}

func (s *Server) readListFilter(c *call, states, orders []string) (listFilter, bool) {
	var f listFilter
	var ok1, ok2, ok3, ok4, ok5, ok6 bool
	f.state, ok1 = s.enumQuery(c, "state", states...)
	f.after, ok2 = s.timeQuery(c, "updated_after")
	f.createdAfter, ok6 = s.timeQuery(c, "created_after")
	f.before, ok3 = s.timeQuery(c, "updated_before")
	f.orderBy, ok4 = s.enumQuery(c, "order_by", orders...)
	f.order, ok5 = s.enumQuery(c, "sort", "asc", "desc")
	if f.orderBy == "" {
		f.orderBy = "created_at"
	}
	if f.order == "" {
		f.order = "desc"
	}
	return f, ok1 && ok2 && ok3 && ok4 && ok5 && ok6
}

func (f listFilter) keep(t *thread) bool {
	switch {
	case f.state != "" && f.state != "all" && t.state != f.state:
		return false
	case !f.after.IsZero() && t.updated.Before(f.after):
		return false
	case !f.before.IsZero() && t.updated.After(f.before):
		return false
	case !f.createdAfter.IsZero() && t.created.Before(f.createdAfter):
		return false
	}
	return true
}

func (f listFilter) compare(a, b *thread) int {
	var c int
	switch f.orderBy {
	case "updated_at":
		c = a.updated.Compare(b.updated)
	case "title":
		c = strings.Compare(a.title, b.title)
	default:
		c = a.created.Compare(b.created)
	}
	if c == 0 {
		c = cmp.Compare(a.id, b.id)
	}
	if f.order == "desc" {
		c = -c
	}
	return c
}

func (s *Server) listIssues(c *call) (int, any) {
	f, ok := s.readListFilter(c, []string{"opened", "closed", "all"}, []string{"created_at", "updated_at", "title"})
	if !ok {
		return http.StatusBadRequest, "400 Bad request - invalid parameter"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(c.params["project"])
	if p == nil {
		return http.StatusNotFound, "404 Project Not Found"
	}
	author := c.r.URL.Query().Get("author_username")
	var list []*issue
	for _, is := range p.issues {
		if f.keep(&is.thread) && (author == "" || strings.EqualFold(is.author.username, author)) {
			list = append(list, is)
		}
	}
	slices.SortFunc(list, func(a, b *issue) int { return f.compare(&a.thread, &b.thread) })
	items := make([]any, 0, len(list))
	for _, is := range list {
		items = append(items, s.issueJSON(p, is))
	}
	return http.StatusOK, s.paginate(c, items)
}

func (s *Server) listMergeRequests(c *call) (int, any) {
	f, ok := s.readListFilter(c, []string{"opened", "closed", "locked", "merged", "all"}, []string{"created_at", "updated_at", "title", "merged_at"})
	if !ok {
		return http.StatusBadRequest, "400 Bad request - invalid parameter"
	}
	source, target := c.query.Get("source_branch"), c.query.Get("target_branch")
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(c.params["project"])
	if p == nil {
		return http.StatusNotFound, "404 Project Not Found"
	}
	var list []*mergeRequest
	for _, mr := range p.mrs {
		if f.keep(&mr.thread) && (source == "" || mr.source == source) && (target == "" || mr.target == target) {
			list = append(list, mr)
		}
	}
	slices.SortFunc(list, func(a, b *mergeRequest) int { return f.compare(&a.thread, &b.thread) })
	items := make([]any, 0, len(list))
	for _, mr := range list {
		items = append(items, s.mergeRequestJSON(c.r.Context(), p, mr, false))
	}
	return http.StatusOK, s.paginate(c, items)
}

func (s *Server) createMergeRequest(c *call) (int, any) {
	var fields [3]string
	for i, name := range []string{"title", "source_branch", "target_branch"} {
		v, _, err := s.stringField(c, name, true)
		if err != nil {
			return http.StatusBadRequest, err.Error()
		}
		fields[i] = v
	}
	desc, _, err := s.stringField(c, "description", false)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(c.params["project"])
	if p == nil {
		return http.StatusNotFound, "404 Project Not Found"
	}
	mr, msg := s.openMergeRequestLocked(c.r.Context(), p, s.bot, fields[1], fields[2], fields[0], desc)
	if mr == nil {
		if m, ok := msg.([]string); ok && len(m) == 1 && strings.HasPrefix(m[0], "Another open merge request") {
			return http.StatusConflict, msg
		}
		return http.StatusBadRequest, msg
	}
	s.deliverLater("Merge Request Hook", s.mergeRequestHookLocked(c.r.Context(), p, mr, s.bot, "open", ""))
	s.updateMergeRequestRefLocked(c.r.Context(), p, mr)
	return http.StatusCreated, s.mergeRequestJSON(c.r.Context(), p, mr, true)
}

// mergeRequestFor finds the merge request of a call. Call with s.mu held.
func (s *Server) mergeRequestFor(c *call) (*project, *mergeRequest, int, string) {
	p := s.projectLocked(c.params["project"])
	if p == nil {
		return nil, nil, http.StatusNotFound, "404 Project Not Found"
	}
	iid, err := strconv.ParseInt(c.params["iid"], 10, 64)
	if err != nil {
		s.t.Errorf("gitlab fake: %s %s: merge request iid %q is not a number", c.r.Method, c.path, c.params["iid"])
		return nil, nil, http.StatusNotFound, "404 Not found"
	}
	mr := p.mr(iid)
	if mr == nil {
		return nil, nil, http.StatusNotFound, "404 Not found"
	}
	return p, mr, 0, ""
}

func (s *Server) getMergeRequest(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, mr, status, msg := s.mergeRequestFor(c)
	if mr == nil {
		return status, msg
	}
	return http.StatusOK, s.mergeRequestJSON(c.r.Context(), p, mr, true)
}

func (s *Server) updateMergeRequest(c *call) (int, any) {
	title, hasTitle, err := s.stringField(c, "title", false)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	desc, hasDesc, err := s.stringField(c, "description", false)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	event, hasEvent, err := s.stringField(c, "state_event", false)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	if !hasTitle && !hasDesc && !hasEvent {
		return http.StatusBadRequest, "400 Bad request - at least one parameter must be provided"
	}
	if hasTitle && strings.TrimSpace(title) == "" {
		return http.StatusBadRequest, map[string][]string{"title": {"can't be blank"}}
	}
	if hasEvent && event != "close" && event != "reopen" {
		s.t.Errorf("gitlab fake: %s %s: state_event=%q, want close or reopen", c.r.Method, c.path, event)
		return http.StatusBadRequest, "state_event does not have a valid value"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, mr, status, msg := s.mergeRequestFor(c)
	if mr == nil {
		return status, msg
	}
	if mr.state == "merged" && hasEvent {
		return http.StatusMethodNotAllowed, "405 Method Not Allowed"
	}
	action := "update"
	if hasTitle {
		mr.title = title
	}
	if hasDesc {
		mr.desc = desc
	}
	now := s.now()
	mr.updated = now
	switch {
	case event == "close" && mr.state == "opened":
		mr.state, mr.closed, action = "closed", now, "close"
	case event == "reopen" && mr.state == "closed":
		mr.state, mr.closed, action = "opened", time.Time{}, "reopen"
	}
	s.deliverLater("Merge Request Hook", s.mergeRequestHookLocked(c.r.Context(), p, mr, s.bot, action, ""))
	return http.StatusOK, s.mergeRequestJSON(c.r.Context(), p, mr, true)
}

// threadFor finds the issue or merge request of a call. Call with s.mu
// held.
func (s *Server) threadFor(c *call) (*project, *thread, vcs.Thread, int, string) {
	p := s.projectLocked(c.params["project"])
	if p == nil {
		return nil, nil, vcs.Thread{}, http.StatusNotFound, "404 Project Not Found"
	}
	iid, err := strconv.Atoi(c.params["iid"])
	if err != nil {
		s.t.Errorf("gitlab fake: %s %s: iid %q is not a number", c.r.Method, c.path, c.params["iid"])
		return nil, nil, vcs.Thread{}, http.StatusNotFound, "404 Not found"
	}
	th := vcs.Thread{Number: iid, PullRequest: c.params["kind"] == "merge_requests"}
	t := p.threadOf(th)
	if t == nil {
		if th.PullRequest {
			return nil, nil, th, http.StatusNotFound, "404 Merge Request Not Found"
		}
		return nil, nil, th, http.StatusNotFound, "404 Issue Not Found"
	}
	return p, t, th, 0, ""
}

// noteFor finds the note of a call. Call with s.mu held.
func (s *Server) noteFor(c *call) (*project, *thread, vcs.Thread, *note, int, string) {
	p, t, th, status, msg := s.threadFor(c)
	if t == nil {
		return nil, nil, th, nil, status, msg
	}
	id, err := strconv.ParseInt(c.params["note"], 10, 64)
	if err != nil {
		s.t.Errorf("gitlab fake: %s %s: note id %q is not a number", c.r.Method, c.path, c.params["note"])
		return nil, nil, th, nil, http.StatusNotFound, "404 Not found"
	}
	n := t.note(id)
	if n == nil {
		return nil, nil, th, nil, http.StatusNotFound, "404 Note Not Found"
	}
	return p, t, th, n, 0, ""
}

func noteableType(th vcs.Thread) string {
	if th.PullRequest {
		return "MergeRequest"
	}
	return "Issue"
}

func (s *Server) listNotes(c *call) (int, any) {
	orderBy, ok1 := s.enumQuery(c, "order_by", "created_at", "updated_at")
	order, ok2 := s.enumQuery(c, "sort", "asc", "desc")
	if !ok1 || !ok2 {
		return http.StatusBadRequest, "400 Bad request - invalid parameter"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, t, th, status, msg := s.threadFor(c)
	if t == nil {
		return status, msg
	}
	notes := slices.Clone(t.notes)
	slices.SortStableFunc(notes, func(a, b *note) int {
		x := a.created.Compare(b.created)
		if orderBy == "updated_at" {
			x = a.updated.Compare(b.updated)
		}
		if x == 0 {
			x = cmp.Compare(a.id, b.id)
		}
		if order != "asc" { // GitLab's default is newest first
			x = -x
		}
		return x
	})
	items := make([]any, 0, len(notes))
	for _, n := range notes {
		items = append(items, s.noteJSON(p, t, noteableType(th), n))
	}
	return http.StatusOK, s.paginate(c, items)
}

// checkNoteBody applies GitLab's limits to a note's body.
func checkNoteBody(body string) (int, any) {
	if n := utf8.RuneCountInString(body); n > noteLimit {
		return http.StatusBadRequest, map[string][]string{"note": {"is too long (maximum is 1000000 characters)"}}
	}
	return 0, nil
}

func (s *Server) createNote(c *call) (int, any) {
	body, _, err := s.stringField(c, "body", true)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	if status, msg := checkNoteBody(body); status != 0 {
		return status, msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, t, th, status, msg := s.threadFor(c)
	if t == nil {
		return status, msg
	}
	n := s.addNoteLocked(t, s.bot, body, false)
	s.deliverLater("Note Hook", s.noteHookLocked(p, th, n, "create"))
	return http.StatusCreated, s.noteJSON(p, t, noteableType(th), n)
}

func (s *Server) updateNote(c *call) (int, any) {
	body, _, err := s.stringField(c, "body", true)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	if status, msg := checkNoteBody(body); status != 0 {
		return status, msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, t, th, n, status, msg := s.noteFor(c)
	if n == nil {
		return status, msg
	}
	if n.author != s.bot || n.system {
		return http.StatusForbidden, "403 Forbidden"
	}
	n.body = body
	n.updated = s.now()
	t.updated = n.updated
	s.deliverLater("Note Hook", s.noteHookLocked(p, th, n, "update"))
	return http.StatusOK, s.noteJSON(p, t, noteableType(th), n)
}

func (s *Server) listAwards(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, _, n, status, msg := s.noteFor(c)
	if n == nil {
		return status, msg
	}
	items := make([]any, 0, len(n.awards))
	for _, a := range n.awards {
		items = append(items, s.awardJSON(n, a))
	}
	return http.StatusOK, s.paginate(c, items)
}

func (s *Server) createAward(c *call) (int, any) {
	name, _, err := s.stringField(c, "name", true)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, _, n, status, msg := s.noteFor(c)
	if n == nil {
		return status, msg
	}
	// GitLab answers a refused award with not_found!("Award Emoji " +
	// the validation message).
	if !emojiName.MatchString(name) {
		return http.StatusNotFound, "404 Award Emoji Name is not a valid emoji name Not Found"
	}
	for _, a := range n.awards {
		if a.name == name && a.user == s.bot {
			return http.StatusNotFound, "404 Award Emoji Name has already been taken Not Found"
		}
	}
	a := &award{id: s.nextID(), name: name, user: s.bot, created: s.now()}
	n.awards = append(n.awards, a)
	return http.StatusCreated, s.awardJSON(n, a)
}
