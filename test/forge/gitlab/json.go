package gitlabfake

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The API's answers, with GitLab's field names (docs.gitlab.com/api/ and
// the official Go client's structs). Fields the bot never reads are kept
// where GitLab always sends them, so that the client decodes a
// realistic answer.

type userJSON struct {
	ID        int64   `json:"id"`
	Username  string  `json:"username"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	Locked    bool    `json:"locked"`
	AvatarURL string  `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
	CreatedAt *string `json:"created_at"`
	Bot       bool    `json:"bot"`
}

// basicUserJSON is GitLab's UserBasic, as it appears in authors and award
// emoji.
type basicUserJSON struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	State     string `json:"state"`
	AvatarURL string `json:"avatar_url"`
	WebURL    string `json:"web_url"`
}

type namespaceJSON struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Path     string  `json:"path"`
	Kind     string  `json:"kind"`
	FullPath string  `json:"full_path"`
	ParentID *int64  `json:"parent_id"`
	Avatar   *string `json:"avatar_url"`
	WebURL   string  `json:"web_url"`
}

type projectJSON struct {
	ID                int64         `json:"id"`
	Description       *string       `json:"description"`
	Name              string        `json:"name"`
	NameWithNamespace string        `json:"name_with_namespace"`
	Path              string        `json:"path"`
	PathWithNamespace string        `json:"path_with_namespace"`
	CreatedAt         *string       `json:"created_at"`
	DefaultBranch     string        `json:"default_branch"`
	Topics            []string      `json:"topics"`
	SSHURLToRepo      string        `json:"ssh_url_to_repo"`
	HTTPURLToRepo     string        `json:"http_url_to_repo"`
	WebURL            string        `json:"web_url"`
	ReadmeURL         *string       `json:"readme_url"`
	ForksCount        int           `json:"forks_count"`
	AvatarURL         *string       `json:"avatar_url"`
	StarCount         int           `json:"star_count"`
	LastActivityAt    *string       `json:"last_activity_at"`
	Namespace         namespaceJSON `json:"namespace"`
	Visibility        string        `json:"visibility"`
	EmptyRepo         bool          `json:"empty_repo"`
	Archived          bool          `json:"archived"`
	OpenIssuesCount   int           `json:"open_issues_count"`
	CreatorID         int64         `json:"creator_id"`
}

type referencesJSON struct {
	Short    string `json:"short"`
	Relative string `json:"relative"`
	Full     string `json:"full"`
}

type diffRefsJSON struct {
	BaseSHA  *string `json:"base_sha"`
	HeadSHA  *string `json:"head_sha"`
	StartSHA *string `json:"start_sha"`
}

type mergeRequestJSON struct {
	ID                          int64           `json:"id"`
	IID                         int64           `json:"iid"`
	ProjectID                   int64           `json:"project_id"`
	Title                       string          `json:"title"`
	Description                 string          `json:"description"`
	State                       string          `json:"state"`
	CreatedAt                   *string         `json:"created_at"`
	UpdatedAt                   *string         `json:"updated_at"`
	MergedBy                    *basicUserJSON  `json:"merged_by"`
	MergeUser                   *basicUserJSON  `json:"merge_user"`
	MergedAt                    *string         `json:"merged_at"`
	ClosedBy                    *basicUserJSON  `json:"closed_by"`
	ClosedAt                    *string         `json:"closed_at"`
	TargetBranch                string          `json:"target_branch"`
	SourceBranch                string          `json:"source_branch"`
	UserNotesCount              int             `json:"user_notes_count"`
	Upvotes                     int             `json:"upvotes"`
	Downvotes                   int             `json:"downvotes"`
	Author                      basicUserJSON   `json:"author"`
	Assignees                   []basicUserJSON `json:"assignees"`
	Assignee                    *basicUserJSON  `json:"assignee"`
	Reviewers                   []basicUserJSON `json:"reviewers"`
	SourceProjectID             int64           `json:"source_project_id"`
	TargetProjectID             int64           `json:"target_project_id"`
	Labels                      []string        `json:"labels"`
	Draft                       bool            `json:"draft"`
	WorkInProgress              bool            `json:"work_in_progress"`
	Milestone                   *struct{}       `json:"milestone"`
	MergeWhenPipelineSucceeds   bool            `json:"merge_when_pipeline_succeeds"`
	DetailedMergeStatus         string          `json:"detailed_merge_status"`
	HeadPipeline                *pipelineJSON   `json:"head_pipeline,omitempty"`
	SHA                         *string         `json:"sha"`
	MergeCommitSHA              *string         `json:"merge_commit_sha"`
	SquashCommitSHA             *string         `json:"squash_commit_sha"`
	DiscussionLocked            bool            `json:"discussion_locked"`
	ShouldRemoveSourceBranch    bool            `json:"should_remove_source_branch"`
	ForceRemoveSourceBranch     bool            `json:"force_remove_source_branch"`
	Squash                      bool            `json:"squash"`
	SquashOnMerge               bool            `json:"squash_on_merge"`
	WebURL                      string          `json:"web_url"`
	References                  referencesJSON  `json:"references"`
	HasConflicts                bool            `json:"has_conflicts"`
	BlockingDiscussionsResolved bool            `json:"blocking_discussions_resolved"`

	// Only in the answer about one merge request.
	DiffRefs          *diffRefsJSON `json:"diff_refs,omitempty"`
	MergeError        *string       `json:"merge_error,omitempty"`
	FirstContribution *bool         `json:"first_contribution,omitempty"`
}

