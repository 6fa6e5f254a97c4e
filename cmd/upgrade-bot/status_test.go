package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, "status", "--repo", gitops, "--releases", releasesDir, "--now", "2026-11-25T12:00:00Z", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Clusters []struct{ Name, Current, Target, Action, Reason string }
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	got := map[string]string{}
	for _, c := range out.Clusters {
		got[c.Name] = c.Action + " " + c.Target
	}
	want := map[string]string{"org-acme/peu01": "skip ", "org-acme/peu02": "propose v30.1.0", "org-globex/pus01": "propose v31.1.0"}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}

	// A policy with a night window: at noon everything waits, and the
	// text says until when.
	dir := t.TempDir()
	night := filepath.Join(dir, "night.yaml")
	if err := os.WriteFile(night, []byte("timezone: Europe/Berlin\nschedule: [\"* 22-23,0-4 * * *\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "status", "--repo", gitops, "--releases", releasesDir, "--policy", night, "--now", "2026-11-25T12:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"CLUSTER", "org-acme/peu02", "wait", "22-23,0-4"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("the status does not show %q:\n%s", w, stdout)
		}
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("timezone: Mars/Olympus\nallowedUpdates: [sideways]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--policy", bad}, []string{"bad.yaml:1:", "Mars/Olympus", "bad.yaml:2:", "sideways"}},
		{[]string{"--now", "tomorrow"}, []string{`--now "tomorrow"`, "RFC 3339"}},
		{[]string{"--policy", filepath.Join(dir, "missing.yaml")}, []string{"reading the policy"}},
	} {
		args := append([]string{"status", "--repo", gitops, "--releases", releasesDir}, tc.args...)
		code, _, stderr := runCLI(t, args...)
		if code != exitInput {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitInput)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: the error does not say %q:\n%s", tc.args, w, stderr)
			}
		}
	}
}
