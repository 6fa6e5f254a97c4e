// Package gitlabfake is an in-process, stateful fake of the parts of
// GitLab's REST API (v4) the bot uses — projects, merge requests, issue and
// merge request notes, award emoji on notes, project members and users —
// with real bare git repositories served over smart HTTP next to the API,
// and webhook deliveries shaped like GitLab's documented payloads.
//
// GitLab publishes no complete machine-readable description of API v4, so
// the fake is strict instead: a request to an endpoint it does not know,
// with a query parameter or body field it does not know, or with a value
// out of range fails the test (t.Errorf naming it) and gets 400 or 404.
// Its answers follow the field names of GitLab's API documentation and of
// the official Go client's structs.
//
// A test creates a Server, points the provider under test at
// Server.BaseURL with Server.Token, sets up projects, issues, notes and
// merge requests with the test controls (which act as people would, and
// deliver webhooks), and checks the state with Notes, AwardEmoji,
// MergeRequests and Writes.
package gitlabfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/test/forge/githttp"
)

// Options configure a Server. The zero value is a GitLab at the server's
// root whose bot account "upgrade-bot" is a bot user (as the users behind
// project and group access tokens are).
type Options struct {
	// Token is the bot's access token; the API wants it in the
	// PRIVATE-TOKEN header and git wants it as the basic-auth password.
	// Default "glpat-fake-upgrade-bot".
	Token string
	// BotUsername is the username of the account Token belongs to.
	// Default "upgrade-bot".
	BotUsername string
	// BotIsHuman makes the bot's account a regular user (a personal
	// access token) instead of a bot user.
	BotIsHuman bool
	// PathPrefix serves the instance under a path, as a self-managed GitLab
	// with a relative URL root ("/gitlab"): the API is then at
	// PathPrefix + "/api/v4".
	PathPrefix string
	// WebhookURL receives the webhook deliveries; empty records them
	// without sending. SetWebhook changes it later.
	WebhookURL string
	// WebhookSecret is sent in X-Gitlab-Token; empty sends no such header.
	WebhookSecret string
	// MaxPerPage caps the page size of lists (GitLab: 100), so that tests
	// see pagination with a few items. Default 100.
	MaxPerPage int
	// NoIdempotencyKey leaves out the Idempotency-Key header, as GitLab
	// before 17.4 did.
	NoIdempotencyKey bool
}

// Server is the fake GitLab. Its methods are safe for concurrent use; the
// test controls (CreateProject, AddNote, ...) act as people would, through
// the same state the API serves.
type Server struct {
	t    testing.TB
	opts Options
	srv  *httptest.Server
	git  *githttp.Server
	hook *http.Client

	mu         sync.Mutex
	last       time.Time // the fake's clock: every change is later than the one before
	ids        int64     // one sequence for every id: no two kinds share a number
	users      map[string]*user
	usersByID  map[int64]*user
	bot        *user
	projects   map[string]*project
	byID       map[int64]*project
	failures   []failure
	writes     int
	merges     int
	deliveries []Delivery
	webhookURL string
	secret     string
	gitMu      sync.Mutex // serializes the fake's own git writes

	pending     sync.WaitGroup // webhook deliveries in the background
	webhookUUID string         // X-Gitlab-Webhook-UUID: one webhook
}

// failure is one answer FailNext asked for.
type failure struct {
	method, pattern string
	status          int
	header          http.Header
}

// New starts a fake GitLab for the test; it stops when the test ends. It
// skips the test when git is not installed.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = "glpat-fake-upgrade-bot"
	}
	if opts.BotUsername == "" {
		opts.BotUsername = "upgrade-bot"
	}
	if opts.MaxPerPage <= 0 || opts.MaxPerPage > 100 {
		opts.MaxPerPage = 100
	}
	opts.PathPrefix = strings.TrimRight(opts.PathPrefix, "/")
	if opts.PathPrefix != "" && !strings.HasPrefix(opts.PathPrefix, "/") {
		opts.PathPrefix = "/" + opts.PathPrefix
	}
	s := &Server{
		t:           t,
		opts:        opts,
		git:         githttp.New(t),
		hook:        &http.Client{Timeout: 30 * time.Second},
		users:       map[string]*user{},
		usersByID:   map[int64]*user{},
		projects:    map[string]*project{},
		byID:        map[int64]*project{},
		webhookURL:  opts.WebhookURL,
		secret:      opts.WebhookSecret,
		ids:         100,
		webhookUUID: newUUID(),
	}
	s.git.SetAuth(githttp.Token(opts.Token))
	s.bot = s.userLocked(opts.BotUsername)
	s.bot.bot = !opts.BotIsHuman
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	t.Cleanup(s.pending.Wait) // runs first: deliveries finish before the server stops
	return s
}