type issueJSON struct {
	ID                 int64           `json:"id"`
	IID                int64           `json:"iid"`
	ProjectID          int64           `json:"project_id"`
	Title              string          `json:"title"`
	Description        string          `json:"description"`
	State              string          `json:"state"`
	CreatedAt          *string         `json:"created_at"`
	UpdatedAt          *string         `json:"updated_at"`
	ClosedAt           *string         `json:"closed_at"`
	ClosedBy           *basicUserJSON  `json:"closed_by"`
	Labels             []string        `json:"labels"`
	Milestone          *struct{}       `json:"milestone"`
	Assignees          []basicUserJSON `json:"assignees"`
	Author             basicUserJSON   `json:"author"`
	UserNotesCount     int             `json:"user_notes_count"`
	MergeRequestsCount int             `json:"merge_requests_count"`
	Upvotes            int             `json:"upvotes"`
	Downvotes          int             `json:"downvotes"`
	DueDate            *string         `json:"due_date"`
	Confidential       bool            `json:"confidential"`
	DiscussionLocked   *bool           `json:"discussion_locked"`
	IssueType          string          `json:"issue_type"`
	WebURL             string          `json:"web_url"`
	References         referencesJSON  `json:"references"`
}

type noteJSON struct {
	ID           int64         `json:"id"`
	Type         *string       `json:"type"`
	Body         string        `json:"body"`
	Attachment   *string       `json:"attachment"`
	Author       basicUserJSON `json:"author"`
	CreatedAt    *string       `json:"created_at"`
	UpdatedAt    *string       `json:"updated_at"`
	System       bool          `json:"system"`
	NoteableID   int64         `json:"noteable_id"`
	NoteableType string        `json:"noteable_type"`
	ProjectID    int64         `json:"project_id"`
	NoteableIID  int64         `json:"noteable_iid"`
	Resolvable   bool          `json:"resolvable"`
	Confidential bool          `json:"confidential"`
	Internal     bool          `json:"internal"`
}

type awardJSON struct {
	ID            int64         `json:"id"`
	Name          string        `json:"name"`
	User          basicUserJSON `json:"user"`
	CreatedAt     *string       `json:"created_at"`
	UpdatedAt     *string       `json:"updated_at"`
	AwardableID   int64         `json:"awardable_id"`
	AwardableType string        `json:"awardable_type"`
}

type memberJSON struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	AvatarURL   string  `json:"avatar_url"`
	WebURL      string  `json:"web_url"`
	AccessLevel int     `json:"access_level"`
	CreatedAt   *string `json:"created_at"`
	ExpiresAt   *string `json:"expires_at"`
}

// apiTime is GitLab's API timestamp: UTC, milliseconds; nil for zero.
func apiTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05.000Z")
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// displayName is the name the fake gives an account: the username,
// capitalized.
func displayName(username string) string {
	if username == "" {
		return ""
	}
	return strings.ToUpper(username[:1]) + username[1:]
}

func (s *Server) userURL(u *user) string { return s.BaseURL() + "/" + u.username }

func (s *Server) basicUser(u *user) basicUserJSON {
	return basicUserJSON{ID: u.id, Username: u.username, Name: displayName(u.username), State: u.state,
		AvatarURL: "https://www.gravatar.com/avatar/" + u.username, WebURL: s.userURL(u)}
}

func (s *Server) fullUser(u *user) userJSON {
	return userJSON{ID: u.id, Username: u.username, Name: displayName(u.username), State: u.state,
		AvatarURL: "https://www.gravatar.com/avatar/" + u.username, WebURL: s.userURL(u),
		CreatedAt: apiTime(u.created), Bot: u.bot}
}

// projectURL is the project's web page; git is served below it with
// ".git", as on GitLab.
func (s *Server) projectURL(p *project) string { return s.BaseURL() + "/" + p.path }

