package gitlab

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// The request headers GitLab sends with a webhook.
const (
	headerToken          = "X-Gitlab-Token"
	headerIdempotencyKey = "Idempotency-Key"     // GitLab 17.4 and later; kept on redelivery
	headerEventUUID      = "X-Gitlab-Event-UUID" // GitLab 14.8 and later
)

// ParseWebhook checks the X-Gitlab-Token header against the configured
// secret and turns the request into an Event: a new note on an issue or
// merge request is EventComment; a merge request opened, reopened or
// pushed to is EventPullRequest; a merge request merged is
// EventPullRequestMerged; an issue whose description changed is
// EventIssueEdited; everything else is EventIgnored with a Reason.
//
// A body the client library cannot decode because of a field the bot
// never reads is decoded again with only the fields the bot reads:
// GitLab's own documented example of a merge request comment carries a
// malformed commit timestamp, and a command must not be lost to it.
func (p *Provider) ParseWebhook(r *http.Request, body []byte) (vcs.Event, error) {
	if err := p.checkToken(r); err != nil {
		return vcs.Event{}, err
	}
	ev := vcs.Event{DeliveryID: deliveryID(r)}
	kind := gl.HookEventType(r)
	switch kind {
	case gl.EventTypeNote, gl.EventConfidentialNote:
		h, err := decodeNote(kind, body)
		if err != nil {
			return vcs.Event{}, fmt.Errorf("reading a GitLab %q webhook: %w", kind, err)
		}
		return noteEvent(ev, h), nil
	case gl.EventTypeMergeRequest:
		h, err := decodeMergeRequest(kind, body)
		if err != nil {
			return vcs.Event{}, fmt.Errorf("reading a GitLab %q webhook: %w", kind, err)
		}
		return mergeRequestEvent(ev, h), nil
	case gl.EventTypeIssue, gl.EventConfidentialIssue:
		var h issueHook
		if err := json.Unmarshal(body, &h); err != nil {
			return vcs.Event{}, fmt.Errorf("reading a GitLab %q webhook: %w", kind, err)
		}
		return issueEvent(ev, h), nil
	case "":
		ev.Kind = vcs.EventIgnored
		ev.Reason = "the request has no X-Gitlab-Event header"
		return ev, nil
	}
	// Only for the logs: which project the ignored event is about.
	var head struct {
		Project hookProject `json:"project"`
	}
	_ = json.Unmarshal(body, &head)
	ev.Kind = vcs.EventIgnored
	ev.Repo = head.Project.PathWithNamespace
	ev.Reason = fmt.Sprintf("GitLab %q events are not acted on", kind)
	return ev, nil
}

// checkToken compares X-Gitlab-Token with the configured secret in
// constant time (hashing both first, so that not even the length shows).
func (p *Provider) checkToken(r *http.Request) error {
	if len(p.secret) == 0 {
		return fmt.Errorf("%w: no GitLab webhook secret is configured, so no webhook request can be trusted", vcs.ErrUnauthorized)
	}
	got := r.Header.Get(headerToken)
	if got == "" {
		return fmt.Errorf("%w: the request has no %s header (set the secret token on the GitLab webhook)", vcs.ErrUnauthorized, headerToken)
	}
	want, have := sha256.Sum256(p.secret), sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
		return fmt.Errorf("%w: the %s header does not match the configured secret", vcs.ErrUnauthorized, headerToken)
	}
	return nil
}

// deliveryID is GitLab's id of a delivery, the same when GitLab (or
// someone in its UI) sends it again.
func deliveryID(r *http.Request) string {
	if id := r.Header.Get(headerIdempotencyKey); id != "" {
		return id
	}
	return r.Header.Get(headerEventUUID)
}

