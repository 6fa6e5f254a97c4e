package releases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path"
	"strconv"
)

// Fingerprint sums up the files of the releases directory dir that Load
// reads — each provider's releases.json, and every release directory's
// release.yaml and base/*.yaml, archived ones included — by path, size,
// modification time and mode, without reading them. When it returns what
// it returned before, a Load would give the same catalog; when it differs,
// something may have changed. It costs one stat per file.
func Fingerprint(ctx context.Context, dir string) (string, error) {
	f := &fingerprint{fsys: os.DirFS(dir), h: sha256.New()}
	entries, err := fs.ReadDir(f.fsys, ".")
	if err != nil {
		return "", fmt.Errorf("fingerprinting the releases directory: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || hidden(e.Name()) || e.Name() == archivedDir || versionDir(e.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("fingerprinting the releases directory: %w", err)
		}
		if err := f.provider(e.Name()); err != nil {
			return "", fmt.Errorf("fingerprinting the releases directory %s: %w", dir, err)
		}
	}
	return hex.EncodeToString(f.h.Sum(nil)), nil
}

// fingerprint holds what one Fingerprint needs.
type fingerprint struct {
	fsys fs.FS
	h    hash.Hash
}

func (f *fingerprint) provider(provider string) error {
	if err := f.file(path.Join(provider, indexFile)); err != nil {
		return err
	}
	entries, err := f.dir(provider)
	if err != nil {
		return err
	}
	for _, e := range entries {
		switch {
		case !e.IsDir():
		case e.Name() == archivedDir:
			archived, err := f.dir(path.Join(provider, archivedDir))
			if err != nil {
				return err
			}
			for _, a := range archived {
				if a.IsDir() && versionDir(a.Name()) {
					if err := f.release(path.Join(provider, archivedDir, a.Name())); err != nil {
						return err
					}
				}
			}
		case versionDir(e.Name()):
			if err := f.release(path.Join(provider, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fingerprint) release(dir string) error {
	f.write(dir + "/")
	if err := f.file(path.Join(dir, "release.yaml")); err != nil {
		return err
	}
	base := path.Join(dir, "base")
	entries, err := f.dir(base)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if ext := path.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			if err := f.file(path.Join(base, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// dir lists a directory; one that does not exist has no entries.
func (f *fingerprint) dir(p string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(f.fsys, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}

// file adds a file's path and metadata; one that does not exist adds
// nothing.
func (f *fingerprint) file(p string) error {
	info, err := fs.Stat(f.fsys, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	f.write(p + "\x00" + strconv.FormatInt(info.Size(), 10) + "\x00" + strconv.FormatInt(info.ModTime().UnixNano(), 10) + "\x00" + info.Mode().String())
	return nil
}

func (f *fingerprint) write(s string) {
	f.h.Write([]byte(s + "\n")) // a hash.Hash never fails to write
}
