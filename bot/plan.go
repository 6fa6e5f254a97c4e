package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/diff"
)

// Planner is the pipeline from a request to a plan: select the clusters,
// locate where their version is written, bump it, render every resource
// before and after, and diff.
type Planner struct {
	// Catalog holds the releases.
	Catalog *releases.Catalog
	// Renderer renders resources under a release; NewOfflineRenderer when nil.
	Renderer Renderer
	// Locators find where a cluster's version is written; when empty, those
	// the repository's policy file chooses, else all of them.
	Locators []render.Locator
	// Label is the version label; render.DefaultVersionLabel when empty.
	Label string
	// Now tells the time (release age, end of life); time.Now when nil.
	Now func() time.Time
	// Workers plans clusters in parallel; GOMAXPROCS when zero.
	Workers int
	// Progress, when set, is called after each cluster is planned.
	Progress func(done, total int)
	// Log receives debug records of the pipeline's phases; none when nil.
	Log *slog.Logger
	// Observe, when set, is told how long each plan of a tree took: the
	// render duration operators watch.
	Observe func(time.Duration)
}

// Plan is what a request would change.
type Plan struct {
	// Target is the requested release version, canonical ("31.0.0").
	Target string
	// Clusters are the planned clusters, sorted by namespace and name;
	// clusters that need no change or cannot be upgraded are included with
	// Status saying so.
	Clusters []*ClusterPlan
	// Problems are what discovery found wrong in the repository; they did
	// not stop the plan of the clusters above.
	Problems []string
	// CatalogWarnings are what was wrong in the releases directory.
	CatalogWarnings []string
}

// ClusterStatus says what the plan is for one cluster.
type ClusterStatus string

// The statuses of a cluster plan.
const (
	// StatusUpgrade: the cluster will be upgraded.
	StatusUpgrade ClusterStatus = "upgrade"
	// StatusCurrent: the cluster is already on the target release.
	StatusCurrent ClusterStatus = "current"
	// StatusSkipped: the cluster cannot be upgraded (Reason says why); only
	// with --all, where one cluster must not stop the others.
	StatusSkipped ClusterStatus = "skipped"
)

// ClusterPlan is the plan for one cluster.
type ClusterPlan struct {
	Name, Namespace string
	Provider        string
	// From and To are canonical versions ("30.1.0").
	From, To string
	Status   ClusterStatus
	// Reason says why a cluster is skipped.
	Reason string
	// Locations are where the version is written.
	Locations []render.Location
	// Changes are the edited files.
	Changes []render.FileChange
	// Files are the unified diffs of Changes.
	Files []diff.File
	// Resources are the rendered diffs, one per resource of the cluster.
	Resources []diff.Resource
	// Release lists what changes between the two releases.
	Release []releases.Change
	// Warnings are things a reviewer must know.
	Warnings []string
	// FromRelease and ToRelease are the catalog entries; FromRelease is nil
	// when the current version is not in the catalog.
	FromRelease, ToRelease *releases.Release
}

// ID is "namespace/name", or the name when the cluster has no namespace.
func (c *ClusterPlan) ID() string {
	if c.Namespace == "" {
		return c.Name
	}
	return c.Namespace + "/" + c.Name
}

// branchPrefix starts every branch of the bot.
const branchPrefix = "upgrade-bot/"

// Branch is the deterministic branch name of the cluster's upgrade.
func (c *ClusterPlan) Branch() string {
	return upgradeBranch(c.Name, c.To)
}

// upgradeBranch is the branch of the upgrade of the cluster named name
// (without its namespace) to version ("v" optional):
// upgrade-bot/<name>/v<X.Y.Z>. parseBranch reads it back.
func upgradeBranch(name, version string) string {
	return clusterBranches(name) + "v" + strings.TrimPrefix(version, "v")
}

// clusterBranches is the prefix of every upgrade branch of a cluster.
func clusterBranches(name string) string {
	return branchPrefix + name + "/"
}

// Counts returns how many clusters the plan upgrades, finds current and
// skips.
func (p *Plan) Counts() (upgrade, current, skipped int) {
	for _, c := range p.Clusters {
		switch c.Status {
		case StatusUpgrade:
			upgrade++
		case StatusCurrent:
			current++
		case StatusSkipped:
			skipped++
		}
	}
	return upgrade, current, skipped
}

