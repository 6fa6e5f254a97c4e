package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizationFiles are the file names that make a directory a
// kustomization, in kustomize's order of preference.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// originAnnotation is where kustomize records the file a resource came from
// when the kustomization sets buildMetadata: [originAnnotations].
const originAnnotation = "config.kubernetes.io/origin"

// sopsPlaceholder replaces SOPS-encrypted files in kustomize builds: a
// comment-only document, so that the build succeeds without the secrets
// (which are never decrypted nor shown) and everything else is unchanged.
const sopsPlaceholder = "# SOPS-encrypted file: left out by upgrade-bot\n"

var sopsKeyRE = regexp.MustCompile(`(?m)^sops:`)

// isSOPSFile reports whether a file is SOPS-encrypted, by its name or its
// top-level sops: key.
func isSOPSFile(name string, data []byte) bool {
	return isSOPSName(name) || (data != nil && sopsKeyRE.Match(data))
}

func isSOPSName(name string) bool {
	base := path.Base(filepath.ToSlash(name))
	return strings.HasSuffix(base, ".enc.yaml") || strings.HasSuffix(base, ".enc.yml")
}

// kustomization is what discovery needs of a kustomization file: the
// entries that may name other kustomizations.
type kustomization struct {
	dir  string // relative, slash-separated
	file string // relative path of the kustomization file
	refs []string
}

// readKustomization reads the resources, bases and components of a
// kustomization file; anything else is left to kustomize.
func readKustomization(dir, file string, data []byte) kustomization {
	k := kustomization{dir: dir, file: file}
	var fields struct {
		Resources  []string `yaml:"resources"`
		Bases      []string `yaml:"bases"`
		Components []string `yaml:"components"`
	}
	// A kustomization kustomize cannot read fails its build, which reports
	// the problem; here it only names no other kustomization.
	if yaml.Unmarshal(data, &fields) == nil {
		k.refs = slices.Concat(fields.Resources, fields.Bases, fields.Components)
	}
	return k
}

// isRemote reports whether a kustomization entry names something kustomize
// would fetch over the network (a git repository or an HTTP URL).
func isRemote(entry string) bool {
	e := strings.ToLower(entry)
	return strings.Contains(e, "://") || strings.HasPrefix(e, "git::") || strings.HasPrefix(e, "git@") ||
		strings.HasPrefix(e, "github.com/") || strings.HasPrefix(e, "github.com:")
}

// topLevelRoots returns the kustomization directories no other
// kustomization uses as a resource, base or component, sorted, and the
// problems of roots that cannot be built offline.
func topLevelRoots(kusts map[string]kustomization) ([]string, map[string]Problem) {
	used := map[string]bool{}
	for _, k := range kusts {
		for _, ref := range k.refs {
			if !isRemote(ref) {
				used[path.Join(k.dir, ref)] = true
			}
		}
	}
	var roots []string
	refused := map[string]Problem{}
	for dir := range kusts {
		if used[dir] {
			continue
		}
		roots = append(roots, dir)
		if k, ref, ok := reachesRemote(kusts, dir); ok {
			refused[dir] = Problem{Path: k.file, Message: fmt.Sprintf("kustomization uses the remote resource %q, which upgrade-bot does not fetch; the clusters built from %s are skipped", ref, dir)}
		}
	}
	slices.Sort(roots)
	return roots, refused
}

// reachesRemote reports the first remote entry of a kustomization reachable
// from dir.
func reachesRemote(kusts map[string]kustomization, dir string) (kustomization, string, bool) {
	seen := map[string]bool{}
	stack := []string{dir}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[d] {
			continue
		}
		seen[d] = true
		k, ok := kusts[d]
		if !ok {
			continue
		}
		for _, ref := range k.refs {
			if isRemote(ref) {
				return k, ref, true
			}
			stack = append(stack, path.Join(d, ref))
		}
	}
	return kustomization{}, "", false
}

