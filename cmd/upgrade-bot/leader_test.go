package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	githubfake "github.com/upgrade-bot/upgrade-bot/test/forge/github"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// TestServeLeaderElection runs two replicas of serve against the real API
// server: the first leads and is ready, the second is alive but unready,
// naming the leader; when the first stops, the second takes over within
// the lease duration.
func TestServeLeaderElection(t *testing.T) {
	t.Parallel()
	env := kube.Start(t)
	fake := githubfake.New(t, githubfake.Options{Spec: githubfake.LoadSpec(t)})
	fake.CreateRepo(t.Context(), t, "acme/gitops", filepath.Join("..", "..", "examples", "gitops"))
	dir := t.TempDir()
	for name, content := range map[string]string{"token": fake.AddToken("upgrade-bot"), "secret": "hook-s3cret"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := func(identity string) []string {
		return []string{"serve", "--listen", freeAddr(t), "--github-url", fake.APIURL(),
			"--github-token-file", filepath.Join(dir, "token"), "--github-webhook-secret-file", filepath.Join(dir, "secret"),
			"--releases", filepath.Join("..", "..", "examples", "releases"), "--repo", "acme/gitops",
			"--reconcile-interval", "0", "--scan-interval", "0", "--workdir", filepath.Join(dir, identity),
			"--leader-elect", "--kubeconfig", env.Kubeconfig, "--leader-election-namespace", "default",
			"--leader-election-identity", identity, "--leader-election-lease-duration", "4s",
			"--leader-election-renew-deadline", "3s", "--leader-election-retry-period", "500ms", "--log-level", "info"}
	}
	readyz := func(base string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	_, stopA := startServe(t, args("replica-a")) // ready: it leads
	baseB, stopB := startServeUntil(t, args("replica-b"), "/healthz")
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := readyz(baseB)
		if code == http.StatusServiceUnavailable && body == "not ready: following the leader replica-a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica-b's /readyz: %d %q, want 503 naming replica-a", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, logs := stopA(); code != exitOK {
		t.Errorf("replica-a exited with %d\n%s", code, logs)
	}
	stopped := time.Now()
	for {
		if code, _ := readyz(baseB); code == http.StatusOK {
			break
		}
		if time.Since(stopped) > 4*time.Second {
			t.Fatalf("replica-b did not take over within the lease duration")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("replica-b took over %s after replica-a stopped", time.Since(stopped).Round(time.Millisecond))
	code, logs := stopB()
	if code != exitOK {
		t.Errorf("replica-b exited with %d\n%s", code, logs)
	}
	if !strings.Contains(logs, "elected leader: starting the background work") || !strings.Contains(logs, "following the leader") {
		t.Errorf("replica-b's log does not tell its part:\n%s", logs)
	}
}
