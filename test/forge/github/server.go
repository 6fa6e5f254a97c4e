// Package githubfake is an in-process, stateful fake of the parts of
// GitHub's REST API the bot uses, for tests: repositories (real bare git
// repositories served over smart HTTP), issues, comments, reactions, pull
// requests, collaborator permissions, personal access tokens and a GitHub
// App with installation tokens. It delivers signed webhooks as GitHub does.
//
// Every request the fake receives and every answer it gives is checked
// against GitHub's official OpenAPI description (see Spec); a mismatch
// fails the test, so the fake cannot drift from GitHub unnoticed.
//
// A typical test:
//
//	spec := githubfake.LoadSpec(t)
//	gh := githubfake.New(t, githubfake.Options{Spec: spec})
//	token := gh.AddToken("upgrade-bot")
//	gh.CreateRepo(ctx, t, "acme/gitops", "testdata/gitops")
//	issue := gh.CreateIssue("acme/gitops", "alice", "Upgrades")
//	gh.AddComment("acme/gitops", issue, "alice", "/upgrade v31.0.0")
//
// and a client pointed at gh.APIURL() with the token.
package githubfake

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/upgrade-bot/upgrade-bot/test/forge/githttp"
)

// Options configures a Server.
type Options struct {
	// Spec is GitHub's API description the fake is checked against;
	// nil loads it, which takes half a second: share one between servers.
	Spec *Spec
	// PathPrefix serves the REST API under a path, as GitHub Enterprise
	// Server does ("/api/v3"); empty serves it at the root, as
	// api.github.com does.
	PathPrefix string
	// Now is the clock for the timestamps of issues, comments and pull
	// requests; nil is time.Now. Tokens always expire by the real clock,
	// since clients check them by it.
	Now func() time.Time
	// TokenTTL is how long installation tokens live; zero is an hour, as on
	// GitHub.
	TokenTTL time.Duration
}

// Server is the fake. Its methods are the test's controls: they set up
// state and report what the client did. They may be called while clients
// talk to the server.
type Server struct {
	// URL is the server's root, "http://127.0.0.1:<port>".
	URL string

	t        testing.TB
	spec     *Spec
	prefix   string
	now      func() time.Time
	tokenTTL time.Duration
	git      *githttp.Server
	http     *httptest.Server
	hooks    sync.WaitGroup

	mu            sync.Mutex
	nextID        int64
	users         map[string]*user
	repos         map[string]*repo
	comments      map[int64]*comment
	tokens        map[string]*token
	app           *app
	installations map[int64]*installation
	faults        []fault
	writes        int
	minted        int
	merges        int
	requests      map[string]int
	notModified   map[string]int
	hookURL       string
	hookSecret    []byte
	deliveries    []Delivery
}

// New starts a fake GitHub for the test; it stops when the test ends. It
// skips the test when git or GitHub's API description is not installed.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Spec == nil {
		opts.Spec = LoadSpec(t)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	s := &Server{
		t:             t,
		spec:          opts.Spec,
		prefix:        strings.TrimSuffix(opts.PathPrefix, "/"),
		now:           opts.Now,
		tokenTTL:      opts.TokenTTL,
		git:           githttp.New(t),
		nextID:        1000,
		users:         map[string]*user{},
		repos:         map[string]*repo{},
		comments:      map[int64]*comment{},
		tokens:        map[string]*token{},
		installations: map[int64]*installation{},
		requests:      map[string]int{},
		notModified:   map[string]int{},
	}
	s.git.SetAuth(func(_, password string) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.tokenUser(password) != nil
	})
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL
	t.Cleanup(func() {
		// Closing waits for the requests being served, the only places
		// that start deliveries; then the deliveries are waited for.
		s.http.Close()
		s.hooks.Wait()
	})
	return s
}

// APIURL is the REST API's base URL, ending in "/", for a client's base
// URL.
func (s *Server) APIURL() string { return s.URL + s.prefix + "/" }

// Git is the git server holding the repositories' bare clones, for tests
// that look at or change them directly.
func (s *Server) Git() *githttp.Server { return s.git }

type user struct {
	id      int64
	login   string
	bot     bool
	created time.Time
}

type repo struct {
	id            int64
	owner         *user
	name          string
	defaultBranch string
	created       time.Time
	pushed        time.Time
	nextNumber    int
	issues        map[int]*issue
	roles         map[string]string // lower-case login → role
	statuses      map[string][]*commitStatus
	checkRuns     map[string][]*checkRun
	protection    map[string]int // branch → approvals required
}

func (r *repo) fullName() string { return r.owner.login + "/" + r.name }

