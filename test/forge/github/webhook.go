package githubfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" // GitHub still sends the SHA-1 signature beside the SHA-256 one.
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v89/github"
)

// Delivery is one webhook delivery the fake made.
type Delivery struct {
	// ID is X-GitHub-Delivery; a redelivery repeats it.
	ID     string
	Event  string // X-GitHub-Event
	Action string
	// Payload is the body, as signed.
	Payload []byte
	// Status is the receiver's answer, zero when the request failed (Err).
	Status     int
	Err        error
	Redelivery bool
}

// event is a webhook about to be delivered.
type event struct {
	name, action string
	payload      any
}

// SetWebhook makes the fake deliver its events to url, signed with secret,
// as a repository webhook (or a GitHub App's) does.
func (s *Server) SetWebhook(url string, secret []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookSecret = url, bytes.Clone(secret)
}

// Deliveries are the webhook deliveries made so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Redeliver delivers a past delivery again, with the same id and payload,
// as GitHub's "Redeliver" button does, and returns the new delivery.
func (s *Server) Redeliver(id string) Delivery {
	s.mu.Lock()
	var d *Delivery
	for i := range s.deliveries {
		if s.deliveries[i].ID == id {
			d = &s.deliveries[i]
			break
		}
	}
	if d == nil {
		s.mu.Unlock()
		s.t.Fatalf("github fake: no delivery %s to redeliver", id)
		return Delivery{}
	}
	again := Delivery{ID: d.ID, Event: d.Event, Action: d.Action, Payload: d.Payload, Redelivery: true}
	s.mu.Unlock()
	return s.send(again)
}

// deliver sends an event to the webhook, if one is set.
func (s *Server) deliver(e event) Delivery {
	if e.name == "" {
		return Delivery{}
	}
	payload, err := json.Marshal(e.payload)
	if err != nil {
		s.t.Errorf("github fake: encoding the %s webhook: %v", e.name, err)
		return Delivery{}
	}
	return s.send(Delivery{ID: newDeliveryID(), Event: e.name, Action: e.action, Payload: payload})
}

// send posts a delivery to the webhook and records it.
func (s *Server) send(d Delivery) Delivery {
	s.mu.Lock()
	url, secret := s.hookURL, s.hookSecret
	s.mu.Unlock()
	if url == "" {
		return d
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Payload))
	if err != nil {
		s.t.Errorf("github fake: delivering the %s webhook: %v", d.Event, err)
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/fake")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.ID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-Hub-Signature", "sha1="+sign(sha1.New, secret, d.Payload))
	req.Header.Set("X-Hub-Signature-256", "sha256="+sign(sha256.New, secret, d.Payload))
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		d.Err = err
	} else {
		d.Status = resp.StatusCode
		_ = resp.Body.Close()
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return d
}

func sign(h func() hash.Hash, secret, payload []byte) string {
	mac := hmac.New(h, secret)
	mac.Write(payload)
	return hex.EncodeToString(mac.Sum(nil))
}

func newDeliveryID() string {
	b := randomHex(16)
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}

// The webhook payloads, built from go-github's types as GitHub's payloads
// are decoded by clients. s.mu is held.

func (s *Server) ghUser(u *user) *github.User {
	o := s.simpleUser(u)
	return &github.User{
		Login:     github.Ptr(u.login),
		ID:        github.Ptr(u.id),
		NodeID:    github.Ptr(o["node_id"].(string)),
		AvatarURL: github.Ptr(o["avatar_url"].(string)),
		URL:       github.Ptr(o["url"].(string)),
		HTMLURL:   github.Ptr(o["html_url"].(string)),
		ReposURL:  github.Ptr(o["repos_url"].(string)),
		Type:      github.Ptr(userType(u)),
		SiteAdmin: github.Ptr(false),
	}
}

func ts(t time.Time) *github.Timestamp {
	if t.IsZero() {
		return nil
	}
	return &github.Timestamp{Time: t}
}

func (s *Server) ghRepo(r *repo) *github.Repository {
	return &github.Repository{
		ID:            github.Ptr(r.id),
		NodeID:        github.Ptr(nodeID("R", r.id)),
		Name:          github.Ptr(r.name),
		FullName:      github.Ptr(r.fullName()),
		Owner:         s.ghUser(r.owner),
		Private:       github.Ptr(true),
		Visibility:    github.Ptr("private"),
		HTMLURL:       github.Ptr(s.webURL("%s", r.fullName())),
		URL:           github.Ptr(s.apiURL("repos/%s", r.fullName())),
		CloneURL:      github.Ptr(s.cloneURL(r)),
		DefaultBranch: github.Ptr(r.defaultBranch),
		CreatedAt:     ts(r.created),
		UpdatedAt:     ts(r.pushed),
		PushedAt:      ts(r.pushed),
	}
}

