package releases

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"
)

// Namespace is where release ConfigMaps live on the management cluster.
const Namespace = "giantswarm"

const archivedDir = "archived"

// Load reads the catalog in dir. It fails only when dir cannot be read or
// holds no provider with at least one release; every problem in a single
// file becomes a warning (see Catalog.Warnings) and loading goes on.
func Load(ctx context.Context, dir string) (*Catalog, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the releases directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("reading the releases directory: %s is not a directory", dir)
	}
	return load(ctx, os.DirFS(dir), dir)
}

// LoadFS is Load on a file system, such as an embedded one; paths in
// warnings are relative to its root.
func LoadFS(ctx context.Context, fsys fs.FS) (*Catalog, error) {
	return load(ctx, fsys, "")
}

// loader holds what one Load needs; it lives as long as the call.
type loader struct {
	fsys     fs.FS
	root     string // shown in front of paths in warnings
	warnings []string
}

func load(ctx context.Context, fsys fs.FS, root string) (*Catalog, error) {
	l := &loader{fsys: fsys, root: root}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading the releases directory: %w", err)
	}
	c := &Catalog{releases: map[string][]*Release{}, index: map[string]map[string]*Release{}}
	for _, e := range entries {
		// A provider is not called like a release directory: those at the
		// top mean dir is one provider's directory (see noReleasesError).
		if !e.IsDir() || hidden(e.Name()) || e.Name() == archivedDir || versionDir(e.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("loading releases: %w", err)
		}
		rels := l.loadProvider(e.Name())
		if len(rels) == 0 {
			continue
		}
		c.providers = append(c.providers, e.Name())
		c.releases[e.Name()] = rels
		byVersion := make(map[string]*Release, len(rels))
		for _, r := range rels {
			byVersion[r.Version.String()] = r
		}
		c.index[e.Name()] = byVersion
	}
	c.warnings = l.warnings
	if len(c.providers) == 0 {
		return nil, l.noReleasesError(entries)
	}
	return c, nil
}

func (l *loader) noReleasesError(entries []fs.DirEntry) error {
	for _, e := range entries {
		if e.IsDir() && versionDir(e.Name()) {
			return fmt.Errorf("no releases found: this looks like one provider's directory (it holds %s); pass the directory above it, which holds <provider>/v<X.Y.Z>/release.yaml", e.Name())
		}
	}
	msg := "no releases found: expected <provider>/v<X.Y.Z>/release.yaml such as capa/v31.0.0/release.yaml"
	if n := len(l.warnings); n > 0 {
		msg += fmt.Sprintf("; problems found (%d): %s", n, strings.Join(l.warnings[:min(n, 5)], "; "))
		if n > 5 {
			msg += fmt.Sprintf("; and %d more", n-5)
		}
	}
	return errors.New(msg)
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// warnf records a problem at p (slash-separated, relative to the catalog)
// and line (0 when unknown).
func (l *loader) warnf(p string, line int, format string, args ...any) {
	l.warnings = append(l.warnings, l.where(p, line)+": "+fmt.Sprintf(format, args...))
}

// where is "path:line" for messages, the path under the directory given to
// Load.
func (l *loader) where(p string, line int) string {
	if l.root != "" {
		p = filepath.Join(l.root, filepath.FromSlash(p))
	}
	if line > 0 {
		p += ":" + strconv.Itoa(line)
	}
	return p
}

// warnYAML records a YAML error, with its line numbers shifted by offset
// (for YAML embedded in another file); line is used when the error has none.
func (l *loader) warnYAML(p string, line, offset int, doing string, err error) {
	msgs := []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		n, msg := splitYAMLLine(m)
		if n == 0 {
			n = line
		} else {
			n += offset
		}
		l.warnf(p, n, "%s: %s", doing, msg)
	}
}

// splitYAMLLine splits "line 7: message" into 7 and "message".
func splitYAMLLine(s string) (int, string) {
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s
	}
	num, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return 0, s
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, s
	}
	return n, msg
}

