package render

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Label locates the version written as a label of the cluster's resources:
// the label on the Cluster, and on every other resource of the cluster
// that carries it in the repository. For kustomized clusters it finds the
// place the built value actually comes from: a resource file, a patch, or
// the labels/commonLabels of a kustomization.
type Label struct {
	// Key is the label; the repository's version label when empty.
	Key string
}

var _ Locator = Label{}

// Name implements Locator.
func (Label) Name() string { return "label" }

// Locate implements Locator. No error and no locations means the cluster
// does not carry the label.
func (l Label) Locate(ctx context.Context, repo *Repository, c *Cluster) ([]Location, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := cmp.Or(l.Key, repo.label)
	if key != repo.label {
		// Discovery keeps only the version label of each document.
		return nil, fmt.Errorf("the repository was read for the version label %s, not %s: discover it with Options{VersionLabel: %q}", repo.label, key, key)
	}
	c, u, err := repo.unitOf(c)
	if err != nil {
		return nil, err
	}
	var locs []Location
	if u.kust == nil {
		locs, err = repo.locatePlain(c, u, key)
		if err == nil {
			err = repo.sharedPlain(c, key, locs)
		}
	} else {
		repo.mu.Lock()
		locs, err = repo.locateKustomized(ctx, c, u, key)
		if err == nil {
			err = repo.sharedKustomized(ctx, c, labelProbe(key), locs)
		}
		repo.mu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("locating label %s of cluster %s: %w", key, clusterID(c.Namespace, c.Name), err)
	}
	return locs, nil
}

// unitOf finds the repository's own cluster for c (c may be a copy).
func (r *Repository) unitOf(c *Cluster) (*Cluster, *unit, error) {
	if u, ok := r.units[c]; ok {
		return c, u, nil
	}
	for _, rc := range r.Clusters {
		if rc.Name == c.Name && rc.Namespace == c.Namespace {
			return rc, r.units[rc], nil
		}
	}
	return nil, nil, fmt.Errorf("cluster %s is not in the repository", clusterID(c.Namespace, c.Name))
}

// locatePlain reads the label from the documents of the cluster's
// resources.
func (r *Repository) locatePlain(c *Cluster, u *unit, key string) ([]Location, error) {
	var locs []Location
	for _, m := range u.members {
		if m.doc == nil {
			continue
		}
		v := m.doc.labelValue(key)
		if v == nil {
			continue
		}
		ref := scalarRef{file: m.doc.file, node: resolve(v)}
		if ref.node == nil {
			continue
		}
		s, err := ref.locate()
		if err != nil {
			return nil, err
		}
		desc := fmt.Sprintf("label %s of %s %s", key, m.kind, clusterID(m.namespace, m.name))
		if v.Kind == yaml.AliasNode {
			desc += fmt.Sprintf(", through the anchor &%s", ref.node.Anchor)
		}
		locs = appendLocation(locs, Location{
			Locator: "label", Path: s.path, Line: s.line, Column: s.column,
			Offset: s.offset, Length: s.length, Value: s.value,
			Description: desc,
		})
	}
	return locs, nil
}

// appendLocation adds l unless the same bytes are already listed.
func appendLocation(locs []Location, l Location) []Location {
	for _, x := range locs {
		if x.Path == l.Path && x.Offset == l.Offset {
			return locs
		}
	}
	return append(locs, l)
}

// sharedPlain fills Shared with the other clusters of the same files whose
// label is the same bytes (an anchor they alias).
func (r *Repository) sharedPlain(c *Cluster, key string, locs []Location) error {
	for i := range locs {
		for _, other := range r.byFile[locs[i].Path] {
			if other == c {
				continue
			}
			theirs, err := r.locatePlain(other, r.units[other], key)
			if err != nil {
				continue
			}
			if slices.ContainsFunc(theirs, func(t Location) bool { return t.Path == locs[i].Path && t.Offset == locs[i].Offset }) {
				locs[i].Shared = appendUnique(locs[i].Shared, clusterID(other.Namespace, other.Name))
			}
		}
	}
	return nil
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// ErrNoVersion is returned (wrapped) by Version when no locator finds the
// cluster's version.
var ErrNoVersion = errors.New("no version")

// VersionConflictError says that the places where a cluster's version is
// written disagree.
type VersionConflictError struct {
	Cluster   string
	Locations []Location
}

// Error lists every location with its value.
func (e *VersionConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the version of cluster %s is written differently in %d places; make them agree:", e.Cluster, len(e.Locations))
	locators := map[string]bool{}
	for _, l := range e.Locations {
		locators[l.Locator] = true
	}
	for _, l := range e.Locations {
		if len(locators) > 1 {
			// Different locators found them: name which.
			fmt.Fprintf(&b, "\n  %s: %q (%s: %s)", l, l.Value, l.Locator, l.Description)
			continue
		}
		fmt.Fprintf(&b, "\n  %s: %q (%s)", l, l.Value, l.Description)
	}
	return b.String()
}

// Version returns the version the locations hold: the value as written
// when they all agree, without a "v" prefix when they differ only in it.
func Version(c *Cluster, locs []Location) (string, error) {
	id := clusterID(c.Namespace, c.Name)
	if len(locs) == 0 && c.Chart != "" {
		return "", fmt.Errorf("%w: cluster %s (an App of the chart %s, built from %s) has no release version where upgrade-bot looks: write it as %s in the data.%s of its values ConfigMap (\"${%s}\" with postBuild.substitute.%s set in the Flux Kustomization works too), or as spec.version of a release-<provider> App, or choose the locators in .upgrade-bot.yaml",
			ErrNoVersion, id, c.Chart, c.Root, DefaultValuesPath, DefaultValuesKey, DefaultSubstituteVariable, DefaultSubstituteVariable)
	}
	if len(locs) == 0 {
		label := cmp.Or(c.VersionLabel, DefaultVersionLabel)
		return "", fmt.Errorf("%w: cluster %s has no label %s; add it under metadata.labels of its Cluster resource (in %s), e.g. `%s: \"30.1.0\"`",
			ErrNoVersion, id, label, c.Root, label)
	}
	first := locs[0].Value
	same := true
	for _, l := range locs[1:] {
		if canonical(l.Value) != canonical(first) {
			return "", &VersionConflictError{Cluster: id, Locations: slices.Clone(locs)}
		}
		same = same && l.Value == first
	}
	if !same {
		return canonical(first), nil
	}
	return first, nil
}

// canonical drops the "v" prefix of a version.
func canonical(v string) string {
	if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') && v[1] >= '0' && v[1] <= '9' {
		return v[1:]
	}
	return v
}
