package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Dirty returns the paths with uncommitted changes, sorted: staged
// (index differs from HEAD), modified or deleted in the work tree (work
// tree differs from the index) and untracked files that are not ignored.
// A nested repository that is not a submodule is one entry ending in "/".
//
// It does what `git status` does rather than calling go-git's Status,
// which walks and hashes ignored directories, matches .gitignore patterns
// against parent directories, and ignores core.autocrlf from the global
// configuration (go-git/go-git#181, #2112, #436, #1708): tracked files are
// compared by their index metadata and hashed only when it differs or is
// racy, with CRLF normalized as core.autocrlf and .gitattributes say;
// untracked files are found by one walk that prunes ignored directories.
// Clean and smudge filters (Git LFS, ident) are not run, and submodules
// count as clean when their directory exists.
func (r *Repository) Dirty() ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	idx, err := r.repo.Storer.Index()
	if errors.Is(err, index.ErrUnknownExtension) {
		return nil, fmt.Errorf("reading the index: %w: a split or sparse index cannot be read; "+
			"run `git update-index --no-split-index` or `git sparse-checkout disable`", err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the index: %w", err)
	}
	st, err := r.newStatus(idx)
	if err != nil {
		return nil, err
	}
	// The three comparisons are independent and mostly wait for the file
	// system: run them at once.
	phases := []func(map[string]struct{}) error{
		func(d map[string]struct{}) error {
			st.objMu.Lock()
			defer st.objMu.Unlock()
			return r.stagedChanges(idx, d)
		},
		st.worktreeChanges,
		func(d map[string]struct{}) error { return st.walkUntracked(context.Background(), d) },
	}
	found := make([]map[string]struct{}, len(phases))
	errs := make([]error, len(phases))
	var wg sync.WaitGroup
	for i, phase := range phases {
		found[i] = map[string]struct{}{}
		wg.Go(func() { errs[i] = phase(found[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	dirty := found[0]
	for _, m := range found[1:] {
		maps.Copy(dirty, m)
	}
	return sortedKeys(dirty), nil
}

// stagedChanges adds the paths where the index differs from HEAD. It
// computes the trees the index would be committed as and reads HEAD's
// trees only where they differ, so a clean index costs no object reads.
func (r *Repository) stagedChanges(idx *index.Index, dirty map[string]struct{}) error {
	root := &indexDir{}
	for _, e := range idx.Entries {
		if e.Stage != 0 {
			dirty[e.Name] = struct{}{} // unmerged
			continue
		}
		root.add(e)
	}
	head, err := r.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		root.addAll("", dirty)
		return nil
	}
	if err != nil {
		return fmt.Errorf("resolving HEAD: %w", err)
	}
	c, err := r.repo.CommitObject(head.Hash())
	if err != nil {
		return fmt.Errorf("reading the HEAD commit: %w", err)
	}
	root.computeHash()
	return r.diffTree(root, c.TreeHash, "", dirty)
}

// indexDir is a directory of the index: the tree it would be committed as.
type indexDir struct {
	files map[string]*index.Entry
	dirs  map[string]*indexDir
	hash  plumbing.Hash
}

func (d *indexDir) add(e *index.Entry) {
	name := e.Name
	for {
		first, rest, ok := strings.Cut(name, "/")
		if !ok {
			break
		}
		if d.dirs == nil {
			d.dirs = map[string]*indexDir{}
		}
		sub := d.dirs[first]
		if sub == nil {
			sub = &indexDir{}
			d.dirs[first] = sub
		}
		d, name = sub, rest
	}
	if d.files == nil {
		d.files = map[string]*index.Entry{}
	}
	d.files[name] = e
}

// computeHash sets the hashes of the directory and all below it.
func (d *indexDir) computeHash() {
	entries := make([]object.TreeEntry, 0, len(d.files)+len(d.dirs))
	for name, e := range d.files {
		entries = append(entries, object.TreeEntry{Name: name, Mode: e.Mode, Hash: e.Hash})
	}
	for name, sub := range d.dirs {
		sub.computeHash()
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: sub.hash})
	}
	sort.Sort(object.TreeEntrySorter(entries))
	var buf []byte
	for _, e := range entries {
		buf = strconv.AppendUint(buf, uint64(e.Mode), 8)
		buf = append(buf, ' ')
		buf = append(buf, e.Name...)
		buf = append(buf, 0)
		buf = append(buf, e.Hash[:]...)
	}
	d.hash = plumbing.ComputeHash(plumbing.TreeObject, buf)
}

// addAll adds every path in the directory.
func (d *indexDir) addAll(prefix string, dirty map[string]struct{}) {
	for name := range d.files {
		dirty[prefix+name] = struct{}{}
	}
	for name, sub := range d.dirs {
		sub.addAll(prefix+name+"/", dirty)
	}
}

// diffTree adds the paths where the index directory d (nil: none) and the
// HEAD tree at h (zero: none) differ.
func (r *Repository) diffTree(d *indexDir, h plumbing.Hash, prefix string, dirty map[string]struct{}) error {
	if d != nil && d.hash == h {
		return nil
	}
	if d == nil {
		d = &indexDir{}
	}
	var entries []object.TreeEntry
	if !h.IsZero() {
		t, err := object.GetTree(r.repo.Storer, h)
		if err != nil {
			return fmt.Errorf("reading tree %s: %w", displayDir(prefix), err)
		}
		entries = t.Entries
	}
	headFiles, headDirs := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		if e.Mode == filemode.Dir {
			headDirs[e.Name] = true
			if err := r.diffTree(d.dirs[e.Name], e.Hash, prefix+e.Name+"/", dirty); err != nil {
				return err
			}
			continue
		}
		headFiles[e.Name] = true
		ie := d.files[e.Name]
		if ie == nil || ie.Hash != e.Hash || ie.Mode != normalMode(e.Mode) {
			dirty[prefix+e.Name] = struct{}{}
		}
	}
	for name := range d.files {
		if !headFiles[name] {
			dirty[prefix+name] = struct{}{}
		}
	}
	for name, sub := range d.dirs {
		if !headDirs[name] {
			sub.addAll(prefix+name+"/", dirty)
		}
	}
	return nil
}

// status holds what comparing the work tree needs.
type status struct {
	r           *Repository
	idx         *index.Index
	cfg         coreConfig
	gitDir      billy.Filesystem // nil when the storage is not on disk
	tracked     map[string]bool
	gitlinks    map[string]bool
	trackedDirs map[string]bool
	objMu       sync.Mutex // go-git's object storage is not safe for concurrent reads
	attrsMu     sync.Mutex
	attrs       map[string][]pattern // .gitattributes by directory, read on demand
}

func (r *Repository) newStatus(idx *index.Index) (*status, error) {
	local, err := r.repo.Storer.Config()
	if err != nil {
		return nil, fmt.Errorf("reading the repository configuration: %w", err)
	}
	cfg, err := readCoreConfig(local.Raw)
	if err != nil {
		return nil, err
	}
	st := &status{
		r: r, idx: idx, cfg: cfg,
		tracked:     make(map[string]bool, len(idx.Entries)),
		gitlinks:    map[string]bool{},
		trackedDirs: map[string]bool{},
		attrs:       map[string][]pattern{},
	}
	if fsStore, ok := r.repo.Storer.(*filesystem.Storage); ok {
		st.gitDir = fsStore.Filesystem()
	}
	for _, e := range idx.Entries {
		st.tracked[e.Name] = true
		if e.Mode == filemode.Submodule {
			st.gitlinks[e.Name] = true
		}
		for d := e.Name; ; {
			i := strings.LastIndexByte(d, '/')
			if i < 0 {
				break
			}
			d = d[:i]
			if st.trackedDirs[d] {
				break
			}
			st.trackedDirs[d] = true
		}
	}
	return st, nil
}

// worktreeChanges adds the tracked paths whose work tree file differs
// from the index, checking files on several goroutines.
func (st *status) worktreeChanges(dirty map[string]struct{}) error {
	entries := st.idx.Entries
	workers := min(runtime.GOMAXPROCS(0)*2, len(entries)/256+1)
	found := make([][]string, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		chunk := entries[w*len(entries)/workers : (w+1)*len(entries)/workers]
		wg.Go(func() {
			for _, e := range chunk {
				if e.Stage != 0 || e.SkipWorktree {
					continue
				}
				changed, err := st.entryChanged(e)
				if err != nil {
					errs[w] = err
					return
				}
				if changed || e.IntentToAdd {
					found[w] = append(found[w], e.Name)
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, names := range found {
		for _, n := range names {
			dirty[n] = struct{}{}
		}
	}
	return nil
}

func (st *status) entryChanged(e *index.Entry) (bool, error) {
	abs := filepath.Join(st.r.root, filepath.FromSlash(e.Name))
	fi, err := os.Lstat(abs)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", e.Name, err)
	}
	if e.Mode == filemode.Submodule {
		return !fi.IsDir(), nil
	}
	mode := worktreeMode(fi, e.Mode, st.cfg.fileMode)
	if mode == 0 || mode != normalMode(e.Mode) {
		return true, nil
	}
	// Metadata decides unless the file may have changed in the same tick
	// the index was written ("racy git").
	if uint32(fi.Size()) == e.Size && sameTime(fi, e) && !st.idx.ModTime.IsZero() && e.ModifiedAt.Before(st.idx.ModTime) {
		return false, nil
	}
	if mode == filemode.Symlink {
		target, err := os.Readlink(abs)
		if err != nil {
			return false, fmt.Errorf("reading link %s: %w", e.Name, err)
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(target)) != e.Hash, nil
	}
	h, err := hashFile(abs, fi.Size())
	if err != nil {
		return false, fmt.Errorf("hashing %s: %w", e.Name, err)
	}
	if h == e.Hash {
		return false, nil
	}
	conv, err := st.conversion(e.Name)
	if err != nil || conv == convNone {
		return true, err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", e.Name, err)
	}
	if !bytes.Contains(data, []byte("\r\n")) {
		return true, nil
	}
	if conv == convAuto && (isBinary(data) || st.blobHasCR(e.Hash)) {
		return true, nil
	}
	return plumbing.ComputeHash(plumbing.BlobObject, crlfToLF(data)) != e.Hash, nil
}

func sameTime(fi fs.FileInfo, e *index.Entry) bool {
	m := fi.ModTime()
	return m.Unix() == e.ModifiedAt.Unix() && (e.ModifiedAt.Nanosecond() == 0 || m.Nanosecond() == e.ModifiedAt.Nanosecond())
}

// worktreeMode is the git mode of a work tree file: 0 for what git does
// not track (directories, devices). Without core.fileMode the executable
// bit is taken from the index entry's mode.
func worktreeMode(fi fs.FileInfo, indexMode filemode.FileMode, fileMode bool) filemode.FileMode {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return filemode.Symlink
	case !fi.Mode().IsRegular():
		return 0
	case !fileMode && (indexMode == filemode.Executable || normalMode(indexMode) == filemode.Regular):
		return normalMode(indexMode)
	case fi.Mode()&0o100 != 0:
		return filemode.Executable
	}
	return filemode.Regular
}

// normalMode maps the old group-writable file mode to the regular one.
func normalMode(m filemode.FileMode) filemode.FileMode {
	if m == filemode.Deprecated {
		return filemode.Regular
	}
	return m
}

func hashFile(name string, size int64) (plumbing.Hash, error) {
	f, err := os.Open(name)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	h := plumbing.NewHasher(plumbing.BlobObject, size)
	if _, err := io.Copy(h, f); err != nil {
		return plumbing.ZeroHash, err
	}
	return h.Sum(), nil
}

// readWorktreeFile returns the file's metadata and its content as git
// stores it: the target for a symbolic link.
func readWorktreeFile(name string) (fs.FileInfo, []byte, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(name)
		return fi, []byte(target), err
	}
	b, err := os.ReadFile(name)
	return fi, b, err
}

// walkUntracked adds the files that are neither tracked nor ignored.
func (st *status) walkUntracked(ctx context.Context, found map[string]struct{}) error {
	var rules ignoreRules
	if st.cfg.excludesFile != "" {
		if data, err := os.ReadFile(st.cfg.excludesFile); err == nil {
			rules = rules.with(parseIgnore(data, nil))
		}
	}
	if data := st.readGitDirFile("info/exclude"); data != nil {
		rules = rules.with(parseIgnore(data, nil))
	}
	return st.walk(ctx, "", nil, rules, false, found)
}

// walk lists one directory. excluded is set inside an ignored directory
// that holds tracked files: it is walked for them, nothing in it is
// untracked.
func (st *status) walk(ctx context.Context, dir string, parts []string, rules ignoreRules, excluded bool, found map[string]struct{}) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	abs := filepath.Join(st.r.root, filepath.FromSlash(dir))
	entries, err := os.ReadDir(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("listing %s: %w", displayDir(dir), err)
	}
	if !excluded && slices.ContainsFunc(entries, func(de fs.DirEntry) bool { return de.Name() == ".gitignore" }) {
		if data, err := os.ReadFile(filepath.Join(abs, ".gitignore")); err == nil {
			rules = rules.with(parseIgnore(data, parts))
		}
	}
	for _, de := range entries {
		name := de.Name()
		if name == ".git" {
			continue
		}
		rel := name
		if dir != "" {
			rel = dir + "/" + name
		}
		if !de.IsDir() {
			if t := de.Type(); (t != 0 && t != fs.ModeSymlink) || st.tracked[rel] || excluded {
				continue // sockets, pipes, devices; tracked files are compared with the index
			}
			if rules.excluded(append(parts[:len(parts):len(parts)], name), false) {
				continue
			}
			found[rel] = struct{}{}
			continue
		}
		if st.gitlinks[rel] {
			continue // a submodule
		}
		p := append(parts[:len(parts):len(parts)], name)
		ex := excluded || rules.excluded(p, true)
		var err error
		switch {
		case st.trackedDirs[rel]:
			err = st.walk(ctx, rel, p, rules, ex, found)
		case ex:
		case isRepository(filepath.Join(abs, name)):
			found[rel+"/"] = struct{}{}
		default:
			err = st.walk(ctx, rel, p, rules, false, found)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func isRepository(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, ".git"))
	return err == nil
}

// readGitDirFile returns a file under the git directory, nil when absent.
func (st *status) readGitDirFile(name string) []byte {
	if st.gitDir == nil {
		return nil
	}
	f, err := st.gitDir.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil
	}
	return b
}

// Line-ending conversion git applies when it hashes a work tree file.
const (
	convNone = iota // bytes as they are
	convText        // CRLF becomes LF
	convAuto        // CRLF becomes LF in text files that have no CR in the index
)

// conversion finds how git normalizes line endings of the file from the
// text, eol and crlf attributes and core.autocrlf.
func (st *status) conversion(name string) (int, error) {
	text, eol, crlf := "", "", ""
	for _, ps := range st.attributeFiles(name) {
		parts := strings.Split(name, "/")
		for i := len(ps) - 1; i >= 0; i-- {
			if !ps[i].match(parts, false) {
				continue
			}
			for _, a := range ps[i].attrs {
				switch {
				case a.name == "text" && text == "":
					text = a.value
				case a.name == "eol" && eol == "":
					eol = a.value
				case a.name == "crlf" && crlf == "":
					crlf = a.value
				}
			}
		}
	}
	if text == "" || text == "unspecified" {
		switch crlf {
		case "set", "input":
			text = "set"
		case "unset":
			text = "unset"
		}
	}
	switch text {
	case "unset":
		return convNone, nil
	case "set":
		return convText, nil
	case "auto":
		return convAuto, nil
	}
	if eol == "lf" || eol == "crlf" {
		return convText, nil
	}
	if st.cfg.autocrlf == "true" || st.cfg.autocrlf == "input" {
		return convAuto, nil
	}
	return convNone, nil
}

// attributeFiles returns the attribute patterns that apply to the file,
// highest priority first: .git/info/attributes, the .gitattributes files
// from the file's directory up to the root, then core.attributesFile.
func (st *status) attributeFiles(name string) [][]pattern {
	st.attrsMu.Lock()
	defer st.attrsMu.Unlock()
	var out [][]pattern
	out = append(out, parseAttributes(st.readGitDirFile("info/attributes"), nil))
	parts := strings.Split(name, "/")
	for n := len(parts) - 1; n >= 0; n-- {
		dir := strings.Join(parts[:n], "/")
		ps, ok := st.attrs[dir]
		if !ok {
			data, _ := os.ReadFile(filepath.Join(st.r.root, filepath.FromSlash(dir), ".gitattributes"))
			ps = parseAttributes(data, parts[:n:n])
			st.attrs[dir] = ps
		}
		out = append(out, ps)
	}
	if st.cfg.attributesFile != "" {
		data, _ := os.ReadFile(st.cfg.attributesFile)
		out = append(out, parseAttributes(data, nil))
	}
	return out
}

// isBinary applies git's heuristic: a NUL, a lone CR, or many control
// characters make a file binary.
func isBinary(data []byte) bool {
	var printable, nonPrintable int
	for i, c := range data {
		switch {
		case c == 0:
			return true
		case c == '\r':
			if i+1 >= len(data) || data[i+1] != '\n' {
				return true
			}
		case c == '\n', c == '\t', c == '\b', c == 0x1b, c == 0x0c:
			printable++
		case c == 0x7f || c < 0x20:
			nonPrintable++
		default:
			printable++
		}
	}
	return printable>>7 < nonPrintable
}

// blobHasCR reports whether the blob holds a CR: git then leaves CRLF in
// the work tree alone under text=auto.
func (st *status) blobHasCR(h plumbing.Hash) bool {
	st.objMu.Lock()
	defer st.objMu.Unlock()
	b, err := object.GetBlob(st.r.repo.Storer, h)
	if err != nil {
		return false
	}
	rd, err := b.Reader()
	if err != nil {
		return false
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	return err == nil && bytes.IndexByte(data, '\r') >= 0
}

func crlfToLF(data []byte) []byte {
	return bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
}
