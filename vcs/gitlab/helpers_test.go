package gitlab

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/upgrade-bot/upgrade-bot/test/fixtures"
	gitlabfake "github.com/upgrade-bot/upgrade-bot/test/forge/gitlab"
)

// webhookSecret is the secret the test providers check webhooks against.
const webhookSecret = "webhook-s3cret"

// env is a fake GitLab with one project and a Provider for it.
type env struct {
	fake *gitlabfake.Server
	p    *Provider
	repo string
	main string // the commit on main
}

// setup starts a fake GitLab with the project "platform/clusters/gitops"
// and a Provider talking to it through the real client, with every answer
// checked against the client's structs.
func setup(t *testing.T, opts gitlabfake.Options) env {
	t.Helper()
	fake := gitlabfake.New(t, opts)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# clusters\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := "platform/clusters/gitops"
	sha := fake.CreateProject(t.Context(), t, repo, dir)
	return env{fake: fake, p: newProvider(t, fake), repo: repo, main: sha}
}

func newProvider(t *testing.T, fake *gitlabfake.Server) *Provider {
	t.Helper()
	api, err := url.Parse(fake.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(t.Context(), Options{
		BaseURL:       fake.BaseURL(),
		Token:         fake.Token(),
		WebhookSecret: []byte(webhookSecret),
		HTTPClient:    &http.Client{Transport: shapeChecker{t: t, apiPath: api.Path}},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// shapeChecker decodes every successful API answer into the client's own
// struct for the route, refusing fields the struct does not know: the fake
// must not answer with names the real API does not use.
type shapeChecker struct {
	t       *testing.T
	apiPath string
}

// shapes are the client structs of the routes the provider calls.
var shapes = map[string]func() any{
	"GET /user":                                      func() any { return new(gl.User) },
	"GET /users":                                     func() any { return new([]*gl.User) },
	"GET /projects/:id":                              func() any { return new(gl.Project) },
	"GET /projects/:id/members/all/:id":              func() any { return new(gl.ProjectMember) },
	"GET /projects/:id/merge_requests":               func() any { return new([]*gl.MergeRequest) },
	"POST /projects/:id/merge_requests":              func() any { return new(gl.MergeRequest) },
	"GET /projects/:id/merge_requests/:id":           func() any { return new(gl.MergeRequest) },
	"PUT /projects/:id/merge_requests/:id":           func() any { return new(gl.MergeRequest) },
	"GET /projects/:id/merge_requests/:id/approvals": func() any { return new(gl.MergeRequestApprovals) },
	"PUT /projects/:id/merge_requests/:id/merge":     func() any { return new(gl.MergeRequest) },
	// gl.Issue has its own (lenient) decoder; a map at least checks JSON.
	"GET /projects/:id/issues":                         func() any { return new([]map[string]any) },
	"GET /projects/:id/issues/:id/notes":               func() any { return new([]*gl.Note) },
	"POST /projects/:id/issues/:id/notes":              func() any { return new(gl.Note) },
	"PUT /projects/:id/issues/:id/notes/:id":           func() any { return new(gl.Note) },
	"GET /projects/:id/merge_requests/:id/notes":       func() any { return new([]*gl.Note) },
	"POST /projects/:id/merge_requests/:id/notes":      func() any { return new(gl.Note) },
	"PUT /projects/:id/merge_requests/:id/notes/:id":   func() any { return new(gl.Note) },
	"GET /projects/:id/:id/:id/notes/:id/award_emoji":  func() any { return new([]*gl.AwardEmoji) },
	"POST /projects/:id/:id/:id/notes/:id/award_emoji": func() any { return new(gl.AwardEmoji) },
}

func (c shapeChecker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || resp.StatusCode >= 300 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	p := strings.TrimPrefix(r.URL.EscapedPath(), c.apiPath)
	route, ok := gl.MatchRoute(p)
	if !ok {
		c.t.Errorf("shape check: the client knows no route for %s", p)
		return resp, nil
	}
	key := r.Method + " " + route.String()
	newTarget := shapes[key]
	if newTarget == nil {
		c.t.Errorf("shape check: no client struct listed for %s", key)
		return resp, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(newTarget()); err != nil {
		c.t.Errorf("shape check: the fake's answer to %s does not fit the client's struct: %v\n%s", key, err, body)
	}
	return resp, nil
}

// fixture reads one of GitLab's documented webhook payloads from the
// shared fixtures; it skips the test when they are not there.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures.Shared(t, "gitlab-webhooks"), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// git runs git and returns its trimmed output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// withCredential puts username and password into an HTTPS URL, as a git
// credential helper would hand them to git.
func withCredential(t *testing.T, raw, username, password string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(username, password)
	return u.String()
}