func (s *Server) projectJSON(p *project) projectJSON {
	ns, name := p.path[:strings.LastIndex(p.path, "/")], p.path[strings.LastIndex(p.path, "/")+1:]
	nsName := ns[strings.LastIndex(ns, "/")+1:]
	host := strings.TrimPrefix(strings.TrimPrefix(s.srv.URL, "http://"), "https://")
	open := 0
	for _, is := range p.issues {
		if is.state == "opened" {
			open++
		}
	}
	return projectJSON{
		ID: p.id, Name: name, Path: name, PathWithNamespace: p.path,
		NameWithNamespace: strings.ReplaceAll(p.path, "/", " / "),
		CreatedAt:         apiTime(p.created), DefaultBranch: "main", Topics: []string{},
		SSHURLToRepo:   fmt.Sprintf("git@%s:%s.git", strings.Split(host, ":")[0], p.path),
		HTTPURLToRepo:  s.projectURL(p) + ".git",
		WebURL:         s.projectURL(p),
		LastActivityAt: apiTime(p.created),
		Namespace: namespaceJSON{ID: p.nsID, Name: nsName, Path: nsName, Kind: "group", FullPath: ns,
			WebURL: s.BaseURL() + "/groups/" + ns},
		Visibility: "private", OpenIssuesCount: open, CreatorID: s.bot.id,
	}
}

func (s *Server) refs(p *project, sigil string, iid int64) referencesJSON {
	short := fmt.Sprintf("%s%d", sigil, iid)
	return referencesJSON{Short: short, Relative: short, Full: p.path + short}
}

// mergeRequestJSON is a merge request; single adds what GitLab only sends
// about one merge request (diff_refs).
func (s *Server) mergeRequestJSON(ctx context.Context, p *project, mr *mergeRequest, single bool) mergeRequestJSON {
	head := s.headOf(ctx, p.path, mr.source)
	if mr.state == "merged" || head == "" {
		head = s.mergeRequestHead(ctx, p, mr)
	}
	out := mergeRequestJSON{
		ID: mr.id, IID: mr.iid, ProjectID: p.id, Title: mr.title, Description: mr.desc, State: mr.state,
		CreatedAt: apiTime(mr.created), UpdatedAt: apiTime(mr.updated), MergedAt: apiTime(mr.merged), ClosedAt: apiTime(mr.closed),
		TargetBranch: mr.target, SourceBranch: mr.source, UserNotesCount: userNotes(mr.notes),
		Author: s.basicUser(mr.author), Assignees: []basicUserJSON{}, Reviewers: []basicUserJSON{},
		SourceProjectID: p.id, TargetProjectID: p.id, Labels: []string{},
		DetailedMergeStatus: s.detailedMergeStatus(ctx, p, mr, head), SHA: strPtr(head), MergeCommitSHA: strPtr(mr.mergeSHA),
		WebURL:     fmt.Sprintf("%s/-/merge_requests/%d", s.projectURL(p), mr.iid),
		References: s.refs(p, "!", mr.iid), BlockingDiscussionsResolved: true,
	}
	if single {
		refs := &diffRefsJSON{HeadSHA: strPtr(head)}
		if mr.state != "merged" {
			target := s.headOf(ctx, p.path, mr.target)
			refs.StartSHA = strPtr(target)
			if base, err := s.gitOut(ctx, s.git.Path(p.path), "merge-base", target, head); err == nil {
				refs.BaseSHA = strPtr(strings.TrimSpace(base))
			}
		}
		out.DiffRefs = refs
		out.HeadPipeline = s.headPipeline(p, head)
		f := false
		out.FirstContribution = &f
	}
	return out
}

// mergeRequestHead is the commit GitLab keeps for a merge request whose
// source branch is gone (or merged): its refs/merge-requests ref.
func (s *Server) mergeRequestHead(ctx context.Context, p *project, mr *mergeRequest) string {
	out, err := s.gitOut(ctx, s.git.Path(p.path), "rev-parse", "--verify", "--quiet", fmt.Sprintf("refs/merge-requests/%d/head", mr.iid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func userNotes(notes []*note) int {
	n := 0
	for _, x := range notes {
		if !x.system {
			n++
		}
	}
	return n
}

func (s *Server) issueJSON(p *project, is *issue) issueJSON {
	return issueJSON{
		ID: is.id, IID: is.iid, ProjectID: p.id, Title: is.title, Description: is.desc, State: is.state,
		CreatedAt: apiTime(is.created), UpdatedAt: apiTime(is.updated), ClosedAt: apiTime(is.closed),
		Labels: []string{}, Assignees: []basicUserJSON{}, Author: s.basicUser(is.author),
		UserNotesCount: userNotes(is.notes), IssueType: "issue",
		WebURL:     fmt.Sprintf("%s/-/issues/%d", s.projectURL(p), is.iid),
		References: s.refs(p, "#", is.iid),
	}
}

func (s *Server) noteJSON(p *project, t *thread, kind string, n *note) noteJSON {
	return noteJSON{
		ID: n.id, Body: n.body, Author: s.basicUser(n.author),
		CreatedAt: apiTime(n.created), UpdatedAt: apiTime(n.updated), System: n.system,
		NoteableID: t.id, NoteableType: kind, ProjectID: p.id, NoteableIID: t.iid,
	}
}

func (s *Server) awardJSON(n *note, a *award) awardJSON {
	return awardJSON{ID: a.id, Name: a.name, User: s.basicUser(a.user), CreatedAt: apiTime(a.created),
		UpdatedAt: apiTime(a.created), AwardableID: n.id, AwardableType: "Note"}
}