// BaseURL is the instance's web address (with the path prefix, if any):
// what the provider is configured with.
func (s *Server) BaseURL() string { return s.srv.URL + s.opts.PathPrefix }

// APIURL is the address of API v4.
func (s *Server) APIURL() string { return s.BaseURL() + "/api/v4" }

// Token is the bot's access token.
func (s *Server) Token() string { return s.opts.Token }

// BotUsername is the bot account's username.
func (s *Server) BotUsername() string { return s.opts.BotUsername }

// Git is the git server behind the fake, for inspecting repositories
// (Git, Path, Pushes).
func (s *Server) Git() *githttp.Server { return s.git }

// SetWebhook sends later deliveries to url with secret in X-Gitlab-Token
// (none when secret is empty).
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL, s.secret = url, secret
}

// Writes is how many API requests changed something (created, updated or
// closed a merge request, wrote a note, awarded an emoji). Failed requests
// and the test controls do not count.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// FailNext makes the next API request with method whose path (below
// /api/v4, escaped as sent, such as "/projects/group%2Fapp/merge_requests")
// matches pathPattern (path.Match syntax, "*" never spans a "/") fail with
// status and header, once. The request is still checked, and changes
// nothing.
func (s *Server) FailNext(method, pathPattern string, status int, header http.Header) {
	if _, err := path.Match(pathPattern, "/"); err != nil {
		s.t.Fatalf("gitlab fake: bad FailNext pattern %q: %v", pathPattern, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{method: method, pattern: pathPattern, status: status, header: header.Clone()})
}

// ServeHTTP serves the API below PathPrefix + "/api/v4" and the git
// repositories at PathPrefix + "/<path>.git", as GitLab does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, s.opts.PathPrefix+"/") {
		s.t.Errorf("gitlab fake: %s %s is outside the instance's path %q", r.Method, p, s.opts.PathPrefix+"/")
		writeError(w, http.StatusNotFound, "404 Not Found")
		return
	}
	p = strings.TrimPrefix(p, s.opts.PathPrefix)
	switch {
	case strings.HasPrefix(p, "/api/v4/"):
		s.serveAPI(w, r, strings.TrimPrefix(p, "/api/v4"))
	case strings.Contains(p, ".git/"):
		s.serveGit(w, r, p)
	default:
		s.t.Errorf("gitlab fake: %s %s: the fake serves no web pages, only /api/v4 and git", r.Method, r.URL.Path)
		writeError(w, http.StatusNotFound, "404 Not Found")
	}
}

// serveGit serves a repository to git, keeping the merge request refs
// current first, as GitLab does on every push.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, p string) {
	repo := p[1:strings.Index(p, ".git/")]
	if strings.HasSuffix(p, "/info/refs") {
		s.syncMergeRequestRefs(r.Context(), repo)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = p
	r2.URL.RawPath = ""
	s.git.ServeHTTP(w, r2)
}