// The parts of GitLab's webhook payloads the bot reads, named as in the
// payloads.
type (
	hookUser struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	hookProject struct {
		PathWithNamespace string `json:"path_with_namespace"`
	}
	hookIssue struct {
		IID int64 `json:"iid"`
	}
	hookMergeRequest struct {
		IID             int64  `json:"iid"`
		Title           string `json:"title"`
		Description     string `json:"description"`
		SourceBranch    string `json:"source_branch"`
		TargetBranch    string `json:"target_branch"`
		SourceProjectID int64  `json:"source_project_id"`
		TargetProjectID int64  `json:"target_project_id"`
		AuthorID        int64  `json:"author_id"`
		State           string `json:"state"`
		URL             string `json:"url"`
		Action          string `json:"action"`
		OldRev          string `json:"oldrev"`
		LastCommit      struct {
			ID string `json:"id"`
		} `json:"last_commit"`
	}
	noteHook struct {
		User             hookUser    `json:"user"`
		Project          hookProject `json:"project"`
		ObjectAttributes struct {
			ID           int64  `json:"id"`
			Note         string `json:"note"`
			NoteableType string `json:"noteable_type"`
			System       bool   `json:"system"`
			Action       string `json:"action"`
			URL          string `json:"url"`
			CreatedAt    string `json:"created_at"`
			UpdatedAt    string `json:"updated_at"`
		} `json:"object_attributes"`
		Issue        *hookIssue        `json:"issue"`
		MergeRequest *hookMergeRequest `json:"merge_request"`
	}
	issueHook struct {
		User             hookUser    `json:"user"`
		Project          hookProject `json:"project"`
		ObjectAttributes struct {
			IID         int64  `json:"iid"`
			Title       string `json:"title"`
			Description string `json:"description"`
			State       string `json:"state"`
			Action      string `json:"action"`
			URL         string `json:"url"`
			AuthorID    int64  `json:"author_id"`
		} `json:"object_attributes"`
		Changes struct {
			Description *struct {
				Previous *string `json:"previous"`
				Current  *string `json:"current"`
			} `json:"description"`
		} `json:"changes"`
	}
	mergeRequestHook struct {
		User             hookUser         `json:"user"`
		Project          hookProject      `json:"project"`
		ObjectAttributes hookMergeRequest `json:"object_attributes"`
	}
)

// decodeNote decodes a Note Hook with the client library, or, when that
// fails, with only the fields the bot reads.
func decodeNote(kind gl.EventType, body []byte) (noteHook, error) {
	var h noteHook
	parsed, err := gl.ParseWebhook(kind, body)
	if err != nil {
		if lenientErr := json.Unmarshal(body, &h); lenientErr != nil {
			return h, err
		}
		return h, nil
	}
	switch e := parsed.(type) {
	case *gl.IssueCommentEvent:
		if e.User != nil {
			h.User = hookUser{ID: e.User.ID, Username: e.User.Username}
		}
		h.Project.PathWithNamespace = e.Project.PathWithNamespace
		a := e.ObjectAttributes
		h.ObjectAttributes.ID, h.ObjectAttributes.Note, h.ObjectAttributes.NoteableType = a.ID, a.Note, a.NoteableType
		h.ObjectAttributes.System, h.ObjectAttributes.Action, h.ObjectAttributes.URL = a.System, string(a.Action), a.URL
		h.ObjectAttributes.CreatedAt, h.ObjectAttributes.UpdatedAt = a.CreatedAt, a.UpdatedAt
		h.Issue = &hookIssue{IID: e.Issue.IID}
	case *gl.MergeCommentEvent:
		if e.User != nil {
			h.User = hookUser{ID: e.User.ID, Username: e.User.Username}
		}
		h.Project.PathWithNamespace = e.Project.PathWithNamespace
		a := e.ObjectAttributes
		h.ObjectAttributes.ID, h.ObjectAttributes.Note, h.ObjectAttributes.NoteableType = a.ID, a.Note, a.NoteableType
		h.ObjectAttributes.System, h.ObjectAttributes.Action, h.ObjectAttributes.URL = a.System, string(a.Action), a.URL
		h.ObjectAttributes.CreatedAt, h.ObjectAttributes.UpdatedAt = a.CreatedAt, a.UpdatedAt
		m := e.MergeRequest
		h.MergeRequest = &hookMergeRequest{
			IID: m.IID, Title: m.Title, Description: m.Description,
			SourceBranch: m.SourceBranch, TargetBranch: m.TargetBranch,
			SourceProjectID: m.SourceProjectID, TargetProjectID: m.TargetProjectID,
			AuthorID: m.AuthorID, State: m.State, URL: m.URL,
		}
		h.MergeRequest.LastCommit.ID = m.LastCommit.ID
	default:
		// Comments on commits and snippets: only what tells them apart.
		if err := json.Unmarshal(body, &h); err != nil {
			return h, err
		}
	}
	return h, nil
}

// decodeMergeRequest decodes a Merge Request Hook with the client library,
// or, when that fails, with only the fields the bot reads.
func decodeMergeRequest(kind gl.EventType, body []byte) (mergeRequestHook, error) {
	var h mergeRequestHook
	parsed, err := gl.ParseWebhook(kind, body)
	if err != nil {
		if lenientErr := json.Unmarshal(body, &h); lenientErr != nil {
			return h, err
		}
		return h, nil
	}
	e, ok := parsed.(*gl.MergeEvent)
	if !ok {
		return h, fmt.Errorf("unexpected payload type %T", parsed)
	}
	if e.User != nil {
		h.User = hookUser{ID: e.User.ID, Username: e.User.Username}
	}
	h.Project.PathWithNamespace = e.Project.PathWithNamespace
	a := e.ObjectAttributes
	h.ObjectAttributes = hookMergeRequest{
		IID: a.IID, Title: a.Title, Description: a.Description,
		SourceBranch: a.SourceBranch, TargetBranch: a.TargetBranch,
		SourceProjectID: a.SourceProjectID, TargetProjectID: a.TargetProjectID,
		AuthorID: a.AuthorID, State: a.State, URL: a.URL, Action: a.Action, OldRev: a.OldRev,
	}
	h.ObjectAttributes.LastCommit.ID = a.LastCommit.ID
	return h, nil
}

