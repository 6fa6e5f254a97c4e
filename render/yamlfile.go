package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// sourceFile is one YAML file of the repository, parsed once.
type sourceFile struct {
	path string // relative to the repository root, slash-separated
	data []byte
	docs []*document
	// lines holds the byte offset of the start of each line, computed with
	// the same line breaks as the YAML parser; see lineStarts.
	lines []int
}

// document is one YAML document of a file.
type document struct {
	file  *sourceFile
	index int
	// top is the document's top-level node (the mapping of an object), never
	// an alias.
	top *yaml.Node
	// line is the line of the document's first node.
	line int
	// pruned documents have no top any more, only meta; see prune.
	pruned bool
	meta   struct {
		apiVersion, kind string
		sops             bool
		labelKey         string
		label            *yaml.Node
	}
}

// labelValue is the node of the value of the document's label key, nil
// when the document does not have it.
func (d *document) labelValue(key string) *yaml.Node {
	if d.pruned {
		if key != d.meta.labelKey {
			return nil
		}
		return d.meta.label
	}
	return lookup(lookup(lookup(d.top, "metadata"), "labels"), key)
}

var errLineRE = regexp.MustCompile(`line (\d+)`)

// parseFile splits data into YAML documents. A malformed file returns a
// Problem (with the parser's line when it gives one) and no documents.
func parseFile(path string, data []byte) (*sourceFile, *Problem) {
	f := &sourceFile{path: path, data: data, lines: lineStarts(data)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlProblem(path, err)
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
			continue
		}
		top := n.Content[0]
		f.docs = append(f.docs, &document{file: f, index: i, top: top, line: top.Line})
	}
	return f, nil
}

// parserErrors are the messages of the YAML parser (as opposed to its
// scanner), whose line go.yaml.in/yaml/v3 reports 0-based: the line where
// the enclosing collection starts, or of the problem when it has none.
var parserErrors = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected <document start>", "did not find expected '-' indicator",
	"did not find expected key", "did not find expected node content",
	"found duplicate %YAML directive", "found duplicate %TAG directive",
	"found incompatible YAML document", "found undefined tag handle",
}

func yamlProblem(path string, err error) *Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := &Problem{Path: path, Message: "invalid YAML: " + msg}
	if m := errLineRE.FindStringSubmatch(msg); m != nil && strings.HasPrefix(msg, m[0]) {
		p.Line, _ = strconv.Atoi(m[1])
		msg = strings.TrimSpace(strings.TrimPrefix(msg[len(m[0]):], ":"))
		p.Message = "invalid YAML: " + msg
	}
	if slices.Contains(parserErrors, msg) {
		p.Line++
	}
	return p
}

// lineStarts returns the byte offset at which each line of data starts.
// Line breaks are those of the YAML parser (go.yaml.in/yaml/v3, like
// libyaml): CRLF, CR, LF, NEL (U+0085), LS (U+2028) and PS (U+2029). A UTF-8
// byte order mark at the start is not part of line 1, as the parser skips it
// and counts columns after it.
func lineStarts(data []byte) []int {
	start := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		start = 3
	}
	lines := []int{start}
	for i := start; i < len(data); {
		switch {
		case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
			i += 2
		case data[i] == '\r' || data[i] == '\n':
			i++
		case data[i] == 0xc2 && i+1 < len(data) && data[i+1] == 0x85:
			i += 2
		case data[i] == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9):
			i += 3
		default:
			i++
			continue
		}
		lines = append(lines, i)
	}
	return lines
}

// offset converts the parser's 1-based line and column (the column counts
// runes, not bytes) into a byte offset of the file, or -1.
func (f *sourceFile) offset(line, col int) int {
	if f.lines == nil {
		f.lines = lineStarts(f.data)
	}
	if line < 1 || line > len(f.lines) || col < 1 {
		return -1
	}
	off := f.lines[line-1]
	for range col - 1 {
		if off >= len(f.data) {
			return -1
		}
		_, size := utf8.DecodeRune(f.data[off:])
		off += size
	}
	return off
}

