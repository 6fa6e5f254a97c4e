package github_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
	"github.com/upgrade-bot/upgrade-bot/vcs"
	ghp "github.com/upgrade-bot/upgrade-bot/vcs/github"
)

const appID = 4242

// appWorld is a fake GitHub with the App installed on acme, and acme's
// repository.
func appWorld(t *testing.T, spec *githubfake.Spec, opts githubfake.Options) (*githubfake.Server, []byte, int64) {
	t.Helper()
	opts.Spec = spec
	fake := githubfake.New(t, opts)
	key, pemKey := newKey(t)
	fake.SetApp(githubfake.App{ID: appID, Slug: "upgrade-bot", PublicKey: &key.PublicKey})
	inst := fake.InstallApp("acme")
	fake.CreateRepo(t.Context(), t, testRepo, gitopsDir(t))
	return fake, pemKey, inst
}

func TestApp(t *testing.T) {
	spec := githubfake.LoadSpec(t)
	tests := []struct {
		name string
		// explicit uses the installation id rather than looking it up.
		explicit bool
		prefix   string
	}{
		{name: "installation looked up"},
		{name: "installation given", explicit: true},
		{name: "enterprise server", prefix: "/api/v3"},
		{name: "enterprise server, installation given", explicit: true, prefix: "/api/v3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the servers share one Spec
			ctx := t.Context()
			fake, pemKey, inst := appWorld(t, spec, githubfake.Options{PathPrefix: tt.prefix})
			opts := ghp.Options{BaseURL: fake.APIURL(), AppID: appID, AppPrivateKey: pemKey}
			if tt.explicit {
				opts.InstallationID = inst
			}
			if tt.prefix != "" && !strings.HasSuffix(opts.BaseURL, tt.prefix+"/") {
				t.Fatalf("the fake's API URL %s is not under %s", opts.BaseURL, tt.prefix)
			}
			p, err := ghp.New(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}

			self, err := p.Self(ctx)
			if err != nil {
				t.Fatalf("Self: %v", err)
			}
			if want := (vcs.User{Login: "upgrade-bot[bot]", Bot: true}); self != want {
				t.Errorf("Self = %+v, want %+v", self, want)
			}

			repo, err := p.Repository(ctx, testRepo)
			if err != nil {
				t.Fatalf("Repository: %v", err)
			}
			user, token, err := p.GitCredential(ctx, testRepo)
			if err != nil {
				t.Fatalf("GitCredential: %v", err)
			}
			if user != "x-access-token" || !strings.HasPrefix(token, "ghs_") {
				t.Errorf("GitCredential = %q and a token starting %.4q, want x-access-token and an installation token", user, token)
			}
			git(t, t.TempDir(), "ls-remote", withCredential(t, repo.CloneURL, user, token), "refs/heads/main")

			// Acting as the installation: the bot's comment is the App's.
			issue := fake.CreateIssue(testRepo, "alice", "Upgrades")
			c, err := p.CreateComment(ctx, testRepo, vcs.Thread{Number: issue}, "On it.")
			if err != nil {
				t.Fatalf("CreateComment: %v", err)
			}
			if c.Author != self {
				t.Errorf("the comment's author is %+v, want %+v", c.Author, self)
			}
			pushBranch(t, repo.CloneURL, token, "upgrade-bot/peu01/v31.0.0", "31.0.0")
			pr, err := p.CreatePullRequest(ctx, testRepo, vcs.NewPullRequest{Head: "upgrade-bot/peu01/v31.0.0", Base: "main", Title: "t"})
			if err != nil {
				t.Fatalf("CreatePullRequest: %v", err)
			}
			if pr.Author != self {
				t.Errorf("the pull request's author is %+v, want %+v", pr.Author, self)
			}

			// One installation token, one lookup (when looked up at all),
			// whatever the number of calls.
			if n := fake.TokensMinted(); n != 1 {
				t.Errorf("%d installation tokens minted, want 1", n)
			}
			lookups := fake.Requests("GET /repos/{owner}/{repo}/installation")
			if want := map[bool]int{true: 0, false: 1}[tt.explicit]; lookups != want {
				t.Errorf("the installation was looked up %d times, want %d", lookups, want)
			}
		})
	}
}