// buildFS is the file system kustomize builds on: the repository on disk,
// read-only, confined to the repository, with changed files served from
// memory, SOPS-encrypted files replaced by a placeholder, origin
// annotations switched on in the root kustomization, and every file read
// recorded.
type buildFS struct {
	filesys.FileSystem
	root     string            // absolute repository root
	kustFile string            // absolute path of the root kustomization file
	changes  map[string][]byte // by relative path
	// serve are files served but not recorded as read: the kustomization
	// Flux generates for a Kustomization's path, by relative path.
	serve map[string][]byte
	mu    sync.Mutex
	reads map[string][]byte // relative path → content (as changed), SOPS files excluded
}

func newBuildFS(root, kustFile string, changes map[string][]byte) *buildFS {
	return &buildFS{
		FileSystem: filesys.MakeFsOnDisk(),
		root:       root,
		kustFile:   kustFile,
		changes:    changes,
		reads:      map[string][]byte{},
	}
}

var errOutsideRepository = errors.New("file is outside the repository")

func (b *buildFS) rel(p string) (string, error) {
	r, err := filepath.Rel(b.root, filepath.Clean(p))
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("reading %s: %w", p, errOutsideRepository)
	}
	return filepath.ToSlash(r), nil
}

// ReadFile implements filesys.FileSystem.
func (b *buildFS) ReadFile(p string) ([]byte, error) {
	rel, err := b.rel(p)
	if err != nil {
		return nil, err
	}
	if isSOPSName(rel) {
		return []byte(sopsPlaceholder), nil
	}
	if data, ok := b.serve[rel]; ok {
		if _, err := b.FileSystem.ReadFile(p); err == nil {
			// The directory's own kustomization, as Flux amends it: the
			// file as written is what locating reads.
			orig, ok := b.changes[rel]
			if !ok {
				orig, _ = b.FileSystem.ReadFile(p)
			}
			b.mu.Lock()
			b.reads[rel] = orig
			b.mu.Unlock()
		}
		return withOriginAnnotations(data), nil
	}
	data, ok := b.changes[rel]
	if !ok {
		data, err = b.FileSystem.ReadFile(p)
		if err != nil {
			return nil, err
		}
	}
	if isSOPSFile(rel, data) {
		return []byte(sopsPlaceholder), nil
	}
	b.mu.Lock()
	b.reads[rel] = data
	b.mu.Unlock()
	if filepath.Clean(p) == b.kustFile {
		return withOriginAnnotations(data), nil
	}
	return data, nil
}

// Exists implements filesys.FileSystem: a kustomization Flux generates
// exists for the build.
func (b *buildFS) Exists(p string) bool {
	if rel, err := b.rel(p); err == nil {
		if _, ok := b.serve[rel]; ok {
			return true
		}
	}
	return b.FileSystem.Exists(p)
}

// The build never writes.

// Create implements filesys.FileSystem.
func (b *buildFS) Create(p string) (filesys.File, error) { return nil, errReadOnly(p) }

// Mkdir implements filesys.FileSystem.
func (b *buildFS) Mkdir(p string) error { return errReadOnly(p) }

// MkdirAll implements filesys.FileSystem.
func (b *buildFS) MkdirAll(p string) error { return errReadOnly(p) }

// RemoveAll implements filesys.FileSystem.
func (b *buildFS) RemoveAll(p string) error { return errReadOnly(p) }

// WriteFile implements filesys.FileSystem.
func (b *buildFS) WriteFile(p string, _ []byte) error { return errReadOnly(p) }

// Open implements filesys.FileSystem; kustomize reads through ReadFile, and
// opening directly would bypass the overlay.
func (b *buildFS) Open(p string) (filesys.File, error) {
	return nil, &fs.PathError{Op: "open", Path: p, Err: errors.ErrUnsupported}
}

func errReadOnly(p string) error {
	return &fs.PathError{Op: "write", Path: p, Err: fs.ErrPermission}
}

// withOriginAnnotations adds originAnnotations to the buildMetadata of a
// kustomization, so that every built resource says which file it came from.
// The file is returned unchanged when it is not a mapping (the build
// reports it).
func withOriginAnnotations(data []byte) []byte {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return data
	}
	m := doc.Content[0]
	bm := lookup(m, "buildMetadata")
	switch {
	case bm == nil:
		m.Content = append(m.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"},
			&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: kustypes.OriginAnnotations}}})
	case bm.Kind == yaml.SequenceNode:
		for _, e := range bm.Content {
			if e.Value == kustypes.OriginAnnotations {
				return data
			}
		}
		bm.Content = append(bm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: kustypes.OriginAnnotations})
	default:
		return data
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return data
	}
	return out
}