// noteEvent turns a Note Hook into an Event.
func noteEvent(ev vcs.Event, h noteHook) vcs.Event {
	a := h.ObjectAttributes
	ev.Repo = h.Project.PathWithNamespace
	ev.Sender = vcs.User{Login: h.User.Username}
	ev.Kind = vcs.EventIgnored
	var thread vcs.Thread
	switch {
	case a.System:
		ev.Reason = "system note"
		return ev
	case a.Action != "" && a.Action != "create":
		ev.Reason = fmt.Sprintf("note action %q, not a new comment", a.Action)
		return ev
	case a.NoteableType == "Issue" && h.Issue != nil:
		thread = vcs.Thread{Number: int(h.Issue.IID)}
	case a.NoteableType == "MergeRequest" && h.MergeRequest != nil:
		thread = vcs.Thread{Number: int(h.MergeRequest.IID), PullRequest: true}
		pr := hookPullRequest(*h.MergeRequest, h.User)
		ev.PullRequest = &pr
	default:
		ev.Reason = fmt.Sprintf("comment on a %s, not on an issue or merge request", strings.ToLower(a.NoteableType))
		return ev
	}
	created := hookTime(a.CreatedAt)
	updated := hookTime(a.UpdatedAt)
	if updated.IsZero() {
		updated = created
	}
	ev.Kind = vcs.EventComment
	ev.Comment = &vcs.Comment{
		CommentRef: vcs.CommentRef{Thread: thread, ID: a.ID},
		Body:       a.Note,
		Author:     ev.Sender,
		CreatedAt:  created,
		UpdatedAt:  updated,
		URL:        a.URL,
	}
	return ev
}

// issueEvent turns an Issue Hook into an Event: an issue whose
// description changed is EventIssueEdited.
func issueEvent(ev vcs.Event, h issueHook) vcs.Event {
	a := h.ObjectAttributes
	ev.Repo = h.Project.PathWithNamespace
	ev.Sender = vcs.User{Login: h.User.Username}
	ev.Kind = vcs.EventIgnored
	switch {
	case a.Action != "update":
		ev.Reason = fmt.Sprintf("issue action %q, only updates are acted on", a.Action)
		return ev
	case h.Changes.Description == nil:
		ev.Reason = "issue updated, but not its description"
		return ev
	}
	ev.Kind = vcs.EventIssueEdited
	ev.Issue = &vcs.Issue{Number: int(a.IID), Title: a.Title, Body: a.Description, State: state(a.State), URL: a.URL}
	if a.AuthorID != 0 && a.AuthorID == h.User.ID {
		ev.Issue.Author = ev.Sender
	}
	return ev
}

// mergeRequestEvent turns a Merge Request Hook into an Event.
func mergeRequestEvent(ev vcs.Event, h mergeRequestHook) vcs.Event {
	a := h.ObjectAttributes
	ev.Repo = h.Project.PathWithNamespace
	ev.Sender = vcs.User{Login: h.User.Username}
	pr := hookPullRequest(a, h.User)
	ev.PullRequest = &pr
	switch {
	case a.Action == "open" || a.Action == "reopen":
		ev.Kind = vcs.EventPullRequest
	case a.Action == "update" && a.OldRev != "":
		ev.Kind = vcs.EventPullRequest
	case a.Action == "merge":
		ev.Kind = vcs.EventPullRequestMerged
	case a.Action == "update":
		ev.Kind = vcs.EventIgnored
		ev.Reason = "merge request updated without new commits"
	default:
		ev.Kind = vcs.EventIgnored
		ev.Reason = fmt.Sprintf("merge request action %q is not acted on", a.Action)
	}
	return ev
}

// hookPullRequest is the merge request of a webhook payload. Payloads name
// the author by id only: when that is the sender, the author is known.
func hookPullRequest(m hookMergeRequest, sender hookUser) vcs.PullRequest {
	pr := vcs.PullRequest{
		Number:  int(m.IID),
		Title:   m.Title,
		Body:    m.Description,
		Head:    m.SourceBranch,
		Base:    m.TargetBranch,
		HeadSHA: m.LastCommit.ID,
		HeadRef: headRef(m.IID),
		State:   state(m.State),
		URL:     m.URL,
	}
	if m.AuthorID != 0 && m.AuthorID == sender.ID {
		pr.Author = vcs.User{Login: sender.Username}
	}
	return pr
}

// hookTime reads the timestamps of webhook payloads: GitLab writes
// "2015-05-17 17:06:40 UTC" in notes and RFC 3339 elsewhere. An unreadable
// time is zero.
func hookTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