type issue struct {
	id       int64
	repo     *repo
	number   int
	title    string
	body     string
	user     *user
	state    string
	created  time.Time
	updated  time.Time
	closedAt time.Time
	pull     *pull
	comments []*comment
}

type pull struct {
	head, base   string
	headRepo     *repo
	headSHA      string
	baseSHA      string
	merged       bool
	mergedAt     time.Time
	mergedBy     *user
	mergeSHA     string
	commits      int
	additions    int
	deletions    int
	changedFiles int
	reviews      []*review
}

type comment struct {
	id        int64
	issue     *issue
	user      *user
	body      string
	created   time.Time
	updated   time.Time
	reactions []*reaction
}

type reaction struct {
	id      int64
	user    *user
	content string
	created time.Time
}

type installation struct {
	id      int64
	account *user
	created time.Time
}

type token struct {
	user         *user
	installation *installation
	expires      time.Time // zero: never
}

type app struct {
	App
	owner   *user
	bot     *user
	created time.Time
}

type fault struct {
	method, op string
	status     int
	header     http.Header
}

// principal is who a request is made by.
type principal struct {
	user         *user         // a token's user, or the App's bot user
	installation *installation // for installation tokens
	jwt          bool          // the App itself
}

// recorder keeps an answer so that it can be checked before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// ServeHTTP serves the REST API under the path prefix and the git
// repositories under "/git/".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/git/") {
		s.serveGit(w, r)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, s.prefix)
	if !ok || !strings.HasPrefix(path, "/") {
		s.t.Errorf("github fake: %s %s: not under the API prefix %q", r.Method, r.URL.Path, s.prefix+"/")
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	req := r.Clone(r.Context())
	req.URL.Path, req.URL.RawPath = path, ""
	route, params, err := s.spec.find(req)
	if err != nil {
		s.t.Errorf("github fake: %s %s: not an operation the fake serves in GitHub's API description: %v", r.Method, r.URL.Path, err)
		s.writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	op := operation(route)
	opts := &openapi3filter.Options{
		SkipSettingDefaults: true,
		AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	}
	reqInput := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	checked := body
	if op == "POST /app/installations/{installation_id}/access_tokens" && string(bytes.TrimSpace(body)) == "null" {
		// ghinstallation sends the body null when it asks for a token
		// without options. GitHub takes it as no options, and so does the
		// fake; the description only allows an object.
		checked = nil
	}
	req.Body = io.NopCloser(bytes.NewReader(checked))
	if err := openapi3filter.ValidateRequest(r.Context(), reqInput); err != nil {
		s.t.Errorf("github fake: %s %s: the request does not match GitHub's API description: %s", r.Method, r.URL.RequestURI(), describe(err))
	}

	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	s.serveAPI(rec, req, route, op, params, body)
	s.conditional(rec, req, route, op)

	respInput := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 rec.status,
		Header:                 rec.header,
		Options:                opts,
	}
	respInput.SetBodyBytes(rec.body.Bytes())
	if err := openapi3filter.ValidateResponse(r.Context(), respInput); err != nil {
		s.t.Errorf("github fake: %s %s: the fake's answer %d does not match GitHub's API description: %s", r.Method, r.URL.RequestURI(), rec.status, describe(err))
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(rec.body.Len()))
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// conditional gives a successful GET answer an ETag, as GitHub does, and
// turns it into 304 Not Modified when the request's If-None-Match names
// that ETag — for the operations whose description allows a 304 (GitHub
// sends ETags on others too; the fake keeps to its description and
// answers those 200). A 304 is counted apart from the other requests: it
// does not count against GitHub's rate limit.
func (s *Server) conditional(rec *recorder, r *http.Request, route *routers.Route, op string) {
	if r.Method != http.MethodGet || rec.status != http.StatusOK {
		return
	}
	h := sha256.New()
	h.Write([]byte(r.URL.RequestURI() + "\n"))
	h.Write(rec.body.Bytes())
	h.Write([]byte(rec.header.Get("Link")))
	etag := `W/"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
	rec.header.Set("ETag", etag)
	rec.header.Set("Cache-Control", "private, max-age=60, s-maxage=60")
	rec.header.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	if route.Operation.Responses == nil || route.Operation.Responses.Status(http.StatusNotModified) == nil {
		return
	}
	match := false
	for _, v := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		v = strings.TrimSpace(v)
		if v == "*" || strings.TrimPrefix(v, "W/") == strings.TrimPrefix(etag, "W/") {
			match = true
		}
	}
	if !match {
		return
	}
	rec.status = http.StatusNotModified
	rec.body.Reset()
	rec.header.Del("Content-Type")
	rec.header.Del("Link")
	s.mu.Lock()
	s.requests[op]--
	s.notModified[op]++
	s.mu.Unlock()
}

// serveAPI authenticates a request, applies injected faults, counts it and
// hands it to its handler.
func (s *Server) serveAPI(w *recorder, r *http.Request, route *routers.Route, op string, params map[string]string, body []byte) {
	s.mu.Lock()
	s.requests[op]++
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if write && op != "POST /app/installations/{installation_id}/access_tokens" {
		s.writes++
	}
	used := 0
	for _, n := range s.requests {
		used += n
	}
	s.mu.Unlock()

	w.header.Set("Content-Type", "application/json; charset=utf-8")
	w.header.Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.header.Set("X-GitHub-Request-Id", randomHex(8))
	w.header.Set("X-RateLimit-Limit", "5000")
	w.header.Set("X-RateLimit-Remaining", strconv.Itoa(max(5000-used, 1)))
	w.header.Set("X-RateLimit-Used", strconv.Itoa(used))
	w.header.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	w.header.Set("X-RateLimit-Resource", "core")

	who, status, msg := s.authenticate(r, op)
	if status != 0 {
		s.writeError(w, status, msg)
		return
	}
	if f, ok := s.takeFault(r.Method, route.Path); ok {
		s.writeFault(w, f)
		return
	}
	if !isEndpoint(op) {
		s.t.Errorf("github fake: %s: routed to an operation the fake does not serve", op)
		s.writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.handle(w, r, op, params, body, who)
}

// FailNext makes the next request for the operation (method and path
// template of GitHub's API description, e.g. "POST",
// "/repos/{owner}/{repo}/pulls") fail with status and the given headers,
// after authentication. The answer's body follows what GitHub sends: a 403
// or 429 with "X-RateLimit-Remaining: 0" is a primary rate limit, a 403
// with Retry-After a secondary rate limit; anything else a plain error.
func (s *Server) FailNext(method, pathPattern string, status int, header http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{method: strings.ToUpper(method), op: pathPattern, status: status, header: header.Clone()})
}

func (s *Server) takeFault(method, path string) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.method == method && f.op == path {
			s.faults = slices.Delete(s.faults, i, i+1)
			return f, true
		}
	}
	return fault{}, false
}

func (s *Server) writeFault(w *recorder, f fault) {
	for k, v := range f.header {
		w.header[k] = v
	}
	docs := "https://docs.github.com/rest"
	msg := http.StatusText(f.status)
	switch {
	case (f.status == http.StatusForbidden || f.status == http.StatusTooManyRequests) && f.header.Get("X-RateLimit-Remaining") == "0":
		msg = "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID."
		docs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	case f.status == http.StatusForbidden && f.header.Get("Retry-After") != "":
		msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		docs = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	}
	s.writeJSON(w, f.status, map[string]any{"message": msg, "documentation_url": docs, "status": strconv.Itoa(f.status)})
}

// Writes is how many write requests (POST, PATCH, PUT, DELETE) reached
// the REST API, minting installation tokens aside.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Requests is how many requests reached an operation, e.g.
// "GET /repos/{owner}/{repo}/issues/{issue_number}/comments", not
// counting those answered 304 Not Modified (see NotModified).
func (s *Server) Requests(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[op]
}

// NotModified is how many requests for an operation were answered 304
// Not Modified.
func (s *Server) NotModified(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notModified[op]
}

// Counts is what the REST API served so far: requests answered other than
// 304 by operation, and the 304s apart.
type Counts struct {
	Requests    map[string]int
	NotModified map[string]int
}

// Total is the number of requests other than 304s, and of 304s.
func (c Counts) Total() (requests, notModified int) {
	for _, n := range c.Requests {
		requests += n
	}
	for _, n := range c.NotModified {
		notModified += n
	}
	return requests, notModified
}

// Sub is what was served between an earlier snapshot and c.
func (c Counts) Sub(earlier Counts) Counts {
	out := Counts{Requests: map[string]int{}, NotModified: map[string]int{}}
	for op, n := range c.Requests {
		if d := n - earlier.Requests[op]; d != 0 {
			out.Requests[op] = d
		}
	}
	for op, n := range c.NotModified {
		if d := n - earlier.NotModified[op]; d != 0 {
			out.NotModified[op] = d
		}
	}
	return out
}

// Counts is a snapshot of the requests served so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Counts{Requests: maps.Clone(s.requests), NotModified: maps.Clone(s.notModified)}
}

// TokensMinted is how many installation tokens the App was given.
func (s *Server) TokensMinted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted
}

// authenticate tells who made a request, or the status and message to
// refuse it with.
func (s *Server) authenticate(r *http.Request, op string) (principal, int, string) {
	appOnly := op == "GET /app" ||
		op == "POST /app/installations/{installation_id}/access_tokens" ||
		op == "GET /repos/{owner}/{repo}/installation"
	auth := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	if auth == "" {
		return principal{}, http.StatusUnauthorized, "Requires authentication"
	}
	if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") {
		return principal{}, http.StatusUnauthorized, "Bad credentials"
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.Count(cred, ".") == 2 {
		if s.app == nil {
			return principal{}, http.StatusUnauthorized, "A JSON web token could not be decoded"
		}
		if err := verifyJWT(cred, s.app.PublicKey, s.app.ID, time.Now()); err != nil {
			s.t.Logf("github fake: %s: refusing the App's JSON web token: %v", op, err)
			return principal{}, http.StatusUnauthorized, "A JSON web token could not be decoded"
		}
		if !appOnly {
			return principal{}, http.StatusForbidden, "Resource not accessible by integration"
		}
		return principal{user: s.app.bot, jwt: true}, 0, ""
	}
	if appOnly {
		return principal{}, http.StatusUnauthorized, "A JSON web token could not be decoded"
	}
	tok, ok := s.tokens[cred]
	if !ok || (!tok.expires.IsZero() && time.Now().After(tok.expires)) {
		return principal{}, http.StatusUnauthorized, "Bad credentials"
	}
	return principal{user: tok.user, installation: tok.installation}, 0, ""
}

// tokenUser is the user of a valid token, or nil. s.mu is held.
func (s *Server) tokenUser(value string) *user {
	tok, ok := s.tokens[value]
	if !ok || (!tok.expires.IsZero() && time.Now().After(tok.expires)) {
		return nil
	}
	return tok.user
}

// userLocked returns the user login, creating a person when there is
// none. s.mu is held.
func (s *Server) userLocked(login string) *user {
	u, ok := s.users[strings.ToLower(login)]
	if !ok {
		u = &user{id: s.id(), login: login, created: s.now().UTC()}
		s.users[strings.ToLower(login)] = u
	}
	return u
}

// id is a new identifier, unique in the server. s.mu is held.
func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// AddUser adds a person, or a bot account when bot is true. Users the
// other controls name are added as people when they do not exist.
func (s *Server) AddUser(login string, bot bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(login).bot = bot
}

// AddToken returns a new personal access token of login (added as a person
// if unknown), valid for the API and for git.
func (s *Server) AddToken(login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	value := "ghp_" + randomHex(18)
	s.tokens[value] = &token{user: s.userLocked(login)}
	return value
}

// App is a GitHub App known to the fake.
type App struct {
	ID   int64
	Slug string
	// PublicKey checks the App's JSON web tokens.
	PublicKey *rsa.PublicKey
}

// SetApp registers the GitHub App; its bot account is "<slug>[bot]".
func (s *Server) SetApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bot := s.userLocked(a.Slug + "[bot]")
	bot.bot = true
	s.app = &app{App: a, owner: s.userLocked(a.Slug + "-owner"), bot: bot, created: s.now().UTC()}
}

// InstallApp installs the App on an account (user or organization): its
// installation tokens reach every repository of that account. It returns
// the installation's id.
func (s *Server) InstallApp(account string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		s.t.Fatalf("github fake: installing the App on %s: no App is set", account)
	}
	inst := &installation{id: s.id(), account: s.userLocked(account), created: s.now().UTC()}
	s.installations[inst.id] = inst
	return inst.id
}

// installationFor is the App's installation on an account, or nil. s.mu is
// held.
func (s *Server) installationFor(account *user) *installation {
	for _, inst := range s.installations {
		if inst.account == account {
			return inst
		}
	}
	return nil
}

// SetPermission gives user a role in repo: "admin", "maintain", "write",
// "triage", "read" or "none".
func (s *Server) SetPermission(repoName, login, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repoName)
	s.userLocked(login)
	r.roles[strings.ToLower(login)] = role
}

// role is a user's role in a repository. s.mu is held.
func (r *repo) role(u *user) string {
	if u == r.owner {
		return "admin"
	}
	if role, ok := r.roles[strings.ToLower(u.login)]; ok {
		return role
	}
	return "none"
}

// repoLocked returns a repository the test created, failing the test when
// there is none. s.mu is held.
func (s *Server) repoLocked(name string) *repo {
	r, ok := s.repos[strings.ToLower(name)]
	if !ok {
		s.t.Fatalf("github fake: no repository %s", name)
	}
	return r
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// String names the server in test logs.
func (s *Server) String() string { return fmt.Sprintf("GitHub fake at %s", s.APIURL()) }
