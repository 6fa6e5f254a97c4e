package render

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// embedding places a YAML text held in a literal block scalar (an inline
// kustomize patch) inside its file.
type embedding struct {
	outer *sourceFile
	block *yaml.Node // the literal block scalar
	// key is the mapping key of the block, kind and name the resource
	// holding it, for descriptions.
	key, kind, name string
}

// scalarRef is a scalar node of a file, possibly inside an embedded YAML
// text.
type scalarRef struct {
	file  *sourceFile // the file, or the embedded text when embed is set
	node  *yaml.Node  // the scalar (aliases resolved)
	embed *embedding
}

// span is where a scalar's value is in its file.
type span struct {
	path         string
	line, column int
	offset       int
	length       int
	value        string
}

// editError says that a value cannot be edited in place.
func editError(path string, line int, why string) error {
	return fmt.Errorf("%s:%d: the version is written %s; upgrade-bot cannot change it without reformatting the file: write it as a plain or quoted string", path, line, why)
}

// locate finds the exact bytes of the scalar's value in its file, and
// checks that replacing them is a faithful edit: the bytes are the value
// itself (no escapes, no line folding) and it is not a block scalar.
func (s scalarRef) locate() (span, error) {
	n := s.node
	outer, line := s.file, n.Line
	if s.embed != nil {
		outer, line = s.embed.outer, s.embed.block.Line+n.Line
	}
	if n.Kind != yaml.ScalarNode {
		return span{}, editError(outer.path, line, "as a collection, not a string")
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return span{}, editError(outer.path, line, "as a block scalar (| or >)")
	}
	if n.Value == "" {
		return span{}, editError(outer.path, line, "as an empty value")
	}
	off := s.file.offset(n.Line, n.Column)
	if off < 0 {
		return span{}, editError(outer.path, line, "where its position cannot be told")
	}
	off = skipProperties(s.file.data, off)
	var quote byte
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		quote = '"'
	case n.Style&yaml.SingleQuotedStyle != 0:
		quote = '\''
	}
	data := s.file.data
	if quote != 0 {
		if off >= len(data) || data[off] != quote {
			return span{}, editError(outer.path, line, "in a form whose position cannot be told")
		}
		off++
	}
	end := off + len(n.Value)
	if end > len(data) || string(data[off:end]) != n.Value || (quote != 0 && (end >= len(data) || data[end] != quote)) {
		return span{}, editError(outer.path, line, "with escapes or over several lines")
	}
	if s.embed != nil {
		var err error
		if off, err = s.embed.toOuter(s.file, off, len(n.Value)); err != nil {
			return span{}, err
		}
	}
	l, c := outer.position(off)
	return span{path: outer.path, line: l, column: c, offset: off, length: len(n.Value), value: n.Value}, nil
}

// skipProperties skips a node's anchor (&a) and tag (!t) and the space,
// line breaks and comments after them: the parser's column points at the
// first property, not at the value.
func skipProperties(data []byte, off int) int {
	for off < len(data) && (data[off] == '&' || data[off] == '!') {
		for off < len(data) && !isBlank(data[off]) {
			off++
		}
		for off < len(data) {
			switch {
			case isBlank(data[off]):
				off++
			case data[off] == '#':
				for off < len(data) && data[off] != '\n' && data[off] != '\r' {
					off++
				}
			default:
				return off
			}
		}
	}
	return off
}

func isBlank(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// position converts a byte offset into a 1-based line and column
// (characters).
func (f *sourceFile) position(off int) (line, col int) {
	if f.lines == nil {
		f.lines = lineStarts(f.data)
	}
	i := sort.Search(len(f.lines), func(i int) bool { return f.lines[i] > off }) - 1
	i = max(i, 0)
	return i + 1, utf8.RuneCount(f.data[f.lines[i]:off]) + 1
}

// toOuter maps an offset of the embedded text to its file. The line of the
// embedded text must appear verbatim (after the block's indentation) in the
// file, which holds for literal block scalars.
func (e *embedding) toOuter(inner *sourceFile, off, length int) (int, error) {
	innerLine, _ := inner.position(off)
	outerLine := e.block.Line + innerLine
	innerText := inner.lineText(innerLine)
	outerText := e.outer.lineText(outerLine)
	indent := len(outerText) - len(innerText)
	if indent < 0 || !bytes.Equal(outerText[indent:], innerText) {
		return 0, editError(e.outer.path, outerLine, "in an embedded patch whose lines cannot be matched to the file")
	}
	outerOff := e.outer.lines[outerLine-1] + indent + (off - inner.lines[innerLine-1])
	if string(e.outer.data[outerOff:outerOff+length]) != string(inner.data[off:off+length]) {
		return 0, editError(e.outer.path, outerLine, "in an embedded patch whose lines cannot be matched to the file")
	}
	return outerOff, nil
}
