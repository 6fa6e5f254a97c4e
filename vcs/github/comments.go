package github

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v89/github"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// Comments lists the conversation comments of an issue or pull request,
// oldest first. On GitHub a pull request's conversation comments are
// issue comments.
func (p *Provider) Comments(ctx context.Context, repo string, thread vcs.Thread) ([]vcs.Comment, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing the comments of %s in %s: %w", thread, repo, err)
	}
	var out []vcs.Comment
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		cs, resp, err := c.Issues.ListComments(ctx, owner, name, thread.Number, opts)
		if err != nil {
			return nil, wrap(err, "listing the comments of %s in %s", thread, repo)
		}
		for _, ic := range cs {
			out = append(out, comment(ic))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// RecentComments lists the comments on every issue and pull request of
// repo created or edited since the given time, oldest first.
func (p *Provider) RecentComments(ctx context.Context, repo string, since time.Time) ([]vcs.Comment, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing the recent comments of %s: %w", repo, err)
	}
	var out []vcs.Comment
	opts := &github.IssueListCommentsOptions{
		Sort:        github.Ptr("created"),
		Direction:   github.Ptr("asc"),
		ListOptions: github.ListOptions{PerPage: perPage},
	}
	if !since.IsZero() {
		opts.Since = &since
	}
	for {
		// Issue number 0 lists the comments of the whole repository.
		cs, resp, err := c.Issues.ListComments(ctx, owner, name, 0, opts)
		if err != nil {
			return nil, wrap(err, "listing the comments of %s since %s", repo, since.Format(time.RFC3339))
		}
		for _, ic := range cs {
			out = append(out, comment(ic))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreateComment comments on an issue or pull request.
func (p *Provider) CreateComment(ctx context.Context, repo string, thread vcs.Thread, body string) (vcs.Comment, error) {
	owner, name, err := split(repo)
	if err != nil {
		return vcs.Comment{}, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return vcs.Comment{}, fmt.Errorf("commenting on %s in %s: %w", thread, repo, err)
	}
	ic, _, err := c.Issues.CreateComment(ctx, owner, name, thread.Number, &github.IssueComment{Body: github.Ptr(body)})
	if err != nil {
		return vcs.Comment{}, wrap(err, "commenting on %s in %s", thread, repo)
	}
	return comment(ic), nil
}

// EditComment replaces the body of a comment.
func (p *Provider) EditComment(ctx context.Context, repo string, ref vcs.CommentRef, body string) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return fmt.Errorf("editing comment %d on %s in %s: %w", ref.ID, ref.Thread, repo, err)
	}
	if _, _, err := c.Issues.EditComment(ctx, owner, name, ref.ID, &github.IssueComment{Body: github.Ptr(body)}); err != nil {
		return wrap(err, "editing comment %d on %s in %s", ref.ID, ref.Thread, repo)
	}
	return nil
}

// Reactions lists the reactions to a comment.
func (p *Provider) Reactions(ctx context.Context, repo string, ref vcs.CommentRef) ([]vcs.Reaction, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing the reactions to comment %d in %s: %w", ref.ID, repo, err)
	}
	var out []vcs.Reaction
	opts := &github.ListReactionOptions{ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		rs, resp, err := c.Reactions.ListIssueCommentReactions(ctx, owner, name, ref.ID, opts)
		if err != nil {
			return nil, wrap(err, "listing the reactions to comment %d in %s", ref.ID, repo)
		}
		for _, r := range rs {
			out = append(out, vcs.Reaction{Content: vcs.ReactionContent(r.GetContent()), User: user(r.GetUser())})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// React adds the bot's reaction to a comment. GitHub answers an existing
// reaction with 200 and a new one with 201: both are success.
func (p *Provider) React(ctx context.Context, repo string, ref vcs.CommentRef, content vcs.ReactionContent) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return fmt.Errorf("reacting %s to comment %d in %s: %w", content, ref.ID, repo, err)
	}
	if _, _, err := c.Reactions.CreateIssueCommentReaction(ctx, owner, name, ref.ID, string(content)); err != nil {
		return wrap(err, "reacting %s to comment %d in %s", content, ref.ID, repo)
	}
	return nil
}

// comment is GitHub's issue comment in neutral terms. Whether it is on a
// pull request shows in its page's URL (".../pull/7#issuecomment-1"); the
// number is the last segment of its issue_url.
func comment(ic *github.IssueComment) vcs.Comment {
	number, _ := strconv.Atoi(path.Base(ic.GetIssueURL()))
	return vcs.Comment{
		CommentRef: vcs.CommentRef{
			Thread: vcs.Thread{Number: number, PullRequest: strings.Contains(ic.GetHTMLURL(), "/pull/")},
			ID:     ic.GetID(),
		},
		Body:      ic.GetBody(),
		Author:    user(ic.GetUser()),
		CreatedAt: ic.GetCreatedAt().Time,
		UpdatedAt: ic.GetUpdatedAt().Time,
		URL:       ic.GetHTMLURL(),
	}
}
