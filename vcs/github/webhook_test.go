package github_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" // GitHub's legacy signature, which must not be accepted alone.
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
	"github.com/upgrade-bot/upgrade-bot/vcs"
	ghp "github.com/upgrade-bot/upgrade-bot/vcs/github"
)

// examplesPath is where `make test-assets` installs GitHub's example
// webhook payloads (npm @octokit/webhooks-examples), from the module root.
const examplesPath = ".cache/npm/openapi-23.0.2-webhooks-7.6.1/node_modules/@octokit/webhooks-examples/api.github.com/index.json"

var secret = []byte("It's a Secret to Everybody")

func sign(h func() hash.Hash, key, body []byte) string {
	m := hmac.New(h, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// webhookRequest is a delivery as GitHub makes it.
func webhookRequest(t *testing.T, event, delivery string, body []byte) *http.Request {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/webhooks/github", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", delivery)
	r.Header.Set("X-Hub-Signature", "sha1="+sign(sha1.New, secret, body))
	r.Header.Set("X-Hub-Signature-256", "sha256="+sign(sha256.New, secret, body))
	return r
}

func webhookProvider(t *testing.T, secret []byte) *ghp.Provider {
	t.Helper()
	p, err := ghp.New(t.Context(), ghp.Options{Token: "t", WebhookSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// example is one of GitHub's example payloads.
type example struct {
	event   string
	payload map[string]any
}

// loadExamples reads @octokit/webhooks-examples: a list of events, each
// with its example payloads.
func loadExamples(t *testing.T) []example {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the package")
		}
		dir = filepath.Dir(dir)
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(examplesPath)))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("GitHub's example webhooks %s are not installed: `make test-assets` provides them", examplesPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Name     string           `json:"name"`
		Examples []map[string]any `json:"examples"`
	}
	if err := json.Unmarshal(data, &events); err != nil {
		t.Fatalf("decoding %s: %v", examplesPath, err)
	}
	var out []example
	for _, e := range events {
		for _, p := range e.Examples {
			out = append(out, example{event: e.Name, payload: p})
		}
	}
	return out
}

// at reads a path of keys in a decoded JSON payload.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := at(v, keys...).(string)
	return s
}

func num(v any, keys ...string) int64 {
	f, _ := at(v, keys...).(float64)
	return int64(f)
}

func stamp(t *testing.T, v any, keys ...string) time.Time {
	t.Helper()
	s := str(v, keys...)
	if s == "" {
		return time.Time{}
	}
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("%v: %v", keys, err)
	}
	return ts
}

func account(v any, keys ...string) vcs.User {
	return vcs.User{Login: str(v, append(keys, "login")...), Bot: str(v, append(keys, "type")...) == "Bot"}
}

// expected is the event a payload should decode to, read from the payload
// independently of the provider.
func expected(t *testing.T, e example, delivery string) vcs.Event {
	t.Helper()
	p := e.payload
	want := vcs.Event{Kind: vcs.EventIgnored, DeliveryID: delivery, Repo: str(p, "repository", "full_name"), Sender: account(p, "sender")}
	action := str(p, "action")
	switch {
	case e.event == "issue_comment" && action == "created":
		want.Kind = vcs.EventComment
		want.Comment = &vcs.Comment{
			CommentRef: vcs.CommentRef{
				Thread: vcs.Thread{Number: int(num(p, "issue", "number")), PullRequest: at(p, "issue", "pull_request") != nil},
				ID:     num(p, "comment", "id"),
			},
			Body:      str(p, "comment", "body"),
			Author:    account(p, "comment", "user"),
			CreatedAt: stamp(t, p, "comment", "created_at"),
			UpdatedAt: stamp(t, p, "comment", "updated_at"),
			URL:       str(p, "comment", "html_url"),
		}
	case e.event == "issues" && action == "edited" && at(p, "changes", "body") != nil:
		want.Kind = vcs.EventIssueEdited
		want.Issue = &vcs.Issue{
			Number: int(num(p, "issue", "number")),
			Title:  str(p, "issue", "title"),
			Body:   str(p, "issue", "body"),
			State:  str(p, "issue", "state"),
			Author: account(p, "issue", "user"),
			URL:    str(p, "issue", "html_url"),
		}
	case e.event == "pull_request" && (action == "opened" || action == "reopened" || action == "synchronize" || action == "closed" && at(p, "pull_request", "merged") == true):
		want.Kind = vcs.EventPullRequest
		state := str(p, "pull_request", "state")
		if action == "closed" {
			want.Kind, state = vcs.EventPullRequestMerged, "merged"
		}
		n := int(num(p, "pull_request", "number"))
		want.PullRequest = &vcs.PullRequest{
			Number:  n,
			Title:   str(p, "pull_request", "title"),
			Body:    str(p, "pull_request", "body"),
			Head:    str(p, "pull_request", "head", "ref"),
			Base:    str(p, "pull_request", "base", "ref"),
			HeadSHA: str(p, "pull_request", "head", "sha"),
			BaseSHA: str(p, "pull_request", "base", "sha"),
			HeadRef: fmt.Sprintf("refs/pull/%d/head", n),
			State:   state,
			Author:  account(p, "pull_request", "user"),
			URL:     str(p, "pull_request", "html_url"),
		}
		if created, err := time.Parse(time.RFC3339, str(p, "pull_request", "created_at")); err == nil {
			want.PullRequest.CreatedAt = created
		}
	}
	return want
}

