package githubfake

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The REST API's objects, written as GitHub writes them: every field the
// API description requires, with the URLs pointing at the fake. s.mu is
// held while they are built.

type object = map[string]any

func (s *Server) apiURL(format string, args ...any) string {
	return s.APIURL() + fmt.Sprintf(format, args...)
}

func (s *Server) webURL(format string, args ...any) string {
	return s.URL + "/" + fmt.Sprintf(format, args...)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// nullableStamp is a timestamp or JSON null for the zero time.
func nullableStamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return stamp(t)
}

func nodeID(kind string, id int64) string { return fmt.Sprintf("%s_kwDO%010d", kind, id) }

func userType(u *user) string {
	if u.bot {
		return "Bot"
	}
	return "User"
}

// simpleUser is the "simple-user" schema.
func (s *Server) simpleUser(u *user) object {
	api := s.apiURL("users/%s", u.login)
	html := s.webURL("%s", u.login)
	if u.bot {
		html = s.webURL("apps/%s", strings.TrimSuffix(u.login, "[bot]"))
	}
	return object{
		"login":               u.login,
		"id":                  u.id,
		"node_id":             nodeID("U", u.id),
		"avatar_url":          fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", u.id),
		"gravatar_id":         "",
		"url":                 api,
		"html_url":            html,
		"followers_url":       api + "/followers",
		"following_url":       api + "/following{/other_user}",
		"gists_url":           api + "/gists{/gist_id}",
		"starred_url":         api + "/starred{/owner}{/repo}",
		"subscriptions_url":   api + "/subscriptions",
		"organizations_url":   api + "/orgs",
		"repos_url":           api + "/repos",
		"events_url":          api + "/events{/privacy}",
		"received_events_url": api + "/received_events",
		"type":                userType(u),
		"user_view_type":      "public",
		"site_admin":          false,
	}
}

