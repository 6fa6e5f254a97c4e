package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v89/github"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// ParseWebhook checks a webhook request's X-Hub-Signature-256 (an
// HMAC-SHA256 of the body with the webhook secret) and decodes it. A new
// comment is EventComment; a pull request opened, reopened or pushed to
// is EventPullRequest, and merged EventPullRequestMerged; an issue whose
// description was edited is EventIssueEdited; every other
// event is EventIgnored, with the reason.
//
// For a comment on a pull request, Event.PullRequest is nil: GitHub's
// issue_comment payload does not carry the pull request's branches, so the
// bot asks for the pull request (Provider.PullRequest) when it needs them.
func (p *Provider) ParseWebhook(r *http.Request, body []byte) (vcs.Event, error) {
	if err := p.verify(r, body); err != nil {
		return vcs.Event{}, fmt.Errorf("checking the webhook signature: %w", err)
	}
	kind := github.WebHookType(r)
	ev := vcs.Event{Kind: vcs.EventIgnored, DeliveryID: github.DeliveryID(r)}
	if kind == "" {
		return vcs.Event{}, errors.New("decoding the webhook: the request has no X-GitHub-Event header")
	}
	switch kind {
	case "issue_comment", "issues", "pull_request":
	default:
		// Decoded only for the logs: an event the bot does not act on is
		// not an error, whatever its payload.
		var common struct {
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
			Sender *github.User `json:"sender"`
		}
		_ = json.Unmarshal(body, &common)
		ev.Repo = common.Repository.FullName
		if common.Sender != nil {
			ev.Sender = user(common.Sender)
		}
		ev.Reason = fmt.Sprintf("%s events are not acted on", kind)
		return ev, nil
	}

	payload, err := github.ParseWebHook(kind, body)
	if err != nil {
		return vcs.Event{}, fmt.Errorf("decoding the %s webhook %s: %w", kind, ev.DeliveryID, err)
	}
	switch e := payload.(type) {
	case *github.IssueCommentEvent:
		ev.Repo = e.GetRepo().GetFullName()
		ev.Sender = user(e.GetSender())
		if action := e.GetAction(); action != "created" {
			ev.Reason = fmt.Sprintf("comment %s, only new comments are acted on", action)
			return ev, nil
		}
		c := e.GetComment()
		issue := e.GetIssue()
		ev.Kind = vcs.EventComment
		ev.Comment = &vcs.Comment{
			CommentRef: vcs.CommentRef{
				Thread: vcs.Thread{Number: issue.GetNumber(), PullRequest: issue.IsPullRequest()},
				ID:     c.GetID(),
			},
			Body:      c.GetBody(),
			Author:    user(c.GetUser()),
			CreatedAt: c.GetCreatedAt().Time,
			UpdatedAt: c.GetUpdatedAt().Time,
			URL:       c.GetHTMLURL(),
		}
	case *github.IssuesEvent:
		ev.Repo = e.GetRepo().GetFullName()
		ev.Sender = user(e.GetSender())
		if action := e.GetAction(); action != "edited" {
			ev.Reason = fmt.Sprintf("issue %s, only edits are acted on", action)
			return ev, nil
		}
		if e.GetChanges().GetBody() == nil {
			ev.Reason = "issue edited, but not its description"
			return ev, nil
		}
		i := issue(e.GetIssue())
		ev.Kind, ev.Issue = vcs.EventIssueEdited, &i
	case *github.PullRequestEvent:
		ev.Repo = e.GetRepo().GetFullName()
		ev.Sender = user(e.GetSender())
		pr := e.GetPullRequest()
		switch action := e.GetAction(); {
		case action == "opened" || action == "reopened" || action == "synchronize":
			ev.Kind = vcs.EventPullRequest
		case action == "closed" && pr.GetMerged():
			ev.Kind = vcs.EventPullRequestMerged
		case action == "closed":
			ev.Reason = "pull request closed without merging"
			return ev, nil
		default:
			ev.Reason = fmt.Sprintf("pull request %s, only opened, reopened, synchronize and closed are acted on", action)
			return ev, nil
		}
		ev.PullRequest = pullRequest(pr)
	default:
		return vcs.Event{}, fmt.Errorf("decoding the %s webhook %s: unexpected payload %T", kind, ev.DeliveryID, payload)
	}
	return ev, nil
}

// verify checks X-Hub-Signature-256 in constant time.
func (p *Provider) verify(r *http.Request, body []byte) error {
	if len(p.secret) == 0 {
		return fmt.Errorf("no webhook secret is configured, so no webhook can be trusted: %w", vcs.ErrUnauthorized)
	}
	header := r.Header.Get("X-Hub-Signature-256")
	if header == "" {
		return fmt.Errorf("the request has no X-Hub-Signature-256 header: %w", vcs.ErrUnauthorized)
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return fmt.Errorf("X-Hub-Signature-256 is not sha256=<hex>: %w", vcs.ErrUnauthorized)
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("X-Hub-Signature-256 is not hexadecimal: %w", vcs.ErrUnauthorized)
	}
	mac := hmac.New(sha256.New, p.secret)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return fmt.Errorf("X-Hub-Signature-256 does not match the body: %w", vcs.ErrUnauthorized)
	}
	return nil
}
