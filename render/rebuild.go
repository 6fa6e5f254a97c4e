package render

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Rebuild returns cluster c as the repository declares it with changes
// applied, without writing anything: the cluster's kustomize root is built
// again with the changed files served from memory, or its plain files are
// read again. The result shares nothing with c.
func (r *Repository) Rebuild(ctx context.Context, c *Cluster, changes []FileChange) (*Cluster, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, u, err := r.unitOf(c)
	if err != nil {
		return nil, err
	}
	changed := make(map[string][]byte, len(changes))
	for _, ch := range changes {
		changed[ch.Path] = ch.After
	}
	var g grouped
	if u.kust != nil {
		fk := u.kust.flux
		if fk != nil {
			if fk, err = fk.withChanges(changed); err != nil {
				return nil, err
			}
		}
		r.mu.Lock()
		res, err := build(ctx, r.Root, u.kust.dir, changed, fk)
		r.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("building %s with the changes: %w", u.kust.dir, err)
		}
		setSourceLines(res.objects, res.reads)
		g = groupClusters(res.objects, u.kust.dir, r.label)
		for _, nc := range g.clusters {
			nc.Flux, nc.Warnings = c.Flux, c.Warnings
		}
	} else {
		if nc, ok := r.rebuildLabelsOnly(c, u, changed); ok {
			return nc, nil
		}
		if g, err = r.reparse(u, changed); err != nil {
			return nil, err
		}
	}
	for _, nc := range g.clusters {
		if nc.Name == c.Name && nc.Namespace == c.Namespace {
			return nc, nil
		}
	}
	return nil, fmt.Errorf("cluster %s is no longer declared in %s after the changes", clusterID(c.Namespace, c.Name), c.Root)
}

// memberFiles lists the files holding a cluster's resources, sorted.
func memberFiles(u *unit) []string {
	var files []string
	for _, m := range u.members {
		if !slices.Contains(files, m.res.Source.Path) {
			files = append(files, m.res.Source.Path)
		}
	}
	slices.Sort(files)
	return files
}

// reparse reads the files of a plain-file cluster again, with changes.
func (r *Repository) reparse(u *unit, changed map[string][]byte) (grouped, error) {
	var objs []*object
	for _, p := range memberFiles(u) {
		data, ok := changed[p]
		if !ok {
			data = r.files[p].data
		}
		f, problem := parseFile(p, data)
		if problem != nil {
			return grouped{}, fmt.Errorf("reading the changed file: %s", problem)
		}
		apps := bytes.Contains(data, appMarker)
		for _, d := range f.docs {
			o, problem := d.capiObject(apps)
			if problem != nil {
				return grouped{}, fmt.Errorf("reading the changed file: %s", problem)
			}
			objs = append(objs, o...)
		}
	}
	return groupClusters(objs, "", r.label), nil
}

// labelSpan is where a document of a file writes its version label.
type labelSpan struct {
	span
	doc   *document
	plain bool // written without quotes
}

// rebuildLabelsOnly is the fast path of Rebuild for plain files: when the
// changes do nothing but replace version label values (what Bump does), the
// resources are copied and those labels set, without parsing. It reports
// false when the changes are anything else.
func (r *Repository) rebuildLabelsOnly(c *Cluster, u *unit, changed map[string][]byte) (*Cluster, bool) {
	newValues := map[*document]string{}
	for _, p := range memberFiles(u) {
		after, ok := changed[p]
		if !ok {
			continue
		}
		f := r.files[p]
		// Anchors and aliases can carry a value to other places; let the
		// parser sort those out.
		if bytes.ContainsAny(f.data, "&*") {
			return nil, false
		}
		spans := labelSpans(f, r.label)
		values, ok := matchValueEdits(f.data, after, spans)
		if !ok {
			return nil, false
		}
		for i, v := range values {
			newValues[spans[i].doc] = v
		}
	}
	nc := &Cluster{Name: c.Name, Namespace: c.Namespace, InfrastructureKind: c.InfrastructureKind, Root: c.Root, VersionLabel: c.VersionLabel, Chart: c.Chart, Flux: c.Flux, Warnings: c.Warnings}
	for _, m := range u.members {
		obj := m.res.Object.DeepCopy()
		if v, ok := newValues[m.doc]; ok {
			labels := obj.GetLabels()
			labels[r.label] = v
			obj.SetLabels(labels)
		}
		nc.Resources = append(nc.Resources, &Resource{Object: obj, Source: m.res.Source})
	}
	nc.Labels = nc.Resources[0].Object.GetLabels()
	return nc, true
}

// labelSpans lists, in file order, the version labels of the Cluster API
// documents of a file that can be edited in place.
func labelSpans(f *sourceFile, key string) []labelSpan {
	var out []labelSpan
	for _, d := range f.docs {
		if apiVersion, _ := d.typeMeta(); !isCAPIGroup(apiGroup(apiVersion)) {
			continue
		}
		v := d.labelValue(key)
		if v == nil || v.Kind != yaml.ScalarNode {
			continue
		}
		s, err := scalarRef{file: f, node: v}.locate()
		if err != nil {
			continue
		}
		out = append(out, labelSpan{span: s, doc: d, plain: v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0})
	}
	slices.SortFunc(out, func(a, b labelSpan) int { return a.offset - b.offset })
	return out
}

// matchValueEdits tells whether after is before with only the values of
// spans replaced (each by a label value that stays a string), and returns
// the new values.
func matchValueEdits(before, after []byte, spans []labelSpan) ([]string, bool) {
	values := make([]string, len(spans))
	pos, apos := 0, 0
	for i, s := range spans {
		if s.offset < pos {
			return nil, false
		}
		seg := before[pos:s.offset]
		if !bytes.HasPrefix(after[apos:], seg) {
			return nil, false
		}
		apos += len(seg)
		n := 0
		for apos+n < len(after) && isLabelChar(after[apos+n]) {
			n++
		}
		v := string(after[apos : apos+n])
		if !labelValueRE.MatchString(v) {
			return nil, false
		}
		if s.plain && v != s.value && (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).ShortTag() != "!!str" {
			return nil, false
		}
		values[i] = v
		apos += n
		pos = s.offset + s.length
	}
	return values, bytes.Equal(before[pos:], after[apos:])
}

func isLabelChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '-' || b == '_'
}