// privateUser is the "private-user" schema: GET /user.
func (s *Server) privateUser(u *user) object {
	o := s.simpleUser(u)
	extra := object{
		"user_view_type":            "private",
		"name":                      u.login,
		"company":                   nil,
		"blog":                      "",
		"location":                  nil,
		"email":                     nil,
		"hireable":                  nil,
		"bio":                       nil,
		"twitter_username":          nil,
		"public_repos":              0,
		"public_gists":              0,
		"followers":                 0,
		"following":                 0,
		"created_at":                stamp(u.created),
		"updated_at":                stamp(u.created),
		"private_gists":             0,
		"total_private_repos":       s.ownedRepos(u),
		"owned_private_repos":       s.ownedRepos(u),
		"disk_usage":                0,
		"collaborators":             0,
		"two_factor_authentication": true,
	}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

func (s *Server) ownedRepos(u *user) int {
	n := 0
	for _, r := range s.repos {
		if r.owner == u {
			n++
		}
	}
	return n
}

// repository is the "full-repository" schema, which also satisfies
// "repository".
func (s *Server) repository(r *repo) object {
	full := r.fullName()
	api := s.apiURL("repos/%s", full)
	open := 0
	for _, i := range r.issues {
		if i.state == "open" {
			open++
		}
	}
	return object{
		"id":                          r.id,
		"node_id":                     nodeID("R", r.id),
		"name":                        r.name,
		"full_name":                   full,
		"owner":                       s.simpleUser(r.owner),
		"private":                     true,
		"visibility":                  "private",
		"html_url":                    s.webURL("%s", full),
		"description":                 nil,
		"fork":                        false,
		"url":                         api,
		"archive_url":                 api + "/{archive_format}{/ref}",
		"assignees_url":               api + "/assignees{/user}",
		"blobs_url":                   api + "/git/blobs{/sha}",
		"branches_url":                api + "/branches{/branch}",
		"collaborators_url":           api + "/collaborators{/collaborator}",
		"comments_url":                api + "/comments{/number}",
		"commits_url":                 api + "/commits{/sha}",
		"compare_url":                 api + "/compare/{base}...{head}",
		"contents_url":                api + "/contents/{+path}",
		"contributors_url":            api + "/contributors",
		"deployments_url":             api + "/deployments",
		"downloads_url":               api + "/downloads",
		"events_url":                  api + "/events",
		"forks_url":                   api + "/forks",
		"git_commits_url":             api + "/git/commits{/sha}",
		"git_refs_url":                api + "/git/refs{/sha}",
		"git_tags_url":                api + "/git/tags{/sha}",
		"git_url":                     "git:" + strings.TrimPrefix(s.webURL("%s.git", full), "http:"),
		"issue_comment_url":           api + "/issues/comments{/number}",
		"issue_events_url":            api + "/issues/events{/number}",
		"issues_url":                  api + "/issues{/number}",
		"keys_url":                    api + "/keys{/key_id}",
		"labels_url":                  api + "/labels{/name}",
		"languages_url":               api + "/languages",
		"merges_url":                  api + "/merges",
		"milestones_url":              api + "/milestones{/number}",
		"notifications_url":           api + "/notifications{?since,all,participating}",
		"pulls_url":                   api + "/pulls{/number}",
		"releases_url":                api + "/releases{/id}",
		"ssh_url":                     "git@" + strings.TrimPrefix(s.URL, "http://") + ":" + full + ".git",
		"stargazers_url":              api + "/stargazers",
		"statuses_url":                api + "/statuses/{sha}",
		"subscribers_url":             api + "/subscribers",
		"subscription_url":            api + "/subscription",
		"tags_url":                    api + "/tags",
		"teams_url":                   api + "/teams",
		"trees_url":                   api + "/git/trees{/sha}",
		"clone_url":                   s.cloneURL(r),
		"mirror_url":                  nil,
		"hooks_url":                   api + "/hooks",
		"svn_url":                     s.webURL("%s", full),
		"homepage":                    nil,
		"language":                    nil,
		"forks":                       0,
		"forks_count":                 0,
		"stargazers_count":            0,
		"watchers":                    0,
		"watchers_count":              0,
		"size":                        1,
		"default_branch":              r.defaultBranch,
		"open_issues":                 open,
		"open_issues_count":           open,
		"is_template":                 false,
		"topics":                      []string{},
		"has_issues":                  true,
		"has_projects":                false,
		"has_wiki":                    false,
		"has_pages":                   false,
		"has_downloads":               true,
		"has_discussions":             false,
		"archived":                    false,
		"disabled":                    false,
		"pushed_at":                   stamp(r.pushed),
		"created_at":                  stamp(r.created),
		"updated_at":                  stamp(r.pushed),
		"allow_rebase_merge":          true,
		"allow_squash_merge":          true,
		"allow_merge_commit":          true,
		"allow_auto_merge":            false,
		"delete_branch_on_merge":      false,
		"allow_forking":               true,
		"web_commit_signoff_required": false,
		"subscribers_count":           1,
		"network_count":               0,
		"license":                     nil,
	}
}

// cloneURL is where the fake serves a repository over git's smart HTTP.
func (s *Server) cloneURL(r *repo) string { return s.URL + "/git/" + r.fullName() + ".git" }

// authorAssociation is how GitHub describes a user's relation to a
// repository.
func authorAssociation(r *repo, u *user) string {
	switch {
	case u == r.owner:
		return "OWNER"
	case r.role(u) != "none":
		return "COLLABORATOR"
	}
	return "NONE"
}

// pullRequest is the "pull-request" schema, or "pull-request-simple" when
// simple is true.
func (s *Server) pullRequest(i *issue, simple bool) object {
	r, p := i.repo, i.pull
	full := r.fullName()
	api := s.apiURL("repos/%s/pulls/%d", full, i.number)
	html := s.webURL("%s/pull/%d", full, i.number)
	issueAPI := s.apiURL("repos/%s/issues/%d", full, i.number)
	link := func(href string) object { return object{"href": href} }
	branch := func(ref, sha string, br *repo) object {
		return object{
			"label": br.owner.login + ":" + ref,
			"ref":   ref,
			"sha":   sha,
			"user":  s.simpleUser(br.owner),
			"repo":  s.repository(br),
		}
	}
	var mergeSHA any
	if p.mergeSHA != "" {
		mergeSHA = p.mergeSHA
	}
	o := object{
		"url":                 api,
		"id":                  i.id,
		"node_id":             nodeID("PR", i.id),
		"html_url":            html,
		"diff_url":            html + ".diff",
		"patch_url":           html + ".patch",
		"issue_url":           issueAPI,
		"commits_url":         api + "/commits",
		"review_comments_url": api + "/comments",
		"review_comment_url":  s.apiURL("repos/%s/pulls/comments{/number}", full),
		"comments_url":        issueAPI + "/comments",
		"statuses_url":        s.apiURL("repos/%s/statuses/%s", full, p.headSHA),
		"number":              i.number,
		"state":               i.state,
		"locked":              false,
		"title":               i.title,
		"user":                s.simpleUser(i.user),
		"body":                nullableString(i.body),
		"labels":              []any{},
		"milestone":           nil,
		"active_lock_reason":  nil,
		"created_at":          stamp(i.created),
		"updated_at":          stamp(i.updated),
		"closed_at":           nullableStamp(i.closedAt),
		"merged_at":           nullableStamp(p.mergedAt),
		"merge_commit_sha":    mergeSHA,
		"assignee":            nil,
		"assignees":           []any{},
		"requested_reviewers": []any{},
		"requested_teams":     []any{},
		"head":                branch(p.head, p.headSHA, p.headRepo),
		"base":                branch(p.base, p.baseSHA, r),
		"_links": object{
			"self":            link(api),
			"html":            link(html),
			"issue":           link(issueAPI),
			"comments":        link(issueAPI + "/comments"),
			"review_comments": link(api + "/comments"),
			"review_comment":  link(s.apiURL("repos/%s/pulls/comments{/number}", full)),
			"commits":         link(api + "/commits"),
			"statuses":        link(s.apiURL("repos/%s/statuses/%s", full, p.headSHA)),
		},
		"author_association": authorAssociation(r, i.user),
		"auto_merge":         nil,
		"draft":              false,
	}
	if simple {
		return o
	}
	var mergedBy any
	if p.mergedBy != nil {
		mergedBy = s.simpleUser(p.mergedBy)
	}
	mergeable, mergeableState := any(nil), "unknown"
	if i.state == "open" {
		mergeable, mergeableState = s.mergeableState(context.Background(), i)
	}
	o["merged"] = p.merged
	o["mergeable"] = mergeable
	o["rebaseable"] = mergeable
	o["mergeable_state"] = mergeableState
	o["merged_by"] = mergedBy
	o["comments"] = len(i.comments)
	o["review_comments"] = 0
	o["maintainer_can_modify"] = false
	o["commits"] = p.commits
	o["additions"] = p.additions
	o["deletions"] = p.deletions
	o["changed_files"] = p.changedFiles
	return o
}

func nullableString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// commentHTMLURL is a comment's page: under /pull/ for pull requests, as
// on GitHub.
func (s *Server) commentHTMLURL(c *comment) string {
	kind := "issues"
	if c.issue.pull != nil {
		kind = "pull"
	}
	return s.webURL("%s/%s/%d#issuecomment-%d", c.issue.repo.fullName(), kind, c.issue.number, c.id)
}

// issueComment is the "issue-comment" schema.
func (s *Server) issueComment(c *comment) object {
	full := c.issue.repo.fullName()
	api := s.apiURL("repos/%s/issues/comments/%d", full, c.id)
	counts := object{"url": api + "/reactions", "total_count": len(c.reactions)}
	for _, content := range []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket"} {
		counts[content] = 0
	}
	for _, re := range c.reactions {
		counts[re.content] = counts[re.content].(int) + 1
	}
	return object{
		"id":                       c.id,
		"node_id":                  nodeID("IC", c.id),
		"url":                      api,
		"html_url":                 s.commentHTMLURL(c),
		"body":                     c.body,
		"user":                     s.simpleUser(c.user),
		"created_at":               stamp(c.created),
		"updated_at":               stamp(c.updated),
		"issue_url":                s.apiURL("repos/%s/issues/%d", full, c.issue.number),
		"author_association":       authorAssociation(c.issue.repo, c.user),
		"performed_via_github_app": nil,
		"reactions":                counts,
	}
}

