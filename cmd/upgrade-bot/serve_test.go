package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/test/forge/githttp"
	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
)

// TestServeExampleConfig runs `upgrade-bot serve` with the example config
// file against the GitHub fake: it must start, answer health checks and a
// signed ping, and stop cleanly on a signal (a cancelled context).
func TestServeExampleConfig(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t, githubfake.Options{Spec: githubfake.LoadSpec(t)})
	fake.CreateRepo(t.Context(), t, "acme/gitops", filepath.Join("..", "..", "examples", "gitops"))
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(tokenFile, []byte(fake.AddToken("upgrade-bot")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("hook-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base, stop := startServe(t, []string{"serve", "--config", filepath.Join("..", "..", "examples", "serve", "config.yaml"),
		"--listen", addr, "--github-url", fake.APIURL(), "--github-token-file", tokenFile,
		"--github-webhook-secret-file", secretFile, "--workdir", filepath.Join(dir, "work"), "--log-level", "info"})
	resp, err := http.Post(base+"/webhooks/github", "application/json", strings.NewReader(`{"zen":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an unsigned webhook got %d %s, want 401", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `upgrade_bot_webhook_requests_total{outcome="unauthorized",provider="github"} 1`) {
		t.Errorf("/metrics does not count the unauthorized request:\n%s", metrics)
	}
	code, logs := stop()
	if code != exitOK {
		t.Errorf("serve exited with %d\n%s", code, logs)
	}
	for _, secret := range []string{"hook-s3cret", "ghp_"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs show a secret (%s):\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "serving webhooks") {
		t.Errorf("the logs do not say where serve listens:\n%s", logs)
	}
}

// startServe runs upgrade-bot with args until stop, which returns its exit
// code and what it wrote to stderr; it returns once /readyz on the
// --listen address (the args' value after "--listen") answers 200.
func startServe(t *testing.T, args []string) (base string, stop func() (int, string)) {
	t.Helper()
	return startServeUntil(t, args, "/readyz")
}

// startServeUntil is startServe waiting for path (/healthz: alive, ready
// or not) to answer 200.
func startServeUntil(t *testing.T, args []string, path string) (base string, stop func() (int, string)) {
	t.Helper()
	addr := args[slices.Index(args, "--listen")+1]
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &stdout, &stderr) }()
	base = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited with %d before it was ready:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not become ready: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, func() (int, string) {
		cancel()
		select {
		case code := <-done:
			return code, stderr.String()
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not stop after the signal")
		}
		return 0, ""
	}
}

// syncBuffer is a bytes.Buffer that serve's goroutines may write to while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServeBadConfiguration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badKey := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badKey, []byte("relases: ./releases\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no forge", []string{"serve", "--releases", "x"}, "no forge configured"},
		{"no webhook secret", []string{"serve", "--github-token-file", token, "--releases", "x"}, "has no webhook secret"},
		{"token and app", []string{"serve", "--github-token-file", token, "--github-app-id", "3", "--github-webhook-secret-file", token, "--releases", "x"}, "choose one way to authenticate"},
		{"missing secret file", []string{"serve", "--gitlab-token-file", filepath.Join(dir, "nope")}, "reading the secret file"},
		{"unknown config key", []string{"serve", "--config", badKey}, `"relases" is not a flag of serve`},
		{"no releases", []string{"serve", "--github-token-file", token, "--github-webhook-secret-file", token}, "--releases, --kubeconfig or --in-cluster is required"},
		{"ref with a directory", []string{"serve", "--github-token-file", token, "--github-webhook-secret-file", token, "--releases", "../../examples/releases", "--releases-ref", "main"}, "--releases-ref is for a git repository"},
		{"ssh releases", []string{"serve", "--github-token-file", token, "--github-webhook-secret-file", token, "--releases", "git@github.com:giantswarm/releases.git"}, "git over ssh is not supported"},
		{"negative poll interval", []string{"serve", "--github-token-file", token, "--github-webhook-secret-file", token, "--releases", "../../examples/releases", "--releases-poll-interval", "-1m"}, "--releases-poll-interval -1m0s"},
		{"tag as releases ref", []string{"serve", "--github-token-file", token, "--github-webhook-secret-file", token, "--releases", "file:///nowhere", "--releases-ref", "refs/tags/v1"}, "give a branch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr)
			if code != exitInput || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), exitInput, tc.want)
			}
			if strings.Contains(stderr.String(), "t0ken") {
				t.Errorf("the error shows the token: %s", stderr.String())
			}
		})
	}
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeReleasesFromGit runs serve with its releases in a git
// repository served over smart HTTP behind a token: it clones it into the
// workdir, reads the releases from the subdirectory and never logs the
// token.
func TestServeReleasesFromGit(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t, githubfake.Options{Spec: githubfake.LoadSpec(t)})
	fake.CreateRepo(t.Context(), t, "acme/gitops", filepath.Join("..", "..", "examples", "gitops"))
	const releasesToken = "ghs_r3leasesT0ken"
	gitSrv := githttp.New(t)
	src := t.TempDir()
	if err := os.CopyFS(filepath.Join(src, "releases"), os.DirFS(filepath.Join("..", "..", "examples", "releases"))); err != nil {
		t.Fatal(err)
	}
	gitSrv.Create(t.Context(), t, "giantswarm/releases", src)
	gitSrv.SetAuth(githttp.Token(releasesToken))
	hs := httptest.NewServer(gitSrv)
	t.Cleanup(hs.Close)

	dir := t.TempDir()
	files := map[string]string{"token": fake.AddToken("upgrade-bot"), "secret": "hook-s3cret", "releases-token": releasesToken}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	work := filepath.Join(dir, "work")
	_, stop := startServe(t, []string{"serve", "--listen", freeAddr(t), "--github-url", fake.APIURL(),
		"--github-token-file", filepath.Join(dir, "token"), "--github-webhook-secret-file", filepath.Join(dir, "secret"),
		"--releases", hs.URL + "/giantswarm/releases.git", "--releases-subdir", "releases",
		"--releases-git-token-file", filepath.Join(dir, "releases-token"), "--releases-poll-interval", "1h",
		"--repo", "acme/gitops", "--reconcile-interval", "0", "--workdir", work, "--log-level", "info"})
	code, logs := stop()
	if code != exitOK {
		t.Errorf("serve exited with %d\n%s", code, logs)
	}
	if !strings.Contains(logs, "read the releases") || !strings.Contains(logs, "subdir=releases") {
		t.Errorf("the logs do not say where the releases were read:\n%s", logs)
	}
	if strings.Contains(logs, releasesToken) {
		t.Errorf("the logs show the releases token:\n%s", logs)
	}
	clones, err := filepath.Glob(filepath.Join(work, "releases", "*", "releases", "capa", "v32.0.0", "release.yaml"))
	if err != nil || len(clones) != 1 {
		t.Errorf("the workdir holds no clone of the releases: %q, %v", clones, err)
	}
}

// TestConfigFileReleasesURL checks that a git URL in a config file is not
// taken for a path relative to the file, and the token file is.
func TestConfigFileReleasesURL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte("releases: https://github.com/giantswarm/releases.git\nreleases-git-token-file: releases-token\nreleases-poll-interval: 5m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &serveOptions{}
	flags := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	o.addFlags(flags)
	if err := loadConfigFile(flags, config); err != nil {
		t.Fatal(err)
	}
	if o.releases != "https://github.com/giantswarm/releases.git" || o.releasesGitTokenFile != filepath.Join(dir, "releases-token") || o.releasesPollInterval != 5*time.Minute {
		t.Errorf("releases %q, token file %q, poll interval %s", o.releases, o.releasesGitTokenFile, o.releasesPollInterval)
	}
}

func TestReleasesSourceKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		url, ssh bool
	}{
		{in: "https://github.com/giantswarm/releases.git", url: true},
		{in: "http://127.0.0.1:8080/r.git", url: true},
		{in: "file:///srv/git/releases.git", url: true},
		{in: "./releases"},
		{in: "/srv/releases"},
		{in: "releases@2025"},
		{in: "git@github.com:giantswarm/releases.git", ssh: true},
		{in: "ssh://git@github.com/giantswarm/releases.git", ssh: true},
	} {
		if got := isURL(tc.in); got != tc.url {
			t.Errorf("isURL(%q) = %v", tc.in, got)
		}
		if got := isSSH(tc.in); got != tc.ssh {
			t.Errorf("isSSH(%q) = %v", tc.in, got)
		}
	}
}

func TestWakeAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	results := []*bot.ReconcileResult{
		{Decisions: []bot.Decision{{Action: bot.ActionWait, Until: at(3 * time.Hour)}, {Action: bot.ActionPropose}}},
		{Decisions: []bot.Decision{{Action: bot.ActionWait, Until: at(7 * time.Minute)}, {Action: bot.ActionWait, Until: at(-time.Minute)}}},
	}
	if got, want := wakeAfter(now, 15*time.Minute, results), 7*time.Minute+time.Second; got != want {
		t.Errorf("a window opening in 7 minutes: wake after %v, want %v", got, want)
	}
	if got := wakeAfter(now, 15*time.Minute, results[:1]); got != 15*time.Minute {
		t.Errorf("a window opening after the interval: wake after %v, want the interval", got)
	}
	if got := wakeAfter(now, 15*time.Minute, nil); got != 15*time.Minute {
		t.Errorf("nothing waiting: wake after %v, want the interval", got)
	}
}

// TestServeNewReleaseOpensPullRequests: a release published into the
// releases directory while serve runs opens the pull requests the policy
// allows for it within seconds — not at the next reconcile interval, an
// hour away — superseding the older pull request of the same cluster and
// leaving the clusters the policy does not upgrade alone.
func TestServeNewReleaseOpensPullRequests(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t, githubfake.Options{Spec: githubfake.LoadSpec(t)})
	fake.CreateRepo(t.Context(), t, "acme/gitops", filepath.Join("..", "..", "examples", "gitops"))
	dir := t.TempDir()
	rels := filepath.Join(dir, "releases")
	if err := os.CopyFS(rels, os.DirFS(filepath.Join("..", "..", "examples", "releases"))); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"token": fake.AddToken("upgrade-bot"), "secret": "hook-s3cret"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base, stop := startServe(t, []string{"serve", "--listen", freeAddr(t), "--github-url", fake.APIURL(),
		"--github-token-file", filepath.Join(dir, "token"), "--github-webhook-secret-file", filepath.Join(dir, "secret"),
		"--releases", rels, "--releases-poll-interval", "100ms", "--reconcile-interval", "1h",
		"--repo", "acme/gitops", "--workdir", filepath.Join(dir, "work"), "--log-level", "info"})
	heads := func() map[string]string {
		out := map[string]string{}
		for _, pr := range fake.PullRequests("acme/gitops") {
			out[pr.Head] = pr.State
		}
		return out
	}
	waitFor := func(what string, ok func(map[string]string) bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !ok(heads()) {
			if time.Now().After(deadline) {
				_, logs := stop()
				t.Fatalf("%s: pull requests %v\n%s", what, heads(), logs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// At start-up: the minor upgrades the default policy allows.
	waitFor("the start-up reconcile", func(h map[string]string) bool {
		return h["upgrade-bot/peu02/v30.1.0"] == "open" && h["upgrade-bot/pus01/v31.1.0"] == "open"
	})

	// v31.1.1 is published: a patch on top of v31.1.0.
	publish(t, rels, "31.1.0", "31.1.1")
	waitFor("the new release", func(h map[string]string) bool {
		return h["upgrade-bot/pus01/v31.1.1"] == "open" && h["upgrade-bot/pus01/v31.1.0"] == "closed"
	})
	// The forge requests it took, and the rate limit the fake reports.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scraped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, re := range []string{
		`upgrade_bot_forge_requests_total\{code="200",forge="github",method="GET"\} [1-9]`,
		`upgrade_bot_forge_requests_total\{code="201",forge="github",method="POST"\} [1-9]`,
		`upgrade_bot_forge_rate_limit_remaining\{forge="github",resource="core"\} [1-9]`,
		`upgrade_bot_forge_rate_limit\{forge="github",resource="core"\} 5000`,
	} {
		if !regexp.MustCompile(re).Match(scraped) {
			t.Errorf("/metrics has no %s:\n%s", re, scraped)
		}
	}
	code, logs := stop()
	if code != exitOK {
		t.Errorf("serve exited with %d\n%s", code, logs)
	}
	if !strings.Contains(logs, "a new release appeared") {
		t.Errorf("the new release was not logged:\n%s", logs)
	}
	for head := range heads() {
		if strings.HasPrefix(head, "upgrade-bot/peu01/") {
			t.Errorf("peu01 needs a major upgrade, which the default policy does not propose: %s", head)
		}
	}
	if n := len(heads()); n != 3 {
		t.Errorf("%d pull requests, want 3: %v", n, heads())
	}
}

// publish adds release to to the releases directory as a copy of from,
// as a release pipeline would: its directory and its releases.json entry.
func publish(t *testing.T, rels, from, to string) {
	t.Helper()
	src, dst := filepath.Join(rels, "capa", "v"+from), filepath.Join(rels, "capa", "v"+to)
	dash := func(v string) string { return strings.ReplaceAll(v, ".", "-") }
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, strings.TrimPrefix(p, src))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		content := strings.ReplaceAll(strings.ReplaceAll(string(b), from, to), dash(from), dash(to))
		return os.WriteFile(out, []byte(content), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(rels, "capa", "releases.json")
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["releases"] = append(doc["releases"].([]any), map[string]any{
		"version": to, "isDeprecated": false, "isStable": true,
		"releaseTimestamp": time.Now().UTC().Format(time.RFC3339),
		"changelogUrl":     "https://github.com/giantswarm/releases/blob/master/capa/v" + to + "/README.md",
	})
	if b, err = json.MarshalIndent(doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(index, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestServeJSONLogs: --log-format json writes one JSON object per line,
// each with its time, level and message; an unknown format is refused.
func TestServeJSONLogs(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t, githubfake.Options{Spec: githubfake.LoadSpec(t)})
	fake.CreateRepo(t.Context(), t, "acme/gitops", filepath.Join("..", "..", "examples", "gitops"))
	dir := t.TempDir()
	for name, content := range map[string]string{"token": fake.AddToken("upgrade-bot"), "secret": "hook-s3cret"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--log-format", "json", "--log-level", "info", "serve", "--listen", freeAddr(t), "--github-url", fake.APIURL(),
		"--github-token-file", filepath.Join(dir, "token"), "--github-webhook-secret-file", filepath.Join(dir, "secret"),
		"--releases", filepath.Join("..", "..", "examples", "releases"), "--repo", "acme/gitops",
		"--reconcile-interval", "0", "--workdir", filepath.Join(dir, "work")}
	_, stop := startServe(t, args)
	code, logs := stop()
	if code != exitOK {
		t.Fatalf("serve exited with %d\n%s", code, logs)
	}
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) < 2 {
		t.Fatalf("serve logged %d lines:\n%s", len(lines), logs)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil || rec["time"] == nil {
			t.Errorf("not a JSON log record: %q (%v)", l, err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"--log-format", "yaml", "serve"}, &stdout, &stderr); code != exitInput || !strings.Contains(stderr.String(), `--log-format "yaml": use text or json`) {
		t.Errorf("--log-format yaml: exit %d, %q", code, stderr.String())
	}
}
