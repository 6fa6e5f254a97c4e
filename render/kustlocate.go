package render

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Where a kustomized cluster's version comes from is found by asking
// kustomize itself: every place in the files the build reads that writes
// the built value (under the label key, or as the value of a JSON patch
// operation) gets a distinct stand-in value, the root is built once more
// in memory, and the stand-in each resource ends up with names the place
// that won — whatever the order of resources, bases, components, patches
// and labels. That place is what the bump edits.

// candidate is a place in the files of a build that may write the version.
type candidate struct {
	span span
	what string // description of the place
	// err is set when the value cannot be edited in place (a block scalar,
	// escapes); such places are not probed.
	err error
}

// probeSpec says what a probe looks for: the values objects carry in one
// field, and the key that field is written under in the files.
type probeSpec struct {
	// id names the probe for the root's cache.
	id string
	// key is the mapping key the value is written under (the label key,
	// "version", the last element of a values path); the value of a JSON
	// patch operation is a candidate too.
	key string
	// read is the value a built object carries, and whether it has one.
	read func(o *object) (string, bool)
	// what names the value in descriptions ("label k", "spec.version").
	what string
	// embedded also looks into YAML texts held in literal blocks of any
	// file (a ConfigMap's data.values), not only in inline patches.
	embedded bool
}

// labelProbe is the probe of the version label key.
func labelProbe(key string) probeSpec {
	return probeSpec{id: "label:" + key, key: key, what: "label " + key, read: func(o *object) (string, bool) {
		v, ok := o.res.Object.GetLabels()[key]
		return v, ok
	}}
}

// probeResult says, for one kustomize root and probe, which candidate
// each built resource took its value from.
type probeResult struct {
	candidates []candidate
	winners    map[string]int // object identity → candidate index
}

// probeSentinel is the stand-in value for candidate i: a valid label value
// and a plain YAML string in any quoting.
func probeSentinel(i int) string { return fmt.Sprintf("0.0.%d-upgrade-bot-probe", i) }

// locateKustomized returns the places each labelled resource of c takes
// its version from. r.mu must be held.
func (r *Repository) locateKustomized(ctx context.Context, c *Cluster, u *unit, key string) ([]Location, error) {
	return r.locateProbed(ctx, c, u, labelProbe(key), func(m *object, val string, cand candidate) (Location, error) {
		if !m.isCluster() {
			return Location{}, errSkip
		}
		for _, cand := range r.probeCandidates(u.kust, labelProbe(key)) {
			if cand.err != nil && cand.span.value == val {
				return Location{}, cand.err
			}
		}
		return Location{}, fmt.Errorf("kustomization %s gives Cluster %s the label value %q, but no file it reads writes that value where upgrade-bot can find it (is it generated, or substituted by Flux from a Kustomization outside the repository?)",
			u.kust.dir, clusterID(c.Namespace, c.Name), val)
	}, forMember, "label")
}

// forMember describes the place cand for the built resource m: the place
// alone when it is m's own document, else the place and whom it is for.
func forMember(m *object, cand candidate) string {
	if strings.Contains(cand.what, " of "+m.kind+" "+m.name+" in ") {
		return cand.what
	}
	return fmt.Sprintf("%s, for %s %s", cand.what, m.kind, clusterID(m.namespace, m.name))
}

// errSkip tells locateProbed to leave a resource out.
var errSkip = errors.New("skip")

// locateProbed returns the places the members of c that carry a value for
// spec take it from. notFound says what to do about a member whose value
// no candidate wrote (errSkip leaves it out); describe says what a place
// is for a member. r.mu must be held.
func (r *Repository) locateProbed(ctx context.Context, c *Cluster, u *unit, spec probeSpec,
	notFound func(m *object, val string, cand candidate) (Location, error),
	describe func(m *object, cand candidate) string, locator string) ([]Location, error) {
	p, err := r.probe(ctx, u.kust, spec)
	if err != nil {
		return nil, err
	}
	var locs []Location
	for _, m := range u.members {
		val, has := spec.read(m)
		if !has {
			continue
		}
		i, ok := p.winners[m.identity()]
		if !ok {
			l, err := notFound(m, val, candidate{})
			if errors.Is(err, errSkip) {
				continue
			}
			if err != nil {
				return nil, err
			}
			locs = appendLocation(locs, l)
			continue
		}
		s := p.candidates[i].span
		locs = appendLocation(locs, Location{
			Locator: locator, Path: s.path, Line: s.line, Column: s.column,
			Offset: s.offset, Length: s.length, Value: s.value,
			Description: describe(m, p.candidates[i]),
		})
	}
	return locs, nil
}

