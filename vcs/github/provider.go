// Package github is the GitHub forge: a vcs.Provider over GitHub's REST API
// (github.com or GitHub Enterprise Server), authenticated as a GitHub App
// installation or with a token, and the decoding of GitHub's signed
// webhooks. It is the only importer of go-github and ghinstallation.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v89/github"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

var _ vcs.Provider = (*Provider)(nil)

// commentLimit is GitHub's limit on a comment: 65536 characters. Counting
// bytes instead is the safe side, since a character is at least a byte.
const commentLimit = 65536

// Options configures a Provider. Exactly one way to authenticate is set:
// Token, or AppID with AppPrivateKey (and optionally InstallationID).
type Options struct {
	// BaseURL is the REST API's base URL: empty for github.com,
	// "https://ghe.example.com/api/v3/" for GitHub Enterprise Server.
	BaseURL string
	// Token is a personal access token (classic or fine-grained) or any
	// other token GitHub accepts as "Authorization: Bearer".
	Token string
	// AppID and AppPrivateKey (PEM) authenticate as a GitHub App.
	AppID         int64
	AppPrivateKey []byte
	// InstallationID is the App's installation to act as; zero looks up
	// the installation of each repository (GET
	// /repos/{owner}/{repo}/installation) and remembers it.
	InstallationID int64
	// WebhookSecret checks webhook signatures; without it every webhook
	// request is refused.
	WebhookSecret []byte
	// HTTPClient makes the requests; nil is a client with Go's default
	// transport. Its Transport is shared by all installations.
	HTTPClient *http.Client
	// UserAgent is sent with every request; empty is "upgrade-bot".
	UserAgent string
	// CacheBytes bounds the memory for remembered answers to GET requests,
	// which are revalidated with conditional requests (If-None-Match,
	// If-Modified-Since): GitHub's 304 Not Modified does not count against
	// the rate limit. Zero is DefaultCacheBytes; negative turns the cache
	// off.
	CacheBytes int64
}

// Validate checks that exactly one way to authenticate is configured and
// that the base URL is usable. It never puts a secret in its error.
func (o Options) Validate() error {
	app := o.AppID != 0 || len(o.AppPrivateKey) > 0 || o.InstallationID != 0
	switch {
	case o.Token != "" && app:
		return errors.New("both a token and a GitHub App are configured: choose one")
	case o.Token == "" && !app:
		return errors.New("neither a token nor a GitHub App is configured")
	case app && o.AppID <= 0:
		return errors.New("the GitHub App's id is missing")
	case app && len(o.AppPrivateKey) == 0:
		return errors.New("the GitHub App's private key is missing")
	case o.InstallationID < 0:
		return fmt.Errorf("installation id %d is negative", o.InstallationID)
	}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil {
			return fmt.Errorf("parsing the API base URL: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("API base URL %q is not an http(s) URL", o.BaseURL)
		}
	}
	return nil
}

// Provider is GitHub, as the bot. It is safe for concurrent use.
type Provider struct {
	baseURL   string // ends in "/"
	userAgent string
	http      *http.Client
	secret    []byte

	// token and client are the token and its client; empty and nil for an
	// App.
	token  string
	client *github.Client
	// apps is the App's own client (JSON web tokens), atr its transport;
	// nil with a token.
	apps           *github.Client
	atr            *ghinstallation.AppsTransport
	installationID int64

	// cache remembers answers for conditional requests; nil when off.
	cache *answers

	mu            sync.Mutex
	self          *vcs.User
	installations map[int64]*installationClient // by installation id
	repoInstalls  map[string]int64              // lower-case "owner/repo" → installation id
}

// installationClient acts as one installation of the App.
type installationClient struct {
	transport *ghinstallation.Transport
	client    *github.Client
}

