package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upgrade-bot/upgrade-bot/examples"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

const (
	gitops      = "../../examples/gitops"
	releasesDir = "../../examples/releases"
)

// runCLI runs the command line and returns exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCLI(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		code     int
		stdout   []string
		stderr   []string
		noStdout bool
	}{
		{name: "plan", args: []string{"plan", "--repo", gitops, "--releases", releasesDir, "--cluster", "peu01", "--to", "v31.0.0"}, stdout: []string{"Cluster org-acme/peu01 (capa): v30.1.0 → v31.0.0", "KubeadmControlPlane", "1 cluster to upgrade"}},
		{name: "plan json", args: []string{"plan", "--repo", gitops, "--releases", releasesDir, "--all", "--to", "v31.0.0", "-o", "json"}, stdout: []string{`"name": "peu02"`, `"status": "current"`}},
		{name: "plan markdown", args: []string{"plan", "--repo", gitops, "--releases", releasesDir, "--cluster", "org-acme/peu02", "--to", "v30.1.0", "-o", "markdown"}, stdout: []string{"<details>", "peu02"}},
		{name: "releases from environment", args: []string{"plan", "--repo", gitops, "--cluster", "pus01", "--to", "v31.1.0"}, env: map[string]string{"UPGRADE_BOT_RELEASES": releasesDir}, stdout: []string{"v31.0.0 → v31.1.0"}},
		{name: "releases", args: []string{"releases", "--releases", releasesDir}, stdout: []string{"v29.6.1", "v31.0.0", "deprecated", "wip"}},
		{name: "releases json", args: []string{"releases", "--releases", releasesDir, "-o", "json"}, stdout: []string{`"version": "v31.0.0"`}},
		{name: "version", args: []string{"version"}, stdout: []string{"upgrade-bot"}},

		{name: "missing releases", args: []string{"plan", "--repo", gitops, "--to", "v31.0.0"}, code: exitInput, stderr: []string{"--releases is required"}, noStdout: true},
		{name: "missing target", args: []string{"plan", "--repo", gitops, "--releases", releasesDir}, code: exitInput, stderr: []string{"--to is required"}, noStdout: true},
		{name: "bad output", args: []string{"plan", "--repo", gitops, "--releases", releasesDir, "--to", "v31.0.0", "-o", "yaml"}, code: exitInput, stderr: []string{"--output", "text, markdown or json"}, noStdout: true},
		{name: "unknown flag", args: []string{"plan", "--clsuter", "x"}, code: exitInput, stderr: []string{"clsuter"}, noStdout: true},
		{name: "unknown command", args: []string{"plna"}, code: exitInput, stderr: []string{"plna"}, noStdout: true},
		{name: "unknown cluster", args: []string{"plan", "--repo", gitops, "--releases", releasesDir, "--cluster", "peu1", "--to", "v31.0.0"}, code: exitInput, stderr: []string{"peu01"}, noStdout: true},
		{name: "unknown release", args: []string{"plan", "--repo", gitops, "--releases", releasesDir, "--cluster", "peu01", "--to", "v31.0.5"}, code: exitInput, stderr: []string{"v31.0.5", "v31.0.0"}, noStdout: true},
		{name: "downgrade", args: []string{"plan", "--repo", gitops, "--releases", releasesDir, "--cluster", "pus01", "--to", "v30.1.0"}, code: exitInput, stderr: []string{"downgrade", "--force"}, noStdout: true},
		{name: "releases directory missing", args: []string{"plan", "--repo", gitops, "--releases", "does-not-exist", "--cluster", "peu01", "--to", "v31.0.0"}, code: exitInput, stderr: []string{"does-not-exist"}, noStdout: true},
		{name: "repository missing", args: []string{"plan", "--repo", "does-not-exist", "--releases", releasesDir, "--cluster", "peu01", "--to", "v31.0.0"}, code: exitInput, stderr: []string{"does-not-exist"}, noStdout: true},
		{name: "bad log level", args: []string{"version", "--log-level", "loud"}, code: exitInput, stderr: []string{"--log-level"}, noStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
			if tt.noStdout && stdout != "" {
				t.Errorf("a refused command wrote to stdout:\n%s", stdout)
			}
		})
	}
}

// TestProposeCommand runs propose on a real repository with a bare remote,
// twice: the second run reuses the branch.
func TestProposeCommand(t *testing.T) {
	root := t.TempDir()
	if err := writeFS(examples.FS, root); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "gitops")
	author := git.Signature{Name: "t", Email: "t@example.com"}
	repo, err := git.Init(context.Background(), dir, "import", author)
	if err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(root, "origin.git")
	if err := git.InitBare(remote); err != nil {
		t.Fatal(err)
	}
	if err := repo.AddRemote("origin", remote); err != nil {
		t.Fatal(err)
	}
	args := []string{"propose", "--repo", dir, "--releases", filepath.Join(root, "releases"), "--cluster", "peu01", "--to", "v31.0.0", "--push"}

	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"Branch upgrade-bot/peu01/v31.0.0 (created)", ", pushed", "=== Pull request title\nUpgrade peu01 to release v31.0.0", "=== Diff comment"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout does not contain %q:\n%s", w, stdout)
		}
	}

	code, stdout, stderr = runCLI(t, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	var out struct {
		Proposals []struct {
			Branch         string
			Reused, Pushed bool
		}
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, stdout)
	}
	if len(out.Proposals) != 1 || !out.Proposals[0].Reused || !out.Proposals[0].Pushed {
		t.Errorf("second run = %+v, want the branch reused and pushed", out.Proposals)
	}

	// A dirty work tree is refused before anything is written.
	if err := os.WriteFile(filepath.Join(dir, "scratch.yaml"), []byte("a: b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, args...)
	if code != exitInput || !strings.Contains(stderr, "scratch.yaml") || stdout != "" {
		t.Errorf("dirty tree: exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
}

func TestProposeNotARepository(t *testing.T) {
	code, _, stderr := runCLI(t, "propose", "--repo", t.TempDir(), "--releases", releasesDir, "--to", "v31.0.0")
	if code != exitInput || !strings.Contains(stderr, "not a git repository") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestDemo(t *testing.T) {
	code, stdout, stderr := runCLI(t, "demo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"$ upgrade-bot plan", "v30.1.0 → v31.0.0", "$ upgrade-bot propose", "Branch upgrade-bot/peu01/v31.0.0 (created)", ", pushed"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("demo output does not contain %q", w)
		}
	}
}
