package githubfake

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v89/github"
)

// recordingT keeps the errors the fake reports instead of failing the
// test, to check that it reports them.
type recordingT struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingT) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.errors
	r.errors = nil
	return e
}

func repoDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# gitops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func do(t *testing.T, method, url, token string, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestValidation checks that the fake reports requests GitHub's API
// description does not allow: the check that keeps clients and the fake
// honest.
func TestValidation(t *testing.T) {
	spec := LoadSpec(t)
	rec := &recordingT{TB: t}
	s := New(rec, Options{Spec: spec})
	token := s.AddToken("alice")
	s.CreateRepo(t.Context(), t, "acme/gitops", repoDir(t))
	api := s.APIURL()

	tests := []struct {
		name, method, path, body string
		wantReport               string // empty: a valid request, nothing reported
	}{
		{"valid", "GET", "repos/acme/gitops/pulls?state=open&per_page=100", "", ""},
		{"valid with a prefix filter", "GET", "repos/acme/gitops/issues/comments?since=2025-01-01T00:00:00Z&sort=created&direction=asc", "", ""},
		{"enum violated", "GET", "repos/acme/gitops/pulls?state=merged", "", "does not match GitHub's API description"},
		{"body of the wrong type", "POST", "repos/acme/gitops/pulls", `{"title": 5, "head": "x", "base": "main"}`, "does not match GitHub's API description"},
		{"required field missing", "POST", "repos/acme/gitops/issues/1/comments", `{}`, "does not match GitHub's API description"},
		{"unknown reaction", "POST", "repos/acme/gitops/issues/comments/1/reactions", `{"content": "party"}`, "does not match GitHub's API description"},
		{"not an endpoint", "GET", "repos/acme/gitops/branches", "", "not an operation the fake serves"},
		{"a method the fake does not serve", "DELETE", "repos/acme/gitops/pulls/1", "", "not an operation the fake serves"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, tt.method, api+tt.path, token, tt.body)
			reports := rec.take()
			if tt.wantReport == "" {
				if len(reports) > 0 {
					t.Errorf("a valid request was reported: %q", reports)
				}
				return
			}
			if len(reports) == 0 || !strings.Contains(reports[0], tt.wantReport) {
				t.Errorf("reports = %q, want one saying %q", reports, tt.wantReport)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	s := New(t, Options{Spec: LoadSpec(t)})
	token := s.AddToken("alice")
	s.CreateRepo(t.Context(), t, "acme/gitops", repoDir(t))
	tests := []struct {
		name, token, path string
		want              int
	}{
		{"token", token, "repos/acme/gitops", http.StatusOK},
		{"no token", "", "repos/acme/gitops", http.StatusUnauthorized},
		{"wrong token", "ghp_wrong", "repos/acme/gitops", http.StatusUnauthorized},
		{"unknown repository", token, "repos/acme/missing", http.StatusNotFound},
		{"App endpoint with a token", token, "app", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, body := do(t, "GET", s.APIURL()+tt.path, tt.token, ""); got != tt.want {
				t.Errorf("GET %s = %d %s, want %d", tt.path, got, body, tt.want)
			}
		})
	}

	git := func(url string) error {
		cmd := exec.CommandContext(t.Context(), "git", "ls-remote", url)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	host := strings.TrimPrefix(s.URL, "http://")
	if err := git("http://x-access-token:" + token + "@" + host + "/git/acme/gitops.git"); err != nil {
		t.Errorf("git with the token: %v", err)
	}
	if err := git("http://" + host + "/git/acme/gitops.git"); err == nil {
		t.Error("git without a token was let in")
	}
	if err := git("http://x-access-token:ghp_wrong@" + host + "/git/acme/gitops.git"); err == nil {
		t.Error("git with a wrong token was let in")
	}
}

// jwt signs claims as a GitHub App does, with the given algorithm name in
// the header.
func jwt(t *testing.T, key *rsa.PrivateKey, alg string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": alg, "typ": "JWT"}) + "." + enc(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestVerifyJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(iss any, iat, exp time.Time) map[string]any {
		return map[string]any{"iss": iss, "iat": iat.Unix(), "exp": exp.Unix()}
	}
	good := claims("42", now.Add(-30*time.Second), now.Add(90*time.Second))
	tests := []struct {
		name    string
		token   string
		wantErr string
	}{
		{"good", jwt(t, key, "RS256", good), ""},
		{"issuer as a number", jwt(t, key, "RS256", claims(42, now, now.Add(time.Minute))), ""},
		{"another key", jwt(t, other, "RS256", good), "not the App's"},
		{"another App", jwt(t, key, "RS256", claims("43", now, now.Add(time.Minute))), "issuer"},
		{"expired", jwt(t, key, "RS256", claims("42", now.Add(-5*time.Minute), now.Add(-time.Minute))), "expired"},
		{"from the future", jwt(t, key, "RS256", claims("42", now.Add(5*time.Minute), now.Add(6*time.Minute))), "future"},
		{"too long", jwt(t, key, "RS256", claims("42", now, now.Add(11*time.Minute))), "more than 10 minutes"},
		{"algorithm none", jwt(t, key, "none", good), "algorithm"},
		{"not a token", "abc.def", "not a JSON web token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyJWT(tt.token, &key.PublicKey, 42, now)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("verifyJWT: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("verifyJWT = %v, want an error saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestWebhookDelivery(t *testing.T) {
	s := New(t, Options{Spec: LoadSpec(t)})
	s.CreateRepo(t.Context(), t, "acme/gitops", repoDir(t))
	secret := []byte("s3cret")
	type got struct {
		header http.Header
		body   []byte
	}
	received := make(chan got, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received <- got{r.Header.Clone(), b}
	}))
	defer receiver.Close()
	s.SetWebhook(receiver.URL, secret)

	issue := s.CreateIssue("acme/gitops", "alice", "Upgrades")
	id := s.AddComment("acme/gitops", issue, "alice", "/upgrade v31.0.0")
	g := <-received
	// Checked with go-github's own verification, not the fake's signing.
	if err := github.ValidateSignature(g.header.Get("X-Hub-Signature-256"), g.body, secret); err != nil {
		t.Errorf("X-Hub-Signature-256: %v", err)
	}
	if err := github.ValidateSignature(g.header.Get("X-Hub-Signature"), g.body, secret); err != nil {
		t.Errorf("X-Hub-Signature: %v", err)
	}
	if g.header.Get("X-GitHub-Event") != "issue_comment" || g.header.Get("X-GitHub-Delivery") == "" {
		t.Errorf("headers %v", g.header)
	}
	payload, err := github.ParseWebHook("issue_comment", g.body)
	if err != nil {
		t.Fatal(err)
	}
	e := payload.(*github.IssueCommentEvent)
	if e.GetAction() != "created" || e.GetComment().GetID() != id || e.GetComment().GetBody() != "/upgrade v31.0.0" ||
		e.GetIssue().GetNumber() != issue || e.GetIssue().IsPullRequest() || e.GetRepo().GetFullName() != "acme/gitops" ||
		e.GetSender().GetLogin() != "alice" || e.GetComment().GetUser().GetType() != "User" {
		t.Errorf("payload %s", g.body)
	}

	d := s.Deliveries()
	if len(d) != 1 || d[0].Status != http.StatusOK || !bytes.Equal(d[0].Payload, g.body) {
		t.Fatalf("deliveries %v", d)
	}
	again := s.Redeliver(d[0].ID)
	g2 := <-received
	if !again.Redelivery || g2.header.Get("X-GitHub-Delivery") != d[0].ID || !bytes.Equal(g2.body, g.body) {
		t.Errorf("redelivery %v with id %s", again, g2.header.Get("X-GitHub-Delivery"))
	}
}

func TestFaultsAndWrites(t *testing.T) {
	s := New(t, Options{Spec: LoadSpec(t)})
	token := s.AddToken("alice")
	s.CreateRepo(t.Context(), t, "acme/gitops", repoDir(t))
	issue := s.CreateIssue("acme/gitops", "alice", "Upgrades")
	comments := s.APIURL() + fmt.Sprintf("repos/acme/gitops/issues/%d/comments", issue)

	s.FailNext("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", http.StatusBadGateway, nil)
	if code, _ := do(t, "POST", comments, token, `{"body":"one"}`); code != http.StatusBadGateway {
		t.Errorf("first POST = %d, want the injected 502", code)
	}
	if code, _ := do(t, "GET", comments, token, ""); code != http.StatusOK {
		t.Errorf("a GET after a POST fault = %d, want 200", code)
	}
	if code, _ := do(t, "POST", comments, token, `{"body":"two"}`); code != http.StatusCreated {
		t.Errorf("second POST = %d, want 201", code)
	}
	if n := s.Writes(); n != 2 {
		t.Errorf("Writes = %d, want 2 (the failed POST counts)", n)
	}
	if c := s.Comments("acme/gitops", issue); len(c) != 1 || c[0].Body != "two" {
		t.Errorf("comments %+v", c)
	}

	s.FailNext("GET", "/repos/{owner}/{repo}", http.StatusForbidden, http.Header{"Retry-After": {"60"}})
	code, body := do(t, "GET", s.APIURL()+"repos/acme/gitops", token, "")
	if code != http.StatusForbidden || !bytes.Contains(body, []byte("secondary-rate-limits")) {
		t.Errorf("secondary rate limit = %d %s", code, body)
	}
}

// TestSpecRoutes checks that the cut-down description routes every
// operation the fake serves to itself, and nothing else.
func TestSpecRoutes(t *testing.T) {
	start := time.Now()
	spec := LoadSpec(t)
	t.Logf("loading GitHub's API description, cut down to %d operations, took %s", len(endpoints()), time.Since(start))
	fill := strings.NewReplacer("{owner}", "acme", "{repo}", "gitops", "{pull_number}", "7", "{issue_number}", "7",
		"{comment_id}", "12", "{username}", "alice", "{installation_id}", "3")
	for _, op := range endpoints() {
		method, path, _ := strings.Cut(op, " ")
		req := httptest.NewRequest(method, fill.Replace(path), nil)
		route, _, err := spec.find(req)
		if err != nil {
			t.Errorf("%s: %v", op, err)
			continue
		}
		if got := operation(route); got != op {
			t.Errorf("%s routes to %s", op, got)
		}
	}
	for _, path := range []string{"/repos/acme/gitops/branches", "/orgs/acme", "/repos/acme/gitops/pulls/7/merge"} {
		if _, _, err := spec.find(httptest.NewRequest("GET", path, nil)); err == nil {
			t.Errorf("GET %s routes, but the fake does not serve it", path)
		}
	}
}

func TestConditionalRequests(t *testing.T) {
	spec := LoadSpec(t)
	rec := &recordingT{TB: t}
	s := New(rec, Options{Spec: spec})
	token := s.AddToken("alice")
	s.CreateRepo(t.Context(), t, "acme/gitops", repoDir(t))
	issue := s.CreateIssue("acme/gitops", "alice", "Upgrades")
	get := func(path, etag string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.APIURL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}
	const pulls, comments = "GET /repos/{owner}/{repo}/pulls", "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"

	first := get("repos/acme/gitops/pulls?state=all", "")
	etag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || etag == "" {
		t.Fatalf("first list: %d with ETag %q, want 200 with one", first.StatusCode, etag)
	}
	if again := get("repos/acme/gitops/pulls?state=all", etag); again.StatusCode != http.StatusNotModified {
		t.Errorf("the list again with its ETag: %d, want 304", again.StatusCode)
	}
	if other := get("repos/acme/gitops/pulls?state=open", etag); other.StatusCode != http.StatusOK {
		t.Errorf("another list with that ETag: %d, want 200", other.StatusCode)
	}
	if got, nm := s.Requests(pulls), s.NotModified(pulls); got != 2 || nm != 1 {
		t.Errorf("counted %d requests and %d 304s, want 2 and 1", got, nm)
	}
	// A change changes the ETag.
	s.AddComment("acme/gitops", issue, "alice", "hello")
	c1 := get(fmt.Sprintf("repos/acme/gitops/issues/%d/comments", issue), "")
	s.AddComment("acme/gitops", issue, "alice", "again")
	c2 := get(fmt.Sprintf("repos/acme/gitops/issues/%d/comments", issue), c1.Header.Get("ETag"))
	if c2.StatusCode != http.StatusOK || c2.Header.Get("ETag") == c1.Header.Get("ETag") {
		t.Errorf("after a new comment: %d with the same ETag %v, want 200 and a new one", c2.StatusCode, c2.Header.Get("ETag") == c1.Header.Get("ETag"))
	}
	// GitHub's description allows no 304 for a thread's comments: the
	// fake answers 200 even to a matching ETag.
	c3 := get(fmt.Sprintf("repos/acme/gitops/issues/%d/comments", issue), c2.Header.Get("ETag"))
	if c3.StatusCode != http.StatusOK || s.NotModified(comments) != 0 {
		t.Errorf("comments with a matching ETag: %d, want 200 (no 304 in the description)", c3.StatusCode)
	}
	if reports := rec.take(); len(reports) > 0 {
		t.Errorf("the fake reported: %q", reports)
	}
}
