// Package vcs is what the bot needs of a forge (GitHub, GitLab), in neutral
// types: finding and opening pull requests, commenting, reacting, checking a
// person's permission, and turning a signed webhook request into an Event.
//
// Each forge lives in its own sub-package (vcs/github, vcs/gitlab), the only
// importer of its SDK; vcs/git handles the repositories themselves. The bot
// never switches on which forge it talks to.
package vcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Provider is one forge, authenticated as the bot. Repositories are named
// by their full path: "owner/name" on GitHub, "group/subgroup/project" on
// GitLab. Issue and pull request numbers are the ones people see (GitLab's
// iid).
type Provider interface {
	// Name is "github" or "gitlab", for logs, metrics and URLs.
	Name() string
	// Self is the bot's own account, so that its comments and reactions
	// can be told apart from people's.
	Self(ctx context.Context) (User, error)
	// Repository returns where to clone a repository from and its default
	// branch.
	Repository(ctx context.Context, repo string) (Repository, error)
	// GitCredential is the credential for cloning and pushing over HTTPS;
	// for a GitHub App it is a fresh installation token.
	GitCredential(ctx context.Context, repo string) (username, password string, err error)

	// FindPullRequest returns the open pull request whose head is branch
	// in repo itself, or nil when there is none.
	FindPullRequest(ctx context.Context, repo, branch string) (*PullRequest, error)
	// PullRequests lists the open pull requests whose head branch starts
	// with prefix.
	PullRequests(ctx context.Context, repo, prefix string) ([]PullRequest, error)
	// BranchHistory lists every pull request, open, closed or merged,
	// whose head is branch in repo itself, newest first: the bot's memory
	// of what happened to a proposal, kept on the forge.
	BranchHistory(ctx context.Context, repo, branch string) ([]PullRequest, error)
	// PullRequestsCreatedSince lists the pull requests, open, closed or
	// merged, whose head branch in repo itself starts with prefix and that
	// were opened at or after since, newest first: what limits on pull
	// requests opened per hour count.
	PullRequestsCreatedSince(ctx context.Context, repo, prefix string, since time.Time) ([]PullRequest, error)
	// PullRequest returns one pull request by number.
	PullRequest(ctx context.Context, repo string, number int) (*PullRequest, error)
	// CreatePullRequest opens a pull request from pr.Head into pr.Base.
	CreatePullRequest(ctx context.Context, repo string, pr NewPullRequest) (*PullRequest, error)
	// UpdatePullRequest changes the title and body of a pull request.
	UpdatePullRequest(ctx context.Context, repo string, number int, title, body string) error
	// ClosePullRequest closes a pull request without merging it.
	ClosePullRequest(ctx context.Context, repo string, number int) error
	// MergeState is what the forge says about merging an open pull request
	// now: whether it would, its approvals, its checks on the head.
	MergeState(ctx context.Context, repo string, number int) (MergeState, error)
	// MergePullRequest merges an open pull request, provided its head is
	// still opts.SHA. A pull request the forge will not merge (conflicts,
	// protection, a head that moved) returns an error wrapping
	// ErrNotMergeable.
	MergePullRequest(ctx context.Context, repo string, number int, opts MergeOptions) error

	// Comments lists the comments of an issue or pull request, oldest
	// first.
	Comments(ctx context.Context, repo string, thread Thread) ([]Comment, error)
	// RecentComments lists the comments of every issue and pull request of
	// repo created or edited since the given time, oldest first.
	RecentComments(ctx context.Context, repo string, since time.Time) ([]Comment, error)
	// CreateComment comments on an issue or pull request.
	CreateComment(ctx context.Context, repo string, thread Thread, body string) (Comment, error)
	// EditComment replaces the body of a comment.
	EditComment(ctx context.Context, repo string, ref CommentRef, body string) error
	// Reactions lists the reactions to a comment.
	Reactions(ctx context.Context, repo string, ref CommentRef) ([]Reaction, error)
	// React adds the bot's reaction to a comment; reacting twice with the
	// same content is not an error.
	React(ctx context.Context, repo string, ref CommentRef, content ReactionContent) error
	// Permission is what user may do in repo.
	Permission(ctx context.Context, repo, user string) (Permission, error)

	// Issues lists the open issues (not pull requests) of repo opened by
	// author, oldest first.
	Issues(ctx context.Context, repo, author string) ([]Issue, error)
	// CreateIssue opens an issue.
	CreateIssue(ctx context.Context, repo, title, body string) (*Issue, error)
	// EditIssue replaces the title and body of an issue.
	EditIssue(ctx context.Context, repo string, number int, title, body string) error

	// ParseWebhook checks a webhook request's signature (or token) and
	// turns it into an Event. body is the request body, already read (and
	// capped) by the server. An event the bot does not act on is returned
	// with Kind EventIgnored, not as an error; a request that fails the
	// check returns an error wrapping ErrUnauthorized.
	ParseWebhook(r *http.Request, body []byte) (Event, error)
	// CommentLimit is the longest comment the forge accepts, in bytes.
	CommentLimit() int
}

