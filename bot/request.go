// Package bot turns upgrade requests — from the CLI, comments, new releases or
// schedules — into plans and delivers them: a printed plan, a branch with the
// bump (and later a pull request), or a direct patch.
//
// Every trigger builds a Request; one pipeline (Planner.Plan, then a delivery)
// serves them all.
package bot

import (
	"errors"
	"fmt"
	"strings"
)

// Mode is how a request is delivered.
type Mode string

// The delivery modes.
const (
	// ModePlan only shows what would change.
	ModePlan Mode = "plan"
	// ModePropose commits the bump on a branch (and opens a pull request
	// where a forge is configured).
	ModePropose Mode = "propose"
)

// Request is one wish for an upgrade, whatever asked for it.
type Request struct {
	// Clusters are names ("peu01") or "namespace/name". Empty with All
	// false means: the repository's only cluster.
	Clusters []string
	// All selects every cluster of the repository.
	All bool
	// Target is the release version to upgrade to ("v31.0.0" or "31.0.0").
	Target string
	// Provider forces the release provider instead of inferring it from the
	// cluster's infrastructure kind.
	Provider string
	// Force turns refused upgrade paths (downgrade, skipped major) into
	// warnings.
	Force bool
	// Mode is the delivery.
	Mode Mode
	// Actor is who asked, for messages and commits.
	Actor string
}

// ErrInvalidRequest marks errors caused by the request itself or the data it
// points at (unknown cluster or release, refused path, broken repository):
// the person who asked must change something; retrying will not help.
var ErrInvalidRequest = errors.New("invalid request")

// inputError wraps an error caused by bad input so that
// errors.Is(err, ErrInvalidRequest) holds, keeping the original chain.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }

func (e *inputError) Unwrap() []error { return []error{e.err, ErrInvalidRequest} }

func invalid(err error) error {
	if err == nil || errors.Is(err, ErrInvalidRequest) {
		return err
	}
	return &inputError{err: err}
}

func invalidf(format string, args ...any) error {
	return invalid(fmt.Errorf(format, args...))
}

// Validate checks the request's own shape, before any repository is read.
func (r Request) Validate() error {
	if strings.TrimSpace(r.Target) == "" {
		return invalidf("no target release: say which release to upgrade to, e.g. --to v31.0.0")
	}
	if r.All && len(r.Clusters) > 0 {
		return invalidf("both --all and clusters (%s) given: choose one", strings.Join(r.Clusters, ", "))
	}
	switch r.Mode {
	case "", ModePlan, ModePropose:
	default:
		return invalidf("unknown delivery mode %q: use %q or %q", r.Mode, ModePlan, ModePropose)
	}
	return nil
}
