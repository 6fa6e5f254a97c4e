package render

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Options configure discovery.
type Options struct {
	// VersionLabel is the label that selects a cluster's release;
	// DefaultVersionLabel when empty.
	VersionLabel string
}

// Repository is a GitOps tree as upgrade-bot reads it: its clusters, the
// problems found on the way, and what locating, bumping and rebuilding
// need (file contents, kustomize roots). Its methods are safe for
// concurrent use.
type Repository struct {
	// Root is the absolute path of the tree.
	Root string
	// Clusters are sorted by namespace, then name.
	Clusters []*Cluster
	// Problems are sorted by path, then line.
	Problems []Problem

	label string
	// files are the plain files holding Cluster API resources, by path.
	files map[string]*sourceFile
	// units says where each cluster comes from.
	units map[*Cluster]*unit
	// byFile lists the plain-file clusters with resources in a file.
	byFile map[string][]*Cluster
	// roots are the kustomize roots that built, by directory; readers
	// lists, for each file, the roots whose build read it.
	roots   map[string]*kustRoot
	readers map[string][]*kustRoot
	// fluxRoots are the paths of Flux Kustomizations that built, in file
	// order; fluxFiles the files holding the Kustomizations, by path.
	fluxRoots []*kustRoot
	fluxFiles map[string]*sourceFile

	// mu serializes kustomize builds (kustomize is not safe for concurrent
	// builds) and guards the kustomize roots' lazily computed state.
	mu sync.Mutex
}

// unit is where a cluster is declared: plain files, or a kustomize root.
type unit struct {
	kust    *kustRoot // nil for plain files
	members []*object
}

// kustRoot is a top-level kustomization that built.
type kustRoot struct {
	dir string
	// flux is the Flux Kustomization whose path this is, nil for a
	// kustomization no Flux Kustomization names.
	flux *fluxKustomization
	// used and unresolved are, for a Flux root, the variables its resources
	// use, and those of them the Kustomization does not set.
	used       map[string]bool
	unresolved []string

	reads    map[string][]byte // the files the build read, by path
	clusters []*Cluster
	// parsed and probe are computed on first use, under Repository.mu.
	parsed map[string]*sourceFile
	probe  map[string]*probeResult // by label key
}

// Discover reads the GitOps tree at root: every YAML file, kustomize roots
// built the way Flux builds them. It fails only when root cannot be read;
// everything wrong inside the tree is a Problem.
//
// SOPS-encrypted files (*.enc.yaml, or with a top-level sops: key) are
// never decoded: plain ones are skipped, and a kustomize build sees an
// empty placeholder instead, so their resources are left out of the build.
// Plain files that do not mention cluster.x-k8s.io cannot declare Cluster
// API resources and are not parsed.
func Discover(ctx context.Context, root string, o Options) (*Repository, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("reading repository %s: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("reading repository: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("reading repository %s: not a directory", abs)
	}
	label := cmp.Or(o.VersionLabel, DefaultVersionLabel)
	repo := &Repository{
		Root:      abs,
		label:     label,
		files:     map[string]*sourceFile{},
		units:     map[*Cluster]*unit{},
		byFile:    map[string][]*Cluster{},
		roots:     map[string]*kustRoot{},
		readers:   map[string][]*kustRoot{},
		fluxFiles: map[string]*sourceFile{},
	}
	tree, err := walkTree(ctx, abs)
	if err != nil {
		return nil, err
	}
	repo.Problems = append(repo.Problems, tree.problems...)

	var plain, inKust []string
	for _, f := range tree.yamlFiles {
		if _, ok := tree.kusts[path.Dir(f)]; ok {
			inKust = append(inKust, f)
		} else {
			plain = append(plain, f)
		}
	}
	parsed, err := parsePlainFiles(ctx, abs, plain, label)
	if err != nil {
		return nil, err
	}
	fluxes, problems := readFluxFiles(abs, inKust)
	repo.Problems = append(repo.Problems, problems...)
	for _, p := range parsed {
		fluxes = append(fluxes, p.flux...)
	}
	slices.SortStableFunc(fluxes, func(a, b *fluxKustomization) int {
		return cmp.Or(cmp.Compare(a.file.path, b.file.path), cmp.Compare(a.doc.index, b.doc.index))
	})
	consumed, err := repo.buildFluxRoots(ctx, tree, fluxes)
	if err != nil {
		return nil, err
	}
	if err := repo.buildRoots(ctx, tree, consumed); err != nil {
		return nil, err
	}

	var objs []*object
	for _, p := range parsed {
		if p.file != nil && consumed[p.file.path] {
			continue // built as part of a kustomization
		}
		repo.Problems = append(repo.Problems, p.problems...)
		if len(p.objects) > 0 {
			repo.files[p.file.path] = p.file
			objs = append(objs, p.objects...)
		}
	}
	g := groupClusters(objs, "", label)
	repo.addClusters(g, nil)
	for _, c := range g.clusters {
		for _, m := range g.members[c] {
			p := m.res.Source.Path
			if l := repo.byFile[p]; len(l) == 0 || l[len(l)-1] != c {
				repo.byFile[p] = append(repo.byFile[p], c)
			}
		}
	}

	repo.dropDuplicateClusters()
	slices.SortFunc(repo.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Message, b.Message))
	})
	return repo, nil
}

