package render

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The locators' defaults.
const (
	// DefaultSubstituteVariable is the post-build variable of a Flux
	// Kustomization that holds the release (Giant Swarm's gitops-template).
	DefaultSubstituteVariable = "cluster_release"
	// DefaultValuesKey is the ConfigMap data key holding an App's values.
	DefaultValuesKey = "values"
	// DefaultValuesPath is where the cluster charts read the release.
	DefaultValuesPath = "global.release.version"
)

// DefaultReleaseCharts are the charts whose App's spec.version is the
// release version: release-<provider>.
func DefaultReleaseCharts() []string { return []string{"release-*"} }

// Stale implements Locator: the resources that carry the label with
// another version.
func (l Label) Stale(c *Cluster, version string) []string {
	key := cmp.Or(l.Key, c.VersionLabel, DefaultVersionLabel)
	var out []string
	for _, r := range c.Resources {
		if v, ok := r.Object.GetLabels()[key]; ok && canonical(v) != canonical(version) {
			out = append(out, fmt.Sprintf("%s %s (label %s: %s, from %s)", r.Object.GetKind(), r.Object.GetName(), key, v, r.Source.Path))
		}
	}
	return out
}

// FluxSubstitute locates the version written as a variable of the
// post-build substitution of the Flux Kustomization whose path builds the
// cluster: spec.postBuild.substitute.cluster_release. Rendering applies
// the substitution the way Flux does, so the resources carry the value.
type FluxSubstitute struct {
	// Variable is the variable; DefaultSubstituteVariable when empty.
	Variable string
}

var _ Locator = FluxSubstitute{}

// Name implements Locator.
func (FluxSubstitute) Name() string { return "flux-substitute" }

// Locate implements Locator.
func (l FluxSubstitute) Locate(ctx context.Context, repo *Repository, c *Cluster) ([]Location, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, u, err := repo.unitOf(c)
	if err != nil {
		return nil, err
	}
	if u.kust == nil || u.kust.flux == nil {
		return nil, nil
	}
	fk, name := u.kust.flux, cmp.Or(l.Variable, DefaultSubstituteVariable)
	n := resolve(fk.varNode(name))
	if n == nil {
		return nil, nil
	}
	s, err := scalarRef{file: fk.file, node: n}.locate()
	if err != nil {
		return nil, fmt.Errorf("locating postBuild.substitute.%s of %s: %w", name, fk.ID(), err)
	}
	loc := Location{
		Locator: l.Name(), Path: s.path, Line: s.line, Column: s.column, Offset: s.offset, Length: s.length, Value: s.value,
		Description: fmt.Sprintf("postBuild.substitute.%s of %s", name, fk.ID()),
	}
	for _, other := range u.kust.clusters {
		if other != c {
			loc.Shared = appendUnique(loc.Shared, clusterID(other.Namespace, other.Name))
		}
	}
	slices.Sort(loc.Shared)
	if !u.kust.used[name] {
		loc.Unused = true
		loc.Warnings = append(loc.Warnings, fmt.Sprintf("no resource %s builds uses ${%s}: bumping it in %s changes nothing that Flux applies", fk.ID(), name, loc))
	}
	return []Location{loc}, nil
}

// Stale implements Locator: the variable is not in the resources, so
// nothing can be stale.
func (FluxSubstitute) Stale(*Cluster, string) []string { return nil }

// AppVersion locates the version written as spec.version of the App
// (application.giantswarm.io/v1alpha1) of a release chart of the cluster.
type AppVersion struct {
	// Charts are globs (path.Match) on the App's spec.name;
	// DefaultReleaseCharts when empty.
	Charts []string
}

var _ Locator = AppVersion{}

// Name implements Locator.
func (AppVersion) Name() string { return "app-version" }

func (l AppVersion) charts() []string {
	if len(l.Charts) > 0 {
		return l.Charts
	}
	return DefaultReleaseCharts()
}

func (l AppVersion) probe() probeSpec {
	charts := l.charts()
	return probeSpec{id: "app-version:" + strings.Join(charts, ","), key: "version", what: "spec.version", read: func(o *object) (string, bool) {
		if !o.isApp() || !anyMatch(charts, o.chart()) {
			return "", false
		}
		v, ok, _ := unstructured.NestedString(o.res.Object.Object, "spec", "version")
		return v, ok && v != ""
	}}
}