// reactionObject is the "reaction" schema.
func (s *Server) reactionObject(re *reaction) object {
	return object{
		"id":         re.id,
		"node_id":    nodeID("REA", re.id),
		"user":       s.simpleUser(re.user),
		"content":    re.content,
		"created_at": stamp(re.created),
	}
}

// collaboratorPermission is the "repository-collaborator-permission"
// schema.
func (s *Server) collaboratorPermission(r *repo, u *user) object {
	role := r.role(u)
	legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[role]
	if legacy == "" {
		legacy = "none"
	}
	collaborator := s.simpleUser(u)
	collaborator["role_name"] = role
	collaborator["permissions"] = object{
		"admin":    legacy == "admin",
		"maintain": role == "admin" || role == "maintain",
		"push":     legacy == "admin" || legacy == "write",
		"triage":   legacy != "none",
		"pull":     legacy != "none",
	}
	return object{"permission": legacy, "role_name": role, "user": collaborator}
}

// appPermissions are the permissions the App asks for.
func appPermissions() object {
	return object{"contents": "write", "issues": "write", "pull_requests": "write", "metadata": "read", "checks": "read", "statuses": "read"}
}

// integration is the "integration" schema: GET /app.
func (s *Server) integration(a *app) object {
	return object{
		"id":                  a.ID,
		"slug":                a.Slug,
		"node_id":             nodeID("A", a.ID),
		"client_id":           "Iv1." + strconv.FormatInt(a.ID, 16),
		"owner":               s.simpleUser(a.owner),
		"name":                a.Slug,
		"description":         "",
		"external_url":        s.webURL("%s", a.owner.login),
		"html_url":            s.webURL("apps/%s", a.Slug),
		"created_at":          stamp(a.created),
		"updated_at":          stamp(a.created),
		"permissions":         appPermissions(),
		"events":              []string{"issue_comment", "issues", "pull_request"},
		"installations_count": len(s.installations),
	}
}

// installationObject is the "installation" schema.
func (s *Server) installationObject(inst *installation) object {
	target := "User"
	return object{
		"id":                   inst.id,
		"account":              s.simpleUser(inst.account),
		"repository_selection": "all",
		"access_tokens_url":    s.apiURL("app/installations/%d/access_tokens", inst.id),
		"repositories_url":     s.apiURL("installation/repositories"),
		"html_url":             s.webURL("settings/installations/%d", inst.id),
		"app_id":               s.app.ID,
		"app_slug":             s.app.Slug,
		"target_id":            inst.account.id,
		"target_type":          target,
		"permissions":          appPermissions(),
		"events":               []string{"issue_comment", "issues", "pull_request"},
		"created_at":           stamp(inst.created),
		"updated_at":           stamp(inst.created),
		"single_file_name":     nil,
		"suspended_by":         nil,
		"suspended_at":         nil,
	}
}