func (r *Repository) addClusters(g grouped, k *kustRoot) {
	r.Problems = append(r.Problems, g.problems...)
	for _, c := range g.clusters {
		r.Clusters = append(r.Clusters, c)
		r.units[c] = &unit{kust: k, members: g.members[c]}
		if k != nil {
			k.clusters = append(k.clusters, c)
		}
	}
}

// dropDuplicateClusters keeps one cluster per namespace/name (plain files
// first, then kustomize roots in path order) and sorts them.
func (r *Repository) dropDuplicateClusters() {
	slices.SortStableFunc(r.Clusters, func(a, b *Cluster) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	kept := r.Clusters[:0]
	for i, c := range r.Clusters {
		if i > 0 {
			prev := kept[len(kept)-1]
			if prev.Namespace == c.Namespace && prev.Name == c.Name {
				r.Problems = append(r.Problems, Problem{Path: c.Root, Message: fmt.Sprintf("cluster %s is also declared in %s; this one is ignored", clusterID(c.Namespace, c.Name), prev.Root)})
				if u := r.units[c]; u.kust != nil {
					u.kust.clusters = slices.DeleteFunc(u.kust.clusters, func(x *Cluster) bool { return x == c })
				}
				delete(r.units, c)
				continue
			}
		}
		kept = append(kept, c)
	}
	r.Clusters = kept
}

// tree is what walking the repository finds.
type tree struct {
	yamlFiles []string                 // relative, sorted
	kusts     map[string]kustomization // by directory
	problems  []Problem
}

func walkTree(ctx context.Context, abs string) (*tree, error) {
	t := &tree{kusts: map[string]kustomization{}}
	kustFiles := map[string]string{} // dir → kustomization file
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		rel, _ := filepath.Rel(abs, p)
		rel = filepath.ToSlash(rel)
		if err != nil {
			if p == abs {
				return err
			}
			t.problems = append(t.problems, Problem{Path: rel, Message: fmt.Sprintf("cannot read: %v", unwrapPathError(err))})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != abs && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		dir := path.Dir(rel)
		if slices.Contains(kustomizationFiles, name) {
			if prev, ok := kustFiles[dir]; !ok || slices.Index(kustomizationFiles, name) < slices.Index(kustomizationFiles, path.Base(prev)) {
				kustFiles[dir] = rel
			}
			return nil
		}
		ext := strings.ToLower(path.Ext(name))
		if (ext == ".yaml" || ext == ".yml") && !isSOPSName(name) {
			t.yamlFiles = append(t.yamlFiles, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading repository %s: %w", abs, err)
	}
	for dir, file := range kustFiles {
		data, err := os.ReadFile(filepath.Join(abs, filepath.FromSlash(file)))
		if err != nil {
			t.problems = append(t.problems, Problem{Path: file, Message: fmt.Sprintf("cannot read: %v", unwrapPathError(err))})
			continue
		}
		t.kusts[dir] = readKustomization(dir, file, data)
	}
	slices.Sort(t.yamlFiles)
	return t, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// buildRoots builds every top-level kustomization that no Flux
// Kustomization's build read, and adds the files the builds read to
// consumed.
func (r *Repository) buildRoots(ctx context.Context, t *tree, consumed map[string]bool) error {
	roots, refused := topLevelRoots(t.kusts)
	for _, dir := range roots {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading repository: %w", err)
		}
		if consumed[t.kusts[dir].file] {
			continue // built as part of a Flux Kustomization's path
		}
		if p, ok := refused[dir]; ok {
			r.Problems = append(r.Problems, p)
			continue
		}
		res, err := build(ctx, r.Root, dir, nil, nil)
		if err != nil {
			msg := strings.ReplaceAll(err.Error(), r.Root+string(filepath.Separator), "")
			r.Problems = append(r.Problems, Problem{Path: t.kusts[dir].file, Message: "kustomize build failed: " + msg})
			continue
		}
		k := &kustRoot{dir: dir, reads: res.reads, parsed: map[string]*sourceFile{}}
		r.roots[dir] = k
		r.addRoot(k, res)
		for f := range res.reads {
			consumed[f] = true
		}
	}
	return nil
}

// addRoot records what a kustomize root built and read.
func (r *Repository) addRoot(k *kustRoot, res *buildResult) {
	for f := range res.reads {
		r.readers[f] = append(r.readers[f], k)
	}
	setSourceLines(res.objects, res.reads)
	g := groupClusters(res.objects, k.dir, r.label)
	if fk := k.flux; fk != nil {
		for _, c := range g.clusters {
			c.Flux = fmt.Sprintf("%s (%s)", fk.ID(), fk.file.path)
			c.Warnings = append(c.Warnings, fk.warnings(k.unresolved)...)
		}
	}
	r.addClusters(g, k)
}

// buildFluxRoots builds the path of every Flux Kustomization the way Flux
// does, and returns the files the builds read.
func (r *Repository) buildFluxRoots(ctx context.Context, t *tree, fluxes []*fluxKustomization) (map[string]bool, error) {
	consumed := map[string]bool{}
	for _, fk := range fluxes {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading repository: %w", err)
		}
		where := Problem{Path: fk.file.path, Line: fk.doc.line}
		st, err := os.Stat(filepath.Join(r.Root, filepath.FromSlash(fk.dir)))
		if err != nil || !st.IsDir() {
			where.Message = fmt.Sprintf("%s builds %q, which is not a directory of this repository (is its source another repository?); it is skipped", fk.ID(), fk.dir)
			r.Problems = append(r.Problems, where)
			continue
		}
		if k, ref, ok := reachesRemote(t.kusts, fk.dir); ok {
			where.Message = fmt.Sprintf("%s builds %s, whose kustomization %s uses the remote resource %q, which upgrade-bot does not fetch; it is skipped", fk.ID(), fk.dir, k.file, ref)
			r.Problems = append(r.Problems, where)
			continue
		}
		res, err := build(ctx, r.Root, fk.dir, nil, fk)
		if err != nil {
			msg := strings.ReplaceAll(err.Error(), r.Root+string(filepath.Separator), "")
			where.Message = fmt.Sprintf("%s: building %s failed: %s", fk.ID(), fk.dir, msg)
			r.Problems = append(r.Problems, where)
			continue
		}
		r.fluxFiles[fk.file.path] = fk.file
		k := &kustRoot{dir: fk.dir, flux: fk, reads: res.reads, parsed: map[string]*sourceFile{}, used: res.used, unresolved: res.unresolved}
		// The Kustomization's variables write values of what it builds.
		r.readers[fk.file.path] = append(r.readers[fk.file.path], k)
		r.fluxRoots = append(r.fluxRoots, k)
		r.addRoot(k, res)
		for f := range res.reads {
			consumed[f] = true
		}
	}
	return consumed, nil
}

// setSourceLines finds, for resources built by kustomize, the line of the
// document they came from: the document of the same kind and name, or the
// only one of that kind.
func setSourceLines(objs []*object, reads map[string][]byte) {
	parsed := map[string]*sourceFile{}
	for _, o := range objs {
		data, ok := reads[o.res.Source.Path]
		if !ok {
			continue
		}
		f, seen := parsed[o.res.Source.Path]
		if !seen {
			f, _ = parseFile(o.res.Source.Path, data)
			parsed[o.res.Source.Path] = f
		}
		if f == nil {
			continue
		}
		var sameKind []*document
		for _, d := range f.docs {
			if _, kind := d.typeMeta(); kind == o.kind {
				sameKind = append(sameKind, d)
				if name, _ := scalarString(lookup(lookup(d.top, "metadata"), "name")); name == o.name {
					o.res.Source.Line = d.line
					break
				}
			}
		}
		if o.res.Source.Line == 0 && len(sameKind) == 1 {
			o.res.Source.Line = sameKind[0].line
		}
	}
}

// plainFile is one plain file, parsed.
type plainFile struct {
	file     *sourceFile
	objects  []*object
	problems []Problem
	flux     []*fluxKustomization
}

// parsePlainFiles reads and parses files over 4×GOMAXPROCS workers (more
// than the cores, so that reading a file overlaps parsing another: on a
// fleet of 5,000 files this is a quarter faster); the result is in the
// order of files.
func parsePlainFiles(ctx context.Context, root string, files []string, label string) ([]plainFile, error) {
	out := make([]plainFile, len(files))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(4*runtime.GOMAXPROCS(0), max(len(files), 1)) {
		wg.Go(func() {
			for i := range jobs {
				out[i] = parsePlainFile(root, files[i], label)
			}
		})
	}
	var err error
	for i := range files {
		if err = ctx.Err(); err != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("reading repository: %w", err)
	}
	return out, nil
}

var (
	capiMarker = []byte(capiGroup)
	appMarker  = []byte(appGroup)
)

func parsePlainFile(root, rel, label string) plainFile {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return plainFile{problems: []Problem{{Path: rel, Message: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}}}
	}
	capi, apps, flux := bytes.Contains(data, capiMarker), bytes.Contains(data, appMarker), bytes.Contains(data, fluxMarker)
	if !capi && !apps && !flux {
		return plainFile{}
	}
	f, problem := parseFile(rel, data)
	if problem != nil {
		if !capi && !apps {
			return plainFile{} // reported where the file matters
		}
		return plainFile{problems: []Problem{*problem}}
	}
	res := plainFile{file: f}
	for _, d := range f.docs {
		if flux && isFluxKustomization(d) {
			fk, p := readFluxKustomization(d)
			if p != nil {
				res.problems = append(res.problems, *p)
			} else if fk != nil {
				res.flux = append(res.flux, fk)
			}
			continue
		}
		objs, p := d.capiObject(apps)
		if p != nil {
			res.problems = append(res.problems, *p)
		}
		res.objects = append(res.objects, objs...)
		if len(objs) == 0 || !isChartKind(objs[0].group, objs[0].kind) {
			d.prune(label)
		}
	}
	return res
}

// prune replaces the document's node tree by what locating needs once the
// document has been converted into an object: apiVersion, kind, whether it
// is SOPS-encrypted, and the node of the version label's value (an alias
// keeps its anchor alive). A fleet's node trees would otherwise be a third
// of the repository's memory.
func (d *document) prune(label string) {
	d.meta.apiVersion, d.meta.kind = d.typeMeta()
	d.meta.sops = d.isSOPS()
	d.meta.labelKey = label
	d.meta.label = lookup(lookup(lookup(d.top, "metadata"), "labels"), label)
	d.pruned = true
	d.top = nil
}

// capiObject converts a document when it is a Cluster API resource, or
// with apps an App or a ConfigMap (and not SOPS-encrypted).
func (d *document) capiObject(apps bool) ([]*object, *Problem) {
	apiVersion, kind := d.typeMeta()
	group := apiGroup(apiVersion)
	if !isCAPIGroup(group) && !(apps && isChartKind(group, kind)) || d.isSOPS() {
		return nil, nil
	}
	u, err := d.toObject()
	if err != nil {
		return nil, &Problem{Path: d.file.path, Line: d.line, Message: err.Error()}
	}
	return []*object{newObject(u, Source{Path: d.file.path, Line: d.line}, d)}, nil
}
