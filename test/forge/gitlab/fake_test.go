package gitlabfake_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/test/fixtures"
	gitlabfake "github.com/upgrade-bot/upgrade-bot/test/forge/gitlab"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// recorder is a testing.TB that collects the fake's complaints instead of
// failing the test, so that the test can check them.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.errs
	r.errs = nil
	return out
}

const repo = "platform/gitops"

func newFake(t *testing.T, opts gitlabfake.Options) (*gitlabfake.Server, *recorder) {
	t.Helper()
	rec := &recorder{TB: t}
	fake := gitlabfake.New(rec, opts)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fake.CreateProject(t.Context(), t, repo, dir)
	return fake, rec
}

// do sends one API request the way GitLab's client does.
func do(t *testing.T, fake *gitlabfake.Server, token, method, path, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, fake.APIURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
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
	return resp, string(b)
}

var escRepo = url.PathEscape(repo)

func TestStrictness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		token                    bool
		wantStatus               int
		wantComplaint            string // empty: the fake must not complain
	}{
		{name: "known endpoint", method: "GET", path: "/projects/" + escRepo, token: true, wantStatus: 200},
		{name: "unknown project", method: "GET", path: "/projects/platform%2Fnope", token: true, wantStatus: 404},
		{name: "no token", method: "GET", path: "/projects/" + escRepo, wantStatus: 401},
		{name: "unknown endpoint", method: "GET", path: "/projects/" + escRepo + "/pipelines", token: true, wantStatus: 404, wantComplaint: "unknown endpoint GET /projects/platform%2Fgitops/pipelines"},
		{name: "unknown method", method: "DELETE", path: "/projects/" + escRepo, token: true, wantStatus: 405, wantComplaint: "method DELETE is not served"},
		{name: "unknown query parameter", method: "GET", path: "/projects/" + escRepo + "/merge_requests?labels=x", token: true, wantStatus: 400, wantComplaint: `unknown query parameter "labels"`},
		{name: "bad enum", method: "GET", path: "/projects/" + escRepo + "/merge_requests?state=open", token: true, wantStatus: 400, wantComplaint: `state="open", want one of opened`},
		{name: "bad time", method: "GET", path: "/projects/" + escRepo + "/issues?updated_after=yesterday", token: true, wantStatus: 400, wantComplaint: "not an ISO 8601 time"},
		{name: "bad page", method: "GET", path: "/projects/" + escRepo + "/issues?page=0", token: true, wantStatus: 400, wantComplaint: "page=\"0\" is not a positive number"},
		{name: "unknown body field", method: "POST", path: "/projects/" + escRepo + "/merge_requests", body: `{"title":"t","source_branch":"a","target_branch":"main","labels":"x"}`, token: true, wantStatus: 400, wantComplaint: `unknown body field "labels"`},
		{name: "missing required field", method: "POST", path: "/projects/" + escRepo + "/merge_requests", body: `{"title":"t","target_branch":"main"}`, token: true, wantStatus: 400},
		{name: "member by username", method: "GET", path: "/projects/" + escRepo + "/members/all/alice", token: true, wantStatus: 400, wantComplaint: "wants the user's id here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, rec := newFake(t, gitlabfake.Options{})
			token := ""
			if tt.token {
				token = fake.Token()
			}
			resp, body := do(t, fake, token, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if resp.StatusCode >= 400 {
				var msg struct {
					Message any `json:"message"`
				}
				if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.Message == nil {
					t.Errorf("error body %q is not GitLab's {\"message\": ...}", body)
				}
			}
			complaints := rec.take()
			switch {
			case tt.wantComplaint == "" && len(complaints) > 0:
				t.Errorf("the fake complained: %q", complaints)
			case tt.wantComplaint != "" && !slices.ContainsFunc(complaints, func(c string) bool { return strings.Contains(c, tt.wantComplaint) }):
				t.Errorf("complaints %q, want one containing %q", complaints, tt.wantComplaint)
			}
		})
	}
}

func TestProjectByPathAndID(t *testing.T) {
	t.Parallel()
	fake, rec := newFake(t, gitlabfake.Options{})
	var byPath, byID struct {
		ID                int64  `json:"id"`
		PathWithNamespace string `json:"path_with_namespace"`
	}
	_, body := do(t, fake, fake.Token(), "GET", "/projects/"+escRepo, "")
	if err := json.Unmarshal([]byte(body), &byPath); err != nil {
		t.Fatal(err)
	}
	_, body = do(t, fake, fake.Token(), "GET", fmt.Sprintf("/projects/%d", byPath.ID), "")
	if err := json.Unmarshal([]byte(body), &byID); err != nil {
		t.Fatal(err)
	}
	if byPath.PathWithNamespace != repo || byID != byPath {
		t.Errorf("by path %+v, by id %+v", byPath, byID)
	}
	if c := rec.take(); len(c) > 0 {
		t.Errorf("the fake complained: %q", c)
	}
}

