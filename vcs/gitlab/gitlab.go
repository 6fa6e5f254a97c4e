// Package gitlab is the bot's forge on GitLab (gitlab.com or a self-managed
// instance), through GitLab's official Go client. It implements vcs.Provider:
// merge requests, notes (comments), award emoji (reactions), a person's role
// in a project, and the webhooks GitLab sends.
//
// GitLab names things a little differently from GitHub: a repository is a
// project named by its full path ("group/subgroup/project"), a pull request
// is a merge request, a comment is a note, a reaction is an award emoji, and
// the numbers people see are the iid of an issue or merge request within
// its project (not the instance-wide id).
//
// This package is the only importer of GitLab's client library.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// gitlabCom is the web root used when Options.BaseURL is empty.
const gitlabCom = "https://gitlab.com"

// commentLimit is the longest note GitLab accepts: one million characters.
const commentLimit = 1_000_000

// Options configure a Provider.
type Options struct {
	// BaseURL is the web address of the GitLab instance, such as
	// "https://gitlab.example.com" or "https://example.com/gitlab" for an
	// instance under a path; the API is at BaseURL + "/api/v4". Empty means
	// gitlab.com.
	BaseURL string
	// Token is a personal, project or group access token with the "api"
	// scope. It authenticates API calls and, as the password of the user
	// "oauth2", git over HTTPS.
	Token string
	// WebhookSecret is the secret token configured on the project's (or
	// group's) webhook; GitLab sends it back in the X-Gitlab-Token header.
	// Without it every webhook request is refused.
	WebhookSecret []byte
	// HTTPClient, when set, carries the API requests (proxies, custom CAs,
	// tests). The default is a pooled client with Go's defaults.
	HTTPClient *http.Client
}

// Validate reports what is missing or malformed in o.
func (o Options) Validate() error {
	var errs []error
	if strings.TrimSpace(o.Token) == "" {
		errs = append(errs, errors.New("a GitLab access token is required"))
	}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("reading the GitLab base URL: %w", err))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("the GitLab base URL %q must start with https:// (or http://)", o.BaseURL))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("the GitLab base URL %q has no host", o.BaseURL))
		case u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, fmt.Errorf("the GitLab base URL %q may not have a query or fragment", o.BaseURL))
		}
	}
	return errors.Join(errs...)
}

// LogValue keeps the token and the webhook secret out of logs.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", o.webRoot()),
		slog.Bool("token_set", o.Token != ""),
		slog.Bool("webhook_secret_set", len(o.WebhookSecret) > 0),
	)
}

// String keeps the token and the webhook secret out of formatted output.
func (o Options) String() string {
	return fmt.Sprintf("gitlab.Options{BaseURL: %q, Token: <redacted>, WebhookSecret: <redacted>}", o.webRoot())
}

// webRoot is the instance's web address without a trailing slash or the
// API path: issue and merge request pages live below it.
func (o Options) webRoot() string {
	root := strings.TrimRight(o.BaseURL, "/")
	if root == "" {
		return gitlabCom
	}
	root = strings.TrimSuffix(root, "/api/v4")
	return strings.TrimRight(root, "/")
}

// Provider is a GitLab instance, authenticated as the bot's account. It is
// safe for concurrent use.
type Provider struct {
	client  *gl.Client
	token   string
	secret  []byte
	webRoot string

	mu   sync.Mutex
	self *vcs.User // cached by Self once known
}

var _ vcs.Provider = (*Provider)(nil)

// New returns a Provider for opts. It makes no request: a wrong token shows
// on the first call (Self is a cheap check).
//
// The client's own retries are switched off: the bot classifies errors
// (vcs.TransientError) and retries in one place.
func New(_ context.Context, opts Options) (*Provider, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("configuring GitLab: %w", err)
	}
	root := opts.webRoot()
	clientOpts := []gl.ClientOptionFunc{
		gl.WithBaseURL(root + "/api/v4"),
		gl.WithoutRetries(),
		gl.WithUserAgent("upgrade-bot"),
	}
	if opts.HTTPClient != nil {
		clientOpts = append(clientOpts, gl.WithHTTPClient(opts.HTTPClient))
	}
	client, err := gl.NewClient(opts.Token, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("creating the GitLab client for %s: %w", root, err)
	}
	return &Provider{
		client:  client,
		token:   opts.Token,
		secret:  append([]byte(nil), opts.WebhookSecret...),
		webRoot: root,
	}, nil
}

