package gitlab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// Comments lists the notes of an issue or merge request, oldest first,
// without GitLab's system notes ("changed the description", "added 1
// commit"), which nobody wrote.
func (p *Provider) Comments(ctx context.Context, repo string, thread vcs.Thread) ([]vcs.Comment, error) {
	notes, err := p.notes(ctx, repo, thread)
	if err != nil {
		return nil, fmt.Errorf("listing the comments of %s in %s: %w", thread, repo, err)
	}
	out := make([]vcs.Comment, 0, len(notes))
	for _, n := range notes {
		if !n.System {
			out = append(out, p.comment(repo, thread, n))
		}
	}
	return out, nil
}

// RecentComments lists the notes written or edited since the given time on
// every issue and merge request of repo, oldest first. GitLab has no such
// list, so it lists the issues and merge requests updated since then (a
// new or edited note updates its issue or merge request) and reads their
// notes.
func (p *Provider) RecentComments(ctx context.Context, repo string, since time.Time) ([]vcs.Comment, error) {
	threads, err := p.threadsUpdatedSince(ctx, repo, since)
	if err != nil {
		return nil, fmt.Errorf("listing the comments of %s since %s: %w", repo, since.Format(time.RFC3339), err)
	}
	var out []vcs.Comment
	for _, thread := range threads {
		notes, err := p.notes(ctx, repo, thread)
		if err != nil {
			return nil, fmt.Errorf("listing the comments of %s in %s since %s: %w", thread, repo, since.Format(time.RFC3339), err)
		}
		for _, n := range notes {
			if n.System || !updatedSince(n, since) {
				continue
			}
			out = append(out, p.comment(repo, thread, n))
		}
	}
	slices.SortStableFunc(out, func(a, b vcs.Comment) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// updatedSince reports whether a note was created or edited at or after
// since.
func updatedSince(n *gl.Note, since time.Time) bool {
	latest := n.CreatedAt
	if n.UpdatedAt != nil && (latest == nil || n.UpdatedAt.After(*latest)) {
		latest = n.UpdatedAt
	}
	return latest != nil && !latest.Before(since)
}

// threadsUpdatedSince lists the issues and merge requests of repo, in any
// state, updated at or after since.
func (p *Provider) threadsUpdatedSince(ctx context.Context, repo string, since time.Time) ([]vcs.Thread, error) {
	issueOpts := &gl.ListProjectIssuesOptions{
		ListOptions:  gl.ListOptions{PerPage: perPage},
		UpdatedAfter: gl.Ptr(since),
	}
	issues, err := gl.ScanAndCollect(func(page gl.PaginationOptionFunc) ([]*gl.Issue, *gl.Response, error) {
		is, resp, err := p.client.Issues.ListProjectIssues(repo, issueOpts, gl.WithContext(ctx), page)
		return is, resp, classify(resp, err)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the issues updated since then: %w", err)
	}
	mrOpts := &gl.ListProjectMergeRequestsOptions{
		ListOptions:  gl.ListOptions{PerPage: perPage},
		UpdatedAfter: gl.Ptr(since),
	}
	mrs, err := gl.ScanAndCollect(func(page gl.PaginationOptionFunc) ([]*gl.BasicMergeRequest, *gl.Response, error) {
		mrs, resp, err := p.client.MergeRequests.ListProjectMergeRequests(repo, mrOpts, gl.WithContext(ctx), page)
		return mrs, resp, classify(resp, err)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the merge requests updated since then: %w", err)
	}
	threads := make([]vcs.Thread, 0, len(issues)+len(mrs))
	for _, is := range issues {
		threads = append(threads, vcs.Thread{Number: int(is.IID)})
	}
	for _, mr := range mrs {
		threads = append(threads, vcs.Thread{Number: int(mr.IID), PullRequest: true})
	}
	return threads, nil
}

// notes lists every note of a thread, oldest first (GitLab's default is
// newest first).
func (p *Provider) notes(ctx context.Context, repo string, thread vcs.Thread) ([]*gl.Note, error) {
	list := gl.ListOptions{PerPage: perPage}
	orderBy, sort := gl.Ptr("created_at"), gl.Ptr("asc")
	return gl.ScanAndCollect(func(page gl.PaginationOptionFunc) ([]*gl.Note, *gl.Response, error) {
		var (
			notes []*gl.Note
			resp  *gl.Response
			err   error
		)
		if thread.PullRequest {
			opts := &gl.ListMergeRequestNotesOptions{ListOptions: list, OrderBy: orderBy, Sort: sort}
			notes, resp, err = p.client.Notes.ListMergeRequestNotes(repo, int64(thread.Number), opts, gl.WithContext(ctx), page)
		} else {
			opts := &gl.ListIssueNotesOptions{ListOptions: list, OrderBy: orderBy, Sort: sort}
			notes, resp, err = p.client.Notes.ListIssueNotes(repo, int64(thread.Number), opts, gl.WithContext(ctx), page)
		}
		return notes, resp, classify(resp, err)
	})
}

// CreateComment adds a note to an issue or merge request.
func (p *Provider) CreateComment(ctx context.Context, repo string, thread vcs.Thread, body string) (vcs.Comment, error) {
	var (
		n    *gl.Note
		resp *gl.Response
		err  error
	)
	if thread.PullRequest {
		n, resp, err = p.client.Notes.CreateMergeRequestNote(repo, int64(thread.Number), &gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	} else {
		n, resp, err = p.client.Notes.CreateIssueNote(repo, int64(thread.Number), &gl.CreateIssueNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	}
	if err != nil {
		return vcs.Comment{}, fmt.Errorf("commenting on %s in %s: %w", thread, repo, classify(resp, err))
	}
	return p.comment(repo, thread, n), nil
}

// EditComment replaces the body of a note.
func (p *Provider) EditComment(ctx context.Context, repo string, ref vcs.CommentRef, body string) error {
	var (
		resp *gl.Response
		err  error
	)
	if ref.Thread.PullRequest {
		_, resp, err = p.client.Notes.UpdateMergeRequestNote(repo, int64(ref.Thread.Number), ref.ID, &gl.UpdateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	} else {
		_, resp, err = p.client.Notes.UpdateIssueNote(repo, int64(ref.Thread.Number), ref.ID, &gl.UpdateIssueNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	}
	if err != nil {
		return fmt.Errorf("editing comment %d on %s in %s: %w", ref.ID, ref.Thread, repo, classify(resp, err))
	}
	return nil
}

// Reactions lists the award emoji on a note.
func (p *Provider) Reactions(ctx context.Context, repo string, ref vcs.CommentRef) ([]vcs.Reaction, error) {
	awards, err := p.awards(ctx, repo, ref)
	if err != nil {
		return nil, fmt.Errorf("listing the reactions to comment %d on %s in %s: %w", ref.ID, ref.Thread, repo, err)
	}
	out := make([]vcs.Reaction, 0, len(awards))
	for _, a := range awards {
		out = append(out, vcs.Reaction{Content: vcs.ReactionContent(a.Name), User: vcs.User{Login: a.User.Username}})
	}
	return out, nil
}

func (p *Provider) awards(ctx context.Context, repo string, ref vcs.CommentRef) ([]*gl.AwardEmoji, error) {
	opts := &gl.ListAwardEmojiOptions{ListOptions: gl.ListOptions{PerPage: perPage}}
	return gl.ScanAndCollect(func(page gl.PaginationOptionFunc) ([]*gl.AwardEmoji, *gl.Response, error) {
		var (
			awards []*gl.AwardEmoji
			resp   *gl.Response
			err    error
		)
		if ref.Thread.PullRequest {
			awards, resp, err = p.client.AwardEmoji.ListMergeRequestAwardEmojiOnNote(repo, int64(ref.Thread.Number), ref.ID, opts, gl.WithContext(ctx), page)
		} else {
			awards, resp, err = p.client.AwardEmoji.ListIssuesAwardEmojiOnNote(repo, int64(ref.Thread.Number), ref.ID, opts, gl.WithContext(ctx), page)
		}
		return awards, resp, classify(resp, err)
	})
}

// React awards an emoji to a note as the bot. GitLab refuses a second
// award of the same emoji by the same person with 404 ("Award Emoji Name
// has already been taken"; older versions answered 400), which the client
// reports like any 404, without the message. So when awarding fails with
// 404 or 400, React looks at the note's award emoji: if the bot's is there,
// the reaction is in place and that is success.
func (p *Provider) React(ctx context.Context, repo string, ref vcs.CommentRef, content vcs.ReactionContent) error {
	opts := &gl.CreateAwardEmojiOptions{Name: string(content)}
	var (
		resp *gl.Response
		err  error
	)
	if ref.Thread.PullRequest {
		_, resp, err = p.client.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(repo, int64(ref.Thread.Number), ref.ID, opts, gl.WithContext(ctx))
	} else {
		_, resp, err = p.client.AwardEmoji.CreateIssuesAwardEmojiOnNote(repo, int64(ref.Thread.Number), ref.ID, opts, gl.WithContext(ctx))
	}
	if err == nil {
		return nil
	}
	err = classify(resp, err)
	if status, _ := statusOf(resp, err); status == http.StatusNotFound || status == http.StatusBadRequest {
		if ok, checkErr := p.hasAward(ctx, repo, ref, content); checkErr == nil && ok {
			return nil
		} else if checkErr != nil && !errors.Is(checkErr, vcs.ErrNotFound) {
			err = errors.Join(err, checkErr)
		}
	}
	return fmt.Errorf("reacting with %q to comment %d on %s in %s: %w", content, ref.ID, ref.Thread, repo, err)
}

// hasAward reports whether the bot has awarded content to the note.
func (p *Provider) hasAward(ctx context.Context, repo string, ref vcs.CommentRef, content vcs.ReactionContent) (bool, error) {
	self, err := p.Self(ctx)
	if err != nil {
		return false, err
	}
	awards, err := p.awards(ctx, repo, ref)
	if err != nil {
		return false, err
	}
	for _, a := range awards {
		if a.Name == string(content) && a.User.Username == self.Login {
			return true, nil
		}
	}
	return false, nil
}

// comment is a note in the bot's terms. GitLab's note author carries no
// "bot" flag, so Author.Bot is false: the bot tells its own notes apart
// with Self.
func (p *Provider) comment(repo string, thread vcs.Thread, n *gl.Note) vcs.Comment {
	c := vcs.Comment{
		CommentRef: vcs.CommentRef{Thread: thread, ID: n.ID},
		Body:       n.Body,
		Author:     vcs.User{Login: n.Author.Username},
		URL:        p.noteURL(repo, thread, n.ID),
	}
	if n.CreatedAt != nil {
		c.CreatedAt = *n.CreatedAt
	}
	if n.UpdatedAt != nil {
		c.UpdatedAt = *n.UpdatedAt
	} else {
		c.UpdatedAt = c.CreatedAt
	}
	return c
}

// noteURL is the web address of a note: the notes API returns none.
func (p *Provider) noteURL(repo string, thread vcs.Thread, id int64) string {
	kind := "issues"
	if thread.PullRequest {
		kind = "merge_requests"
	}
	return fmt.Sprintf("%s/%s/-/%s/%d#note_%d", p.webRoot, repo, kind, thread.Number, id)
}