// Plan runs the pipeline over the repository at root.
func (p *Planner) Plan(ctx context.Context, root string, req Request) (*Plan, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	target, err := releases.ParseVersion(req.Target)
	if err != nil {
		return nil, invalidf("target release %q: %w", req.Target, err)
	}
	start := time.Now()
	repo, err := render.Discover(ctx, root, render.Options{VersionLabel: p.label()})
	if err != nil {
		return nil, invalid(fmt.Errorf("reading the repository: %w", err))
	}
	p.log().Debug("discovered the repository", "root", repo.Root, "clusters", len(repo.Clusters), "problems", len(repo.Problems), "took", time.Since(start))
	return p.planTree(ctx, repo, req, target)
}

// PlanTree runs the pipeline over a repository already discovered with
// the planner's label, for callers that plan the same tree several times
// (the release-driven reconcile plans each cluster it proposes).
func (p *Planner) PlanTree(ctx context.Context, repo *render.Repository, req Request) (*Plan, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	target, err := releases.ParseVersion(req.Target)
	if err != nil {
		return nil, invalidf("target release %q: %w", req.Target, err)
	}
	return p.planTree(ctx, repo, req, target)
}

func (p *Planner) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

func (p *Planner) planTree(ctx context.Context, repo *render.Repository, req Request, target *semver.Version) (*Plan, error) {
	if p.Observe != nil {
		defer func(start time.Time) { p.Observe(time.Since(start)) }(time.Now())
	}
	start := time.Now()
	log := p.log()
	plan := &Plan{Target: target.String(), CatalogWarnings: p.Catalog.Warnings()}
	for _, pr := range repo.Problems {
		plan.Problems = append(plan.Problems, pr.String())
	}
	clusters, err := selectClusters(repo, req)
	if err != nil {
		return nil, err
	}

	workers := p.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	plan.Clusters = make([]*ClusterPlan, len(clusters))
	errs := make([]error, len(clusters))
	run := &planRun{repo: repo, target: target, req: req, renderer: p.renderer()}
	var problem string
	if run.locators, problem = p.locatorsFor(repo.Root); problem != "" {
		plan.Problems = append(plan.Problems, problem)
	}
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(clusters)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(clusters) || ctx.Err() != nil {
					return
				}
				plan.Clusters[i], errs[i] = p.planCluster(ctx, run, clusters[i])
				if p.Progress != nil {
					p.Progress(int(done.Add(1)), len(clusters))
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("planning: %w", err)
	}
	log.Debug("planned the clusters", "clusters", len(clusters), "workers", workers, "took", time.Since(start))
	for i, err := range errs {
		if err == nil {
			continue
		}
		if !req.All || !errors.Is(err, ErrInvalidRequest) {
			return nil, fmt.Errorf("planning cluster %s: %w", clusterID(clusters[i]), err)
		}
		c := clusters[i]
		plan.Clusters[i] = &ClusterPlan{Name: c.Name, Namespace: c.Namespace, Status: StatusSkipped, Reason: err.Error()}
	}
	return plan, nil
}

func (p *Planner) label() string {
	if p.Label != "" {
		return p.Label
	}
	return render.DefaultVersionLabel
}

func (p *Planner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Planner) renderer() Renderer {
	if p.Renderer != nil {
		return p.Renderer
	}
	return NewOfflineRenderer(p.Catalog, p.label())
}

func clusterID(c *render.Cluster) string {
	if c.Namespace == "" {
		return c.Name
	}
	return c.Namespace + "/" + c.Name
}

