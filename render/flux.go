package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resmap"
)

// fluxGroup is the API group of Flux's Kustomization.
const fluxGroup = "kustomize.toolkit.fluxcd.io"

var fluxMarker = []byte(fluxGroup)

// fluxKustomization is a Flux Kustomization (kustomize.toolkit.fluxcd.io)
// written in the repository: the directory it builds (spec.path) and the
// variables its post-build substitution sets.
type fluxKustomization struct {
	file      *sourceFile
	doc       *document
	name      string
	namespace string
	// dir is spec.path, relative to the repository root and cleaned; the
	// Kustomization's source is taken to be this repository.
	dir string
	// object is the whole Kustomization, for Flux's own libraries.
	object map[string]any
	// postBuild says whether spec.postBuild is set: Flux substitutes only
	// then.
	postBuild bool
	// vars are spec.postBuild.substitute.
	vars map[string]string
	// substituteFrom lists the ConfigMaps and Secrets the Kustomization also
	// takes variables from, which only the management cluster has.
	substituteFrom []string
}

// ID is how the Kustomization is named to people.
func (fk *fluxKustomization) ID() string {
	return "Flux Kustomization " + clusterID(fk.namespace, fk.name)
}

// isFluxKustomization reports whether a document is a Flux Kustomization.
func isFluxKustomization(d *document) bool {
	apiVersion, kind := d.typeMeta()
	return apiGroup(apiVersion) == fluxGroup && kind == "Kustomization" && !d.isSOPS()
}

// readFluxKustomization reads a Flux Kustomization document; a problem says
// why it cannot be built. A Kustomization without spec.path builds the root
// of its source, which may be another repository: it is left out (nil).
func readFluxKustomization(d *document) (*fluxKustomization, *Problem) {
	u, err := d.toObject()
	if err != nil {
		return nil, &Problem{Path: d.file.path, Line: d.line, Message: err.Error()}
	}
	obj := &unstructured.Unstructured{Object: u}
	fk := &fluxKustomization{file: d.file, doc: d, name: obj.GetName(), namespace: obj.GetNamespace(), object: u}
	p, _, _ := unstructured.NestedString(u, "spec", "path")
	if strings.TrimSpace(p) == "" {
		return nil, nil
	}
	clean := path.Clean("/" + strings.TrimSpace(p))
	fk.dir = strings.TrimPrefix(clean, "/")
	if fk.dir == "" {
		fk.dir = "."
	}
	if spec, ok := u["spec"].(map[string]any); ok {
		_, fk.postBuild = spec["postBuild"]
	}
	vars, _, err := unstructured.NestedStringMap(u, "spec", "postBuild", "substitute")
	if err != nil {
		return nil, &Problem{Path: d.file.path, Line: d.line, Message: fmt.Sprintf("%s: spec.postBuild.substitute: %v", fk.ID(), err)}
	}
	fk.vars = vars
	from, _, _ := unstructured.NestedSlice(u, "spec", "postBuild", "substituteFrom")
	for _, f := range from {
		if m, ok := f.(map[string]any); ok {
			fk.substituteFrom = append(fk.substituteFrom, fmt.Sprintf("%v %v", m["kind"], m["name"]))
		}
	}
	return fk, nil
}

// withChanges returns the Kustomization as changes write it (itself when
// its file is not changed).
func (fk *fluxKustomization) withChanges(changes map[string][]byte) (*fluxKustomization, error) {
	data, ok := changes[fk.file.path]
	if !ok {
		return fk, nil
	}
	f, problem := parseFile(fk.file.path, data)
	if problem != nil {
		return nil, fmt.Errorf("reading the changed %s: %s", fk.file.path, problem)
	}
	for _, d := range f.docs {
		if d.index == fk.doc.index {
			nk, problem := readFluxKustomization(d)
			if problem != nil {
				return nil, fmt.Errorf("reading the changed %s: %s", fk.file.path, problem)
			}
			if nk == nil || nk.dir != fk.dir {
				return nil, fmt.Errorf("the changes move the path of %s in %s", fk.ID(), fk.file.path)
			}
			return nk, nil
		}
	}
	return nil, fmt.Errorf("%s is no longer in the changed %s", fk.ID(), fk.file.path)
}

// generate returns the kustomization Flux builds the Kustomization's path
// with (relative path and content): the directory's kustomization amended
// by the Kustomization's spec (targetNamespace, namePrefix, patches,
// components, images), or one Flux's generator makes of the directory's
// manifests when it has none. kustFile is the directory's kustomization
// file, empty when it has none; changes may change it.
func (fk *fluxKustomization) generate(root, absDir, kustFile string, changes map[string][]byte) (string, []byte, error) {
	g := fluxkustomize.NewGenerator(root, unstructured.Unstructured{Object: fk.object})
	dir := absDir
	if kustFile != "" {
		rel, _ := filepath.Rel(root, kustFile)
		if data, ok := changes[filepath.ToSlash(rel)]; ok {
			// The generator reads the kustomization from disk; give it the
			// changed one from a copy.
			tmp, err := os.MkdirTemp("", "upgrade-bot-flux-")
			if err != nil {
				return "", nil, fmt.Errorf("generating the kustomization of %s: %w", fk.ID(), err)
			}
			defer os.RemoveAll(tmp)
			if err := os.WriteFile(filepath.Join(tmp, filepath.Base(kustFile)), data, 0o600); err != nil {
				return "", nil, fmt.Errorf("generating the kustomization of %s: %w", fk.ID(), err)
			}
			g = fluxkustomize.NewGenerator("", unstructured.Unstructured{Object: fk.object})
			dir = tmp
		}
	}
	data, kfile, _, err := g.GenerateManifest(dir)
	if err != nil {
		return "", nil, fmt.Errorf("generating the kustomization of %s the way Flux does: %w", fk.ID(), err)
	}
	if dir != absDir {
		kfile = kustFile
	}
	rel, err := filepath.Rel(root, kfile)
	if err != nil {
		return "", nil, fmt.Errorf("generating the kustomization of %s: %w", fk.ID(), err)
	}
	return filepath.ToSlash(rel), data, nil
}