// variants adds to GitHub's examples the cases they lack: a comment on a
// pull request, a comment by a bot, and a merged pull request.
func variants(t *testing.T, examples []example) []example {
	t.Helper()
	clone := func(e example) example {
		b, err := json.Marshal(e.payload)
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		return example{event: e.event, payload: p}
	}
	var out []example
	for _, e := range examples {
		out = append(out, e)
		switch {
		case e.event == "issue_comment" && str(e.payload, "action") == "created":
			onPR := clone(e)
			onPR.payload["issue"].(map[string]any)["pull_request"] = map[string]any{"url": "https://api.github.com/repos/o/r/pulls/1"}
			byBot := clone(e)
			byBot.payload["comment"].(map[string]any)["user"].(map[string]any)["type"] = "Bot"
			byBot.payload["sender"].(map[string]any)["type"] = "Bot"
			out = append(out, onPR, byBot)
		case e.event == "issues" && str(e.payload, "action") == "edited" && at(e.payload, "changes", "body") == nil:
			// GitHub's examples edit only titles: add a description edit
			// (a dashboard box ticked).
			ticked := clone(e)
			ticked.payload["changes"] = map[string]any{"body": map[string]any{"from": "- [ ] upgrade"}}
			ticked.payload["issue"].(map[string]any)["body"] = "- [x] upgrade"
			out = append(out, ticked)
		case e.event == "pull_request" && str(e.payload, "action") == "closed":
			merged := clone(e)
			merged.payload["pull_request"].(map[string]any)["merged"] = true
			merged.payload["pull_request"].(map[string]any)["merged_at"] = "2019-05-15T15:20:40Z"
			out = append(out, merged)
		}
	}
	return out
}

func TestWebhookExamples(t *testing.T) {
	examples := variants(t, loadExamples(t))
	p := webhookProvider(t, secret)
	kinds := map[vcs.EventKind]int{}
	for i, e := range examples {
		t.Run(fmt.Sprintf("%s/%d/%s", e.event, i, str(e.payload, "action")), func(t *testing.T) {
			body, err := json.Marshal(e.payload)
			if err != nil {
				t.Fatal(err)
			}
			delivery := fmt.Sprintf("delivery-%d", i)
			got, err := p.ParseWebhook(webhookRequest(t, e.event, delivery, body), body)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			want := expected(t, e, delivery)
			if got.Kind == vcs.EventIgnored && got.Reason == "" {
				t.Error("an ignored event without a reason")
			}
			got.Reason = ""
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseWebhook (-want +got):\n%s", diff)
			}
			kinds[got.Kind]++
		})
	}
	// Every kind was met, so that the comparisons above are not vacuous.
	for _, k := range []vcs.EventKind{vcs.EventComment, vcs.EventPullRequest, vcs.EventPullRequestMerged, vcs.EventIssueEdited, vcs.EventIgnored} {
		if kinds[k] == 0 {
			t.Errorf("no example decoded to %s", k)
		}
	}
	t.Logf("%d examples: %v", len(examples), kinds)
}