// New returns a Provider for the options. It makes no request.
func New(_ context.Context, opts Options) (*Provider, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("configuring GitHub: %w", err)
	}
	p := &Provider{
		baseURL:        "https://api.github.com/",
		userAgent:      opts.UserAgent,
		secret:         opts.WebhookSecret,
		installationID: opts.InstallationID,
		installations:  map[int64]*installationClient{},
		repoInstalls:   map[string]int64{},
	}
	if opts.BaseURL != "" {
		p.baseURL = strings.TrimSuffix(opts.BaseURL, "/") + "/"
	}
	if p.userAgent == "" {
		p.userAgent = "upgrade-bot"
	}
	p.http = opts.HTTPClient
	if p.http == nil {
		p.http = &http.Client{}
	}
	switch {
	case opts.CacheBytes == 0:
		p.cache = newAnswers(DefaultCacheBytes)
	case opts.CacheBytes > 0:
		p.cache = newAnswers(opts.CacheBytes)
	}

	if opts.Token != "" {
		hc := *p.http
		hc.Transport = p.revalidate("token", p.transport())
		c, err := p.newClient(&hc, github.WithAuthToken(opts.Token))
		if err != nil {
			return nil, fmt.Errorf("configuring the GitHub client: %w", err)
		}
		p.token, p.client = opts.Token, c
		return p, nil
	}

	atr, err := ghinstallation.NewAppsTransport(p.transport(), opts.AppID, opts.AppPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("reading the GitHub App's private key: %w", err)
	}
	atr.BaseURL = strings.TrimSuffix(p.baseURL, "/")
	p.atr = atr
	apps, err := p.newClient(&http.Client{Transport: atr, Timeout: p.http.Timeout})
	if err != nil {
		return nil, fmt.Errorf("configuring the GitHub App client: %w", err)
	}
	p.apps = apps
	return p, nil
}

func (p *Provider) transport() http.RoundTripper {
	if p.http.Transport != nil {
		return p.http.Transport
	}
	return http.DefaultTransport
}

// revalidate puts the answer cache in front of next, for the credential
// named who; next itself when the cache is off.
func (p *Provider) revalidate(who string, next http.RoundTripper) http.RoundTripper {
	if p.cache == nil {
		return next
	}
	return &revalidating{next: next, cache: p.cache, who: who}
}

func (p *Provider) newClient(hc *http.Client, opts ...github.ClientOptionsFunc) (*github.Client, error) {
	base := p.baseURL
	return github.NewClient(append([]github.ClientOptionsFunc{
		github.WithHTTPClient(hc),
		github.WithURLs(&base, nil),
		github.WithUserAgent(p.userAgent),
	}, opts...)...)
}

// Name is "github".
func (p *Provider) Name() string { return "github" }

// CommentLimit is the longest comment GitHub accepts, in bytes.
func (p *Provider) CommentLimit() int { return commentLimit }

// Self is the bot's account: the token's user, or the App's bot account
// "<slug>[bot]". It is asked once and remembered.
func (p *Provider) Self(ctx context.Context) (vcs.User, error) {
	p.mu.Lock()
	self := p.self
	p.mu.Unlock()
	if self != nil {
		return *self, nil
	}
	var u vcs.User
	if p.client != nil {
		gu, _, err := p.client.Users.Get(ctx, "")
		if err != nil {
			return vcs.User{}, wrap(err, "getting the token's user")
		}
		u = user(gu)
	} else {
		app, _, err := p.apps.Apps.Get(ctx, "")
		if err != nil {
			return vcs.User{}, wrap(err, "getting the GitHub App")
		}
		u = vcs.User{Login: app.GetSlug() + "[bot]", Bot: true}
	}
	p.mu.Lock()
	p.self = &u
	p.mu.Unlock()
	return u, nil
}

// clientFor is the client that acts on repo: the token's, or that of the
// App's installation on the repository.
func (p *Provider) clientFor(ctx context.Context, repo string) (*github.Client, error) {
	if p.client != nil {
		return p.client, nil
	}
	inst, err := p.installation(ctx, repo)
	if err != nil {
		return nil, err
	}
	return inst.client, nil
}