// Repository is where a repository lives.
type Repository struct {
	// FullName is "owner/name" or GitLab's path with namespace.
	FullName string
	// CloneURL is the HTTPS URL to clone from and push to.
	CloneURL      string
	DefaultBranch string
	// WebURL is the repository's page, for links.
	WebURL string
}

// User is a forge account.
type User struct {
	Login string
	// Bot is true for apps and bot accounts: the bot ignores their
	// comments so that two bots never talk in a loop.
	Bot bool
}

// Thread names an issue or a pull request.
type Thread struct {
	Number      int
	PullRequest bool
}

func (t Thread) String() string {
	if t.PullRequest {
		return fmt.Sprintf("pull request #%d", t.Number)
	}
	return fmt.Sprintf("issue #%d", t.Number)
}

// CommentRef names one comment: GitLab needs the thread as well as the
// comment's id.
type CommentRef struct {
	Thread Thread
	ID     int64
}

// Comment is a comment on an issue or pull request.
type Comment struct {
	CommentRef
	Body      string
	Author    User
	CreatedAt time.Time
	UpdatedAt time.Time
	URL       string
}

// PullRequest is an open (or closed) pull or merge request.
type PullRequest struct {
	Number int
	Title  string
	Body   string
	// Head is the source branch, Base the target branch.
	Head, Base string
	// HeadSHA is the commit at the head.
	HeadSHA string
	// BaseSHA is the commit of the base branch the forge compares with,
	// where known.
	BaseSHA string
	// HeadRef is the ref that fetches the head from the base repository,
	// also for pull requests from forks ("refs/pull/7/head",
	// "refs/merge-requests/7/head").
	HeadRef string
	State   string // "open", "closed" or "merged"
	Author  User
	URL     string
	// CreatedAt is when the pull request was opened.
	CreatedAt time.Time
}

// Issue is an issue (never a pull request).
type Issue struct {
	Number int
	Title  string
	Body   string
	State  string // "open" or "closed"
	Author User
	URL    string
}

// Checks sums up the status checks (GitHub's statuses and check runs,
// GitLab's pipeline) of a pull request's head.
type Checks string

// The states of a head's checks.
const (
	// ChecksNone: the forge reports no check at all.
	ChecksNone Checks = "none"
	// ChecksPending: some check has not finished, none failed.
	ChecksPending Checks = "pending"
	// ChecksPassed: every check finished, none failed (neutral and
	// skipped count as passed).
	ChecksPassed Checks = "passed"
	// ChecksFailed: some check failed, errored, was cancelled or timed out.
	ChecksFailed Checks = "failed"
)

// SumChecks sums up the states of a head's checks: failed when one
// failed, else pending when one is pending, else passed; none when there
// are none.
func SumChecks(all []Checks) Checks {
	sum := ChecksNone
	for _, c := range all {
		switch {
		case c == ChecksFailed:
			return ChecksFailed
		case c == ChecksPending:
			sum = ChecksPending
		case c == ChecksPassed && sum == ChecksNone:
			sum = ChecksPassed
		}
	}
	return sum
}

// MergeState is what the forge says about merging a pull request now.
type MergeState struct {
	// HeadSHA is the head commit the state is about.
	HeadSHA string
	// Mergeable is true when the forge would merge the pull request now
	// by its own rules (conflicts, branch protection, the approvals and
	// checks it enforces itself). It is false while the forge is still
	// working it out.
	Mergeable bool
	// Blocker is why not, in the forge's terms, when not Mergeable.
	Blocker string
	// Approvals counts the people whose latest review approves.
	Approvals int
	// Checks sums up the head's status checks.
	Checks Checks
}

// MergeMethod is how a pull request is merged.
type MergeMethod string