func anyMatch(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

// Locate implements Locator.
func (l AppVersion) Locate(ctx context.Context, repo *Repository, c *Cluster) ([]Location, error) {
	return repo.locateField(ctx, c, l.Name(), l.probe(), func(d *document) *scalarRef {
		n := resolve(lookup(lookup(d.top, "spec"), "version"))
		if n == nil {
			return nil
		}
		return &scalarRef{file: d.file, node: n}
	})
}

// Stale implements Locator.
func (l AppVersion) Stale(c *Cluster, version string) []string {
	return staleField(c, l.probe(), version)
}

// Values locates the version written in the YAML document a ConfigMap of
// the cluster holds in its data (an App's values): data.values, at
// global.release.version. The bump edits the value inside the embedded
// document; the rest of both documents keeps its bytes.
type Values struct {
	// Key is the data key; DefaultValuesKey when empty.
	Key string
	// Path is the dot-separated path in the embedded document;
	// DefaultValuesPath when empty.
	Path string
}

var _ Locator = Values{}

// Name implements Locator.
func (Values) Name() string { return "values" }

func (l Values) path() []string {
	return strings.Split(cmp.Or(l.Path, DefaultValuesPath), ".")
}

func (l Values) probe() probeSpec {
	key, p := cmp.Or(l.Key, DefaultValuesKey), l.path()
	return probeSpec{id: "values:" + key + ":" + strings.Join(p, "."), key: p[len(p)-1], what: strings.Join(p, "."), embedded: true,
		read: func(o *object) (string, bool) {
			if !o.isConfigMap() {
				return "", false
			}
			text, ok, _ := unstructured.NestedString(o.res.Object.Object, "data", key)
			if !ok {
				return "", false
			}
			var doc yaml.Node
			if yaml.Unmarshal([]byte(text), &doc) != nil || len(doc.Content) == 0 {
				return "", false
			}
			n := doc.Content[0]
			for _, k := range p {
				n = lookup(n, k)
			}
			v, ok := scalarString(n)
			return v, ok && v != ""
		}}
}

// Locate implements Locator.
func (l Values) Locate(ctx context.Context, repo *Repository, c *Cluster) ([]Location, error) {
	key, p := cmp.Or(l.Key, DefaultValuesKey), l.path()
	return repo.locateField(ctx, c, l.Name(), l.probe(), func(d *document) *scalarRef {
		block := resolve(lookup(lookup(d.top, "data"), key))
		if block == nil || block.Kind != yaml.ScalarNode {
			return nil
		}
		inner, problem := parseFile(d.file.path, []byte(block.Value))
		if problem != nil || len(inner.docs) == 0 {
			return nil
		}
		n := inner.docs[0].top
		for _, k := range p {
			n = lookup(n, k)
		}
		if n = resolve(n); n == nil {
			return nil
		}
		name, _ := scalarString(lookup(lookup(d.top, "metadata"), "name"))
		return &scalarRef{file: inner, node: n, embed: &embedding{outer: d.file, block: block, key: key, kind: "ConfigMap", name: name}}
	})
}

// Stale implements Locator.
func (l Values) Stale(c *Cluster, version string) []string {
	return staleField(c, l.probe(), version)
}

// locateField locates, for the field a probe reads, the places the
// cluster's members take their value from: in the member's own document
// for plain files (ref finds the value's node in it), through a probe
// build for kustomized clusters.
func (r *Repository) locateField(ctx context.Context, c *Cluster, locator string, spec probeSpec, ref func(d *document) *scalarRef) ([]Location, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, u, err := r.unitOf(c)
	if err != nil {
		return nil, err
	}
	var locs []Location
	if u.kust == nil {
		for _, m := range u.members {
			if _, ok := spec.read(m); !ok || m.doc == nil || m.doc.pruned {
				continue
			}
			sr := ref(m.doc)
			if sr == nil {
				continue
			}
			s, err := sr.locate()
			if err != nil {
				return nil, fmt.Errorf("locating %s of %s %s: %w", spec.what, m.kind, clusterID(m.namespace, m.name), err)
			}
			locs = appendLocation(locs, Location{
				Locator: locator, Path: s.path, Line: s.line, Column: s.column, Offset: s.offset, Length: s.length, Value: s.value,
				Description: fmt.Sprintf("%s of %s %s", spec.what, m.kind, clusterID(m.namespace, m.name)),
			})
		}
		return locs, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	locs, err = r.locateProbed(ctx, c, u, spec, func(m *object, val string, _ candidate) (Location, error) {
		for _, cand := range r.probeCandidates(u.kust, spec) {
			if cand.err != nil && cand.span.value == val {
				return Location{}, cand.err
			}
		}
		return Location{}, fmt.Errorf("kustomization %s gives %s %s the %s %q, but no file it reads writes that value where upgrade-bot can find it (is it generated, or substituted from outside the repository?)",
			u.kust.dir, m.kind, clusterID(m.namespace, m.name), spec.what, val)
	}, forMember, locator)
	if err == nil {
		err = r.sharedKustomized(ctx, c, spec, locs)
	}
	if err != nil {
		return nil, fmt.Errorf("locating %s of cluster %s: %w", spec.what, clusterID(c.Namespace, c.Name), err)
	}
	return locs, nil
}

// staleField lists the resources of c whose field, as spec reads it, is
// not version.
func staleField(c *Cluster, spec probeSpec, version string) []string {
	var out []string
	for _, r := range c.Resources {
		o := newObject(r.Object.Object, r.Source, nil)
		if v, ok := spec.read(o); ok && canonical(v) != canonical(version) {
			out = append(out, fmt.Sprintf("%s %s (%s: %s, from %s)", o.kind, o.name, spec.what, v, r.Source.Path))
		}
	}
	return out
}

// DetectLocators are the locators a repository is read with when it does
// not choose: all of them, the label with key (DefaultVersionLabel when
// empty).
func DetectLocators(key string) []Locator {
	return []Locator{Label{Key: key}, FluxSubstitute{}, AppVersion{}, Values{}}
}

// LocateAll runs every locator on c and returns the places they found,
// each place once (the first locator to find it names it), sorted by file
// and offset. A place nothing reads (Unused) is left out, with a warning,
// when another holds the version. Several locators finding different values is for Version to
// report.
func LocateAll(ctx context.Context, repo *Repository, c *Cluster, locators []Locator) ([]Location, error) {
	var locs []Location
	for _, l := range locators {
		found, err := l.Locate(ctx, repo, c)
		if err != nil {
			return nil, fmt.Errorf("locating the version (%s): %w", l.Name(), err)
		}
		for _, f := range found {
			i := slices.IndexFunc(locs, func(x Location) bool { return x.Path == f.Path && x.Offset == f.Offset })
			if i < 0 {
				locs = append(locs, f)
				continue
			}
			locs[i].Shared = slices.Compact(slices.Sorted(slices.Values(append(locs[i].Shared, f.Shared...))))
			for _, w := range f.Warnings {
				if !slices.Contains(locs[i].Warnings, w) {
					locs[i].Warnings = append(locs[i].Warnings, w)
				}
			}
		}
	}
	if used := slices.DeleteFunc(slices.Clone(locs), func(l Location) bool { return l.Unused }); len(used) > 0 && len(used) < len(locs) {
		for _, l := range locs {
			if l.Unused {
				used[0].Warnings = append(used[0].Warnings, fmt.Sprintf("%s (%s) is %q, but nothing the cluster is built from uses it: it is left as it is; remove it or make it the only place", l.Description, l, l.Value))
			}
		}
		locs = used
	}
	slices.SortStableFunc(locs, func(a, b Location) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Offset, b.Offset))
	})
	return locs, nil
}

