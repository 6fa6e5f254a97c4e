package gitlabfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// Delivery is one webhook request the fake sent (or would have sent, with
// no webhook URL set).
type Delivery struct {
	// Event is the X-Gitlab-Event header, such as "Note Hook".
	Event string
	// IdempotencyKey is the Idempotency-Key header, the same on
	// redelivery ("" with Options.NoIdempotencyKey).
	IdempotencyKey string
	// EventUUID is the X-Gitlab-Event-UUID header.
	EventUUID string
	// Body is the JSON payload.
	Body []byte
	// Status is the receiver's answer; zero when nothing was sent or the
	// request failed (Err).
	Status int
	// Err is why the request failed.
	Err error
}

// hookDelivery is a delivery being prepared: its headers and body.
type hookDelivery struct {
	event, key, uuid string
	body             []byte
}

// Deliveries are the webhook deliveries so far, oldest first. Deliveries
// caused by API requests are sent in the background, as GitLab does: call
// WaitDeliveries first to see them all.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// WaitDeliveries waits for the webhook deliveries sent in the background.
func (s *Server) WaitDeliveries() { s.pending.Wait() }

// Redeliver sends a delivery again with the same body and the same
// Idempotency-Key and X-Gitlab-Event-UUID, as GitLab's "Resend request"
// does. key is the Idempotency-Key (or, with Options.NoIdempotencyKey, the
// X-Gitlab-Event-UUID) of the delivery.
func (s *Server) Redeliver(t testing.TB, key string) Delivery {
	t.Helper()
	s.mu.Lock()
	var found *Delivery
	for i := range s.deliveries {
		d := &s.deliveries[i]
		if (d.IdempotencyKey != "" && d.IdempotencyKey == key) || d.EventUUID == key {
			found = d
			break
		}
	}
	var h hookDelivery
	if found != nil {
		h = hookDelivery{event: found.Event, key: found.IdempotencyKey, uuid: found.EventUUID, body: found.Body}
	}
	s.mu.Unlock()
	if found == nil {
		t.Fatalf("gitlab fake: no delivery %q to send again", key)
	}
	return s.send(h)
}

// deliver sends a webhook now and returns the delivery.
func (s *Server) deliver(t testing.TB, event string, payload map[string]any) Delivery {
	t.Helper()
	h, err := s.prepare(event, payload)
	if err != nil {
		t.Fatalf("gitlab fake: %v", err)
	}
	return s.send(h)
}

// deliverLater sends a webhook in the background, as GitLab sends the
// webhooks caused by API requests.
func (s *Server) deliverLater(event string, payload map[string]any) {
	h, err := s.prepare(event, payload)
	if err != nil {
		s.t.Errorf("gitlab fake: %v", err)
		return
	}
	s.pending.Add(1)
	go func() {
		defer s.pending.Done()
		s.send(h)
	}()
}

func (s *Server) prepare(event string, payload map[string]any) (hookDelivery, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return hookDelivery{}, fmt.Errorf("encoding the %s payload: %w", event, err)
	}
	h := hookDelivery{event: event, uuid: newUUID(), body: body}
	if !s.opts.NoIdempotencyKey {
		h.key = newUUID()
	}
	return h, nil
}