// loadProvider reads the releases of one provider directory, ascending by
// version. A directory without releases gives none and no warning: it is
// something else (docs, CI).
func (l *loader) loadProvider(provider string) []*Release {
	entries, err := fs.ReadDir(l.fsys, provider)
	if err != nil {
		l.warnf(provider, 0, "reading the directory: %v", err)
		return nil
	}
	var rels []*Release
	for _, e := range entries {
		switch {
		case !e.IsDir():
		case e.Name() == archivedDir:
			archived, err := fs.ReadDir(l.fsys, path.Join(provider, archivedDir))
			if err != nil {
				l.warnf(path.Join(provider, archivedDir), 0, "reading the directory: %v", err)
				continue
			}
			for _, a := range archived {
				if a.IsDir() && versionDir(a.Name()) {
					rels = l.appendRelease(rels, provider, path.Join(provider, archivedDir, a.Name()), true)
				}
			}
		case versionDir(e.Name()):
			rels = l.appendRelease(rels, provider, path.Join(provider, e.Name()), false)
		}
	}
	if len(rels) == 0 {
		return nil
	}
	rels = l.dedupe(rels)
	l.applyIndex(provider, rels)
	for _, r := range rels {
		if r.State == "" {
			l.warnf(path.Join(r.Dir, "release.yaml"), 0, "spec.state is not set and releases.json does not list the release; treated as %s", StateActive)
			r.State = StateActive
		}
	}
	slices.SortStableFunc(rels, func(a, b *Release) int { return a.Version.Compare(b.Version) })
	return rels
}

// versionDir tells whether a directory name is meant as a release: "v"
// then a digit.
func versionDir(name string) bool {
	return len(name) > 1 && name[0] == 'v' && name[1] >= '0' && name[1] <= '9'
}

func (l *loader) appendRelease(rels []*Release, provider, dir string, archived bool) []*Release {
	v, err := ParseVersion(path.Base(dir))
	if err != nil {
		l.warnf(dir, 0, "%v; skipped", err)
		return rels
	}
	if r := l.loadRelease(provider, dir, v, archived); r != nil {
		rels = append(rels, r)
	}
	return rels
}

// dedupe keeps one release per version, preferring the one that is not
// archived.
func (l *loader) dedupe(rels []*Release) []*Release {
	slices.SortStableFunc(rels, func(a, b *Release) int {
		if c := a.Version.Compare(b.Version); c != 0 {
			return c
		}
		switch {
		case a.Archived == b.Archived:
			return 0
		case a.Archived:
			return 1
		}
		return -1
	})
	out := rels[:0]
	for _, r := range rels {
		if n := len(out); n > 0 && out[n-1].Version.String() == r.Version.String() {
			l.warnf(r.Dir, 0, "v%s is also in %s; that one is used", r.Version, out[n-1].Dir)
			continue
		}
		out = append(out, r)
	}
	return out
}

// releaseFile is release.yaml. Spec fields are nodes to keep their lines.
type releaseFile struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Components    yaml.Node `yaml:"components"`
		Apps          yaml.Node `yaml:"apps"`
		Date          yaml.Node `yaml:"date"`
		EndOfLifeDate yaml.Node `yaml:"endOfLifeDate"`
		State         yaml.Node `yaml:"state"`
	} `yaml:"spec"`
}

