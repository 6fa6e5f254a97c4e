package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", filepath.Join("..", "..", "examples", "serve", "config.yaml"),
			"--listen", addr, "--github-url", fake.APIURL(), "--github-token-file", tokenFile,
			"--github-webhook-secret-file", secretFile, "--workdir", filepath.Join(dir, "work"), "--log-level", "info"}, &stdout, &stderr)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not become ready: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exited with %d\n%s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after the signal")
	}
	logs := stderr.String()
	for _, secret := range []string{"hook-s3cret", "ghp_"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs show a secret (%s):\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "serving webhooks") {
		t.Errorf("the logs do not say where serve listens:\n%s", logs)
	}
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
		{"no releases", []string{"serve", "--github-token-file", token, "--github-webhook-secret-file", token}, "--releases or --kubeconfig is required"},
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