// send posts a delivery to the webhook URL with GitLab's headers and
// records it.
func (s *Server) send(h hookDelivery) Delivery {
	s.mu.Lock()
	target, secret := s.webhookURL, s.secret
	s.mu.Unlock()
	d := Delivery{Event: h.event, IdempotencyKey: h.key, EventUUID: h.uuid, Body: h.body}
	if target != "" {
		d.Status, d.Err = s.post(target, secret, h)
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return d
}

func (s *Server) post(target, secret string, h hookDelivery) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(h.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitLab/17.4.0")
	req.Header.Set("X-Gitlab-Event", h.event)
	req.Header.Set("X-Gitlab-Instance", s.srv.URL)
	req.Header.Set("X-Gitlab-Webhook-UUID", s.webhookUUID)
	req.Header.Set("X-Gitlab-Event-UUID", h.uuid)
	if h.key != "" {
		req.Header.Set("Idempotency-Key", h.key)
	}
	if secret != "" {
		req.Header.Set("X-Gitlab-Token", secret)
	}
	resp, err := s.hook.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// hookTime is the timestamp format of note payloads: "2015-05-17 17:06:40
// UTC".
func hookTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// isoTime is the timestamp format of merge request payloads.
func isoTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) hookUser(u *user) map[string]any {
	return map[string]any{
		"id": u.id, "name": displayName(u.username), "username": u.username,
		"avatar_url": "https://www.gravatar.com/avatar/" + u.username, "email": "[REDACTED]",
	}
}

// hookProject describes a project as payloads do: top-level projects
// carry their id (and, in merge request payloads, ci_config_path); the
// source and target of a merge request carry neither.
func (s *Server) hookProject(p *project, withID, withCIConfig bool) map[string]any {
	web := s.projectURL(p)
	host := strings.TrimPrefix(strings.TrimPrefix(s.srv.URL, "http://"), "https://")
	ssh := fmt.Sprintf("git@%s:%s.git", strings.Split(host, ":")[0], p.path)
	ns := p.path[:strings.LastIndex(p.path, "/")]
	out := map[string]any{
		"name": p.path[strings.LastIndex(p.path, "/")+1:], "description": "",
		"web_url": web, "avatar_url": nil, "git_ssh_url": ssh, "git_http_url": web + ".git",
		"namespace": ns, "visibility_level": 0, "path_with_namespace": p.path,
		"default_branch": "main", "homepage": web,
		"url": web + ".git", "ssh_url": ssh, "http_url": web + ".git",
	}
	if withID {
		out["id"] = p.id
	}
	if withCIConfig {
		out["ci_config_path"] = ""
	}
	return out
}

func (s *Server) hookRepository(p *project) map[string]any {
	web := s.projectURL(p)
	return map[string]any{
		"name": p.path[strings.LastIndex(p.path, "/")+1:], "url": web + ".git",
		"description": "", "homepage": web,
	}
}

// lastCommit describes a commit as merge request payloads do.
func (s *Server) lastCommit(ctx context.Context, p *project, sha string) map[string]any {
	out := map[string]any{"id": sha, "message": "", "title": "", "timestamp": nil,
		"url": s.projectURL(p) + "/-/commit/" + sha, "author": map[string]any{"name": "", "email": ""}}
	if sha == "" {
		return out
	}
	log, err := s.gitOut(ctx, s.git.Path(p.path), "log", "-1", "--format=%B%x00%s%x00%cI%x00%an%x00%ae", sha)
	if err != nil {
		return out
	}
	f := strings.Split(strings.TrimSuffix(log, "\n"), "\x00")
	if len(f) == 5 {
		out["message"], out["title"], out["timestamp"] = f[0], f[1], f[2]
		out["author"] = map[string]any{"name": f[3], "email": f[4]}
	}
	return out
}

// noteHookLocked is the Note Hook payload for a note, shaped like GitLab's
// documented "Comment on an issue" and "Comment on a merge request"
// examples. Call with s.mu held.
func (s *Server) noteHookLocked(p *project, th vcs.Thread, n *note, action string) map[string]any {
	t := p.threadOf(th)
	kind := "issues"
	if th.PullRequest {
		kind = "merge_requests"
	}
	payload := map[string]any{
		"object_kind": "note", "event_type": "note",
		"user": s.hookUser(n.author), "project_id": p.id,
		"project": s.hookProject(p, true, false), "repository": s.hookRepository(p),
		"object_attributes": map[string]any{
			"id": n.id, "note": n.body, "noteable_type": noteableType(th), "author_id": n.author.id,
			"created_at": hookTime(n.created), "updated_at": hookTime(n.updated), "project_id": p.id,
			"attachment": nil, "line_code": nil, "commit_id": "", "noteable_id": t.id,
			"system": n.system, "st_diff": nil, "action": action,
			"url": fmt.Sprintf("%s/-/%s/%d#note_%d", s.projectURL(p), kind, t.iid, n.id),
		},
	}
	if !th.PullRequest {
		payload["issue"] = map[string]any{
			"id": t.id, "title": t.title, "assignee_ids": []int64{}, "assignee_id": nil,
			"author_id": t.author.id, "project_id": p.id, "created_at": hookTime(t.created),
			"updated_at": hookTime(t.updated), "position": 0, "branch_name": nil,
			"description": t.desc, "milestone_id": nil, "state": t.state, "iid": t.iid,
			"labels": []any{},
		}
		return payload
	}
	mr := p.mr(t.iid)
	ctx := context.Background()
	head := s.headOf(ctx, p.path, mr.source)
	payload["merge_request"] = map[string]any{
		"id": mr.id, "target_branch": mr.target, "source_branch": mr.source,
		"source_project_id": p.id, "author_id": mr.author.id, "assignee_id": nil,
		"title": mr.title, "created_at": hookTime(mr.created), "updated_at": hookTime(mr.updated),
		"milestone_id": nil, "state": mr.state, "merge_status": "can_be_merged",
		"target_project_id": p.id, "iid": mr.iid, "description": mr.desc, "position": 0,
		"labels": []any{}, "source": s.hookProject(p, false, false), "target": s.hookProject(p, false, false),
		"last_commit": s.lastCommit(ctx, p, head), "work_in_progress": false, "draft": false,
		"detailed_merge_status": "mergeable",
		"url":                   fmt.Sprintf("%s/-/merge_requests/%d", s.projectURL(p), mr.iid),
	}
	return payload
}

// stateID is GitLab's number for a merge request state.
func stateID(state string) int {
	switch state {
	case "closed":
		return 2
	case "merged":
		return 3
	case "locked":
		return 4
	}
	return 1
}

// mergeRequestHookLocked is the Merge Request Hook payload, shaped like
// GitLab's documented example; oldrev is set for pushes. Call with s.mu
// held.
func (s *Server) mergeRequestHookLocked(ctx context.Context, p *project, mr *mergeRequest, sender *user, action, oldrev string) map[string]any {
	head := s.headOf(ctx, p.path, mr.source)
	if head == "" || mr.state == "merged" {
		head = s.mergeRequestHead(ctx, p, mr)
	}
	attrs := map[string]any{
		"id": mr.id, "iid": mr.iid, "target_branch": mr.target, "source_branch": mr.source,
		"source_project_id": p.id, "author_id": mr.author.id, "assignee_ids": []int64{},
		"assignee_id": nil, "reviewer_ids": []int64{}, "title": mr.title,
		"created_at": isoTime(mr.created), "updated_at": isoTime(mr.updated),
		"last_edited_at": nil, "last_edited_by_id": nil, "milestone_id": nil,
		"state_id": stateID(mr.state), "state": mr.state, "blocking_discussions_resolved": true,
		"work_in_progress": false, "draft": false, "first_contribution": false,
		"merge_status": "can_be_merged", "target_project_id": p.id, "description": mr.desc,
		"url":    fmt.Sprintf("%s/-/merge_requests/%d", s.projectURL(p), mr.iid),
		"source": s.hookProject(p, false, false), "target": s.hookProject(p, false, false),
		"last_commit": s.lastCommit(ctx, p, head), "labels": []any{},
		"action": action, "detailed_merge_status": "mergeable",
	}
	if oldrev != "" {
		attrs["oldrev"] = oldrev
	}
	if mr.mergeSHA != "" {
		attrs["merge_commit_sha"] = mr.mergeSHA
	}
	return map[string]any{
		"object_kind": "merge_request", "event_type": "merge_request",
		"user": s.hookUser(sender), "project": s.hookProject(p, true, true),
		"repository": s.hookRepository(p), "object_attributes": attrs,
		"labels": []any{}, "changes": map[string]any{},
		"assignees": []any{}, "reviewers": []any{},
	}
}
