package render

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// edit replaces length bytes at offset of a file with text.
type edit struct {
	path   string
	offset int
	length int
	text   string
}

func groupEdits(edits []edit) map[string][]edit {
	out := map[string][]edit{}
	for _, e := range edits {
		out[e.path] = append(out[e.path], e)
	}
	return out
}

// applyEdits applies edits of one file; the same edit listed twice counts
// once, overlapping ones are an error.
func applyEdits(data []byte, edits []edit) ([]byte, error) {
	edits = slices.Clone(edits)
	slices.SortFunc(edits, func(a, b edit) int { return a.offset - b.offset })
	edits = slices.Compact(edits)
	out := make([]byte, 0, len(data)+16*len(edits))
	pos := 0
	for _, e := range edits {
		if e.offset < pos || e.offset+e.length > len(data) {
			return nil, fmt.Errorf("%s: overlapping or out-of-range edits at byte %d", e.path, e.offset)
		}
		out = append(out, data[pos:e.offset]...)
		out = append(out, e.text...)
		pos = e.offset + e.length
	}
	return append(out, data[pos:]...), nil
}

// labelValueRE is what a Kubernetes label value may hold.
var labelValueRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)

// Bump writes version to (canonical, e.g. "31.0.0"; a "v" prefix is
// ignored) at every location, keeping each value's quoting and its "v"
// prefix (or its absence) as written. Nothing else in the files changes.
// It returns one FileChange per changed file, sorted by path.
func Bump(repo *Repository, locs []Location, to string) ([]FileChange, error) {
	to = canonical(strings.TrimSpace(to))
	if !labelValueRE.MatchString(to) {
		return nil, fmt.Errorf("bumping to %q: not a valid label value (letters, digits, '.', '-' and '_', at most 63 characters)", to)
	}
	var edits []edit
	for _, l := range locs {
		data, ok := repo.content(l.Path)
		if !ok {
			return nil, fmt.Errorf("bumping %s: the file is not part of the repository as read", l)
		}
		if l.Offset < 0 || l.Length <= 0 || l.Offset+l.Length > len(data) || string(data[l.Offset:l.Offset+l.Length]) != l.Value {
			return nil, fmt.Errorf("bumping %s: %q is no longer there; read the repository again", l, l.Value)
		}
		text := to
		if canonical(l.Value) != l.Value {
			text = l.Value[:1] + to
		}
		edits = append(edits, edit{path: l.Path, offset: l.Offset, length: l.Length, text: text})
	}
	var changes []FileChange
	for p, fileEdits := range groupEdits(edits) {
		before, _ := repo.content(p)
		after, err := applyEdits(before, fileEdits)
		if err != nil {
			return nil, fmt.Errorf("bumping: %w", err)
		}
		if string(after) != string(before) {
			changes = append(changes, FileChange{Path: p, Before: before, After: after})
		}
	}
	slices.SortFunc(changes, func(a, b FileChange) int { return strings.Compare(a.Path, b.Path) })
	return changes, nil
}

// content returns a file of the repository as read: a plain file with
// Cluster API resources, or a file a kustomize build read.
func (r *Repository) content(p string) ([]byte, bool) {
	if f, ok := r.files[p]; ok {
		return f.data, true
	}
	if f, ok := r.fluxFiles[p]; ok {
		return f.data, true
	}
	for _, k := range r.readers[p] {
		if data, ok := k.reads[p]; ok {
			return data, true
		}
	}
	return nil, false
}