// lineText returns the bytes of line n (1-based) without its line break.
func (f *sourceFile) lineText(n int) []byte {
	if f.lines == nil {
		f.lines = lineStarts(f.data)
	}
	if n < 1 || n > len(f.lines) {
		return nil
	}
	end := len(f.data)
	if n < len(f.lines) {
		end = f.lines[n]
	}
	text := f.data[f.lines[n-1]:end]
	for _, brk := range []string{"\r\n", "\n", "\r", "\u0085", "\u2028", "\u2029"} {
		if t, ok := bytes.CutSuffix(text, []byte(brk)); ok {
			return t
		}
	}
	return text
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// lookup returns the value node of key in mapping m (aliases resolved,
// merge keys followed, the last occurrence winning as when decoding), or
// nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := len(m.Content) - 2; i >= 0; i -= 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key && k.ShortTag() != "!!merge" {
			return m.Content[i+1]
		}
	}
	// Merged mappings: explicit keys win over merged ones; among merged
	// mappings the first listed wins.
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
			continue
		}
		v := resolve(m.Content[i+1])
		if v == nil {
			continue
		}
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, s := range sources {
			if found := lookup(s, key); found != nil {
				return found
			}
		}
	}
	return nil
}

// scalarString returns the string value of a scalar node (after aliases),
// and whether it is a scalar.
func scalarString(n *yaml.Node) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

// typeMeta reads apiVersion and kind of a document without converting it.
func (d *document) typeMeta() (apiVersion, kind string) {
	if d.pruned {
		return d.meta.apiVersion, d.meta.kind
	}
	apiVersion, _ = scalarString(lookup(d.top, "apiVersion"))
	kind, _ = scalarString(lookup(d.top, "kind"))
	return apiVersion, kind
}

// isSOPS reports whether the document is SOPS-encrypted (a top-level sops:
// key).
func (d *document) isSOPS() bool {
	if d.pruned {
		return d.meta.sops
	}
	return lookup(d.top, "sops") != nil
}

// maxConvertedNodes bounds the conversion of one document, so that aliases
// nested into each other ("billion laughs") cannot exhaust memory.
const maxConvertedNodes = 1 << 20

// toObject converts a document into the map form of unstructured objects.
func (d *document) toObject() (map[string]any, error) {
	budget := maxConvertedNodes
	v, err := convert(d.top, &budget, 0)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("the document is not a mapping")
	}
	return m, nil
}

// convert turns a node into the JSON-like values unstructured objects hold:
// map[string]any, []any, string, int64, float64, bool and nil.
func convert(n *yaml.Node, budget *int, depth int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errors.New("document too large (aliases expand beyond the limit)")
	}
	if depth > 1000 {
		return nil, errors.New("document nested too deeply")
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias %q", n.Line, n.Value)
		}
		return convert(n.Alias, budget, depth+1)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return convert(n.Content[0], budget, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return convertMapping(n, budget, depth)
	case yaml.ScalarNode:
		return convertScalar(n)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

func convertMapping(n *yaml.Node, budget *int, depth int) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: mapping keys must be scalars", n.Content[i].Line)
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		cv, err := convert(v, budget, depth+1)
		if err != nil {
			return nil, err
		}
		out[k.Value] = cv
	}
	// Merged keys never override explicit ones; the first merged mapping
	// wins over later ones.
	for _, m := range merges {
		m = resolve(m)
		sources := []*yaml.Node{m}
		if m != nil && m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			v, err := convert(s, budget, depth+1)
			if err != nil {
				return nil, err
			}
			sm, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("line %d: merge key needs a mapping", s.Line)
			}
			for key, val := range sm {
				if _, set := out[key]; !set {
					out[key] = val
				}
			}
		}
	}
	return out, nil
}

func convertScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int":
		// Leading zeros mean octal to the parser; leave those to it.
		if !strings.HasPrefix(strings.TrimLeft(n.Value, "+-"), "0") {
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return i, nil
			}
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case uint64:
			return float64(x), nil
		case float64:
			return x, nil
		}
		return n.Value, nil
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f, nil
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return f, nil
	}
	// Unknown (application) tags: keep the text.
	return n.Value, nil
}