// call is one API request being served.
type call struct {
	r      *http.Request
	w      http.ResponseWriter
	route  *route
	path   string            // below /api/v4, escaped
	params map[string]string // path parameters, unescaped
	query  url.Values
	body   map[string]json.RawMessage
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, escaped string) {
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, seg := range segs {
		u, err := url.PathUnescape(seg)
		if err != nil {
			s.t.Errorf("gitlab fake: %s %s: bad path segment %q: %v", r.Method, escaped, seg, err)
			writeError(w, http.StatusBadRequest, "400 Bad request - malformed path")
			return
		}
		segs[i] = u
	}
	rt, params, pathKnown := matchRoute(r.Method, segs)
	if rt == nil {
		if pathKnown {
			s.t.Errorf("gitlab fake: method %s is not served for %s", r.Method, escaped)
			writeError(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
			return
		}
		s.t.Errorf("gitlab fake: unknown endpoint %s %s", r.Method, escaped)
		writeError(w, http.StatusNotFound, "404 Not Found")
		return
	}
	if r.Header.Get("PRIVATE-TOKEN") != s.opts.Token {
		writeError(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	c := &call{r: r, w: w, route: rt, path: escaped, params: params, query: r.URL.Query()}
	if !s.checkRequest(c) {
		return
	}
	if f, ok := s.takeFailure(r.Method, escaped); ok {
		for k, vs := range f.header {
			w.Header()[k] = vs
		}
		writeError(w, f.status, fmt.Sprintf("%d %s", f.status, http.StatusText(f.status)))
		return
	}
	status, out := rt.handle(s, c)
	if status >= 400 {
		writeError(w, status, out)
		return
	}
	if r.Method != http.MethodGet {
		s.mu.Lock()
		s.writes++
		s.mu.Unlock()
	}
	writeJSON(w, status, out)
}

// checkRequest enforces the route's query parameters and body fields.
func (s *Server) checkRequest(c *call) bool {
	for name := range c.query {
		if !slices.Contains(c.route.query, name) {
			s.t.Errorf("gitlab fake: %s %s: unknown query parameter %q (known: %s)", c.r.Method, c.route.pattern, name, strings.Join(c.route.query, ", "))
			writeError(c.w, http.StatusBadRequest, fmt.Sprintf("400 Bad request - %s does not have a valid value", name))
			return false
		}
	}
	for _, name := range []string{"page", "per_page"} {
		if v := c.query.Get(name); v != "" {
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				s.t.Errorf("gitlab fake: %s %s: %s=%q is not a positive number", c.r.Method, c.route.pattern, name, v)
				writeError(c.w, http.StatusBadRequest, name+" is invalid")
				return false
			}
		}
	}
	switch c.r.Method {
	case http.MethodPost, http.MethodPut:
		if ct := c.r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			s.t.Errorf("gitlab fake: %s %s: Content-Type %q, want application/json", c.r.Method, c.route.pattern, ct)
		}
		c.body = map[string]json.RawMessage{}
		if err := json.NewDecoder(c.r.Body).Decode(&c.body); err != nil {
			s.t.Errorf("gitlab fake: %s %s: body is not a JSON object: %v", c.r.Method, c.route.pattern, err)
			writeError(c.w, http.StatusBadRequest, "400 Bad request - body is not JSON")
			return false
		}
		for name := range c.body {
			if !slices.Contains(c.route.body, name) {
				s.t.Errorf("gitlab fake: %s %s: unknown body field %q (known: %s)", c.r.Method, c.route.pattern, name, strings.Join(c.route.body, ", "))
				writeError(c.w, http.StatusBadRequest, fmt.Sprintf("400 Bad request - %s does not have a valid value", name))
				return false
			}
		}
	default:
		if c.r.ContentLength > 0 {
			s.t.Errorf("gitlab fake: %s %s has a body", c.r.Method, c.route.pattern)
		}
	}
	return true
}

func (s *Server) takeFailure(method, p string) (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.failures {
		if ok, _ := path.Match(f.pattern, p); ok && f.method == method {
			s.failures = slices.Delete(s.failures, i, i+1)
			return f, true
		}
	}
	return failure{}, false
}

// enumQuery checks that a query parameter, when given, has one of the
// allowed values; it fails the test otherwise.
func (s *Server) enumQuery(c *call, name string, allowed ...string) (string, bool) {
	v := c.query.Get(name)
	if v == "" || slices.Contains(allowed, v) {
		return v, true
	}
	s.t.Errorf("gitlab fake: %s %s: %s=%q, want one of %s", c.r.Method, c.route.pattern, name, v, strings.Join(allowed, ", "))
	return v, false
}

// timeQuery reads an ISO 8601 time parameter.
func (s *Server) timeQuery(c *call, name string) (time.Time, bool) {
	v := c.query.Get(name)
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		s.t.Errorf("gitlab fake: %s %s: %s=%q is not an ISO 8601 time: %v", c.r.Method, c.route.pattern, name, v, err)
		return time.Time{}, false
	}
	return t, true
}

// stringField reads a string body field; required fields must be present
// and not blank.
func (s *Server) stringField(c *call, name string, required bool) (string, bool, error) {
	raw, ok := c.body[name]
	if !ok {
		if required {
			return "", false, fmt.Errorf("%s is missing", name)
		}
		return "", false, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		s.t.Errorf("gitlab fake: %s %s: %s is not a string: %s", c.r.Method, c.route.pattern, name, raw)
		return "", false, fmt.Errorf("%s is invalid", name)
	}
	if required && strings.TrimSpace(v) == "" {
		return "", false, fmt.Errorf("%s is empty", name)
	}
	return v, true, nil
}

// paginate answers one page of items with GitLab's offset pagination
// headers (X-Page, X-Next-Page, Link, ...).
func (s *Server) paginate(c *call, items []any) []any {
	per := 20
	if v := c.query.Get("per_page"); v != "" {
		per, _ = strconv.Atoi(v)
	}
	per = min(per, s.opts.MaxPerPage)
	page := 1
	if v := c.query.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	total := len(items)
	pages := max(1, (total+per-1)/per)
	from := min((page-1)*per, total)
	to := min(from+per, total)
	h := c.w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Prev-Page", "")
	h.Set("X-Next-Page", "")
	link := func(n int, rel string) string {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<http://%s%s?%s>; rel="%s"`, c.r.Host, c.r.URL.EscapedPath(), q.Encode(), rel)
	}
	var links []string
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		links = append(links, link(page-1, "prev"))
	}
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	h.Set("Link", strings.Join(links, ", "))
	return items[from:to]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers as GitLab does: {"message": ...}.
func writeError(w http.ResponseWriter, status int, message any) {
	writeJSON(w, status, map[string]any{"message": message})
}