// buildResult is one kustomize build: its objects (Cluster API resources,
// Giant Swarm Apps and ConfigMaps) and the files it read.
type buildResult struct {
	objects []*object
	reads   map[string][]byte
	// unresolved lists, for a Flux build, the ${variables} its resources
	// use that the Kustomization does not set (Flux makes them empty).
	unresolved []string
	// used lists the variables the resources use.
	used map[string]bool
}

// build runs kustomize on dir (relative) the way Flux's kustomize-controller
// does (no load restrictions, plugins off), with changes overlaid. For the
// path of a Flux Kustomization (fk not nil) it builds what Flux builds:
// the kustomization Flux's generator makes of the directory and the
// Kustomization's spec, and the resources after post-build substitution.
// Callers serialize builds: kustomize keeps global state (its OpenAPI
// schema) that is not safe for concurrent builds.
func build(ctx context.Context, root, dir string, changes map[string][]byte, fk *fluxKustomization) (res *buildResult, err error) {
	absDir := filepath.Join(root, filepath.FromSlash(dir))
	kustFile := ""
	for _, name := range kustomizationFiles {
		p := filepath.Join(absDir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			kustFile = p
			break
		}
	}
	defer func() {
		// Malformed input has made kustomize panic before; that is an input
		// error, not a crash.
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("kustomize failed: %v", r)
		}
	}()
	bfs := newBuildFS(root, kustFile, changes)
	if fk != nil {
		rel, data, err := fk.generate(root, absDir, kustFile, changes)
		if err != nil {
			return nil, err
		}
		bfs.serve = map[string][]byte{rel: data}
		bfs.kustFile = filepath.Join(root, filepath.FromSlash(rel))
	}
	k := krusty.MakeKustomizer(&krusty.Options{
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	})
	m, err := k.Run(bfs, absDir)
	if err != nil {
		return nil, err
	}
	out := &buildResult{reads: bfs.reads}
	if fk != nil {
		if out.used, out.unresolved, err = fk.substitute(ctx, m); err != nil {
			return nil, err
		}
	}
	if out.objects, err = buildObjects(m, dir); err != nil {
		return nil, err
	}
	return out, nil
}

// buildObjects converts the resources of a build that clusters are made
// of (Cluster API resources, Apps, ConfigMaps), recording the file each
// came from and removing the origin annotations.
func buildObjects(m resmap.ResMap, dir string) ([]*object, error) {
	var out []*object
	for _, r := range m.Resources() {
		if gvk := r.GetGvk(); !isCAPIGroup(gvk.Group) && !isChartKind(gvk.Group, gvk.Kind) {
			continue
		}
		src := Source{Path: dir, Kustomization: dir}
		origin, err := r.GetOrigin()
		if err == nil && origin != nil && origin.Repo == "" {
			switch {
			case origin.Path != "":
				src.Path = path.Join(dir, origin.Path)
			case origin.ConfiguredIn != "":
				src.Path = path.Join(dir, origin.ConfiguredIn)
			}
		}
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("reading %s %s: %w", r.GetKind(), r.GetName(), err)
		}
		f, problem := parseFile(src.Path, data)
		if problem != nil || len(f.docs) != 1 {
			return nil, fmt.Errorf("reading %s %s from the build output", r.GetKind(), r.GetName())
		}
		u, err := f.docs[0].toObject()
		if err != nil {
			return nil, fmt.Errorf("reading %s %s: %w", r.GetKind(), r.GetName(), err)
		}
		removeOrigin(u)
		out = append(out, newObject(u, src, nil))
	}
	return out, nil
}

func removeOrigin(u map[string]any) {
	md, _ := u["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		return
	}
	delete(ann, originAnnotation)
	if len(ann) == 0 {
		delete(md, "annotations")
	}
}
