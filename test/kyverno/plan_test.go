package kyverno

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render/diff"
	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// TestPlanThroughKyvernoEqualsOffline plans the same upgrade twice — once
// rendered offline, once through a real API server with the real Kyverno
// and the release ConfigMaps installed — and requires the same rendered
// diff for every resource. This is what lets users trust the offline
// default.
func TestPlanThroughKyvernoEqualsOffline(t *testing.T) {
	env := kube.StartWithKyverno(t)
	root, err := kube.Root()
	if err != nil {
		t.Fatal(err)
	}
	ctx := kube.Context(t, 3*time.Minute)
	catalog, err := releases.Load(ctx, filepath.Join(root, "examples", "releases"))
	if err != nil {
		t.Fatal(err)
	}
	env.InstallExampleReleases(ctx, t, "30.1.0", "31.0.0")
	env.InstallPolicy(ctx, t, "31.0.0")
	client, mapper := env.Dynamic(t)
	live := bot.ClusterRenderer{Objects: dryrun.New(client, mapper, 4)}

	repo := filepath.Join("testdata", "gitops")
	req := bot.Request{Clusters: []string{"pe2e01"}, Target: "v31.0.0"}
	offline, err := (&bot.Planner{Catalog: catalog}).Plan(ctx, repo, req)
	if err != nil {
		t.Fatal(err)
	}
	viaKyverno, err := (&bot.Planner{Catalog: catalog, Renderer: live}).Plan(ctx, repo, req)
	if err != nil {
		t.Fatalf("planning through the API server: %v", err)
	}
	want, got := offline.Clusters[0].Resources, viaKyverno.Clusters[0].Resources
	if len(want) != 3 || len(got) != len(want) {
		t.Fatalf("rendered %d resources through Kyverno and %d offline, want 3", len(got), len(want))
	}
	for i := range want {
		if want[i].Kind != got[i].Kind || strings.Join(paths(want[i]), "\n") != strings.Join(paths(got[i]), "\n") {
			t.Errorf("%s %s: changed fields differ\noffline:\n%s\nthrough Kyverno:\n%s", want[i].Kind, want[i].Name, strings.Join(paths(want[i]), "\n"), strings.Join(paths(got[i]), "\n"))
			continue
		}
		for j, ch := range want[i].Changes {
			if got[i].Changes[j] != ch {
				t.Errorf("%s %s: %s is %q → %q offline, %q → %q through Kyverno", want[i].Kind, want[i].Name, ch.Path, ch.Before, ch.After, got[i].Changes[j].Before, got[i].Changes[j].After)
			}
		}
	}
	if t.Failed() {
		os.Stdout.WriteString(diff.Text(got))
	}
}

func paths(r diff.Resource) []string {
	out := make([]string, 0, len(r.Changes))
	for _, c := range r.Changes {
		out = append(out, c.Path)
	}
	return out
}