func (l *loader) loadRelease(provider, dir string, v *semver.Version, archived bool) *Release {
	p := path.Join(dir, "release.yaml")
	data, err := fs.ReadFile(l.fsys, p)
	if errors.Is(err, fs.ErrNotExist) {
		l.warnf(dir, 0, "no release.yaml; skipped")
		return nil
	}
	if err != nil {
		l.warnf(p, 0, "reading the file: %v; skipped", err)
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.warnYAML(p, 0, 0, "reading the release", err)
		return nil
	}
	if doc.Kind == 0 {
		l.warnf(p, 0, "the file is empty; skipped")
		return nil
	}
	var rf releaseFile
	if err := doc.Decode(&rf); err != nil {
		l.warnYAML(p, 0, 0, "reading the release", err)
		return nil
	}
	if rf.Kind != "Release" || !strings.HasPrefix(rf.APIVersion, "release.giantswarm.io/") {
		l.warnf(p, 1, "a %s %s, not a release.giantswarm.io Release; skipped", rf.APIVersion, rf.Kind)
		return nil
	}
	r := &Release{Provider: provider, Version: v, Name: rf.Metadata.Name, Dir: dir, Archived: archived}
	switch nameLine := lineOf(lookup(&doc, "metadata", "name")); {
	case r.Name == "":
		l.warnf(p, 0, "metadata.name is not set")
	case !strings.HasSuffix(r.Name, "-"+v.String()):
		l.warnf(p, nameLine, "metadata.name %q does not end in the directory's version %s", r.Name, v)
	}
	r.Components = decodeList(l, p, "spec.components", &rf.Spec.Components, func(c Component) (string, string) { return c.Name, c.Version })
	r.Apps = decodeList(l, p, "spec.apps", &rf.Spec.Apps, func(a App) (string, string) { return a.Name, a.Version })
	r.Date = l.date(p, "spec.date", &rf.Spec.Date)
	r.EndOfLife = l.date(p, "spec.endOfLifeDate", &rf.Spec.EndOfLifeDate)
	if s := &rf.Spec.State; s.Kind != 0 {
		r.State = strings.ToLower(s.Value)
		switch r.State {
		case StateActive, StateDeprecated, StateWIP, StatePreview:
		default:
			l.warnf(p, s.Line, "spec.state %q is not one of active, deprecated, wip, preview", s.Value)
		}
	}
	r.Patches = l.loadBase(path.Join(dir, "base"), v)
	return r
}

// date parses a date field: RFC 3339 or a plain date. A bad value is a
// warning and gives the zero time.
func (l *loader) date(p, field string, n *yaml.Node) time.Time {
	if n.Kind == 0 || n.Value == "" {
		return time.Time{}
	}
	t, err := parseTime(n.Value)
	if err != nil {
		l.warnf(p, n.Line, "%s %q is not a date such as 2025-07-15T10:00:00Z", field, n.Value)
	}
	return t
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// decodeList decodes a sequence of named entries; entries without a name
// or seen before are left out with a warning.
func decodeList[T any](l *loader, p, field string, n *yaml.Node, key func(T) (name, version string)) []T {
	if n.Kind == 0 || n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.warnf(p, n.Line, "%s must be a list; ignored", field)
		return nil
	}
	out := make([]T, 0, len(n.Content))
	seen := map[string]int{}
	for i, item := range n.Content {
		var v T
		if err := item.Decode(&v); err != nil {
			l.warnYAML(p, item.Line, 0, fmt.Sprintf("%s[%d]", field, i), err)
			continue
		}
		name, version := key(v)
		if name == "" {
			l.warnf(p, item.Line, "%s[%d] has no name; ignored", field, i)
			continue
		}
		if line, ok := seen[name]; ok {
			l.warnf(p, item.Line, "%s lists %s twice (also on line %d); the first is used", field, name, line)
			continue
		}
		seen[name] = item.Line
		if version == "" {
			l.warnf(p, item.Line, "%s: %s has no version", field, name)
		}
		out = append(out, v)
	}
	return out
}

// configMap is what a base file's documents are read as.
type configMap struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
}

// loadBase reads the base ConfigMaps of a release, keyed by lowercase kind.
func (l *loader) loadBase(dir string, v *semver.Version) map[string]Patch {
	entries, err := fs.ReadDir(l.fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		l.warnf(dir, 0, "reading the directory: %v", err)
		return nil
	}
	patches := map[string]Patch{}
	seen := map[string]string{} // kind → "path:line" of its ConfigMap
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") || strings.HasPrefix(e.Name(), "kustomization.") {
			continue
		}
		l.loadConfigMaps(path.Join(dir, e.Name()), v, patches, seen)
	}
	return patches
}

