package gitlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// classify turns what the client returned into the errors the bot branches
// on: 404 wraps vcs.ErrNotFound, 401 and 403 wrap vcs.ErrForbidden, and 5xx
// answers, 429 (rate limits) and network failures are *vcs.TransientError.
// Anything else (a 400 or 409 answer, say) is returned as it is. The
// client's messages name the request (method and URL), never the token.
func classify(resp *gl.Response, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	status, header := statusOf(resp, err)
	switch {
	case status == http.StatusNotFound:
		return fmt.Errorf("%w: %w", vcs.ErrNotFound, err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%w: %w", vcs.ErrForbidden, err)
	case status == http.StatusTooManyRequests:
		return &vcs.TransientError{Err: fmt.Errorf("rate limited by GitLab: %w", err), RetryAfter: retryAfter(header, time.Now())}
	case status >= 500:
		return &vcs.TransientError{Err: err, RetryAfter: retryAfter(header, time.Now())}
	case status == 0 && isNetwork(err):
		// No answer at all: the request never reached GitLab, or the
		// connection broke. Worth another try.
		return &vcs.TransientError{Err: err}
	}
	return err
}

// isNetwork reports whether err is a failure to talk to GitLab at all.
func isNetwork(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// statusOf is the HTTP status of a failed call and the answer's headers, or
// zero when there was no answer.
func statusOf(resp *gl.Response, err error) (int, http.Header) {
	if resp != nil && resp.Response != nil && resp.StatusCode >= 400 {
		return resp.StatusCode, resp.Header
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) {
		if er.Response != nil {
			return er.StatusCode, er.Response.Header
		}
		return er.StatusCode, nil
	}
	if resp != nil && resp.Response != nil {
		// An answer that could not be read (a broken JSON body, say) is
		// not a network failure; report its status, which is not an
		// error status, so it is returned as it is.
		return resp.StatusCode, resp.Header
	}
	return 0, nil
}

// retryAfter is how long GitLab asked to wait: Retry-After (seconds or an
// HTTP date), else RateLimit-Reset (a Unix time), else zero.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
		if at, err := http.ParseTime(v); err == nil && at.After(now) {
			return at.Sub(now)
		}
	}
	if v := strings.TrimSpace(h.Get("RateLimit-Reset")); v != "" {
		if unix, err := strconv.ParseInt(v, 10, 64); err == nil {
			if at := time.Unix(unix, 0); at.After(now) {
				return at.Sub(now)
			}
		}
	}
	return 0
}