// Name is "gitlab".
func (p *Provider) Name() string { return "gitlab" }

// CommentLimit is the longest note GitLab accepts.
func (p *Provider) CommentLimit() int { return commentLimit }

// Self is the account the token belongs to. Project and group access
// tokens belong to bot users, for which Bot is true.
func (p *Provider) Self(ctx context.Context) (vcs.User, error) {
	p.mu.Lock()
	cached := p.self
	p.mu.Unlock()
	if cached != nil {
		return *cached, nil
	}
	u, resp, err := p.client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return vcs.User{}, fmt.Errorf("looking up the bot's own GitLab account: %w", classify(resp, err))
	}
	self := vcs.User{Login: u.Username, Bot: u.Bot}
	p.mu.Lock()
	p.self = &self
	p.mu.Unlock()
	return self, nil
}

// Repository returns where to clone the project repo from, as GitLab
// reports it (so self-managed instances and test servers work).
func (p *Provider) Repository(ctx context.Context, repo string) (vcs.Repository, error) {
	proj, resp, err := p.client.Projects.GetProject(repo, nil, gl.WithContext(ctx))
	if err != nil {
		return vcs.Repository{}, fmt.Errorf("looking up GitLab project %s: %w", repo, classify(resp, err))
	}
	return vcs.Repository{
		FullName:      proj.PathWithNamespace,
		CloneURL:      proj.HTTPURLToRepo,
		DefaultBranch: proj.DefaultBranch,
		WebURL:        proj.WebURL,
	}, nil
}

// GitCredential is the access token as the password of the user "oauth2",
// which GitLab accepts for every kind of access token.
func (p *Provider) GitCredential(context.Context, string) (username, password string, err error) {
	return "oauth2", p.token, nil
}

// Permission is user's role in repo, inherited memberships (groups)
// included: Maintainer and Owner are admin, Developer is write, Planner,
// Reporter and Guest are read, anything else (no membership, a blocked
// account, an unknown user) is none.
func (p *Provider) Permission(ctx context.Context, repo, user string) (vcs.Permission, error) {
	users, resp, err := p.client.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(user)}, gl.WithContext(ctx))
	if err != nil {
		return vcs.PermissionNone, fmt.Errorf("looking up GitLab user %s: %w", user, classify(resp, err))
	}
	var id int64
	for _, u := range users {
		if strings.EqualFold(u.Username, user) {
			id = u.ID
			break
		}
	}
	if id == 0 {
		return vcs.PermissionNone, nil
	}
	m, resp, err := p.client.ProjectMembers.GetInheritedProjectMember(repo, id, gl.WithContext(ctx))
	if err != nil {
		err = classify(resp, err)
		if errors.Is(err, vcs.ErrNotFound) {
			return vcs.PermissionNone, nil
		}
		return vcs.PermissionNone, fmt.Errorf("looking up %s's role in GitLab project %s: %w", user, repo, err)
	}
	if m.State != "" && m.State != "active" {
		return vcs.PermissionNone, nil
	}
	return permission(m.AccessLevel), nil
}

// permission maps GitLab's access levels onto the bot's permissions.
func permission(level gl.AccessLevelValue) vcs.Permission {
	switch {
	case level >= gl.MaintainerPermissions:
		return vcs.PermissionAdmin
	case level >= gl.DeveloperPermissions:
		return vcs.PermissionWrite
	case level >= gl.GuestPermissions:
		return vcs.PermissionRead
	}
	return vcs.PermissionNone
}