func TestWebhookSignature(t *testing.T) {
	body := []byte(`{"action":"created","comment":{"id":1,"body":"/upgrade v31.0.0","user":{"login":"alice","type":"User"}},"issue":{"number":3},"repository":{"full_name":"acme/gitops"},"sender":{"login":"alice","type":"User"}}`)
	tests := []struct {
		name    string
		secret  []byte
		change  func(r *http.Request)
		body    []byte
		wantErr string
	}{
		{name: "good", secret: secret},
		{name: "wrong secret", secret: []byte("other"), wantErr: "does not match"},
		{name: "body changed", secret: secret, body: bytes.Replace(body, []byte("v31"), []byte("v99"), 1), wantErr: "does not match"},
		{name: "no signature", secret: secret, change: func(r *http.Request) { r.Header.Del("X-Hub-Signature-256") }, wantErr: "no X-Hub-Signature-256"},
		{name: "only the SHA-1 signature", secret: secret, change: func(r *http.Request) {
			r.Header.Set("X-Hub-Signature-256", r.Header.Get("X-Hub-Signature"))
		}, wantErr: "not sha256="},
		{name: "not hexadecimal", secret: secret, change: func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", "sha256=zz") }, wantErr: "not hexadecimal"},
		{name: "truncated", secret: secret, change: func(r *http.Request) {
			r.Header.Set("X-Hub-Signature-256", r.Header.Get("X-Hub-Signature-256")[:20])
		}, wantErr: "does not match"},
		{name: "no secret configured", secret: nil, wantErr: "no webhook secret is configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := webhookProvider(t, tt.secret)
			r := webhookRequest(t, "issue_comment", "d1", body)
			if tt.change != nil {
				tt.change(r)
			}
			sent := body
			if tt.body != nil {
				sent = tt.body
			}
			ev, err := p.ParseWebhook(r, sent)
			if tt.wantErr == "" {
				if err != nil || ev.Kind != vcs.EventComment || ev.Comment.Body != "/upgrade v31.0.0" {
					t.Fatalf("ParseWebhook = %+v, %v; want the comment", ev, err)
				}
				return
			}
			if !errors.Is(err, vcs.ErrUnauthorized) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseWebhook = %v, want ErrUnauthorized saying %q", err, tt.wantErr)
			}
			if ev.Kind != "" {
				t.Errorf("a refused webhook still decoded to %+v", ev)
			}
			if len(tt.secret) > 0 && strings.Contains(err.Error(), string(tt.secret)) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}

	t.Run("no event type", func(t *testing.T) {
		r := webhookRequest(t, "", "d1", body)
		_, err := webhookProvider(t, secret).ParseWebhook(r, body)
		if err == nil || errors.Is(err, vcs.ErrUnauthorized) {
			t.Errorf("ParseWebhook without X-GitHub-Event = %v, want a plain error", err)
		}
	})
	t.Run("malformed payload", func(t *testing.T) {
		bad := []byte(`{"action": 5}`)
		_, err := webhookProvider(t, secret).ParseWebhook(webhookRequest(t, "issue_comment", "d1", bad), bad)
		if err == nil || errors.Is(err, vcs.ErrUnauthorized) {
			t.Errorf("ParseWebhook of a malformed issue_comment = %v, want a plain error", err)
		}
	})
}

// TestWebhooksFromTheFake has the fake deliver webhooks for what people
// and the bot do, and decodes them as the bot's server would.
func TestWebhooksFromTheFake(t *testing.T) {
	spec := githubfake.LoadSpec(t)
	fake, pemKey, _ := appWorld(t, spec, githubfake.Options{})
	p, err := ghp.New(t.Context(), ghp.Options{BaseURL: fake.APIURL(), AppID: appID, AppPrivateKey: pemKey, WebhookSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan vcs.Event, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := p.ParseWebhook(r, body)
		if errors.Is(err, vcs.ErrUnauthorized) {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if err != nil {
			t.Errorf("ParseWebhook: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		events <- ev
	}))
	t.Cleanup(receiver.Close)
	fake.SetWebhook(receiver.URL, secret)
	next := func() vcs.Event {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no webhook within 10s")
			return vcs.Event{}
		}
	}
	ctx := t.Context()

	issue := fake.CreateIssue(testRepo, "alice", "Upgrades")
	id := fake.AddComment(testRepo, issue, "alice", "/upgrade v31.0.0 peu01")
	ev := next()
	if ev.Kind != vcs.EventComment || ev.Repo != testRepo || ev.Comment.ID != id || ev.Comment.Thread != (vcs.Thread{Number: issue}) ||
		ev.Comment.Author != (vcs.User{Login: "alice"}) || ev.Comment.Body != "/upgrade v31.0.0 peu01" || ev.DeliveryID == "" {
		t.Errorf("a person's comment decoded to %+v (comment %+v)", ev, ev.Comment)
	}

	// A redelivery repeats the delivery id.
	first := fake.Deliveries()[0]
	again := fake.Redeliver(first.ID)
	if ev2 := next(); ev2.DeliveryID != ev.DeliveryID || again.Status != http.StatusOK {
		t.Errorf("redelivery: id %s (first %s), status %d", ev2.DeliveryID, ev.DeliveryID, again.Status)
	}

	// The bot's own comment comes back as the App's.
	if _, err := p.CreateComment(ctx, testRepo, vcs.Thread{Number: issue}, "On it."); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Kind != vcs.EventComment || ev.Comment.Author != (vcs.User{Login: "upgrade-bot[bot]", Bot: true}) || ev.Sender != ev.Comment.Author {
		t.Errorf("the bot's comment decoded to %+v (comment %+v)", ev, ev.Comment)
	}

	// A person's pull request, pushed to, commented on and merged.
	_, token, err := p.GitCredential(ctx, testRepo)
	if err != nil {
		t.Fatal(err)
	}
	cloneURL := fake.URL + "/git/" + testRepo + ".git"
	head := pushBranch(t, cloneURL, token, "bump", "31.0.0")
	pr := fake.OpenPullRequest(ctx, t, testRepo, "bob", "bump", "main", "Bump", "")
	if ev := next(); ev.Kind != vcs.EventPullRequest || ev.PullRequest.Number != pr || ev.PullRequest.HeadSHA != head || ev.Sender.Login != "bob" {
		t.Errorf("opening a pull request decoded to %+v (pull request %+v)", ev, ev.PullRequest)
	}
	head = pushBranch(t, cloneURL, token, "bump", "31.0.1")
	if ev := next(); ev.Kind != vcs.EventPullRequest || ev.PullRequest.HeadSHA != head || ev.Sender != (vcs.User{Login: "upgrade-bot[bot]", Bot: true}) {
		t.Errorf("pushing to a pull request decoded to %+v (pull request %+v)", ev, ev.PullRequest)
	}
	fake.AddComment(testRepo, pr, "bob", "/upgrade plan v31.0.0")
	if ev := next(); ev.Kind != vcs.EventComment || ev.Comment.Thread != (vcs.Thread{Number: pr, PullRequest: true}) {
		t.Errorf("a comment on a pull request decoded to %+v (comment %+v)", ev, ev.Comment)
	}
	fake.MergePullRequest(ctx, t, testRepo, pr, "alice")
	if ev := next(); ev.Kind != vcs.EventPullRequestMerged || ev.PullRequest.State != "merged" || ev.Sender.Login != "alice" {
		t.Errorf("merging a pull request decoded to %+v (pull request %+v)", ev, ev.PullRequest)
	}

	// A delivery signed with another secret is refused.
	fake.SetWebhook(receiver.URL, []byte("not the secret"))
	fake.AddComment(testRepo, issue, "alice", "hello")
	deliveries := fake.Deliveries()
	if last := deliveries[len(deliveries)-1]; last.Status != http.StatusUnauthorized {
		t.Errorf("a delivery with the wrong secret got %d, want 401", last.Status)
	}
	select {
	case ev := <-events:
		t.Errorf("unexpected event %+v", ev)
	default:
	}
}