func (s *Server) ghIssue(i *issue) *github.Issue {
	full := i.repo.fullName()
	kind := "issues"
	if i.pull != nil {
		kind = "pull"
	}
	gi := &github.Issue{
		ID:                github.Ptr(i.id),
		NodeID:            github.Ptr(nodeID("I", i.id)),
		Number:            github.Ptr(i.number),
		Title:             github.Ptr(i.title),
		Body:              github.Ptr(i.body),
		State:             github.Ptr(i.state),
		Locked:            github.Ptr(false),
		User:              s.ghUser(i.user),
		Comments:          github.Ptr(len(i.comments)),
		AuthorAssociation: github.Ptr(authorAssociation(i.repo, i.user)),
		URL:               github.Ptr(s.apiURL("repos/%s/issues/%d", full, i.number)),
		HTMLURL:           github.Ptr(s.webURL("%s/%s/%d", full, kind, i.number)),
		CommentsURL:       github.Ptr(s.apiURL("repos/%s/issues/%d/comments", full, i.number)),
		RepositoryURL:     github.Ptr(s.apiURL("repos/%s", full)),
		Labels:            []*github.Label{},
		CreatedAt:         ts(i.created),
		UpdatedAt:         ts(i.updated),
		ClosedAt:          ts(i.closedAt),
	}
	if i.pull != nil {
		html := s.webURL("%s/pull/%d", full, i.number)
		gi.PullRequestLinks = &github.PullRequestLinks{
			URL:      github.Ptr(s.apiURL("repos/%s/pulls/%d", full, i.number)),
			HTMLURL:  github.Ptr(html),
			DiffURL:  github.Ptr(html + ".diff"),
			PatchURL: github.Ptr(html + ".patch"),
			MergedAt: ts(i.pull.mergedAt),
		}
	}
	return gi
}

func (s *Server) ghComment(c *comment) *github.IssueComment {
	full := c.issue.repo.fullName()
	return &github.IssueComment{
		ID:                github.Ptr(c.id),
		NodeID:            github.Ptr(nodeID("IC", c.id)),
		Body:              github.Ptr(c.body),
		User:              s.ghUser(c.user),
		AuthorAssociation: github.Ptr(authorAssociation(c.issue.repo, c.user)),
		URL:               github.Ptr(s.apiURL("repos/%s/issues/comments/%d", full, c.id)),
		HTMLURL:           github.Ptr(s.commentHTMLURL(c)),
		IssueURL:          github.Ptr(s.apiURL("repos/%s/issues/%d", full, c.issue.number)),
		CreatedAt:         ts(c.created),
		UpdatedAt:         ts(c.updated),
	}
}

func (s *Server) ghPull(i *issue) *github.PullRequest {
	full := i.repo.fullName()
	p := i.pull
	branch := func(ref, sha string, r *repo) *github.PullRequestBranch {
		return &github.PullRequestBranch{
			Label: github.Ptr(r.owner.login + ":" + ref),
			Ref:   github.Ptr(ref),
			SHA:   github.Ptr(sha),
			Repo:  s.ghRepo(r),
			User:  s.ghUser(r.owner),
		}
	}
	gp := &github.PullRequest{
		ID:                github.Ptr(i.id),
		NodeID:            github.Ptr(nodeID("PR", i.id)),
		Number:            github.Ptr(i.number),
		State:             github.Ptr(i.state),
		Locked:            github.Ptr(false),
		Title:             github.Ptr(i.title),
		Body:              github.Ptr(i.body),
		User:              s.ghUser(i.user),
		Draft:             github.Ptr(false),
		Merged:            github.Ptr(p.merged),
		Mergeable:         nil,
		Comments:          github.Ptr(len(i.comments)),
		Commits:           github.Ptr(p.commits),
		Additions:         github.Ptr(p.additions),
		Deletions:         github.Ptr(p.deletions),
		ChangedFiles:      github.Ptr(p.changedFiles),
		AuthorAssociation: github.Ptr(authorAssociation(i.repo, i.user)),
		URL:               github.Ptr(s.apiURL("repos/%s/pulls/%d", full, i.number)),
		HTMLURL:           github.Ptr(s.webURL("%s/pull/%d", full, i.number)),
		IssueURL:          github.Ptr(s.apiURL("repos/%s/issues/%d", full, i.number)),
		Head:              branch(p.head, p.headSHA, p.headRepo),
		Base:              branch(p.base, p.baseSHA, i.repo),
		CreatedAt:         ts(i.created),
		UpdatedAt:         ts(i.updated),
		ClosedAt:          ts(i.closedAt),
		MergedAt:          ts(p.mergedAt),
	}
	if p.mergedBy != nil {
		gp.MergedBy = s.ghUser(p.mergedBy)
	}
	if p.mergeSHA != "" {
		gp.MergeCommitSHA = github.Ptr(p.mergeSHA)
	}
	return gp
}

// ghInstallation is the "installation" field of App webhooks: set when the
// App is installed on the repository's account.
func (s *Server) ghInstallation(r *repo) *github.Installation {
	inst := s.installationFor(r.owner)
	if inst == nil {
		return nil
	}
	return &github.Installation{ID: github.Ptr(inst.id), NodeID: github.Ptr(nodeID("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", inst.id))}
}

