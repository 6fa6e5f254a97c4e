package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/diff"
)

// LiveCluster is what upgrading by a direct patch needs of the management
// cluster; dryrun.Renderer is one.
type LiveCluster interface {
	Live(ctx context.Context, namespace, name string, kinds []schema.GroupKind) ([]*unstructured.Unstructured, error)
	PatchLabel(ctx context.Context, obj *unstructured.Unstructured, label, from, to string, dryRun bool) (*unstructured.Unstructured, error)
	Annotate(ctx context.Context, obj *unstructured.Unstructured, annotations map[string]string) error
}

// The annotations of Giant Swarm's upgrade-schedule-operator: it sets the
// release label at the given time.
const (
	ScheduleReleaseAnnotation = "alpha.giantswarm.io/update-schedule-target-release"
	ScheduleTimeAnnotation    = "alpha.giantswarm.io/update-schedule-target-time"
	// ScheduleLead is how far ahead the operator needs the time to be.
	ScheduleLead = 16 * time.Minute
)

// ClusterKinds are the kinds whose live resources a direct upgrade patches
// when they carry the version label.
var ClusterKinds = []schema.GroupKind{
	{Group: "cluster.x-k8s.io", Kind: "Cluster"},
	{Group: "cluster.x-k8s.io", Kind: "MachinePool"},
	{Group: "cluster.x-k8s.io", Kind: "MachineDeployment"},
	{Group: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane"},
	{Group: "bootstrap.cluster.x-k8s.io", Kind: "KubeadmConfig"},
	{Group: "bootstrap.cluster.x-k8s.io", Kind: "KubeadmConfigTemplate"},
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "AWSCluster"},
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "AWSMachinePool"},
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "AWSMachineTemplate"},
}

// Applier upgrades a cluster the old way — patching its version label on
// the management cluster — after showing the same rendered diff as a plan:
// each resource as it lives now against the dry-run of the patch.
type Applier struct {
	Cluster LiveCluster
	Catalog *releases.Catalog
	// Label is the version label; render.DefaultVersionLabel when empty.
	Label string
	// Now tells the time (end of life); time.Now when nil.
	Now func() time.Time
}

// Applying is a previewed direct upgrade, ready to be carried out.
type Applying struct {
	Plan    *ClusterPlan
	objects []*unstructured.Unstructured
}

// Preview reads the cluster's live resources and renders the upgrade to
// target through the admission chain (dry-run), without changing anything.
func (a *Applier) Preview(ctx context.Context, namespace, name, target string, force bool) (*Applying, error) {
	label := a.Label
	if label == "" {
		label = render.DefaultVersionLabel
	}
	to, err := releases.ParseVersion(target)
	if err != nil {
		return nil, invalidf("target release %q: %w", target, err)
	}
	live, err := a.Cluster.Live(ctx, namespace, name, ClusterKinds)
	if err != nil {
		return nil, invalid(err)
	}
	cp := &ClusterPlan{Name: name, Namespace: namespace, To: to.String()}
	var labelled []*unstructured.Unstructured
	versions := map[string][]string{}
	for _, obj := range live {
		v, ok := obj.GetLabels()[label]
		if !ok {
			continue
		}
		labelled = append(labelled, obj)
		versions[v] = append(versions[v], obj.GetKind()+" "+obj.GetName())
		if obj.GetKind() == "Cluster" {
			kind, _, _ := unstructured.NestedString(obj.Object, "spec", "infrastructureRef", "kind")
			cp.Provider, _ = releases.ProviderFor(kind)
		}
	}
	if len(labelled) == 0 {
		return nil, invalidf("cluster %s has no resource labelled %s on the management cluster", cp.ID(), label)
	}
	if len(versions) > 1 {
		var parts []string
		for v, objs := range versions {
			parts = append(parts, fmt.Sprintf("%s on %s", v, strings.Join(objs, ", ")))
		}
		sort.Strings(parts)
		return nil, invalidf("cluster %s is mid-upgrade or inconsistent on the management cluster (%s): bring its resources to one release first", cp.ID(), strings.Join(parts, "; "))
	}
	var current string
	for v := range versions {
		current = v
	}
	from, err := releases.ParseVersion(current)
	if err != nil {
		return nil, invalidf("cluster %s is on %q, which is not a release version: %w", cp.ID(), current, err)
	}
	if cp.Provider == "" {
		return nil, invalidf("cannot tell the release provider of cluster %s from its infrastructure kind", cp.ID())
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	onTarget, err := checkPath(a.Catalog, cp, from, to, force, now(), releases.Compare)
	if err != nil {
		return nil, err
	}
	if onTarget {
		return &Applying{Plan: cp}, nil
	}
	cp.Warnings = append(cp.Warnings, "this patches the management cluster directly: if Flux applies this cluster from git, it sets the label back to v"+cp.From+" at its next reconciliation unless the repository is changed too (upgrade-bot propose)")
	for _, obj := range labelled {
		after, err := a.Cluster.PatchLabel(ctx, obj, label, current, versionAsWritten(current, to.String()), true)
		if err != nil {
			return nil, invalid(err)
		}
		d, err := diff.Objects(obj, after)
		if err != nil {
			return nil, fmt.Errorf("diffing %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		cp.Resources = append(cp.Resources, d)
	}
	cp.Status = StatusUpgrade
	return &Applying{Plan: cp, objects: labelled}, nil
}

// Apply patches the label of every previewed resource, the Cluster last
// (its label is what starts the upgrade). A label changed since the
// preview stops it with a dryrun.ConflictError.
func (a *Applier) Apply(ctx context.Context, ap *Applying) ([]string, error) {
	if ap.Plan.Status != StatusUpgrade {
		return nil, nil
	}
	label := a.Label
	if label == "" {
		label = render.DefaultVersionLabel
	}
	objs := append([]*unstructured.Unstructured(nil), ap.objects...)
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].GetKind() != "Cluster" && objs[j].GetKind() == "Cluster" })
	var done []string
	for _, obj := range objs {
		current := obj.GetLabels()[label]
		if _, err := a.Cluster.PatchLabel(ctx, obj, label, current, versionAsWritten(current, ap.Plan.To), false); err != nil {
			return done, invalid(fmt.Errorf("patching %s %s (after %d of %d): %w", obj.GetKind(), obj.GetName(), len(done), len(objs), err))
		}
		done = append(done, obj.GetKind()+" "+obj.GetName())
	}
	return done, nil
}

// Schedule asks the upgrade-schedule-operator to upgrade the previewed
// cluster at the given time, by annotating its Cluster; nothing else
// changes now.
func (a *Applier) Schedule(ctx context.Context, ap *Applying, at time.Time) error {
	if ap.Plan.Status != StatusUpgrade {
		return nil
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if earliest := now().Add(ScheduleLead); at.Before(earliest) {
		return invalidf("--at %s is too soon: the upgrade-schedule-operator needs at least %v, so the earliest is %s", at.UTC().Format(time.RFC822), ScheduleLead, earliest.UTC().Format(time.RFC822))
	}
	for _, obj := range ap.objects {
		if obj.GetKind() != "Cluster" {
			continue
		}
		return a.Cluster.Annotate(ctx, obj, map[string]string{
			ScheduleReleaseAnnotation: ap.Plan.To,
			ScheduleTimeAnnotation:    at.UTC().Format(time.RFC822),
		})
	}
	return invalidf("cluster %s has no labelled Cluster resource to schedule on", ap.Plan.ID())
}

// versionAsWritten writes to with a leading v when current has one.
func versionAsWritten(current, to string) string {
	if strings.HasPrefix(current, "v") {
		return "v" + to
	}
	return to
}