func TestPaginationHeaders(t *testing.T) {
	t.Parallel()
	fake, rec := newFake(t, gitlabfake.Options{MaxPerPage: 2})
	for i := range 5 {
		fake.CreateIssue(t, repo, "alice", fmt.Sprintf("issue %d", i+1), "")
	}
	tests := []struct {
		query     string
		wantIIDs  []int
		wantNext  string
		wantLinks []string
	}{
		{query: "?sort=asc", wantIIDs: []int{1, 2}, wantNext: "2", wantLinks: []string{`rel="next"`, `rel="first"`, `rel="last"`}},
		{query: "?sort=asc&page=3&per_page=100", wantIIDs: []int{5}, wantNext: "", wantLinks: []string{`rel="prev"`, `rel="first"`, `rel="last"`}},
		{query: "", wantIIDs: []int{5, 4}, wantNext: "2"}, // GitLab's default order: newest first
	}
	for _, tt := range tests {
		resp, body := do(t, fake, fake.Token(), "GET", "/projects/"+escRepo+"/issues"+tt.query, "")
		var issues []struct {
			IID int `json:"iid"`
		}
		if err := json.Unmarshal([]byte(body), &issues); err != nil {
			t.Fatal(err)
		}
		var iids []int
		for _, is := range issues {
			iids = append(iids, is.IID)
		}
		if !slices.Equal(iids, tt.wantIIDs) || resp.Header.Get("X-Next-Page") != tt.wantNext || resp.Header.Get("X-Total") != "5" {
			t.Errorf("%s: iids %v, X-Next-Page %q, X-Total %q; want %v, %q, 5", tt.query, iids, resp.Header.Get("X-Next-Page"), resp.Header.Get("X-Total"), tt.wantIIDs, tt.wantNext)
		}
		for _, l := range tt.wantLinks {
			if !strings.Contains(resp.Header.Get("Link"), l) {
				t.Errorf("%s: Link %q has no %s", tt.query, resp.Header.Get("Link"), l)
			}
		}
	}
	if c := rec.take(); len(c) > 0 {
		t.Errorf("the fake complained: %q", c)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	fake, _ := newFake(t, gitlabfake.Options{PathPrefix: "/gitlab"})
	fake.FailNext("GET", "/projects/*", http.StatusTooManyRequests, http.Header{"Retry-After": {"3"}})
	path := "/projects/" + escRepo
	resp, _ := do(t, fake, fake.Token(), "POST", path+"/merge_requests", `{"title":"t","source_branch":"main","target_branch":"main"}`)
	if resp.StatusCode == http.StatusTooManyRequests {
		t.Error("FailNext for GET failed a POST")
	}
	resp, _ = do(t, fake, fake.Token(), "GET", path, "")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("first GET: %d, Retry-After %q; want 429, 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ = do(t, fake, fake.Token(), "GET", path, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("second GET: %d, want 200 (FailNext fails once)", resp.StatusCode)
	}
}

func TestGitOverHTTP(t *testing.T) {
	t.Parallel()
	fake, _ := newFake(t, gitlabfake.Options{PathPrefix: "/gitlab"})
	remote, err := url.Parse(fake.BaseURL() + "/" + repo + ".git")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gitCmd(t, "", "ls-remote", remote.String()); err == nil {
		t.Error("ls-remote without credentials worked")
	}
	remote.User = url.UserPassword("oauth2", "glpat-wrong")
	if _, err := gitCmd(t, "", "ls-remote", remote.String()); err == nil {
		t.Error("ls-remote with a wrong token worked")
	}
	remote.User = url.UserPassword("oauth2", fake.Token())
	work := t.TempDir()
	if out, err := gitCmd(t, "", "clone", "--quiet", remote.String(), work); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(work, "new.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "--quiet", "-m", "x"}, {"push", "--quiet", "origin", "HEAD:refs/heads/upgrade"}} {
		if out, err := gitCmd(t, work, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if got := fake.Git().Pushes(repo); got != 1 {
		t.Errorf("Pushes = %d, want 1", got)
	}
	// A merge request's head ref follows its branch.
	iid, _ := fake.OpenMergeRequest(t.Context(), t, repo, "alice", "upgrade", "main", "Upgrade", "")
	sha, _ := fake.Push(t.Context(), t, repo, "alice", "upgrade", map[string]string{"more.txt": "y\n"})
	out, err := gitCmd(t, "", "ls-remote", remote.String(), fmt.Sprintf("refs/merge-requests/%d/head", iid))
	if err != nil || !strings.HasPrefix(out, sha) {
		t.Errorf("ls-remote merge request head = %q, %v; want %s", out, err, sha)
	}
}

func gitCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAwardTwice checks the answer GitLab gives to a second award of the
// same emoji by the same person.
func TestAwardTwice(t *testing.T) {
	t.Parallel()
	fake, _ := newFake(t, gitlabfake.Options{})
	iid := fake.CreateIssue(t, repo, "alice", "x", "")
	id, _ := fake.AddNote(t, repo, vcs.Thread{Number: iid}, "alice", "hi")
	path := fmt.Sprintf("/projects/%s/issues/%d/notes/%d/award_emoji", escRepo, iid, id)
	if resp, body := do(t, fake, fake.Token(), "POST", path, `{"name":"eyes"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first award: %d %s", resp.StatusCode, body)
	}
	resp, body := do(t, fake, fake.Token(), "POST", path, `{"name":"eyes"}`)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "has already been taken") {
		t.Errorf("second award: %d %s; want 404 saying it has already been taken", resp.StatusCode, body)
	}
}

// fixture reads one of GitLab's documented payloads from the shared
// fixtures next to the module root, or skips the test.
func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures.Shared(t, "gitlab-webhooks"), name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// keys lists the object keys of a JSON value, as dotted paths, down to
// depth levels.
func keys(v any, prefix string, depth int, out map[string]bool) {
	m, ok := v.(map[string]any)
	if !ok || depth == 0 {
		return
	}
	for k, x := range m {
		out[prefix+k] = true
		keys(x, prefix+k+".", depth-1, out)
	}
}

// TestPayloadsShapedLikeGitLabs compares the fake's webhook payloads with
// GitLab's documented examples, key by key.
func TestPayloadsShapedLikeGitLabs(t *testing.T) {
	t.Parallel()
	fake, _ := newFake(t, gitlabfake.Options{})
	ctx := t.Context()
	issue := fake.CreateIssue(t, repo, "alice", "x", "")
	_, noteIssue := fake.AddNote(t, repo, vcs.Thread{Number: issue}, "alice", "hi")
	fake.CreateBranch(ctx, t, repo, "feature", "main", map[string]string{"a": "1"})
	iid, openMR := fake.OpenMergeRequest(ctx, t, repo, "alice", "feature", "main", "Feature", "")
	_, noteMR := fake.AddNote(t, repo, vcs.Thread{Number: iid, PullRequest: true}, "bob", "hi")

	tests := []struct {
		fixture string
		got     gitlabfake.Delivery
		event   string
		// Keys of the documented example the fake leaves out, and keys the
		// fake adds that the example lacks.
		missing, extra []string
	}{
		{fixture: "note_issue.json", got: noteIssue, event: "Note Hook"},
		{fixture: "note_merge_request.json", got: noteMR, event: "Note Hook",
			// No assignee in the fake; the url and the commit title are in
			// GitLab's merge request payloads.
			missing: []string{"merge_request.assignee", "merge_request.assignee.avatar_url", "merge_request.assignee.name", "merge_request.assignee.username"},
			extra:   []string{"merge_request.last_commit.title", "merge_request.url"}},
		{fixture: "merge_request_open.json", got: openMR, event: "Merge Request Hook",
			// No time tracking in the fake.
			missing: []string{"object_attributes.human_time_change", "object_attributes.human_time_estimate",
				"object_attributes.human_total_time_spent", "object_attributes.prepared_at",
				"object_attributes.time_change", "object_attributes.total_time_spent"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			want := fixture(t, tt.fixture)
			if tt.got.Event != tt.event {
				t.Errorf("X-Gitlab-Event %q, want %q", tt.got.Event, tt.event)
			}
			var got map[string]any
			if err := json.Unmarshal(tt.got.Body, &got); err != nil {
				t.Fatal(err)
			}
			wantKeys, gotKeys := map[string]bool{}, map[string]bool{}
			keys(want, "", 3, wantKeys)
			keys(got, "", 3, gotKeys)
			// The fake has no labels, and reports no changes.
			skip := func(k string) bool { return strings.Contains(k, "labels.") || strings.HasPrefix(k, "changes.") }
			missing, extra := []string{}, []string{}
			for k := range wantKeys {
				if !gotKeys[k] && !skip(k) {
					missing = append(missing, k)
				}
			}
			for k := range gotKeys {
				if !wantKeys[k] {
					extra = append(extra, k)
				}
			}
			slices.Sort(missing)
			slices.Sort(extra)
			wantMissing := append([]string{}, slices.Sorted(slices.Values(tt.missing))...)
			wantExtra := append([]string{}, slices.Sorted(slices.Values(tt.extra))...)
			if diff := cmp.Diff(wantMissing, missing); diff != "" {
				t.Errorf("keys of the documented payload the fake leaves out (-allowed +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantExtra, extra); diff != "" {
				t.Errorf("keys the fake adds (-allowed +got):\n%s", diff)
			}
		})
	}
}