// The merge methods.
const (
	// MethodMerge makes a merge commit.
	MethodMerge MergeMethod = "merge"
	// MethodSquash squashes the pull request into one commit.
	MethodSquash MergeMethod = "squash"
	// MethodRebase puts the pull request's commits onto the base branch.
	// GitLab merges as the project's merge method says, so there it is
	// MethodMerge.
	MethodRebase MergeMethod = "rebase"
)

// MergeOptions is how to merge a pull request.
type MergeOptions struct {
	Method MergeMethod
	// SHA is the head the merge was decided on: the forge refuses the
	// merge when the head has moved since.
	SHA string
}

// NewPullRequest is what opening a pull request needs.
type NewPullRequest struct {
	Head, Base  string
	Title, Body string
}

// ReactionContent is a reaction's emoji, by GitHub's name (GitLab's award
// emoji use the same names for these).
type ReactionContent string

// The reactions the bot uses.
const (
	ReactionEyes     ReactionContent = "eyes"
	ReactionRocket   ReactionContent = "rocket"
	ReactionConfused ReactionContent = "confused"
)

// Reaction is one person's reaction to a comment.
type Reaction struct {
	Content ReactionContent
	User    User
}

// Permission is a person's role in a repository, from least to most.
type Permission int

// The permissions, in order. Write is what running /upgrade needs: GitHub's
// "write" (or "maintain", "admin"), GitLab's Developer or more.
const (
	PermissionNone Permission = iota
	PermissionRead
	PermissionWrite
	PermissionAdmin
)

func (p Permission) String() string {
	switch p {
	case PermissionRead:
		return "read"
	case PermissionWrite:
		return "write"
	case PermissionAdmin:
		return "admin"
	}
	return "none"
}

// EventKind is what a webhook told.
type EventKind string

// The events the bot acts on.
const (
	// EventIgnored is any event the bot does not act on; the server still
	// answers 2xx.
	EventIgnored EventKind = "ignored"
	// EventComment is a new comment on an issue or pull request.
	EventComment EventKind = "comment"
	// EventPullRequest is a pull request opened, reopened or pushed to.
	EventPullRequest EventKind = "pull_request"
	// EventPullRequestMerged is a pull request merged.
	EventPullRequestMerged EventKind = "pull_request_merged"
	// EventIssueEdited is an issue's description edited (a box of the
	// upgrade dashboard ticked).
	EventIssueEdited EventKind = "issue_edited"
)

// Event is a webhook request, checked and decoded.
type Event struct {
	Kind EventKind
	// DeliveryID is the forge's id of this delivery; a redelivery repeats
	// it (GitHub's X-GitHub-Delivery; GitLab's Idempotency-Key, or
	// X-Gitlab-Event-UUID from GitLab before 17.4).
	DeliveryID string
	// Repo is the repository's full name.
	Repo string
	// Comment is set for EventComment.
	Comment *Comment
	// PullRequest is set for the pull request events, and for comments on
	// pull requests where the payload carries it.
	PullRequest *PullRequest
	// Issue is set for EventIssueEdited.
	Issue *Issue
	// Sender is who caused the event.
	Sender User
	// Reason says why an event is ignored, for the logs.
	Reason string
}

// ErrUnauthorized marks a webhook request whose signature or token does
// not match: the server answers 401 and does nothing.
var ErrUnauthorized = errors.New("webhook signature or token does not match")

// ErrNotFound marks a repository, pull request, comment or user the forge
// does not know (or does not show the bot).
var ErrNotFound = errors.New("not found")

// ErrForbidden marks a request the bot's credentials may not make.
var ErrForbidden = errors.New("forbidden")

// ErrNotMergeable is wrapped by the error of a merge the forge refused:
// conflicts, branch protection, a head that moved since it was checked.
var ErrNotMergeable = errors.New("the forge would not merge the pull request")

// TransientError is a failure worth retrying: a 5xx answer, a rate limit,
// a network error. RetryAfter is how long the forge asked to wait, zero
// when it did not say.
type TransientError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *TransientError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.RetryAfter)
	}
	return e.Err.Error()
}

func (e *TransientError) Unwrap() error { return e.Err }

// IsTransient reports whether err is worth retrying and how long to wait
// at least.
func IsTransient(err error) (time.Duration, bool) {
	var t *TransientError
	if errors.As(err, &t) {
		return t.RetryAfter, true
	}
	return 0, false
}