// varRefRE finds the variables a text uses the way Flux's envsubst reads
// them: ${name}, ${name:=default}, ${name:-default} and the like; $${name}
// is an escaped dollar and uses nothing.
var varRefRE = regexp.MustCompile(`\$+\{([_a-zA-Z][_a-zA-Z0-9]*)([^}]*)\}`)

// usedVars lists the variables data uses, and whether each has a default.
func usedVars(data []byte) map[string]bool {
	out := map[string]bool{}
	for _, m := range varRefRE.FindAllSubmatchIndex(data, -1) {
		dollars := bytes.IndexByte(data[m[0]:m[1]], '{')
		if dollars%2 == 0 {
			continue // $${name}: escaped
		}
		name := string(data[m[2]:m[3]])
		hasDefault := m[5] > m[4] && strings.ContainsAny(string(data[m[4]:m[5]]), "=-")
		out[name] = out[name] || hasDefault
	}
	return out
}

// substitute applies Flux's post-build substitution to every resource of
// a build, with Flux's own library, the way kustomize-controller does
// without a cluster (variables from substituteFrom are not known). It
// returns the variables the resources use and those of them the
// Kustomization does not set.
func (fk *fluxKustomization) substitute(ctx context.Context, m resmap.ResMap) (map[string]bool, []string, error) {
	used := map[string]bool{}
	var unresolved []string
	if !fk.postBuild {
		return used, nil, nil
	}
	ks := unstructured.Unstructured{Object: fk.object}
	for _, r := range m.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s %s for substitution: %w", r.GetKind(), r.GetName(), err)
		}
		for name, hasDefault := range usedVars(data) {
			used[name] = true
			if _, set := fk.vars[name]; !set && !hasDefault && !slices.Contains(unresolved, name) {
				unresolved = append(unresolved, name)
			}
		}
		if _, err := fluxkustomize.SubstituteVariables(ctx, nil, ks, r, fluxkustomize.SubstituteWithDryRun(true)); err != nil {
			return nil, nil, fmt.Errorf("substituting the variables of %s in %s %s: %w", fk.ID(), r.GetKind(), r.GetName(), err)
		}
	}
	slices.Sort(unresolved)
	return used, unresolved, nil
}

// varNode is the node of a substitution variable's value in the
// Kustomization's document.
func (fk *fluxKustomization) varNode(name string) *yaml.Node {
	return lookup(lookup(lookup(lookup(fk.doc.top, "spec"), "postBuild"), "substitute"), name)
}

// readFluxFiles parses the YAML files that mention Flux's API group and
// returns their Flux Kustomizations, in file order, with the problems of
// those that cannot be read.
func readFluxFiles(root string, files []string) ([]*fluxKustomization, []Problem) {
	var out []*fluxKustomization
	var problems []Problem
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil || !bytes.Contains(data, fluxMarker) || isSOPSFile(rel, data) {
			continue
		}
		f, problem := parseFile(rel, data)
		if problem != nil {
			continue // reported where the file matters
		}
		for _, d := range f.docs {
			if !isFluxKustomization(d) {
				continue
			}
			fk, p := readFluxKustomization(d)
			if p != nil {
				problems = append(problems, *p)
			} else if fk != nil {
				out = append(out, fk)
			}
		}
	}
	return out, problems
}

// warnings are what a reviewer must know about a cluster built from the
// Kustomization: variables its resources use that it does not set, and
// TODO placeholders left in it.
func (fk *fluxKustomization) warnings(unresolved []string) []string {
	var out []string
	if len(unresolved) > 0 {
		vars := make([]string, len(unresolved))
		for i, v := range unresolved {
			vars[i] = "${" + v + "}"
		}
		w := fmt.Sprintf("the resources use %s, which %s (%s) does not set in postBuild.substitute: Flux substitutes an empty string", strings.Join(vars, ", "), fk.ID(), fk.file.path)
		if len(fk.substituteFrom) > 0 {
			w += fmt.Sprintf(" unless postBuild.substituteFrom (%s, on the management cluster) sets it; upgrade-bot rendered it empty", strings.Join(fk.substituteFrom, ", "))
		}
		out = append(out, w)
	}
	if lines := todoLines(fk.file, fk.doc); len(lines) > 0 {
		nums := make([]string, len(lines))
		for i, l := range lines {
			nums[i] = fmt.Sprint(l)
		}
		out = append(out, fmt.Sprintf("%s (%s) still has TODO placeholders (line %s): check the values there before upgrading", fk.ID(), fk.file.path, strings.Join(nums, ", ")))
	}
	return out
}

// todoLines lists the lines of a document with a TODO comment.
func todoLines(f *sourceFile, d *document) []int {
	end := len(f.lines)
	for _, other := range f.docs {
		if other.index > d.index && other.line > 0 {
			end = other.line - 1
			break
		}
	}
	var out []int
	for n := max(d.line, 1); n <= end; n++ {
		if hasTODO(f.lineText(n)) {
			out = append(out, n)
		}
	}
	return out
}

// hasTODO reports whether a line has a comment saying TODO.
func hasTODO(line []byte) bool {
	i := bytes.Index(line, []byte("#"))
	return i >= 0 && bytes.Contains(bytes.ToUpper(line[i:]), []byte("TODO"))
}
