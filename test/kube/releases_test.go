package kube

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/releases"
)

// TestReleasesFromTheManagementCluster installs example releases as a
// management cluster holds them — Release resources and labelled
// ConfigMaps — and reads the catalog back: the same releases, components
// and patches as the releases directory, so a plan made with either is the
// same.
func TestReleasesFromTheManagementCluster(t *testing.T) {
	env := Start(t)
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	ctx := Context(t, time.Minute)
	c := env.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releases.Namespace}}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "examples", "releases", "capa")
	for _, v := range []string{"v30.1.0", "v31.0.0"} {
		rel := ReadObject(t, filepath.Join(dir, v, "release.yaml"))
		rel.SetName("aws-" + strings.TrimPrefix(v, "v")) // as Giant Swarm names them
		if err := c.Create(ctx, rel); err != nil {
			t.Fatalf("creating Release %s: %v", v, err)
		}
	}
	// ConfigMaps of v30.1.0 and v31.0.0, and of v31.1.0, which has no
	// Release resource.
	for _, v := range []string{"v30.1.0", "v31.0.0", "v31.1.0"} {
		files, err := filepath.Glob(filepath.Join(dir, v, "base", "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no ConfigMaps for %s: %v", v, err)
		}
		for _, f := range files {
			if err := c.Create(ctx, ReadObject(t, f)); err != nil {
				t.Fatalf("creating %s: %v", f, err)
			}
		}
	}
	// A ConfigMap of something else in the namespace is not a release.
	if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: releases.Namespace}, Data: map[string]string{"a": "b"}}); err != nil {
		t.Fatal(err)
	}

	dyn, _ := env.Dynamic(t)
	fromCluster, err := releases.FromCluster(ctx, dyn, "capa")
	if err != nil {
		t.Fatal(err)
	}
	fromDir, err := releases.Load(ctx, filepath.Join(root, "examples", "releases"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range fromCluster.List("capa") {
		got = append(got, r.Version.String())
	}
	if strings.Join(got, " ") != "30.1.0 31.0.0 31.1.0" {
		t.Fatalf("releases read from the cluster: %v, want 30.1.0 31.0.0 31.1.0", got)
	}
	if w := strings.Join(fromCluster.Warnings(), "\n"); !strings.Contains(w, "v31.1.0") || !strings.Contains(w, "components are unknown") {
		t.Errorf("no warning about v31.1.0 lacking its Release resource: %q", w)
	}
	a, _ := fromCluster.Get("capa", "31.0.0")
	b, _ := fromDir.Get("capa", "31.0.0")
	if len(a.Patches) != len(b.Patches) || len(a.Components) != len(b.Components) || a.State != b.State {
		t.Errorf("v31.0.0 from the cluster has %d ConfigMaps, %d components, state %s; from the directory %d, %d, %s",
			len(a.Patches), len(a.Components), a.State, len(b.Patches), len(b.Components), b.State)
	}
	for kind, p := range b.Patches {
		if q, ok := a.Patch(kind); !ok || q.Data != p.Data || q.ConfigMap != p.ConfigMap {
			t.Errorf("the %s patch of v31.0.0 differs between the cluster and the directory", kind)
		}
	}

	// The same plan from either catalog.
	var plans [2]bytes.Buffer
	for i, catalog := range []*releases.Catalog{fromCluster, fromDir} {
		p := &bot.Planner{Catalog: catalog, Now: func() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) }}
		plan, err := p.Plan(context.Background(), filepath.Join(root, "examples", "gitops"), bot.Request{Clusters: []string{"peu01"}, Target: "v31.0.0"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range plan.Clusters[0].Resources {
			plans[i].WriteString(r.Unified)
		}
	}
	if plans[0].String() != plans[1].String() || plans[0].Len() == 0 {
		t.Errorf("the plan made with the cluster's releases differs from the one made with the directory")
	}
}

// TestWatchNewReleases: releases already on the cluster are not new; a
// Release resource created later is reported once, and so is the first
// ConfigMap of a version that has no Release resource.
func TestWatchNewReleases(t *testing.T) {
	env := Start(t)
	ctx := Context(t, time.Minute)
	c := env.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releases.Namespace}}); err != nil {
		t.Fatal(err)
	}
	release := func(name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "release.giantswarm.io/v1alpha1", "kind": "Release",
			"metadata": map[string]any{"name": name},
			"spec":     map[string]any{"state": "active", "date": "2026-11-01T00:00:00Z"},
		}}
		return u
	}
	configMap := func(name, version string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: releases.Namespace, Labels: map[string]string{releases.VersionLabel: version}}, Data: map[string]string{"patch": "metadata: {}\n"}}
	}
	if err := c.Create(ctx, release("aws-31.0.0")); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, configMap("cluster-31-0-0", "31.0.0")); err != nil {
		t.Fatal(err)
	}

	dyn, _ := env.Dynamic(t)
	w := releases.NewWatcher(dyn, "capa")
	got := make(chan releases.NewRelease, 10)
	watchCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(watchCtx, func(r releases.NewRelease) { got <- r }) }()
	select {
	case <-w.Ready():
	case <-ctx.Done():
		t.Fatal("the watch never synced")
	}

	if err := c.Create(ctx, release("aws-31.1.0")); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, configMap("cluster-31-1-0", "31.1.0")); err != nil { // same release: not new again
		t.Fatal(err)
	}
	if err := c.Create(ctx, configMap("cluster-32-0-0", "32.0.0")); err != nil { // no Release resource
		t.Fatal(err)
	}
	var seen []string
	timeout := time.After(20 * time.Second)
	for len(seen) < 2 {
		select {
		case r := <-got:
			seen = append(seen, r.Provider+"/"+r.Version)
			if r.Source == "" {
				t.Errorf("%s/%s reported without its source", r.Provider, r.Version)
			}
		case <-timeout:
			t.Fatalf("new releases reported: %v; want capa/31.1.0 and capa/32.0.0", seen)
		}
	}
	select {
	case r := <-got:
		t.Errorf("a release was reported twice or an old one as new: %+v (already: %v)", r, seen)
	case <-time.After(time.Second):
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	slices.Sort(seen)
	if want := []string{"capa/31.1.0", "capa/32.0.0"}; !slices.Equal(seen, want) {
		t.Errorf("reported %q, want %q", seen, want)
	}
}
