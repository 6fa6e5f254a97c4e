package kyverno

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/upgrade-bot/upgrade-bot/bot"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// benchClusters is the fleet size of BenchmarkPlanThroughKyverno; the
// issue's scenario is 1,000 clusters of 4 resources.
const benchClusters = 1000

// BenchmarkPlanThroughKyverno plans 1,000 clusters of 4 resources each
// through a real API server with the real Kyverno: 8,000 dry-run applies
// through the admission webhook. It reports clusters per second and the
// 99th percentile of one render call (one side of one cluster: 4 dry-runs).
func BenchmarkPlanThroughKyverno(b *testing.B) {
	env := kube.StartWithKyverno(b)
	root, err := kube.Root()
	if err != nil {
		b.Fatal(err)
	}
	ctx := kube.Context(b, 20*time.Minute)
	catalog, err := releases.Load(ctx, filepath.Join(root, "examples", "releases"))
	if err != nil {
		b.Fatal(err)
	}
	env.InstallExampleReleases(ctx, b, "30.1.0", "31.0.0")
	env.InstallPolicy(ctx, b, "31.0.0")

	repo := b.TempDir()
	tmpl, err := os.ReadFile(filepath.Join("testdata", "gitops", "clusters", "pe2e01", "cluster.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	worker := "\n---\napiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSMachineTemplate\nmetadata:\n  name: pe2e01-md0\n  namespace: org-acme\n  labels:\n    cluster.x-k8s.io/cluster-name: pe2e01\n    release.giantswarm.io/version: \"30.1.0\"\nspec:\n  template:\n    spec:\n      iamInstanceProfile: nodes-pe2e01\n      instanceType: r6i.2xlarge\n"
	for i := range benchClusters {
		name := fmt.Sprintf("b%05d", i)
		dir := filepath.Join(repo, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		doc := strings.ReplaceAll(string(tmpl)+worker, "pe2e01", name)
		if err := os.WriteFile(filepath.Join(dir, "cluster.yaml"), []byte(doc), 0o644); err != nil {
			b.Fatal(err)
		}
	}

	env.Config.QPS, env.Config.Burst = 200, 400 // the client must not be what limits the run
	client, mapper := env.Dynamic(b)
	// The fleet exists on the management cluster, as Flux applied it:
	// "before" is then the live objects, "after" the dry-run of the bump.
	createFleet(ctx, b, client, mapper, repo)
	timed := &timedRenderer{r: dryrun.New(client, mapper, 8)}
	p := &bot.Planner{Catalog: catalog, Renderer: bot.ClusterRenderer{Objects: timed}, Workers: 8}

	// Warm up the client's discovery of the kinds.
	if _, err := p.Plan(ctx, repo, bot.Request{Clusters: []string{"b00000"}, Target: "v31.0.0"}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		timed.reset()
		plan, err := p.Plan(ctx, repo, bot.Request{All: true, Target: "v31.0.0"})
		if err != nil {
			b.Fatal(err)
		}
		if up, _, _ := plan.Counts(); up != benchClusters {
			b.Fatalf("%d clusters planned, want %d", up, benchClusters)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(benchClusters)/(b.Elapsed().Seconds()/float64(b.N)), "clusters/s")
	b.ReportMetric(timed.p99().Seconds()*1000, "p99-ms/render")
}

// timedRenderer records how long each render call (one side of one
// cluster) takes.
type timedRenderer struct {
	r  bot.ObjectRenderer
	mu sync.Mutex
	d  []time.Duration
}

func (t *timedRenderer) Render(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	start := time.Now()
	out, err := t.r.Render(ctx, objs)
	t.mu.Lock()
	t.d = append(t.d, time.Since(start))
	t.mu.Unlock()
	return out, err
}

func (t *timedRenderer) Current(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	start := time.Now()
	out, err := t.r.(bot.LiveObjects).Current(ctx, objs)
	t.mu.Lock()
	t.d = append(t.d, time.Since(start))
	t.mu.Unlock()
	return out, err
}

// createFleet applies every resource of the repository to the API server
// (through Kyverno), as Flux would have.
func createFleet(ctx context.Context, b *testing.B, client dynamic.Interface, mapper meta.RESTMapper, repo string) {
	b.Helper()
	tree, err := render.Discover(ctx, repo, render.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, c := range tree.Clusters {
		for _, r := range c.Resources {
			objs = append(objs, r.Object)
		}
	}
	start := time.Now()
	errs := make(chan error, len(objs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, obj := range objs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			gvk := obj.GroupVersionKind()
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				errs <- err
				return
			}
			_, err = client.Resource(m.Resource).Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "kustomize-controller", Force: true})
			if err != nil {
				errs <- fmt.Errorf("creating %s %s: %w", obj.GetKind(), obj.GetName(), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Logf("created the fleet: %d objects in %s", len(objs), time.Since(start).Round(time.Millisecond))
}

func (t *timedRenderer) reset() {
	t.mu.Lock()
	t.d = t.d[:0]
	t.mu.Unlock()
}

func (t *timedRenderer) p99() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.d) == 0 {
		return 0
	}
	s := slices.Clone(t.d)
	slices.Sort(s)
	return s[len(s)*99/100]
}
