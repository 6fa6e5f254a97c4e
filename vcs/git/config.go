package git

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	formatcfg "github.com/go-git/go-git/v5/plumbing/format/config"
)

// coreConfig is what Dirty needs of git's configuration, read the way git
// reads it: system, then global (XDG and ~/.gitconfig), then the
// repository, later files winning. go-git reads only the repository's
// file for status (go-git/go-git#1708), so a core.autocrlf set globally,
// as Git for Windows does, is lost there.
type coreConfig struct {
	autocrlf       string // "true", "input" or "false"
	fileMode       bool
	excludesFile   string
	attributesFile string
}

// readCoreConfig reads the core options from the system and global files
// and then from the repository's configuration.
func readCoreConfig(local *formatcfg.Config) (coreConfig, error) {
	c := coreConfig{autocrlf: "false", fileMode: true}
	xdg := xdgConfigDir()
	if xdg != "" {
		c.excludesFile = filepath.Join(xdg, "git", "ignore")
		c.attributesFile = filepath.Join(xdg, "git", "attributes")
	}
	for _, name := range configFiles(xdg) {
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return c, fmt.Errorf("reading git configuration %s: %w", name, err)
		}
		raw := formatcfg.New()
		if err := formatcfg.NewDecoder(bytes.NewReader(data)).Decode(raw); err != nil {
			return c, fmt.Errorf("parsing git configuration %s: %w", name, err)
		}
		c.apply(raw)
	}
	if local != nil {
		c.apply(local)
	}
	return c, nil
}

func (c *coreConfig) apply(raw *formatcfg.Config) {
	if !raw.HasSection("core") {
		return
	}
	opts := raw.Section("core").Options
	if opts.Has("autocrlf") {
		switch v := strings.ToLower(opts.Get("autocrlf")); {
		case v == "input":
			c.autocrlf = "input"
		case parseBool(v):
			c.autocrlf = "true"
		default:
			c.autocrlf = "false"
		}
	}
	if opts.Has("filemode") {
		c.fileMode = parseBool(strings.ToLower(opts.Get("filemode")))
	}
	if opts.Has("excludesfile") {
		c.excludesFile = expandHome(opts.Get("excludesfile"))
	}
	if opts.Has("attributesfile") {
		c.attributesFile = expandHome(opts.Get("attributesfile"))
	}
}

// parseBool reads a git boolean; a key without a value is true.
func parseBool(v string) bool {
	switch v {
	case "", "true", "yes", "on", "1":
		return true
	}
	return false
}

// configFiles lists the system and global configuration files in the
// order git reads them, honouring GIT_CONFIG_NOSYSTEM, GIT_CONFIG_SYSTEM
// and GIT_CONFIG_GLOBAL.
func configFiles(xdg string) []string {
	var files []string
	if ns := os.Getenv("GIT_CONFIG_NOSYSTEM"); ns == "" || !parseBool(strings.ToLower(ns)) {
		if s := os.Getenv("GIT_CONFIG_SYSTEM"); s != "" {
			files = append(files, s)
		} else {
			files = append(files, "/etc/gitconfig")
		}
	}
	if g := os.Getenv("GIT_CONFIG_GLOBAL"); g != "" {
		return append(files, g)
	}
	if xdg != "" {
		files = append(files, filepath.Join(xdg, "git", "config"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".gitconfig"))
	}
	return files
}

// xdgConfigDir is $XDG_CONFIG_HOME, or ~/.config; "" when neither is known.
func xdgConfigDir() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".config")
	}
	return ""
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}