// selectClusters resolves the request's cluster names.
func selectClusters(repo *render.Repository, req Request) ([]*render.Cluster, error) {
	if req.All {
		if len(repo.Clusters) == 0 {
			return nil, invalidf("no Cluster API clusters found in %s%s", repo.Root, problemsHint(repo))
		}
		return repo.Clusters, nil
	}
	if len(req.Clusters) == 0 {
		switch len(repo.Clusters) {
		case 0:
			return nil, invalidf("no Cluster API clusters found in %s%s", repo.Root, problemsHint(repo))
		case 1:
			return repo.Clusters, nil
		default:
			names := make([]string, 0, len(repo.Clusters))
			for _, c := range repo.Clusters {
				names = append(names, clusterID(c))
			}
			return nil, invalid(&AmbiguousClusterError{Names: names})
		}
	}
	seen := map[*render.Cluster]bool{}
	var out []*render.Cluster
	for _, name := range req.Clusters {
		c, err := repo.Find(name)
		if err != nil {
			return nil, invalid(err)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// RefusedPathError is an upgrade path the catalog's rules refuse (a
// downgrade, a skipped major); --force turns it into a warning.
type RefusedPathError struct {
	Err error
}

func (e *RefusedPathError) Error() string {
	return e.Err.Error() + " (to upgrade anyway, force it with --force)"
}

func (e *RefusedPathError) Unwrap() error { return e.Err }

// AmbiguousClusterError is a request that names no cluster for a
// repository with several.
type AmbiguousClusterError struct {
	Names []string
}

func (e *AmbiguousClusterError) Error() string {
	return fmt.Sprintf("the repository has %d clusters; name one with --cluster (or use --all): %s", len(e.Names), summarizeList(e.Names, 10))
}

func problemsHint(repo *render.Repository) string {
	if len(repo.Problems) == 0 {
		return ""
	}
	lines := make([]string, 0, len(repo.Problems))
	for _, pr := range repo.Problems {
		lines = append(lines, pr.String())
	}
	return "; problems found while reading it:\n  " + strings.Join(lines[:min(len(lines), 10)], "\n  ")
}

func summarizeList(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// planCluster runs locate → bump → render → diff for one cluster. Errors
// caused by the data are marked invalid.
func (p *Planner) planCluster(ctx context.Context, run *planRun, c *render.Cluster) (*ClusterPlan, error) {
	repo, target, req := run.repo, run.target, run.req
	cp := &ClusterPlan{Name: c.Name, Namespace: c.Namespace, To: target.String()}

	provider := req.Provider
	if provider == "" {
		var ok bool
		provider, ok = releases.ProviderFor(c.InfrastructureKind)
		if !ok {
			kind := c.InfrastructureKind
			if kind == "" {
				kind = "none found"
			}
			return nil, invalidf("cannot tell the release provider of cluster %s from its infrastructure kind (%s): pass --provider (one of %s)", clusterID(c), kind, strings.Join(p.Catalog.Providers(), ", "))
		}
	}
	cp.Provider = provider

	current, locs, err := currentVersion(ctx, repo, c, run.locators)
	cp.Locations = locs
	if err != nil {
		return nil, invalid(err)
	}
	from, err := releases.ParseVersion(current)
	if err != nil {
		return nil, invalidf("cluster %s is on %q, which is not a release version: %w", clusterID(c), current, err)
	}
	onTarget, err := checkPath(p.Catalog, cp, from, target, req.Force, p.now(), run.deltas.compare)
	if err != nil {
		return nil, err
	}
	if onTarget {
		return cp, nil
	}

	cp.Changes, err = render.Bump(repo, locs, target.String())
	if err != nil {
		return nil, fmt.Errorf("bumping the version: %w", err)
	}
	for _, ch := range cp.Changes {
		cp.Files = append(cp.Files, diff.Files(ch.Path, ch.Before, ch.After))
	}
	after, err := repo.Rebuild(ctx, c, cp.Changes)
	if err != nil {
		return nil, invalid(fmt.Errorf("reading the cluster back after the bump: %w", err))
	}
	if err := checkBumped(after, p.label(), run.locators, target); err != nil {
		return nil, invalid(err)
	}
	cp.Warnings = append(cp.Warnings, render.Warnings(repo, c, locs)...)
	if c.Chart != "" {
		cp.Warnings = append(cp.Warnings, fmt.Sprintf("cluster %s is an App of the chart %s: its Cluster API resources are made by the chart on the management cluster, which upgrade-bot does not render; the plan shows the App and its ConfigMaps as Flux applies them, and the release changes", clusterID(c), c.Chart))
	}

	if err := renderDiffs(ctx, run.renderer, cp, c, after); err != nil {
		return nil, err
	}
	cp.Status = StatusUpgrade
	return cp, nil
}

// checkPath looks up the releases of an upgrade of cp (whose Provider is
// set) from → to and checks the path between them, recording on cp what a
// reviewer must know; compare lists the release changes. It reports whether
// the cluster is already on the target (cp.Status is then StatusCurrent).
// Plans and direct applies share it, so both refuse and warn alike.
func checkPath(catalog *releases.Catalog, cp *ClusterPlan, from, to *semver.Version, force bool, now time.Time, compare func(from, to *releases.Release) []releases.Change) (onTarget bool, err error) {
	cp.From, cp.To = from.String(), to.String()
	toRel, err := catalog.Get(cp.Provider, to.String())
	if err != nil {
		return false, invalid(err)
	}
	cp.ToRelease = toRel
	fromRel, err := catalog.Get(cp.Provider, from.String())
	if err != nil {
		cp.Warnings = append(cp.Warnings, fmt.Sprintf("the current release v%s is not in the %s catalog: \"before\" is rendered without its ConfigMaps and the release changes list everything the target has", from, cp.Provider))
		fromRel = &releases.Release{Provider: cp.Provider, Version: from}
	} else {
		cp.FromRelease = fromRel
	}
	if from.Equal(to) {
		cp.Status = StatusCurrent
		return true, nil
	}
	warnings, err := releases.CheckUpgrade(catalog, fromRel, toRel, now)
	if err != nil {
		if !force {
			return false, invalid(&RefusedPathError{Err: err})
		}
		cp.Warnings = append(cp.Warnings, "forced: "+err.Error())
	}
	cp.Warnings = append(cp.Warnings, warnings...)
	cp.Release = compare(fromRel, toRel)
	return false, nil
}

// checkBumped makes sure that every resource of the rebuilt cluster that
// carries the version label, or the version where a locator reads it,
// carries the target: a value written somewhere no locator found would
// otherwise leave a resource on the old release.
func checkBumped(c *render.Cluster, label string, locators []render.Locator, target *semver.Version) error {
	var stale []string
	for _, l := range locators {
		if _, ok := l.(render.Label); !ok {
			stale = append(stale, l.Stale(c, target.String())...)
		}
	}
	for _, r := range c.Resources {
		v, ok := r.Object.GetLabels()[label]
		if !ok {
			continue
		}
		if got, err := releases.ParseVersion(v); err != nil || !got.Equal(target) {
			stale = append(stale, fmt.Sprintf("%s %s (%s, from %s)", r.Object.GetKind(), r.Object.GetName(), v, r.Source.Path))
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("after the bump, %s still carry another version than v%s: the version is also written somewhere upgrade-bot cannot edit; change it there by hand or open an issue with the file", summarizeList(stale, 5), target)
	}
	return nil
}

// planRun is what the clusters of one plan share.
type planRun struct {
	repo     *render.Repository
	target   *semver.Version
	req      Request
	renderer Renderer
	locators []render.Locator
	deltas   releaseDeltas
}

// releaseDeltas remembers the component changes between two releases for
// one plan: a fleet has few distinct (from, to) pairs and many clusters. The
// slices are shared between cluster plans and never modified.
type releaseDeltas struct{ m sync.Map }

func (d *releaseDeltas) compare(from, to *releases.Release) []releases.Change {
	key := from.Provider + "|" + from.Version.String() + "|" + to.Version.String()
	if v, ok := d.m.Load(key); ok {
		return v.([]releases.Change)
	}
	v, _ := d.m.LoadOrStore(key, releases.Compare(from, to))
	return v.([]releases.Change)
}

func renderDiffs(ctx context.Context, r Renderer, cp *ClusterPlan, before, after *render.Cluster) error {
	current := r.Render
	if cr, ok := r.(currentRenderer); ok {
		current = cr.Current
	}
	beforeObjs, w1, err := current(ctx, cp.Provider, objects(before))
	if err != nil {
		return fmt.Errorf("rendering the cluster under v%s: %w", cp.From, err)
	}
	afterObjs, w2, err := r.Render(ctx, cp.Provider, objects(after))
	if err != nil {
		return fmt.Errorf("rendering the cluster under v%s: %w", cp.To, err)
	}
	// Warnings about the current release's ConfigMaps matter less than the
	// target's, but both say that something is rendered as written.
	cp.Warnings = append(cp.Warnings, dedupe(append(w2, w1...))...)

	byKey := make(map[string]*unstructured.Unstructured, len(afterObjs))
	for _, o := range afterObjs {
		byKey[objectKey(o)] = o
	}
	for _, b := range beforeObjs {
		a := byKey[objectKey(b)]
		delete(byKey, objectKey(b))
		d, err := diff.Objects(b, a)
		if err != nil {
			return fmt.Errorf("diffing %s %s: %w", b.GetKind(), objectName(b), err)
		}
		cp.Resources = append(cp.Resources, d)
	}
	// Objects only the bumped repository declares (rare: a kustomize
	// component switched on by the version) are additions.
	for _, a := range afterObjs {
		if _, ok := byKey[objectKey(a)]; !ok {
			continue
		}
		d, err := diff.Objects(nil, a)
		if err != nil {
			return fmt.Errorf("diffing %s %s: %w", a.GetKind(), objectName(a), err)
		}
		cp.Resources = append(cp.Resources, d)
	}
	return nil
}

func objects(c *render.Cluster) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(c.Resources))
	for _, r := range c.Resources {
		out = append(out, r.Object)
	}
	return out
}

func dedupe(items []string) []string {
	seen := make(map[string]bool, len(items))
	out := items[:0]
	for _, s := range items {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
