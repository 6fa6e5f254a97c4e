package render

import (
	"cmp"
	"fmt"
	"path"
	"slices"

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

// probeResult says, for one kustomize root and label key, which candidate
// each built resource took its label from.
type probeResult struct {
	candidates []candidate
	winners    map[string]int // object identity → candidate index
}

// probeSentinel is the stand-in value for candidate i: a valid label value
// and a plain YAML string in any quoting.
func probeSentinel(i int) string { return fmt.Sprintf("0.0.%d-upgrade-bot-probe", i) }

// locateKustomized returns the places each labelled resource of c takes
// its version from. r.mu must be held.
func (r *Repository) locateKustomized(c *Cluster, u *unit, key string) ([]Location, error) {
	p, err := r.probe(u.kust, key)
	if err != nil {
		return nil, err
	}
	var locs []Location
	for _, m := range u.members {
		val, has := m.res.Object.GetLabels()[key]
		if !has {
			continue
		}
		i, ok := p.winners[m.identity()]
		if !ok {
			if !m.isCluster() {
				continue
			}
			for _, cand := range p.candidates {
				if cand.err != nil && cand.span.value == val {
					return nil, cand.err
				}
			}
			return nil, fmt.Errorf("kustomization %s gives Cluster %s the label value %q, but no file it reads writes that value where upgrade-bot can find it (is it substituted by Flux postBuild or generated?)",
				u.kust.dir, clusterID(c.Namespace, c.Name), val)
		}
		s := p.candidates[i].span
		locs = appendLocation(locs, Location{
			Locator: "label", Path: s.path, Line: s.line, Column: s.column,
			Offset: s.offset, Length: s.length, Value: s.value,
			Description: fmt.Sprintf("%s, for %s %s", p.candidates[i].what, m.kind, clusterID(m.namespace, m.name)),
		})
	}
	return locs, nil
}

// sharedKustomized fills Shared with the other clusters, of this root or
// any other whose build reads the same file, whose version comes from the
// same place. r.mu must be held.
func (r *Repository) sharedKustomized(c *Cluster, k *kustRoot, key string, locs []Location) error {
	for i := range locs {
		roots := r.readers[locs[i].Path]
		for _, other := range roots {
			p, err := r.probe(other, key)
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

// probe computes (once) where the labels of a root's resources come from.
// r.mu must be held.
func (r *Repository) probe(k *kustRoot, key string) (*probeResult, error) {
	if k.probe == nil {
		k.probe = map[string]*probeResult{}
	}
	if p, ok := k.probe[key]; ok {
		return p, nil
	}
	wanted := map[string]bool{}
	for _, c := range k.clusters {
		for _, m := range r.units[c].members {
			if v, ok := m.res.Object.GetLabels()[key]; ok {
				wanted[v] = true
			}
		}
	}
	p := &probeResult{winners: map[string]int{}}
	if len(wanted) > 0 {
		p.candidates = k.candidates(key, wanted)
	}
	changes := map[string][]byte{}
	var edits []edit
	for i, cand := range p.candidates {
		if cand.err == nil {
			edits = append(edits, edit{path: cand.span.path, offset: cand.span.offset, length: cand.span.length, text: probeSentinel(i)})
		}
	}
	if len(edits) == 0 {
		k.probe[key] = p
		return p, nil
	}
	for file, fileEdits := range groupEdits(edits) {
		out, err := applyEdits(k.reads[file], fileEdits)
		if err != nil {
			return nil, err
		}
		changes[file] = out
	}
	res, err := build(r.Root, k.dir, changes)
	if err != nil {
		return nil, fmt.Errorf("building %s with stand-in versions to find where the version is written: %w", k.dir, err)
	}
	sentinels := map[string]int{}
	for i := range p.candidates {
		sentinels[probeSentinel(i)] = i
	}
	for _, o := range res.objects {
		if i, ok := sentinels[o.res.Object.GetLabels()[key]]; ok {
			p.winners[o.identity()] = i
		}
	}
	k.probe[key] = p
	return p, nil
}

// candidates lists the places in the files the build read that write one
// of the wanted values under key, or as a JSON patch operation's value,
// including inside inline patches. r.mu must be held.
func (k *kustRoot) candidates(key string, wanted map[string]bool) []candidate {
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
			w := walker{key: key, wanted: wanted, file: f, isKust: isKust, add: add}
			w.doc(d.top)
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
	add    func(scalarRef, string)

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
		if w.isKust && w.embed == nil && n.Style&yaml.LiteralStyle != 0 && (key == "patch" || key == "") {
			w.embedded(n)
		}
	}
}

func (w walker) embedded(block *yaml.Node) {
	inner, problem := parseFile(w.file.path, []byte(block.Value))
	if problem != nil {
		return
	}
	e := w
	e.embed = &embedding{outer: w.file, block: block}
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
	case w.embed != nil:
		return fmt.Sprintf("inline patch (%s) in %s", w.topKey, path)
	case w.isKust:
		return fmt.Sprintf("%s of %s", w.topKey, path)
	case key == "value":
		return fmt.Sprintf("JSON patch value in %s", path)
	default:
		return fmt.Sprintf("label %s of %s %s in %s", w.key, cmp.Or(w.kind, "resource"), w.name, path)
	}
}