// Warnings says what a reviewer must know about a bump of c at locs: what
// discovery found (unset ${vars}, TODO placeholders in its Flux
// Kustomization), what the locators found (a variable nothing uses), other
// clusters that share a place, TODO comments on a version's line, and a
// values document whose release version overrides an App's.
func Warnings(repo *Repository, c *Cluster, locs []Location) []string {
	out := slices.Clone(c.Warnings)
	add := func(w string) {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	for _, l := range locs {
		for _, w := range l.Warnings {
			add(w)
		}
		for _, other := range l.Shared {
			add(fmt.Sprintf("the version is written in %s, which cluster %s shares: it is upgraded too", l, other))
		}
		if data, ok := repo.content(l.Path); ok {
			f := &sourceFile{path: l.Path, data: data}
			if line := f.lineText(l.Line); hasTODO(line) {
				add(fmt.Sprintf("%s has a TODO comment on the line of the version: %s", l, strings.TrimSpace(string(line[strings.Index(string(line), "#"):]))))
			}
		}
	}
	for _, v := range locs {
		if v.Locator != "values" {
			continue
		}
		for _, a := range locs {
			if a.Locator == "app-version" {
				add(fmt.Sprintf("the values at %s (%s) override the App's version at %s (%s): the cluster follows the values; if they are a leftover, remove them (the bump edits both)", v, v.Description, a, a.Description))
			}
		}
	}
	return out
}