// probeCandidates are the candidates of a probe already run.
func (r *Repository) probeCandidates(k *kustRoot, spec probeSpec) []candidate {
	if p, ok := k.probe[spec.id]; ok {
		return p.candidates
	}
	return nil
}

// sharedKustomized fills Shared with the other clusters, of this root or
// any other whose build reads the same file, whose version comes from the
// same place. r.mu must be held.
func (r *Repository) sharedKustomized(ctx context.Context, c *Cluster, spec probeSpec, locs []Location) error {
	for i := range locs {
		roots := r.readers[locs[i].Path]
		for _, other := range roots {
			p, err := r.probe(ctx, other, spec)
			if err != nil {
				continue
			}
			for _, oc := range other.clusters {
				if oc == c {
					continue
				}
				for _, m := range r.units[oc].members {
					w, ok := p.winners[m.identity()]
					if ok && p.candidates[w].span.path == locs[i].Path && p.candidates[w].span.offset == locs[i].Offset {
						locs[i].Shared = appendUnique(locs[i].Shared, clusterID(oc.Namespace, oc.Name))
						break
					}
				}
			}
		}
		slices.Sort(locs[i].Shared)
	}
	return nil
}

// probe computes (once) where the values of a root's resources come from.
// r.mu must be held.
func (r *Repository) probe(ctx context.Context, k *kustRoot, spec probeSpec) (*probeResult, error) {
	if k.probe == nil {
		k.probe = map[string]*probeResult{}
	}
	if p, ok := k.probe[spec.id]; ok {
		return p, nil
	}
	wanted := map[string]bool{}
	for _, c := range k.clusters {
		for _, m := range r.units[c].members {
			if v, ok := spec.read(m); ok {
				wanted[v] = true
			}
		}
	}
	p := &probeResult{winners: map[string]int{}}
	if len(wanted) > 0 {
		p.candidates = k.candidates(spec, wanted)
	}
	changes := map[string][]byte{}
	var edits []edit
	for i, cand := range p.candidates {
		if cand.err == nil {
			edits = append(edits, edit{path: cand.span.path, offset: cand.span.offset, length: cand.span.length, text: probeSentinel(i)})
		}
	}
	if len(edits) == 0 {
		k.probe[spec.id] = p
		return p, nil
	}
	for file, fileEdits := range groupEdits(edits) {
		data, ok := k.reads[file]
		if !ok && k.flux != nil && file == k.flux.file.path {
			data = k.flux.file.data
		}
		out, err := applyEdits(data, fileEdits)
		if err != nil {
			return nil, err
		}
		changes[file] = out
	}
	fk := k.flux
	if fk != nil {
		var err error
		if fk, err = fk.withChanges(changes); err != nil {
			return nil, err
		}
	}
	res, err := build(ctx, r.Root, k.dir, changes, fk)
	if err != nil {
		return nil, fmt.Errorf("building %s with stand-in versions to find where the version is written: %w", k.dir, err)
	}
	sentinels := map[string]int{}
	for i := range p.candidates {
		sentinels[probeSentinel(i)] = i
	}
	for _, o := range res.objects {
		v, _ := spec.read(o)
		if i, ok := sentinels[v]; ok {
			p.winners[o.identity()] = i
		}
	}
	k.probe[spec.id] = p
	return p, nil
}