// pullEvent is a "pull_request" webhook.
func (s *Server) pullEvent(i *issue, action string, sender *user) event {
	return event{name: "pull_request", action: action, payload: &github.PullRequestEvent{
		Action:       github.Ptr(action),
		Number:       github.Ptr(i.number),
		PullRequest:  s.ghPull(i),
		Repo:         s.ghRepo(i.repo),
		Sender:       s.ghUser(sender),
		Installation: s.ghInstallation(i.repo),
	}}
}

// commentEvent is an "issue_comment" webhook; old is the body before an
// edit.
func (s *Server) commentEvent(c *comment, action string, sender *user, old string) event {
	e := &github.IssueCommentEvent{
		Action:       github.Ptr(action),
		Issue:        s.ghIssue(c.issue),
		Comment:      s.ghComment(c),
		Repo:         s.ghRepo(c.issue.repo),
		Sender:       s.ghUser(sender),
		Installation: s.ghInstallation(c.issue.repo),
	}
	if action == "edited" {
		e.Changes = &github.EditChange{Body: &github.EditBody{From: github.Ptr(old)}}
	}
	return event{name: "issue_comment", action: action, payload: e}
}

// addCommentLocked adds a comment. s.mu is held.
func (s *Server) addCommentLocked(i *issue, author *user, body string) *comment {
	now := s.clock()
	c := &comment{id: s.id(), issue: i, user: author, body: body, created: now, updated: now}
	i.comments = append(i.comments, c)
	i.updated = now
	s.comments[c.id] = c
	return c
}

// CreateIssue opens an issue as login and returns its number. No webhook
// is delivered: the bot does not act on issues being opened.
func (s *Server) CreateIssue(repoName, login, title string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repoLocked(repoName)
	rp.nextNumber++
	now := s.clock()
	i := &issue{id: s.id(), repo: rp, number: rp.nextNumber, title: title, user: s.userLocked(login), state: "open", created: now, updated: now}
	rp.issues[i.number] = i
	return i.number
}

// AddComment comments on an issue or pull request as login, delivers the
// "issue_comment" webhook and waits for the answer, and returns the
// comment's id.
func (s *Server) AddComment(repoName string, number int, login, body string) int64 {
	var c *comment
	var e event
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		rp := s.repoLocked(repoName)
		i, ok := rp.issues[number]
		if !ok {
			s.t.Fatalf("github fake: %s has no issue or pull request #%d", repoName, number)
		}
		author := s.userLocked(login)
		c = s.addCommentLocked(i, author, body)
		e = s.commentEvent(c, "created", author, "")
	}()
	s.deliver(e)
	return c.id
}

// Comment is a comment as the fake holds it.
type Comment struct {
	ID        int64
	User      string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Comments are the comments of an issue or pull request, oldest first.
func (s *Server) Comments(repoName string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.repoLocked(repoName).issues[number]
	if !ok {
		s.t.Fatalf("github fake: %s has no issue or pull request #%d", repoName, number)
	}
	var out []Comment
	for _, c := range i.comments {
		out = append(out, Comment{ID: c.id, User: c.user.login, Body: c.body, CreatedAt: c.created, UpdatedAt: c.updated})
	}
	return out
}

// Reaction is a reaction as the fake holds it.
type Reaction struct {
	User    string
	Content string
}

// Reactions are the reactions to a comment, oldest first.
func (s *Server) Reactions(repoName string, commentID int64) []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.commentOf(s.repoLocked(repoName), strconv.FormatInt(commentID, 10))
	if c == nil {
		s.t.Fatalf("github fake: %s has no comment %d", repoName, commentID)
	}
	var out []Reaction
	for _, re := range c.reactions {
		out = append(out, Reaction{User: re.user.login, Content: re.content})
	}
	return out
}

// PullRequest is a pull request as the fake holds it.
type PullRequest struct {
	Number      int
	Title, Body string
	User        string
	// Head is the head branch, HeadRepo the repository it lives in.
	Head, HeadRepo   string
	Base             string
	HeadSHA, BaseSHA string
	State            string // "open" or "closed"
	Merged           bool
}

// PullRequests are a repository's pull requests, by number.
func (s *Server) PullRequests(repoName string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repoLocked(repoName)
	var out []PullRequest
	for n := 1; n <= rp.nextNumber; n++ {
		i, ok := rp.issues[n]
		if !ok || i.pull == nil {
			continue
		}
		p := i.pull
		out = append(out, PullRequest{
			Number: n, Title: i.title, Body: i.body, User: i.user.login,
			Head: p.head, HeadRepo: p.headRepo.fullName(), Base: p.base,
			HeadSHA: p.headSHA, BaseSHA: p.baseSHA, State: i.state, Merged: p.merged,
		})
	}
	return out
}

// String names a delivery in test logs.
func (d Delivery) String() string {
	if d.Err != nil {
		return fmt.Sprintf("%s %s (%s): %v", d.Event, d.Action, d.ID, d.Err)
	}
	return fmt.Sprintf("%s %s (%s): status %d", d.Event, d.Action, d.ID, d.Status)
}
