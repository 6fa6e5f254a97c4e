package git

import (
	"strings"
	"testing"
)

func TestIgnoreRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		file  string // content of the ignore file
		base  string // its directory, "" for the root
		path  string
		isDir bool
		want  bool
	}{
		{name: "glob at the root", file: "*.log", path: "a.log", want: true},
		{name: "glob at any depth", file: "*.log", path: "x/y/a.log", want: true},
		{name: "glob on a directory", file: "*.log", path: "x/a.log", isDir: true, want: true},
		{name: "glob needs the whole name", file: "*.log", path: "a.logx"},
		{name: "leading slash anchors", file: "/build", path: "build", want: true},
		{name: "anchored not deeper", file: "/build", path: "sub/build"},
		{name: "directory pattern on a directory", file: "build/", path: "sub/build", isDir: true, want: true},
		{name: "directory pattern not on a file", file: "build/", path: "build"},
		{name: "middle slash anchors", file: "doc/*.txt", path: "doc/a.txt", want: true},
		{name: "star does not cross slash", file: "doc/*.txt", path: "doc/sub/a.txt"},
		{name: "middle slash not deeper", file: "doc/*.txt", path: "x/doc/a.txt"},
		{name: "leading double star", file: "**/foo", path: "a/b/foo", want: true},
		{name: "leading double star at the root", file: "**/foo", path: "foo", want: true},
		{name: "trailing double star", file: "foo/**", path: "foo/a/b", want: true},
		{name: "trailing double star not the directory", file: "foo/**", path: "foo", isDir: true},
		{name: "middle double star, zero directories", file: "a/**/b", path: "a/b", want: true},
		{name: "middle double star, several", file: "a/**/b", path: "a/x/y/b", want: true},
		{name: "middle double star, other name", file: "a/**/b", path: "a/x/c"},
		{name: "negated class", file: "[!a]*.yaml", path: "b.yaml", want: true},
		{name: "negated class excludes", file: "[!a]*.yaml", path: "a.yaml"},
		{name: "question mark", file: "?.md", path: "a.md", want: true},
		{name: "question mark is one character", file: "?.md", path: "ab.md"},
		{name: "comment", file: "#x", path: "#x"},
		{name: "escaped hash", file: `\#x`, path: "#x", want: true},
		{name: "escaped bang", file: `\!x`, path: "!x", want: true},
		{name: "trailing spaces dropped", file: "trail   ", path: "trail", want: true},
		{name: "escaped trailing space kept", file: `sp\ `, path: "sp ", want: true},
		{name: "CRLF line", file: "*.tmp\r\n", path: "a.tmp", want: true},
		{name: "byte order mark", file: "\xef\xbb\xbf*.tmp\n", path: "a.tmp", want: true},
		{name: "last pattern wins", file: "*.log\n!keep.log", path: "keep.log"},
		{name: "negation only where it matches", file: "*.log\n!keep.log", path: "debug.log", want: true},
		{name: "re-excluded", file: "*.log\n!keep.log\nkeep.log", path: "keep.log", want: true},
		{name: "nested file applies below", file: "x", base: "sub", path: "sub/d/x", want: true},
		{name: "nested file not above", file: "x", base: "sub", path: "x"},
		{name: "nested anchored", file: "/x", base: "sub", path: "sub/x", want: true},
		{name: "nested anchored not deeper", file: "/x", base: "sub", path: "sub/d/x"},
		{name: "nested file not the directory itself", file: "*", base: "sub", path: "sub", isDir: true},
		{name: "bad pattern matches nothing", file: "[", path: "["},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var base []string
			if tt.base != "" {
				base = strings.Split(tt.base, "/")
			}
			rules := ignoreRules(parseIgnore([]byte(tt.file), base))
			if got := rules.excluded(strings.Split(tt.path, "/"), tt.isDir); got != tt.want {
				t.Errorf("%q excludes %s (dir %v) = %v, want %v", tt.file, tt.path, tt.isDir, got, tt.want)
			}
		})
	}
}

func TestParseAttributes(t *testing.T) {
	t.Parallel()
	ps := parseAttributes([]byte("# comment\n*.sh text eol=lf\n*.png binary\n*.md -text !eol\n\"quoted\" text\n"), nil)
	got := map[string]string{}
	for _, p := range ps {
		for _, a := range p.attrs {
			got[strings.Join(p.segs, "/")+" "+a.name] = a.value
		}
	}
	want := map[string]string{
		"*.sh text": "set", "*.sh eol": "lf",
		"*.png text": "unset", "*.png crlf": "unset",
		"*.md text": "unset", "*.md eol": "unspecified",
	}
	if len(got) != len(want) {
		t.Errorf("attributes = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestIsBinary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data string
		want bool
	}{
		{"text\r\nmore\r\n", false},
		{"a\x00b", true},
		{"lone\rcr\n", true},
		{"\x01\x02\x03\x04", true},
		{"tabs\tand\x1bescapes\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isBinary([]byte(tt.data)); got != tt.want {
			t.Errorf("isBinary(%q) = %v, want %v", tt.data, got, tt.want)
		}
	}
}