// loadConfigMaps reads every document of one base file into patches.
func (l *loader) loadConfigMaps(p string, v *semver.Version, patches map[string]Patch, seen map[string]string) {
	data, err := fs.ReadFile(l.fsys, p)
	if err != nil {
		l.warnf(p, 0, "reading the file: %v; skipped", err)
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// The decoder cannot go on after a syntax error.
			l.warnYAML(p, 0, 0, "reading the ConfigMaps", err)
			return
		}
		if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
			continue
		}
		pt, line, ok := l.configMapPatch(p, &doc, v)
		if !ok {
			continue
		}
		if first, dup := seen[pt.Kind]; dup {
			l.warnf(p, line, "ConfigMap %s is defined twice; the first, at %s, is used", pt.ConfigMap, first)
			continue
		}
		seen[pt.Kind] = l.where(p, line)
		patches[pt.Kind] = pt
	}
}

// configMapPatch checks one document and returns its patch and the line
// of its name.
func (l *loader) configMapPatch(p string, doc *yaml.Node, v *semver.Version) (Patch, int, bool) {
	line := doc.Content[0].Line
	var cm configMap
	if err := doc.Decode(&cm); err != nil {
		l.warnYAML(p, line, 0, "reading the ConfigMap", err)
		return Patch{}, 0, false
	}
	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" {
		l.warnf(p, line, "a %s %s, not a v1 ConfigMap; skipped", cm.APIVersion, cm.Kind)
		return Patch{}, 0, false
	}
	name := cm.Metadata.Name
	if n := lookup(doc, "metadata", "name"); n != nil {
		line = n.Line
	}
	suffix := "-" + dashed(v)
	kind, ok := strings.CutSuffix(name, suffix)
	if !ok || kind == "" {
		if other := nameVersion(name); other != "" {
			l.warnf(p, line, "ConfigMap %s is named for release %s, but it is in release %s; skipped", name, other, v)
		} else {
			l.warnf(p, line, "ConfigMap %q is not named <kind>%s (the resource kind in lowercase, then the release version with dashes); skipped", name, suffix)
		}
		return Patch{}, 0, false
	}
	if kind != strings.ToLower(kind) {
		l.warnf(p, line, "ConfigMap %s: Kubernetes names are lowercase (%s); skipped", name, strings.ToLower(name))
		return Patch{}, 0, false
	}
	if ns := cm.Metadata.Namespace; ns != "" && ns != Namespace {
		l.warnf(p, line, "ConfigMap %s is in namespace %s, but release ConfigMaps are read from %s; skipped", name, ns, Namespace)
		return Patch{}, 0, false
	}
	data, ok := cm.Data["patch"]
	if !ok {
		l.warnf(p, line, "ConfigMap %s has no data.patch; skipped", name)
		return Patch{}, 0, false
	}
	if !l.validPatch(p, name, lookup(doc, "data", "patch"), data) {
		return Patch{}, 0, false
	}
	return Patch{Kind: kind, ConfigMap: name, Path: p, Data: data}, line, true
}

// validPatch tells whether data.patch is a YAML mapping; n is its node in
// the file, to report lines inside a block scalar as lines of the file.
func (l *loader) validPatch(p, name string, n *yaml.Node, data string) bool {
	var patch yaml.Node
	err := yaml.Unmarshal([]byte(data), &patch)
	line, offset := 0, 0
	if n != nil {
		line = n.Line
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			offset = n.Line // the block's first line is the one after the indicator
		}
	}
	if err != nil {
		l.warnYAML(p, line, offset, fmt.Sprintf("ConfigMap %s: data.patch is not valid YAML", name), err)
		return false
	}
	if len(patch.Content) == 0 || patch.Content[0].Kind != yaml.MappingNode {
		l.warnf(p, line, "ConfigMap %s: data.patch must be a YAML mapping of the fields to set; skipped", name)
		return false
	}
	return true
}

// nameVersion returns "X.Y.Z" when name ends in "-X-Y-Z".
func nameVersion(name string) string {
	parts := strings.Split(name, "-")
	if len(parts) < 4 {
		return ""
	}
	tail := parts[len(parts)-3:]
	for _, s := range tail {
		if _, err := strconv.ParseUint(s, 10, 64); err != nil {
			return ""
		}
	}
	return strings.Join(tail, ".")
}

// lookup returns the value node at keys in a document or mapping node.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// lineOf is n's line, 0 for nil.
func lineOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}