func TestAppNotInstalled(t *testing.T) {
	fake, pemKey, _ := appWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	fake.CreateRepo(t.Context(), t, "globex/gitops", gitopsDir(t))
	p, err := ghp.New(t.Context(), ghp.Options{BaseURL: fake.APIURL(), AppID: appID, AppPrivateKey: pemKey})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Repository(t.Context(), "globex/gitops")
	if !errors.Is(err, vcs.ErrNotFound) || !strings.Contains(err.Error(), "installation on globex/gitops") {
		t.Errorf("Repository of a repository without the App = %v, want ErrNotFound saying the installation is missing", err)
	}
	if _, _, err := p.GitCredential(t.Context(), "globex/gitops"); !errors.Is(err, vcs.ErrNotFound) {
		t.Errorf("GitCredential of a repository without the App = %v, want ErrNotFound", err)
	}

	// An installation token does not reach another account's repository.
	inst := fake.InstallApp("acme-other")
	p2, err := ghp.New(t.Context(), ghp.Options{BaseURL: fake.APIURL(), AppID: appID, AppPrivateKey: pemKey, InstallationID: inst})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Repository(t.Context(), testRepo); !errors.Is(err, vcs.ErrNotFound) {
		t.Errorf("Repository with another account's installation = %v, want ErrNotFound", err)
	}
}

func TestAppWrongKey(t *testing.T) {
	fake, _, inst := appWorld(t, githubfake.LoadSpec(t), githubfake.Options{})
	_, otherKey := newKey(t)
	p, err := ghp.New(t.Context(), ghp.Options{BaseURL: fake.APIURL(), AppID: appID, AppPrivateKey: otherKey, InstallationID: inst})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Self(t.Context()); !errors.Is(err, vcs.ErrForbidden) {
		t.Errorf("Self with a key that is not the App's = %v, want ErrForbidden", err)
	}
	_, _, err = p.GitCredential(t.Context(), testRepo)
	if !errors.Is(err, vcs.ErrForbidden) {
		t.Errorf("GitCredential with a key that is not the App's = %v, want ErrForbidden", err)
	}
	if _, err := p.Repository(t.Context(), testRepo); !errors.Is(err, vcs.ErrForbidden) {
		t.Errorf("Repository with a key that is not the App's = %v, want ErrForbidden", err)
	}
	if fake.TokensMinted() != 0 {
		t.Errorf("the fake minted a token for a JSON web token it cannot verify")
	}
}

func TestAppTokenRefresh(t *testing.T) {
	spec := githubfake.LoadSpec(t)
	tests := []struct {
		name string
		ttl  time.Duration
		// want is the number of tokens minted for three credentials.
		want int
	}{
		// ghinstallation renews a token a minute before it expires: a
		// token of a minute is renewed every time.
		{"renewed before expiry", time.Minute, 3},
		{"reused while valid", time.Hour, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, pemKey, inst := appWorld(t, spec, githubfake.Options{TokenTTL: tt.ttl})
			p, err := ghp.New(t.Context(), ghp.Options{BaseURL: fake.APIURL(), AppID: appID, AppPrivateKey: pemKey, InstallationID: inst})
			if err != nil {
				t.Fatal(err)
			}
			tokens := map[string]bool{}
			for range 3 {
				_, tok, err := p.GitCredential(t.Context(), testRepo)
				if err != nil {
					t.Fatalf("GitCredential: %v", err)
				}
				tokens[tok] = true
			}
			if got := fake.TokensMinted(); got != tt.want || len(tokens) != tt.want {
				t.Errorf("%d tokens minted, %d distinct, want %d", got, len(tokens), tt.want)
			}
		})
	}
}
