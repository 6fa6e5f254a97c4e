package gitlab

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	gitlabfake "github.com/upgrade-bot/upgrade-bot/test/forge/gitlab"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// hookRequest is a webhook request as GitLab sends it.
func hookRequest(event, token string, body []byte, header map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/gitlab", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if event != "" {
		r.Header.Set("X-Gitlab-Event", event)
	}
	if token != "" {
		r.Header.Set("X-Gitlab-Token", token)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func webhookProvider(t *testing.T, secret string) *Provider {
	t.Helper()
	p, err := New(t.Context(), Options{Token: "t", WebhookSecret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestParseWebhookFixtures reads GitLab's documented example payloads.
func TestParseWebhookFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, event string
		header      map[string]string
		want        vcs.Event
	}{
		{
			file: "note_issue.json", event: "Note Hook",
			header: map[string]string{"Idempotency-Key": "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"},
			want: vcs.Event{
				Kind: vcs.EventComment, DeliveryID: "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", Repo: "gitlab-org/gitlab-test",
				Sender: vcs.User{Login: "root"},
				Comment: &vcs.Comment{
					CommentRef: vcs.CommentRef{Thread: vcs.Thread{Number: 17}, ID: 1241},
					Body:       "Hello world", Author: vcs.User{Login: "root"},
					CreatedAt: time.Date(2015, 5, 17, 17, 6, 40, 0, time.UTC),
					UpdatedAt: time.Date(2015, 5, 17, 17, 6, 40, 0, time.UTC),
					URL:       "http://example.com/gitlab-org/gitlab-test/issues/17#note_1241",
				},
			},
		},
		{
			// Its last_commit.timestamp ("2015-04-08T21: 00:25-07:00") is
			// not a time: the client library cannot decode the payload.
			file: "note_merge_request.json", event: "Note Hook",
			header: map[string]string{"X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"},
			want: vcs.Event{
				Kind: vcs.EventComment, DeliveryID: "13792a34-cac6-4fda-95a8-c58e00a3954e", Repo: "gitlab-org/gitlab-test",
				Sender: vcs.User{Login: "root"},
				Comment: &vcs.Comment{
					CommentRef: vcs.CommentRef{Thread: vcs.Thread{Number: 1, PullRequest: true}, ID: 1244},
					Body:       "This MR needs work.", Author: vcs.User{Login: "root"},
					CreatedAt: time.Date(2015, 5, 17, 18, 21, 36, 0, time.UTC),
					UpdatedAt: time.Date(2015, 5, 17, 18, 21, 36, 0, time.UTC),
					URL:       "http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244",
				},
				PullRequest: &vcs.PullRequest{
					Number: 1, Title: "Tempora et eos debitis quae laborum et.",
					Body: "Et voluptas corrupti assumenda temporibus. Architecto cum animi eveniet amet asperiores. Vitae numquam voluptate est natus sit et ad id.",
					Head: "master", Base: "markdown", HeadSHA: "562e173be03b8ff2efb05345d12df18815438a4b",
					HeadRef: "refs/merge-requests/1/head", State: "open",
				},
			},
		},
		{
			file: "merge_request_open.json", event: "Merge Request Hook",
			header: map[string]string{"Idempotency-Key": "k-1"},
			want: vcs.Event{
				Kind: vcs.EventPullRequest, DeliveryID: "k-1", Repo: "gitlabhq/gitlab-test",
				Sender: vcs.User{Login: "root"},
				PullRequest: &vcs.PullRequest{
					Number: 1, Title: "MS-Viewport", Head: "ms-viewport", Base: "master",
					HeadSHA: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", HeadRef: "refs/merge-requests/1/head",
					State: "open", URL: "http://example.com/diaspora/merge_requests/1",
				},
			},
		},
		{file: "push.json", event: "Push Hook", want: vcs.Event{Kind: vcs.EventIgnored, Repo: "mike/diaspora", Reason: `GitLab "Push Hook" events are not acted on`}},
		{file: "tag_push.json", event: "Tag Push Hook", want: vcs.Event{Kind: vcs.EventIgnored, Repo: "jsmith/example", Reason: `GitLab "Tag Push Hook" events are not acted on`}},
		{file: "release_create.json", event: "Release Hook", want: vcs.Event{Kind: vcs.EventIgnored, Repo: "gitlab-org/release-webhook-example", Reason: `GitLab "Release Hook" events are not acted on`}},
	}
	p := webhookProvider(t, webhookSecret)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body := fixture(t, tt.file)
			got, err := p.ParseWebhook(hookRequest(tt.event, webhookSecret, body, tt.header), body)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseWebhook (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseWebhookVariants edits GitLab's documented payloads into the
// cases the documentation describes but shows no example of.
func TestParseWebhookVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, event string
		edit              func(string) string
		wantKind          vcs.EventKind
		wantReason        string
	}{
		{name: "edited comment", file: "note_issue.json", event: "Note Hook",
			edit: func(s string) string { return strings.Replace(s, `"action": "create"`, `"action": "update"`, 1) }, wantKind: vcs.EventIgnored, wantReason: `note action "update", not a new comment`},
		{name: "system note", file: "note_issue.json", event: "Note Hook",
			edit: func(s string) string { return strings.Replace(s, `"system": false`, `"system": true`, 1) }, wantKind: vcs.EventIgnored, wantReason: "system note"},
		{name: "comment on a confidential issue", file: "note_issue.json", event: "Confidential Note Hook",
			edit: func(s string) string {
				return strings.Replace(s, `"event_type": "note"`, `"event_type": "confidential_note"`, 1)
			}, wantKind: vcs.EventComment},
		{name: "comment on a snippet", file: "note_issue.json", event: "Note Hook",
			edit: func(s string) string {
				return strings.Replace(s, `"noteable_type": "Issue"`, `"noteable_type": "Snippet"`, 1)
			}, wantKind: vcs.EventIgnored, wantReason: "comment on a snippet, not on an issue or merge request"},
		{name: "merge request reopened", file: "merge_request_open.json", event: "Merge Request Hook",
			edit: func(s string) string { return strings.Replace(s, `"action": "open"`, `"action": "reopen"`, 1) }, wantKind: vcs.EventPullRequest},
		{name: "merge request pushed to", file: "merge_request_open.json", event: "Merge Request Hook",
			edit: func(s string) string {
				return strings.Replace(s, `"action": "open"`, `"action": "update", "oldrev": "0123456789abcdef0123456789abcdef01234567"`, 1)
			}, wantKind: vcs.EventPullRequest},
		{name: "merge request retitled", file: "merge_request_open.json", event: "Merge Request Hook",
			edit: func(s string) string { return strings.Replace(s, `"action": "open"`, `"action": "update"`, 1) }, wantKind: vcs.EventIgnored, wantReason: "merge request updated without new commits"},
		{name: "merge request merged", file: "merge_request_open.json", event: "Merge Request Hook",
			edit: func(s string) string {
				return strings.Replace(strings.Replace(s, `"action": "open"`, `"action": "merge"`, 1), `"state": "opened"`, `"state": "merged"`, 1)
			}, wantKind: vcs.EventPullRequestMerged},
		{name: "merge request approved", file: "merge_request_open.json", event: "Merge Request Hook",
			edit: func(s string) string { return strings.Replace(s, `"action": "open"`, `"action": "approved"`, 1) }, wantKind: vcs.EventIgnored, wantReason: `merge request action "approved" is not acted on`},
		{name: "no event header", file: "push.json", event: "", wantKind: vcs.EventIgnored, wantReason: "the request has no X-Gitlab-Event header"},
	}
	p := webhookProvider(t, webhookSecret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := string(fixture(t, tt.file))
			if tt.edit != nil {
				edited := tt.edit(body)
				if edited == body {
					t.Fatal("the edit changed nothing: the fixture is not what the test expects")
				}
				body = edited
			}
			got, err := p.ParseWebhook(hookRequest(tt.event, webhookSecret, []byte(body), nil), []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.wantKind || got.Reason != tt.wantReason {
				t.Errorf("ParseWebhook = kind %q, reason %q; want %q, %q", got.Kind, got.Reason, tt.wantKind, tt.wantReason)
			}
			if got.Kind == vcs.EventPullRequestMerged && got.PullRequest.State != "merged" {
				t.Errorf("merged event with state %q", got.PullRequest.State)
			}
		})
	}
}

func TestParseWebhookToken(t *testing.T) {
	t.Parallel()
	body := []byte(`{"object_kind":"push","project":{"path_with_namespace":"a/b"}}`)
	tests := []struct {
		name, secret, token string
		wantErr             string // empty: accepted
	}{
		{name: "right token", secret: webhookSecret, token: webhookSecret},
		{name: "wrong token", secret: webhookSecret, token: "guess", wantErr: "does not match"},
		{name: "token with a different length", secret: webhookSecret, token: webhookSecret + "x", wantErr: "does not match"},
		{name: "no token", secret: webhookSecret, wantErr: "no X-Gitlab-Token header"},
		{name: "no secret configured", token: "anything", wantErr: "no GitLab webhook secret is configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := webhookProvider(t, tt.secret)
			ev, err := p.ParseWebhook(hookRequest("Push Hook", tt.token, body, nil), body)
			if tt.wantErr == "" {
				if err != nil || ev.Kind != vcs.EventIgnored {
					t.Errorf("ParseWebhook = %+v, %v; want an ignored event", ev, err)
				}
				return
			}
			if !errors.Is(err, vcs.ErrUnauthorized) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseWebhook = %v, want ErrUnauthorized saying %q", err, tt.wantErr)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) || tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}

func TestParseWebhookBadBody(t *testing.T) {
	t.Parallel()
	p := webhookProvider(t, webhookSecret)
	body := []byte(`{"object_kind": "note", "object_attributes": [}`)
	_, err := p.ParseWebhook(hookRequest("Note Hook", webhookSecret, body, nil), body)
	if err == nil || errors.Is(err, vcs.ErrUnauthorized) {
		t.Errorf("ParseWebhook(broken JSON) = %v, want a plain error", err)
	}
}

// receiver is a webhook endpoint that parses every delivery with the
// provider.
type receiver struct {
	p      *Provider
	mu     sync.Mutex
	events []vcs.Event
	errs   []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ev, err := rc.p.ParseWebhook(r, body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.errs = append(rc.errs, err)
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	rc.events = append(rc.events, ev)
}

func (rc *receiver) last(t *testing.T) vcs.Event {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) > 0 {
		t.Fatalf("deliveries refused: %v", rc.errs)
	}
	if len(rc.events) == 0 {
		t.Fatal("no delivery arrived")
	}
	return rc.events[len(rc.events)-1]
}

// TestWebhooksFromTheFake runs the fake's deliveries, shaped like GitLab's,
// through ParseWebhook over HTTP.
func TestWebhooksFromTheFake(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		t.Run(map[bool]string{false: "GitLab 17.4+", true: "before 17.4"}[legacy], func(t *testing.T) {
			t.Parallel()
			e := setup(t, gitlabfake.Options{NoIdempotencyKey: legacy, PathPrefix: "/gitlab"})
			rc := &receiver{p: e.p}
			srv := httptest.NewServer(rc)
			t.Cleanup(srv.Close)
			e.fake.SetWebhook(srv.URL, webhookSecret)
			ctx := t.Context()

			issue := vcs.Thread{Number: e.fake.CreateIssue(t, e.repo, "alice", "Upgrade", "")}
			id, d := e.fake.AddNote(t, e.repo, issue, "alice", "/upgrade v31.0.0 peu01")
			if d.Status != http.StatusOK {
				t.Fatalf("delivery answered %d (%v)", d.Status, d.Err)
			}
			ev := rc.last(t)
			wantID := d.IdempotencyKey
			if legacy {
				wantID = d.EventUUID
			}
			if ev.Kind != vcs.EventComment || ev.DeliveryID != wantID || wantID == "" || ev.Repo != e.repo ||
				ev.Comment.ID != id || ev.Comment.Thread != issue || ev.Comment.Body != "/upgrade v31.0.0 peu01" ||
				ev.Comment.Author.Login != "alice" || ev.Comment.CreatedAt.IsZero() {
				t.Errorf("note event = %+v, comment %+v", ev, ev.Comment)
			}
			again := e.fake.Redeliver(t, wantID)
			if again.Status != http.StatusOK || rc.last(t).DeliveryID != wantID {
				t.Errorf("redelivery: status %d, delivery id %q; want 200, %q", again.Status, rc.last(t).DeliveryID, wantID)
			}

			head := e.fake.CreateBranch(ctx, t, e.repo, "feature", "main", map[string]string{"a": "1"})
			iid, _ := e.fake.OpenMergeRequest(ctx, t, e.repo, "bob", "feature", "main", "Feature", "Body")
			ev = rc.last(t)
			want := &vcs.PullRequest{Number: iid, Title: "Feature", Body: "Body", Head: "feature", Base: "main", HeadSHA: head,
				HeadRef: "refs/merge-requests/1/head", State: "open", Author: vcs.User{Login: "bob"},
				URL: e.fake.BaseURL() + "/" + e.repo + "/-/merge_requests/1"}
			if ev.Kind != vcs.EventPullRequest || ev.Sender.Login != "bob" {
				t.Errorf("open event = %+v", ev)
			}
			if diff := cmp.Diff(want, ev.PullRequest); diff != "" {
				t.Errorf("open event's merge request (-want +got):\n%s", diff)
			}

			mr := vcs.Thread{Number: iid, PullRequest: true}
			e.fake.AddNote(t, e.repo, mr, "carol", "/upgrade plan v31.0.0")
			ev = rc.last(t)
			if ev.Kind != vcs.EventComment || ev.Comment.Thread != mr || ev.PullRequest == nil || ev.PullRequest.HeadSHA != head || ev.PullRequest.Author != (vcs.User{}) {
				t.Errorf("merge request note event = %+v, merge request %+v", ev, ev.PullRequest)
			}

			newHead, _ := e.fake.Push(ctx, t, e.repo, "bob", "feature", map[string]string{"b": "2"})
			ev = rc.last(t)
			if ev.Kind != vcs.EventPullRequest || ev.PullRequest.HeadSHA != newHead {
				t.Errorf("push event = %+v, merge request %+v", ev, ev.PullRequest)
			}

			e.fake.MergeMergeRequest(ctx, t, e.repo, iid, "dave")
			ev = rc.last(t)
			if ev.Kind != vcs.EventPullRequestMerged || ev.Sender.Login != "dave" || ev.PullRequest.State != "merged" {
				t.Errorf("merge event = %+v, merge request %+v", ev, ev.PullRequest)
			}

			// The bot's own comment comes back as a webhook too; Self tells
			// it apart.
			mine, err := e.p.CreateComment(ctx, e.repo, issue, "On it.")
			if err != nil {
				t.Fatal(err)
			}
			e.fake.WaitDeliveries()
			ev = rc.last(t)
			self, err := e.p.Self(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != vcs.EventComment || ev.Comment.ID != mine.ID || ev.Comment.Author.Login != self.Login {
				t.Errorf("the bot's own comment came back as %+v, comment %+v", ev, ev.Comment)
			}

			// A wrong secret is refused.
			e.fake.SetWebhook(srv.URL, "not-the-secret")
			if _, d := e.fake.AddNote(t, e.repo, issue, "mallory", "/upgrade v1"); d.Status != http.StatusUnauthorized {
				t.Errorf("delivery with a wrong secret answered %d, want 401", d.Status)
			}
		})
	}
}
