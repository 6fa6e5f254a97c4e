package git

import (
	"bytes"
	"path"
	"strings"
)

// pattern is one line of a .gitignore or .gitattributes file, matched the
// way git matches it: against the whole path relative to the directory of
// the file that holds it, never against a prefix of the path. Directories
// are pruned by the walk, so "a pattern excludes a directory" is handled
// there and not here (go-git's matcher applies a pattern matching a
// parent directory to everything below it, which re-includes files git
// keeps ignored: go-git/go-git#2112).
type pattern struct {
	base     []string // directory of the file holding the pattern
	segs     []string // pattern split at "/"
	anchored bool     // contains a "/" before its end: match the whole path, else the base name
	dirOnly  bool     // ends with "/"
	negate   bool     // starts with "!"
	attrs    []attr   // for .gitattributes lines
}

// attr is one attribute setting of a .gitattributes line: "text" (set),
// "-text" (unset), "!text" (unspecified again) or "eol=lf" (value).
type attr struct {
	name  string
	value string // "set", "unset", "unspecified" or the value
}

// parseIgnore parses the lines of a .gitignore-style file whose directory
// is base (path components relative to the work tree root).
func parseIgnore(data []byte, base []string) []pattern {
	var out []pattern
	for _, line := range splitLines(data) {
		if line == "" || line[0] == '#' {
			continue
		}
		line = trimTrailingSpaces(line)
		p := pattern{base: base}
		if line[0] == '!' {
			p.negate = true
			line = line[1:]
		}
		if !p.parse(line) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// parseAttributes parses a .gitattributes file whose directory is base.
// Only unquoted patterns are understood; macros other than "binary" are
// not (they do not concern line endings).
func parseAttributes(data []byte, base []string) []pattern {
	var out []pattern
	for _, line := range splitLines(data) {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], "!") || strings.HasPrefix(fields[0], `"`) {
			continue
		}
		p := pattern{base: base}
		if !p.parse(fields[0]) {
			continue
		}
		for _, f := range fields[1:] {
			switch {
			case f == "binary":
				p.attrs = append(p.attrs, attr{"text", "unset"}, attr{"crlf", "unset"})
			case strings.HasPrefix(f, "-"):
				p.attrs = append(p.attrs, attr{f[1:], "unset"})
			case strings.HasPrefix(f, "!"):
				p.attrs = append(p.attrs, attr{f[1:], "unspecified"})
			default:
				name, value, ok := strings.Cut(f, "=")
				if !ok {
					value = "set"
				}
				p.attrs = append(p.attrs, attr{name, value})
			}
		}
		out = append(out, p)
	}
	return out
}

// parse fills the pattern from its text (after "!" and trailing spaces
// are removed). It reports false for a pattern that matches nothing.
func (p *pattern) parse(s string) bool {
	if strings.HasSuffix(s, "/") {
		p.dirOnly = true
		s = strings.TrimRight(s, "/")
	}
	if s == "" {
		return false
	}
	if strings.Contains(s, "/") {
		p.anchored = true
		s = strings.TrimPrefix(s, "/")
	}
	p.segs = strings.Split(fnmatchToGo(s), "/")
	return true
}

// match reports whether the pattern matches the path (components relative
// to the work tree root).
func (p *pattern) match(parts []string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	if len(parts) <= len(p.base) {
		return false
	}
	for i, b := range p.base {
		if parts[i] != b {
			return false
		}
	}
	rel := parts[len(p.base):]
	if !p.anchored {
		return matchSeg(p.segs[0], rel[len(rel)-1])
	}
	return matchSegs(p.segs, rel)
}

// matchSegs matches pattern segments against path components; "**" as a
// whole segment matches zero or more components ("a/**" needs at least
// one).
func matchSegs(segs, parts []string) bool {
	for len(segs) > 0 {
		if segs[0] == "**" {
			if len(segs) == 1 {
				return len(parts) > 0
			}
			for i := 0; i <= len(parts); i++ {
				if matchSegs(segs[1:], parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 || !matchSeg(segs[0], parts[0]) {
			return false
		}
		segs, parts = segs[1:], parts[1:]
	}
	return len(parts) == 0
}

// fnmatchToGo rewrites git's "[!...]" class negation as Go's "[^...]".
func fnmatchToGo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		b.WriteByte(c)
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '[' && i+1 < len(s) && s[i+1] == '!':
			b.WriteByte('^')
			i++
		}
	}
	return b.String()
}

func matchSeg(pat, name string) bool {
	ok, err := path.Match(pat, name)
	return err == nil && ok
}

// splitLines splits a file into lines, dropping a UTF-8 byte order mark
// and the CR of CRLF line ends (a .gitignore checked out on Windows).
func splitLines(data []byte) []string {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// trimTrailingSpaces removes trailing spaces unless escaped with "\".
func trimTrailingSpaces(s string) string {
	end := len(s)
	for end > 0 && s[end-1] == ' ' {
		if end >= 2 && s[end-2] == '\\' {
			return s[:end] // "\ " keeps the space; path.Match reads the escape
		}
		end--
	}
	return s[:end]
}

// ignoreRules is the stack of ignore patterns in force for a directory,
// lowest priority first.
type ignoreRules []pattern

// excluded reports whether the path is ignored: the last matching pattern
// decides, a negated one re-includes.
func (r ignoreRules) excluded(parts []string, isDir bool) bool {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i].match(parts, isDir) {
			return !r[i].negate
		}
	}
	return false
}

// with returns the rules with more patterns of higher priority appended,
// without changing r.
func (r ignoreRules) with(more []pattern) ignoreRules {
	if len(more) == 0 {
		return r
	}
	out := make(ignoreRules, 0, len(r)+len(more))
	return append(append(out, r...), more...)
}
