package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v89/github"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// wrap says what was being done and classes err for the bot: a 404 wraps
// vcs.ErrNotFound; a 401 or 403 that is not a rate limit wraps
// vcs.ErrForbidden; rate limits, 5xx answers and network errors are
// *vcs.TransientError, with how long GitHub asked to wait.
func wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	return fmt.Errorf("%s: %w", what, classify(err))
}

func classify(err error) error {
	var (
		rate     *github.RateLimitError
		abuse    *github.AbuseRateLimitError
		resp     *github.ErrorResponse
		install  *ghinstallation.HTTPError
		canceled = errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	)
	switch {
	case canceled:
		return err
	case errors.As(err, &rate):
		return &vcs.TransientError{Err: err, RetryAfter: max(time.Until(rate.Rate.Reset.Time), 0)}
	case errors.As(err, &abuse):
		var after time.Duration
		if abuse.RetryAfter != nil {
			after = max(*abuse.RetryAfter, 0)
		}
		return &vcs.TransientError{Err: err, RetryAfter: after}
	case errors.As(err, &resp) && resp.Response != nil:
		return byStatus(err, resp.Response)
	case errors.As(err, &install) && install.Response != nil:
		// Minting an installation token failed with an answer.
		return byStatus(err, install.Response)
	case isNetwork(err):
		return &vcs.TransientError{Err: err}
	}
	return err
}

// isNetwork reports whether err is the network failing: a connection
// refused or reset, a name not resolved, a timeout, an answer cut short.
// Any error of http.Client is a *url.Error, itself a net.Error, so that is
// not enough.
func isNetwork(err error) bool {
	var (
		op  *net.OpError
		dns *net.DNSError
		ne  net.Error
	)
	return errors.As(err, &op) || errors.As(err, &dns) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// byStatus classes an error answer by its status.
func byStatus(err error, r *http.Response) error {
	switch c := r.StatusCode; {
	case c == http.StatusNotFound:
		return fmt.Errorf("%w: %w", vcs.ErrNotFound, err)
	case c == http.StatusTooManyRequests || c >= 500:
		return &vcs.TransientError{Err: err, RetryAfter: retryAfter(r.Header.Get("Retry-After"))}
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		return fmt.Errorf("%w: %w", vcs.ErrForbidden, err)
	}
	return err
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
