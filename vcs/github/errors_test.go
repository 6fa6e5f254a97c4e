package github_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
	"github.com/upgrade-bot/upgrade-bot/vcs"
	ghp "github.com/upgrade-bot/upgrade-bot/vcs/github"
)

func TestErrors(t *testing.T) {
	spec := githubfake.LoadSpec(t)
	w := newWorld(t, spec, githubfake.Options{})
	const repoOp = "/repos/{owner}/{repo}"
	reset := time.Now().Add(2 * time.Minute)
	tests := []struct {
		name   string
		status int
		header http.Header
		// want is the sentinel the error wraps, if any.
		want error
		// transient and retryAfter: whether the error is worth retrying,
		// and how long to wait (within a few seconds for a reset time).
		transient  bool
		retryAfter time.Duration
	}{
		{name: "unauthorized", status: 401, want: vcs.ErrForbidden},
		{name: "forbidden", status: 403, want: vcs.ErrForbidden},
		{name: "not found", status: 404, want: vcs.ErrNotFound},
		{name: "unprocessable", status: 422},
		{name: "server error", status: 500, transient: true},
		{name: "bad gateway with Retry-After", status: 502, header: http.Header{"Retry-After": {"3"}}, transient: true, retryAfter: 3 * time.Second},
		{name: "unavailable with an HTTP date", status: 503, header: http.Header{"Retry-After": {time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, transient: true, retryAfter: 90 * time.Second},
		{name: "too many requests", status: 429, header: http.Header{"Retry-After": {"7"}}, transient: true, retryAfter: 7 * time.Second},
		{
			name: "primary rate limit", status: 403,
			header: http.Header{
				"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Used": {"5000"},
				"X-Ratelimit-Reset": {strconv.FormatInt(reset.Unix(), 10)}, "X-Ratelimit-Resource": {"core"},
			},
			transient: true, retryAfter: time.Until(reset),
		},
		{
			name: "primary rate limit, 429", status: 429,
			header:    http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(reset.Unix(), 10)}},
			transient: true, retryAfter: time.Until(reset),
		},
		{name: "secondary rate limit", status: 403, header: http.Header{"Retry-After": {"30"}}, transient: true, retryAfter: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh client each time: go-github remembers rate limits.
			p, err := ghp.New(t.Context(), ghp.Options{BaseURL: w.fake.APIURL(), Token: w.token})
			if err != nil {
				t.Fatal(err)
			}
			w.fake.FailNext("GET", repoOp, tt.status, tt.header)
			_, err = p.Repository(t.Context(), testRepo)
			checkError(t, err, tt.want, tt.transient, tt.retryAfter)
			if err != nil && !strings.Contains(err.Error(), "getting repository "+testRepo+": ") {
				t.Errorf("the error does not say what was being done: %v", err)
			}
			if err != nil && strings.Contains(err.Error(), w.token) {
				t.Errorf("the error shows the token: %v", err)
			}
			// The fault was for one request only.
			if _, err := p.Repository(t.Context(), testRepo); err != nil && !tt.transient {
				t.Errorf("the next request failed too: %v", err)
			}
		})
	}
}

// checkError checks how an error is classed.
func checkError(t *testing.T, err, want error, transient bool, retryAfter time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	for _, sentinel := range []error{vcs.ErrNotFound, vcs.ErrForbidden, vcs.ErrUnauthorized} {
		if got := errors.Is(err, sentinel); got != (sentinel == want) {
			t.Errorf("errors.Is(%v, %v) = %v", err, sentinel, got)
		}
	}
	after, isTransient := vcs.IsTransient(err)
	if isTransient != transient {
		t.Errorf("IsTransient(%v) = %v, want %v", err, isTransient, transient)
	}
	if d := after - retryAfter; d < -3*time.Second || d > time.Second {
		t.Errorf("RetryAfter = %s, want about %s", after, retryAfter)
	}
}

func TestErrorsOfTheApp(t *testing.T) {
	spec := githubfake.LoadSpec(t)
	tests := []struct {
		name       string
		op         string
		status     int
		header     http.Header
		want       error
		transient  bool
		retryAfter time.Duration
	}{
		{name: "minting a token fails", op: "/app/installations/{installation_id}/access_tokens", status: 500, transient: true},
		{name: "minting a token is forbidden", op: "/app/installations/{installation_id}/access_tokens", status: 403, want: vcs.ErrForbidden},
		{name: "installation lookup rate limited", op: "/repos/{owner}/{repo}/installation", status: 429, header: http.Header{"Retry-After": {"5"}}, transient: true, retryAfter: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, pemKey, _ := appWorld(t, spec, githubfake.Options{})
			p, err := ghp.New(t.Context(), ghp.Options{BaseURL: fake.APIURL(), AppID: appID, AppPrivateKey: pemKey})
			if err != nil {
				t.Fatal(err)
			}
			method := "POST"
			if strings.HasPrefix(tt.op, "/repos/") {
				method = "GET"
			}
			fake.FailNext(method, tt.op, tt.status, tt.header)
			_, err = p.Repository(t.Context(), testRepo)
			checkError(t, err, tt.want, tt.transient, tt.retryAfter)
			if _, err := p.Repository(t.Context(), testRepo); err != nil {
				t.Errorf("after the fault: %v", err)
			}
		})
	}
}

func TestNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/"
	srv.Close()
	p, err := ghp.New(t.Context(), ghp.Options{BaseURL: base, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Repository(t.Context(), testRepo)
	checkError(t, err, nil, true, 0)

	ctx, cancel := contextCanceled(t)
	cancel()
	_, err = p.Repository(ctx, testRepo)
	if _, transient := vcs.IsTransient(err); err == nil || transient {
		t.Errorf("a cancelled request = %v, want an error not worth retrying", err)
	}
}