// installation is the App's installation for repo.
func (p *Provider) installation(ctx context.Context, repo string) (*installationClient, error) {
	id := p.installationID
	if id == 0 {
		p.mu.Lock()
		known, ok := p.repoInstalls[strings.ToLower(repo)]
		p.mu.Unlock()
		if ok {
			id = known
		} else {
			owner, name, err := split(repo)
			if err != nil {
				return nil, err
			}
			inst, _, err := p.apps.Apps.GetRepositoryInstallation(ctx, owner, name)
			if err != nil {
				return nil, wrap(err, "looking up the GitHub App's installation on %s", repo)
			}
			id = inst.GetID()
			p.mu.Lock()
			p.repoInstalls[strings.ToLower(repo)] = id
			p.mu.Unlock()
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if ic, ok := p.installations[id]; ok {
		return ic, nil
	}
	itr := ghinstallation.NewFromAppsTransport(p.atr, id)
	itr.BaseURL = p.atr.BaseURL
	c, err := p.newClient(&http.Client{Transport: p.revalidate(fmt.Sprintf("installation/%d", id), itr), Timeout: p.http.Timeout})
	if err != nil {
		return nil, fmt.Errorf("configuring the client of installation %d: %w", id, err)
	}
	ic := &installationClient{transport: itr, client: c}
	p.installations[id] = ic
	return ic, nil
}

// GitCredential is "x-access-token" and the token, or a fresh
// installation token for an App.
func (p *Provider) GitCredential(ctx context.Context, repo string) (string, string, error) {
	if p.client != nil {
		return "x-access-token", p.token, nil
	}
	inst, err := p.installation(ctx, repo)
	if err != nil {
		return "", "", fmt.Errorf("getting a git credential for %s: %w", repo, err)
	}
	tok, err := inst.transport.Token(ctx)
	if err != nil {
		return "", "", wrap(err, "getting an installation token for %s", repo)
	}
	return "x-access-token", tok, nil
}

// Repository returns where repo is cloned from, its default branch and
// its page.
func (p *Provider) Repository(ctx context.Context, repo string) (vcs.Repository, error) {
	owner, name, err := split(repo)
	if err != nil {
		return vcs.Repository{}, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return vcs.Repository{}, fmt.Errorf("getting repository %s: %w", repo, err)
	}
	r, _, err := c.Repositories.Get(ctx, owner, name)
	if err != nil {
		return vcs.Repository{}, wrap(err, "getting repository %s", repo)
	}
	return vcs.Repository{
		FullName:      r.GetFullName(),
		CloneURL:      r.GetCloneURL(),
		DefaultBranch: r.GetDefaultBranch(),
		WebURL:        r.GetHTMLURL(),
	}, nil
}

// Permission is what user may do in repo, from the role GitHub gives
// them: admin is Admin; maintain and write are Write; triage and read are
// Read; anything else, or a user GitHub does not know, is None.
func (p *Provider) Permission(ctx context.Context, repo, login string) (vcs.Permission, error) {
	owner, name, err := split(repo)
	if err != nil {
		return vcs.PermissionNone, err
	}
	c, err := p.clientFor(ctx, repo)
	if err != nil {
		return vcs.PermissionNone, fmt.Errorf("getting the permission of %s in %s: %w", login, repo, err)
	}
	level, _, err := c.Repositories.GetPermissionLevel(ctx, owner, name, login)
	if err != nil {
		err = wrap(err, "getting the permission of %s in %s", login, repo)
		if errors.Is(err, vcs.ErrNotFound) {
			return vcs.PermissionNone, nil
		}
		return vcs.PermissionNone, err
	}
	switch level.GetRoleName() {
	case "admin":
		return vcs.PermissionAdmin, nil
	case "maintain", "write":
		return vcs.PermissionWrite, nil
	case "triage", "read":
		return vcs.PermissionRead, nil
	}
	// A custom role: its base permission.
	switch level.GetPermission() {
	case "admin":
		return vcs.PermissionAdmin, nil
	case "write":
		return vcs.PermissionWrite, nil
	case "read":
		return vcs.PermissionRead, nil
	}
	return vcs.PermissionNone, nil
}

// split cuts "owner/name".
func split(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("repository %q is not owner/name", repo)
	}
	return owner, name, nil
}

func user(u *github.User) vcs.User {
	return vcs.User{Login: u.GetLogin(), Bot: u.GetType() == "Bot"}
}