// candidates lists the places in the files the build read that write one
// of the wanted values under key, or as a JSON patch operation's value,
// including inside inline patches. r.mu must be held.
func (k *kustRoot) candidates(spec probeSpec, wanted map[string]bool) []candidate {
	var out []candidate
	seen := map[string]bool{}
	add := func(ref scalarRef, what string) {
		s, err := ref.locate()
		id := fmt.Sprintf("%s:%d:%d", ref.file.path, ref.node.Line, ref.node.Column)
		if err == nil {
			id = fmt.Sprintf("%s@%d", s.path, s.offset)
		} else {
			s = span{path: ref.file.path, value: ref.node.Value}
		}
		if seen[id] {
			return
		}
		seen[id] = true
		out = append(out, candidate{span: s, what: what, err: err})
	}
	files := make([]string, 0, len(k.reads))
	for f := range k.reads {
		files = append(files, f)
	}
	slices.Sort(files)
	for _, name := range files {
		f := k.parsedFile(name)
		if f == nil {
			continue
		}
		isKust := slices.Contains(kustomizationFiles, path.Base(name))
		for _, d := range f.docs {
			w := walker{key: spec.key, what: spec.what, wanted: wanted, file: f, isKust: isKust, embedAll: spec.embedded, add: add}
			w.doc(d.top)
		}
	}
	// The variables of a Flux Kustomization's post-build substitution
	// write the values of the resources that use them.
	if fk := k.flux; fk != nil {
		subst := lookup(lookup(lookup(fk.doc.top, "spec"), "postBuild"), "substitute")
		if subst != nil && subst.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(subst.Content); i += 2 {
				if v := resolve(subst.Content[i+1]); v != nil && v.Kind == yaml.ScalarNode && wanted[v.Value] {
					add(scalarRef{file: fk.file, node: v}, fmt.Sprintf("postBuild.substitute.%s of %s in %s", subst.Content[i].Value, fk.ID(), fk.file.path))
				}
			}
		}
	}
	return out
}

func (k *kustRoot) parsedFile(name string) *sourceFile {
	if f, ok := k.parsed[name]; ok {
		return f
	}
	f, _ := parseFile(name, k.reads[name])
	k.parsed[name] = f
	return f
}

// walker visits the nodes of one document looking for candidates.
type walker struct {
	key    string
	wanted map[string]bool
	file   *sourceFile // the file or embedded text being walked
	embed  *embedding
	isKust bool
	// embedAll walks YAML texts in the literal blocks of any file.
	embedAll bool
	add      func(scalarRef, string)

	what string // what the value is, as the probe names it ("label k")

	topKey string // the kustomization field being walked
	kind   string // the resource being walked
	name   string
}

func (w walker) doc(top *yaml.Node) {
	if top == nil {
		return
	}
	_, w.kind = (&document{top: top}).typeMeta()
	w.name, _ = scalarString(lookup(lookup(top, "metadata"), "name"))
	if w.isKust && w.embed == nil && top.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(top.Content); i += 2 {
			w.topKey = top.Content[i].Value
			w.node(top.Content[i+1], "")
		}
		return
	}
	w.node(top, "")
}

func (w walker) node(n *yaml.Node, key string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.node(n.Content[i+1], n.Content[i].Value)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			w.node(c, "")
		}
	case yaml.AliasNode:
		if v := resolve(n); v != nil && v.Kind == yaml.ScalarNode && (key == w.key || key == "value") && w.wanted[v.Value] {
			w.add(scalarRef{file: w.file, node: v, embed: w.embed}, w.describe(key))
		}
	case yaml.ScalarNode:
		if (key == w.key || key == "value") && w.wanted[n.Value] {
			w.add(scalarRef{file: w.file, node: n, embed: w.embed}, w.describe(key))
			return
		}
		// Inline patches: a YAML text in a literal block of a
		// kustomization (patches[].patch, patchesStrategicMerge[]).
		if w.embed == nil && n.Style&yaml.LiteralStyle != 0 && (w.isKust && (key == "patch" || key == "") || w.embedAll) {
			w.embedded(n, key)
		}
	}
}

func (w walker) embedded(block *yaml.Node, key string) {
	inner, problem := parseFile(w.file.path, []byte(block.Value))
	if problem != nil {
		return
	}
	e := w
	e.embed = &embedding{outer: w.file, block: block, key: key, kind: w.kind, name: w.name}
	e.file = inner
	for _, d := range inner.docs {
		e.doc(d.top)
	}
}

func (w walker) describe(key string) string {
	path := w.file.path
	if w.embed != nil {
		path = w.embed.outer.path
	}
	switch {
	case w.embed != nil && !w.isKust:
		return fmt.Sprintf("%s in data.%s of %s %s in %s", w.what, w.embed.key, cmp.Or(w.embed.kind, "resource"), w.embed.name, path)
	case w.embed != nil:
		return fmt.Sprintf("inline patch (%s) in %s", w.topKey, path)
	case w.isKust:
		return fmt.Sprintf("%s of %s", w.topKey, path)
	case key == "value":
		return fmt.Sprintf("JSON patch value in %s", path)
	case w.kind == "":
		return fmt.Sprintf("%s in %s", w.what, path)
	default:
		return fmt.Sprintf("%s of %s %s in %s", w.what, w.kind, w.name, path)
	}
}
