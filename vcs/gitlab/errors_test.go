package gitlab

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	gitlabfake "github.com/upgrade-bot/upgrade-bot/test/forge/gitlab"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// TestErrorMapping makes the fake fail one request and checks what the
// provider reports. The fake fails only once: had the client retried, the
// call would have succeeded, so these also show that the client's own
// retries are off.
func TestErrorMapping(t *testing.T) {
	t.Parallel()
	// Far enough ahead that a slow machine, running the subtests late,
	// still sees most of the wait.
	reset := time.Now().Add(10 * time.Minute).Unix()
	tests := []struct {
		name          string
		status        int
		header        http.Header
		wantIs        error
		wantTransient bool
		wantAfter     time.Duration // at least this long; zero: exactly zero
	}{
		{name: "404", status: 404, wantIs: vcs.ErrNotFound},
		{name: "401", status: 401, wantIs: vcs.ErrForbidden},
		{name: "403", status: 403, wantIs: vcs.ErrForbidden},
		{name: "500", status: 500, wantTransient: true},
		{name: "502", status: 502, wantTransient: true},
		{name: "503 with Retry-After", status: 503, header: http.Header{"Retry-After": {"7"}}, wantTransient: true, wantAfter: 7 * time.Second},
		{name: "429 with Retry-After", status: 429, header: http.Header{"Retry-After": {"30"}}, wantTransient: true, wantAfter: 30 * time.Second},
		{name: "429 with RateLimit-Reset", status: 429, header: http.Header{"Ratelimit-Reset": {strconv.FormatInt(reset, 10)}}, wantTransient: true, wantAfter: 9 * time.Minute},
		{name: "429 without a hint", status: 429, wantTransient: true},
		{name: "422", status: 422},
	}
	// One call of each kind the provider makes, each failing once.
	calls := []struct {
		method, pattern string
		call            func(ctx context.Context, e env) error
	}{
		{"GET", "/projects/*", func(ctx context.Context, e env) error { _, err := e.p.Repository(ctx, e.repo); return err }},
		{"GET", "/projects/*/issues/1/notes", func(ctx context.Context, e env) error {
			_, err := e.p.Comments(ctx, e.repo, vcs.Thread{Number: 1})
			return err
		}},
		{"POST", "/projects/*/issues/1/notes", func(ctx context.Context, e env) error {
			_, err := e.p.CreateComment(ctx, e.repo, vcs.Thread{Number: 1}, "hello")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, gitlabfake.Options{})
			e.fake.CreateIssue(t, e.repo, "alice", "x", "")
			for _, c := range calls {
				e.fake.FailNext(c.method, c.pattern, tt.status, tt.header)
				err := c.call(t.Context(), e)
				if err == nil {
					t.Fatalf("%s %s: no error", c.method, c.pattern)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("%s %s: %v, want it to wrap %v", c.method, c.pattern, err, tt.wantIs)
				}
				after, transient := vcs.IsTransient(err)
				if transient != tt.wantTransient {
					t.Errorf("%s %s: transient = %v, want %v (%v)", c.method, c.pattern, transient, tt.wantTransient, err)
				}
				if tt.wantAfter == 0 && after != 0 || after < tt.wantAfter || after > tt.wantAfter+time.Minute {
					t.Errorf("%s %s: retry after %v, want at least %v", c.method, c.pattern, after, tt.wantAfter)
				}
				if !tt.wantTransient && tt.wantIs == nil && (errors.Is(err, vcs.ErrNotFound) || errors.Is(err, vcs.ErrForbidden)) {
					t.Errorf("%s %s: %v is classified, want a plain error", c.method, c.pattern, err)
				}
			}
			// Nothing was written by the failed requests.
			if n := len(e.fake.Notes(t, e.repo, vcs.Thread{Number: 1})); n != 0 {
				t.Errorf("%d notes after failed requests", n)
			}
		})
	}
}

func TestWrongToken(t *testing.T) {
	t.Parallel()
	fake := gitlabfake.New(t, gitlabfake.Options{})
	p, err := New(t.Context(), Options{BaseURL: fake.BaseURL(), Token: "glpat-wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Self(t.Context())
	if !errors.Is(err, vcs.ErrForbidden) {
		t.Errorf("Self with a wrong token = %v, want ErrForbidden", err)
	}
	if err != nil && (strings.Contains(err.Error(), "glpat-wrong")) {
		t.Errorf("the token shows in the error: %v", err)
	}
}

func TestNetworkErrorIsTransient(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	p, err := New(t.Context(), Options{BaseURL: url, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Repository(t.Context(), "a/b")
	if _, ok := vcs.IsTransient(err); !ok {
		t.Errorf("Repository with nothing listening = %v, want a transient error", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = p.Repository(ctx, "a/b")
	if _, ok := vcs.IsTransient(err); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Repository with a canceled context = %v, want context.Canceled, not transient", err)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{name: "none", want: 0},
		{name: "seconds", header: http.Header{"Retry-After": {"120"}}, want: 2 * time.Minute},
		{name: "HTTP date", header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, want: 90 * time.Second},
		{name: "date in the past", header: http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, want: 0},
		{name: "RateLimit-Reset", header: http.Header{"Ratelimit-Reset": {strconv.FormatInt(now.Add(time.Minute).Unix(), 10)}}, want: time.Minute},
		{name: "Retry-After wins", header: http.Header{"Retry-After": {"5"}, "Ratelimit-Reset": {strconv.FormatInt(now.Add(time.Hour).Unix(), 10)}}, want: 5 * time.Second},
		{name: "garbage", header: http.Header{"Retry-After": {"soon"}, "Ratelimit-Reset": {"later"}}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := retryAfter(tt.header, now); got != tt.want {
				t.Errorf("retryAfter = %v, want %v", got, tt.want)
			}
		})
	}
}
