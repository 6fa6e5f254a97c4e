package diff

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file writes unstructured objects as YAML, byte for byte as
// sigs.k8s.io/yaml.Marshal does, several times faster. Marshal writes JSON,
// reads it back with go.yaml.in/yaml/v2 and writes that as YAML; the code
// below follows what that round trip and yaml.v2's emitter (a port of
// libyaml's emitterc.c) do with the values JSON can hold. Names in comments
// (write_indent, analyze_scalar, ...) are the yaml.v2 functions that a piece
// of code reproduces. Anything it does not handle makes appendYAML report
// false, and the caller falls back to yaml.Marshal: values of other Go
// types, NaN and infinities (an error there), strings that JSON or the YAML
// reader would change or refuse, and map keys that yaml.v2 writes as
// complex keys (multi-line, or longer than 128 bytes).

// yamlWidth is yaml.v2's preferred line width (best_width): longer plain
// and quoted values are folded at spaces.
const yamlWidth = 80

// maxSimpleKey is the longest key yaml.v2 writes as "key: value".
const maxSimpleKey = 128

// yamlWriter holds the emitter state of yaml.v2 that decides the layout:
// the column, the indentation, and whether the last thing written was
// whitespace or indentation.
type yamlWriter struct {
	buf        []byte
	num        [32]byte // room to format a number in
	keys       []string // the sorted keys of the maps being written, as a stack
	column     int
	indent     int
	whitespace bool
	indention  bool
}

// appendYAML appends v written as sigs.k8s.io/yaml.Marshal writes it. It
// reports false when v holds something it does not handle; buf then holds
// partial output.
func appendYAML(buf []byte, v any) ([]byte, bool) {
	w := yamlWriter{buf: buf, indent: -1, whitespace: true, indention: true}
	if !w.node(v, false) {
		return w.buf, false
	}
	w.indent = -1
	w.writeIndent() // the document end
	return w.buf, true
}

// node writes a value; mappingValue is whether it is the value of a map
// entry (yaml.v2's mapping_context), where a list is not indented.
func (w *yamlWriter) node(v any, mappingValue bool) bool {
	switch v := v.(type) {
	case nil:
		w.plain("null")
	case string:
		return w.str(v, false)
	case bool:
		if v {
			w.plain("true")
		} else {
			w.plain("false")
		}
	case int64:
		w.number(strconv.AppendInt(w.num[:0], v, 10))
	case int:
		w.number(strconv.AppendInt(w.num[:0], int64(v), 10))
	case int32:
		w.number(strconv.AppendInt(w.num[:0], int64(v), 10))
	case int16:
		w.number(strconv.AppendInt(w.num[:0], int64(v), 10))
	case int8:
		w.number(strconv.AppendInt(w.num[:0], int64(v), 10))
	case uint64:
		w.number(strconv.AppendUint(w.num[:0], v, 10))
	case uint:
		w.number(strconv.AppendUint(w.num[:0], uint64(v), 10))
	case uint32:
		w.number(strconv.AppendUint(w.num[:0], uint64(v), 10))
	case uint16:
		w.number(strconv.AppendUint(w.num[:0], uint64(v), 10))
	case uint8:
		w.number(strconv.AppendUint(w.num[:0], uint64(v), 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false // JSON has no form for them: yaml.Marshal fails
		}
		w.number(appendFloat(w.num[:0], v))
	case map[string]any:
		if v == nil {
			w.plain("null") // JSON null
			return true
		}
		return w.mapping(v)
	case []any:
		if v == nil {
			w.plain("null")
			return true
		}
		return w.sequence(v, mappingValue)
	default:
		return false
	}
	return true
}

// number writes a number formatted into num.
func (w *yamlWriter) number(n []byte) {
	if !w.whitespace {
		w.put(' ')
	}
	w.buf = append(w.buf, n...)
	w.column += len(n)
	w.whitespace, w.indention = false, false
}

// appendFloat formats f as the JSON round trip leaves it. encoding/json
// writes an integral value below 1e21 as its shortest decimal without a
// fraction or exponent, which yaml.v2 reads back as an integer when it fits
// 64 bits: for every such value above -2^63 and below 2^64 (the shortest
// decimal of the value next to either bound is inside it). yaml.v2 writes
// other floats in the shortest 'g' format.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 0:
		return append(b, '0') // and not "-0"
	case f == math.Trunc(f) && f > math.MinInt64 && f < math.MaxUint64:
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// mapping writes a map: block style with keys sorted as yaml.v2 sorts
// them, "{}" when empty.
func (w *yamlWriter) mapping(m map[string]any) bool {
	if len(m) == 0 {
		w.writeIndicator('{', true, true, false)
		w.writeIndicator('}', false, false, false)
		return true
	}
	start := len(w.keys)
	for k := range m {
		w.keys = append(w.keys, k)
	}
	slices.SortFunc(w.keys[start:], func(a, b string) int {
		if keyLess(a, b) {
			return -1
		}
		if keyLess(b, a) {
			return 1
		}
		return 0
	})
	outer := w.indent
	w.indent += 2 // increase_indent
	if outer < 0 {
		w.indent = 0
	}
	for i := start; i < start+len(m); i++ {
		k := w.keys[i] // w.keys grows with nested maps: index it afresh
		w.writeIndent()
		if !w.str(k, true) {
			return false
		}
		w.writeIndicator(':', false, false, false)
		if !w.node(m[k], true) {
			return false
		}
	}
	w.indent = outer
	w.keys = w.keys[:start]
	return true
}

// sequence writes a list: block style, "[]" when empty. A list that is the
// value of a map entry is not indented.
func (w *yamlWriter) sequence(l []any, mappingValue bool) bool {
	if len(l) == 0 {
		w.writeIndicator('[', true, true, false)
		w.writeIndicator(']', false, false, false)
		return true
	}
	outer := w.indent
	switch indentless := mappingValue && !w.indention; {
	case w.indent < 0:
		w.indent = 0
	case !indentless:
		w.indent += 2
	}
	for _, v := range l {
		w.writeIndent()
		w.writeIndicator('-', true, false, true)
		if !w.node(v, false) {
			return false
		}
	}
	w.indent = outer
	return true
}

// The scalar styles of yaml.v2.
const (
	stylePlain = iota
	styleSingleQuoted
	styleDoubleQuoted
	styleLiteral
)

// str writes a string, as a map key or as a value.
func (w *yamlWriter) str(s string, key bool) bool {
	a, ok := analyzeScalar(s)
	if !ok || key && (a.multiline || len(s) > maxSimpleKey) {
		return false
	}
	// stringv: literal when there is a newline, plain when the string
	// does not read back as another type, double-quoted otherwise.
	style := styleDoubleQuoted
	switch {
	case strings.IndexByte(s, '\n') >= 0:
		style = styleLiteral
	case resolvesToString(s) && !isBase60Float(s):
		style = stylePlain
	}
	// select_scalar_style, with no tag, outside flow collections and for
	// keys on one line.
	if style == stylePlain && (!a.blockPlainAllowed || s == "" && key) {
		style = styleSingleQuoted
	}
	if style == styleSingleQuoted && !a.singleQuotedAllowed {
		style = styleDoubleQuoted
	}
	if style == styleLiteral && (!a.blockAllowed || key) {
		style = styleDoubleQuoted
	}

	outer := w.indent
	w.indent = max(w.indent+2, 2) // increase_indent for a scalar
	switch style {
	case stylePlain:
		w.writePlain(s, !key, a.spaces)
	case styleSingleQuoted:
		w.writeSingleQuoted(s, !key)
	case styleDoubleQuoted:
		w.writeDoubleQuoted(s, !key)
	case styleLiteral:
		w.writeLiteral(s)
	}
	w.indent = outer
	return true
}

// plain writes a scalar with no spaces, such as null or true.
func (w *yamlWriter) plain(s string) {
	if !w.whitespace {
		w.put(' ')
	}
	w.buf = append(w.buf, s...)
	w.column += len(s)
	w.whitespace, w.indention = false, false
}

func (w *yamlWriter) put(c byte) {
	w.buf = append(w.buf, c)
	w.column++
}

func (w *yamlWriter) putBreak() {
	w.buf = append(w.buf, '\n')
	w.column = 0
}

// write copies the character at s[i] and returns the index after it.
func (w *yamlWriter) write(s string, i int) int {
	n := charWidth(s[i])
	w.buf = append(w.buf, s[i:i+n]...)
	w.column++
	return i + n
}

// writeBreak copies the line break at s[i] and returns the index after it.
func (w *yamlWriter) writeBreak(s string, i int) int {
	if s[i] == '\n' {
		w.putBreak()
		return i + 1
	}
	i = w.write(s, i)
	w.column = 0
	return i
}

// writeIndent is write_indent.
func (w *yamlWriter) writeIndent() {
	indent := max(w.indent, 0)
	if !w.indention || w.column > indent || w.column == indent && !w.whitespace {
		w.putBreak()
	}
	for w.column < indent {
		w.put(' ')
	}
	w.whitespace, w.indention = true, true
}

// writeIndicator is write_indicator for a one-character indicator.
func (w *yamlWriter) writeIndicator(c byte, needWhitespace, isWhitespace, isIndention bool) {
	if needWhitespace && !w.whitespace {
		w.put(' ')
	}
	w.put(c)
	w.whitespace = isWhitespace
	w.indention = w.indention && isIndention
}

// writePlain is write_plain_scalar for a value without line breaks (a
// plain scalar has none).
func (w *yamlWriter) writePlain(s string, allowBreaks, hasSpaces bool) {
	if !w.whitespace {
		w.put(' ')
	}
	if !hasSpaces || !allowBreaks {
		// Nothing to fold: copy it whole.
		w.buf = append(w.buf, s...)
		w.column += utf8.RuneCountInString(s)
	} else {
		spaces := false
		for i := 0; i < len(s); {
			if s[i] == ' ' {
				if !spaces && w.column > yamlWidth && s[i+1] != ' ' {
					w.writeIndent()
					i++
				} else {
					i = w.write(s, i)
				}
				spaces = true
			} else {
				i = w.write(s, i)
				spaces = false
			}
		}
	}
	w.whitespace, w.indention = false, false
}

// writeSingleQuoted is write_single_quoted_scalar.
func (w *yamlWriter) writeSingleQuoted(s string, allowBreaks bool) {
	w.writeIndicator('\'', true, false, false)
	spaces, breaks := false, false
	for i := 0; i < len(s); {
		switch {
		case s[i] == ' ':
			if allowBreaks && !spaces && w.column > yamlWidth && i > 0 && i < len(s)-1 && s[i+1] != ' ' {
				w.writeIndent()
				i++
			} else {
				i = w.write(s, i)
			}
			spaces = true
		case isBreak(s, i):
			if !breaks && s[i] == '\n' {
				w.putBreak()
			}
			i = w.writeBreak(s, i)
			w.indention = true
			breaks = true
		default:
			if breaks {
				w.writeIndent()
			}
			if s[i] == '\'' {
				w.put('\'')
			}
			i = w.write(s, i)
			w.indention = false
			spaces, breaks = false, false
		}
	}
	w.writeIndicator('\'', false, false, false)
	w.whitespace, w.indention = false, false
}

// writeDoubleQuoted is write_double_quoted_scalar.
func (w *yamlWriter) writeDoubleQuoted(s string, allowBreaks bool) {
	w.writeIndicator('"', true, false, false)
	// yaml.v2 tests for a byte order mark at the start of the value,
	// whatever the position, so after one every character is escaped.
	bom := strings.HasPrefix(s, "\uFEFF")
	spaces := false
	for i := 0; i < len(s); {
		switch {
		case bom || !isPrintable(s, i) || isBreak(s, i) || s[i] == '"' || s[i] == '\\':
			r, n := utf8.DecodeRuneInString(s[i:])
			i += n
			w.writeEscape(r)
			spaces = false
		case s[i] == ' ':
			if allowBreaks && !spaces && w.column > yamlWidth && i > 0 && i < len(s)-1 {
				w.writeIndent()
				if s[i+1] == ' ' {
					w.put('\\')
				}
				i++
			} else {
				i = w.write(s, i)
			}
			spaces = true
		default:
			i = w.write(s, i)
			spaces = false
		}
	}
	w.writeIndicator('"', false, false, false)
	w.whitespace, w.indention = false, false
}

// writeEscape writes the escape sequence of r in a double-quoted scalar.
func (w *yamlWriter) writeEscape(r rune) {
	w.put('\\')
	if c, ok := shortEscape(r); ok {
		w.put(c)
		return
	}
	digits := 8
	switch {
	case r <= 0xFF:
		w.put('x')
		digits = 2
	case r <= 0xFFFF:
		w.put('u')
		digits = 4
	default:
		w.put('U')
	}
	for k := (digits - 1) * 4; k >= 0; k -= 4 {
		w.put("0123456789ABCDEF"[(r>>uint(k))&0xF])
	}
}

func shortEscape(r rune) (byte, bool) {
	switch r {
	case 0x00:
		return '0', true
	case 0x07:
		return 'a', true
	case 0x08:
		return 'b', true
	case 0x09:
		return 't', true
	case 0x0A:
		return 'n', true
	case 0x0B:
		return 'v', true
	case 0x0C:
		return 'f', true
	case 0x0D:
		return 'r', true
	case 0x1B:
		return 'e', true
	case 0x22:
		return '"', true
	case 0x5C:
		return '\\', true
	case 0x85:
		return 'N', true
	case 0xA0:
		return '_', true
	case 0x2028:
		return 'L', true
	case 0x2029:
		return 'P', true
	}
	return 0, false
}

// writeLiteral is write_literal_scalar with write_block_scalar_hints.
func (w *yamlWriter) writeLiteral(s string) {
	w.writeIndicator('|', true, false, false)
	if s[0] == ' ' || isBreak(s, 0) {
		w.writeIndicator('2', false, false, false) // the indentation
	}
	// The chomping: "-" without a final line break, "+" with more than one.
	last := lastCharStart(s, len(s))
	switch {
	case !isBreak(s, last):
		w.writeIndicator('-', false, false, false)
	case last == 0 || isBreak(s, lastCharStart(s, last)):
		w.writeIndicator('+', false, false, false)
	}
	w.putBreak()
	w.indention, w.whitespace = true, true
	breaks := true
	for i := 0; i < len(s); {
		if isBreak(s, i) {
			i = w.writeBreak(s, i)
			w.indention = true
			breaks = true
		} else {
			if breaks {
				w.writeIndent()
			}
			i = w.write(s, i)
			w.indention = false
			breaks = false
		}
	}
}

// lastCharStart returns where the last character of s[:end] starts.
func lastCharStart(s string, end int) int {
	i := end - 1
	for s[i]&0xC0 == 0x80 {
		i--
	}
	return i
}

// scalarAnalysis is what analyze_scalar finds out about a value, for
// block context.
type scalarAnalysis struct {
	multiline           bool
	blockPlainAllowed   bool
	singleQuotedAllowed bool
	blockAllowed        bool
	spaces              bool // s holds a space: a plain value may be folded
}

// analyzeScalar is analyze_scalar. ok is false for strings that the JSON
// round trip changes or refuses: JSON writes invalid UTF-8 as U+FFFD, and
// DEL, the C1 controls, U+FFFE and U+FFFF as they are, where the YAML
// reader rejects them, or folds them into a space, as NEL (U+0085), a line
// break in YAML that JSON does not escape.
func analyzeScalar(s string) (a scalarAnalysis, ok bool) {
	if s == "" {
		return scalarAnalysis{blockPlainAllowed: true, singleQuotedAllowed: true}, true
	}
	var blockIndicators, lineBreaks, specialCharacters bool
	var leadingSpace, leadingBreak, trailingSpace, trailingBreak, breakSpace, spaceBreak bool
	var previousSpace, previousBreak bool

	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		blockIndicators = true
	}
	precededByWhitespace := true
	for i, n := 0, 0; i < len(s); i += n {
		c := s[i]
		n = 1
		if i > 0 && isASCIIWord(c) {
			// Most characters: printable, no break or space, no indicator.
			previousSpace, previousBreak, precededByWhitespace = false, false, false
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || r <= 0x9F || r == 0xFFFE || r == 0xFFFF {
				return a, false
			}
			n = size
		} else if c == 0x7F {
			return a, false
		}
		followedByWhitespace := i+n >= len(s) || s[i+n] == ' ' || s[i+n] == '\t'

		if i == 0 {
			switch c {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				blockIndicators = true
			case '?', ':':
				if followedByWhitespace {
					blockIndicators = true
				}
			case '-':
				if followedByWhitespace {
					blockIndicators = true
				}
			}
		} else {
			switch c {
			case ':':
				if followedByWhitespace {
					blockIndicators = true
				}
			case '#':
				if precededByWhitespace {
					blockIndicators = true
				}
			}
		}

		if !isPrintable(s, i) {
			specialCharacters = true
		}
		switch {
		case c == ' ':
			a.spaces = true
			if i == 0 {
				leadingSpace = true
			}
			if i+n == len(s) {
				trailingSpace = true
			}
			if previousBreak {
				breakSpace = true
			}
			previousSpace, previousBreak = true, false
		case isBreak(s, i):
			lineBreaks = true
			if i == 0 {
				leadingBreak = true
			}
			if i+n == len(s) {
				trailingBreak = true
			}
			if previousSpace {
				spaceBreak = true
			}
			previousSpace, previousBreak = false, true
		default:
			previousSpace, previousBreak = false, false
		}
		precededByWhitespace = c == ' ' || c == '\t' || c == 0 || isBreak(s, i)
	}

	a.multiline = lineBreaks
	a.blockPlainAllowed, a.singleQuotedAllowed, a.blockAllowed = true, true, true
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.blockPlainAllowed = false
	}
	if trailingSpace {
		a.blockAllowed = false
	}
	if breakSpace {
		a.blockPlainAllowed, a.singleQuotedAllowed = false, false
	}
	if spaceBreak || specialCharacters {
		a.blockPlainAllowed, a.singleQuotedAllowed, a.blockAllowed = false, false, false
	}
	if lineBreaks || blockIndicators {
		a.blockPlainAllowed = false
	}
	return a, true
}

// charWidth is the length of the UTF-8 sequence that starts with c.
func charWidth(c byte) int {
	switch {
	case c&0x80 == 0:
		return 1
	case c&0xE0 == 0xC0:
		return 2
	case c&0xF0 == 0xE0:
		return 3
	default:
		return 4
	}
}

// isPrintable is is_printable for the character at s[i].
func isPrintable(s string, i int) bool {
	c := s[i]
	switch {
	case c == 0x0A || c >= 0x20 && c <= 0x7E:
		return true
	case c == 0xC2:
		return s[i+1] >= 0xA0
	case c > 0xC2 && c < 0xED || c == 0xEE:
		return true
	case c == 0xED:
		return s[i+1] < 0xA0
	case c == 0xEF:
		return !(s[i+1] == 0xBB && s[i+2] == 0xBF) && !(s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF))
	}
	return false
}

// isBreak is is_break: CR, LF, NEL, LS or PS at s[i].
func isBreak(s string, i int) bool {
	switch s[i] {
	case '\r', '\n':
		return true
	case 0xC2:
		return s[i+1] == 0x85
	case 0xE2:
		return s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9)
	}
	return false
}

// resolvesToString reports whether yaml.v2 reads s, written plain, back
// as a string (resolve returns the !!str tag).
func resolvesToString(s string) bool {
	if s == "" {
		return false // null
	}
	switch c := s[0]; {
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		return !isNumberOrTime(s)
	case c == '.':
		if isSpecialFloat(s) {
			return false
		}
		_, err := strconv.ParseFloat(s, 64)
		return err != nil
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		return !isBoolOrNull(s)
	}
	return true
}

// isBoolOrNull is the lookup in resolve's table for the words yaml.v2
// reads as booleans or null.
func isBoolOrNull(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
		"~", "null", "Null", "NULL":
		return true
	}
	return false
}

// isSpecialFloat is the lookup in resolve's table for NaN and infinities.
func isSpecialFloat(s string) bool {
	switch s {
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return true
	}
	return false
}

// isNumberOrTime is resolve for a string that starts with a sign or a
// digit: whether it reads as a timestamp, an integer or a float.
func isNumberOrTime(s string) bool {
	if isSpecialFloat(s) || isTimestamp(s) {
		return true
	}
	plain := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return true
	}
	if isYAMLFloat(plain) {
		if _, err := strconv.ParseFloat(plain, 64); err == nil {
			return true
		}
	}
	switch {
	case strings.HasPrefix(plain, "0b"):
		if _, err := strconv.ParseInt(plain[2:], 2, 64); err == nil {
			return true
		}
		_, err := strconv.ParseUint(plain[2:], 2, 64)
		return err == nil
	case strings.HasPrefix(plain, "-0b"):
		_, err := strconv.ParseInt("-"+plain[3:], 2, 64)
		return err == nil
	}
	return false
}

// isYAMLFloat matches yaml.v2's yamlStyleFloat,
// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$, without a regular
// expression.
func isYAMLFloat(s string) bool {
	digits := func(i int) int {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return false
		}
		i = j
	} else {
		j := digits(i)
		if j == i {
			return false
		}
		i = j
		if i < len(s) && s[i] == '.' {
			i = digits(i + 1)
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

// timestampFormats are the layouts yaml.v2 reads plain timestamps in.
var timestampFormats = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

// isTimestamp is yaml.v2's parseTimestamp.
func isTimestamp(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, layout := range timestampFormats {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// base60Float is yaml.v2's pattern of YAML 1.1 sexagesimal floats, which it
// quotes.
var base60Float = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

func isBase60Float(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if !(c == '+' || c == '-' || c >= '0' && c <= '9') || strings.IndexByte(s, ':') < 0 {
		return false
	}
	return base60Float.MatchString(s)
}

// keyLess orders map keys as yaml.v2 does (keyList.Less for two strings):
// letters by code point and before anything else, runs of digits by their
// value.
func keyLess(a, b string) bool {
	if !isASCII(a) || !isASCII(b) {
		return keyLessRunes([]rune(a), []rune(b))
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		al, bl := isASCIILetter(a[i]), isASCIILetter(b[i])
		if al && bl {
			return a[i] < b[i]
		}
		if al || bl {
			return bl
		}
		var ai, bi int
		var an, bn int64
		if a[i] == '0' || b[i] == '0' {
			for j := i - 1; j >= 0 && isASCIIDigit(a[j]); j-- {
				if a[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		for ai = i; ai < len(a) && isASCIIDigit(a[ai]); ai++ {
			an = an*10 + int64(a[ai]-'0')
		}
		for bi = i; bi < len(b) && isASCIIDigit(b[bi]); bi++ {
			bn = bn*10 + int64(b[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return a[i] < b[i]
	}
	return len(a) < len(b)
}

// keyLessRunes is keyLess for keys that are not all ASCII, as yaml.v2 has
// it, Unicode letters and digits included.
func keyLessRunes(ar, br []rune) bool {
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al, bl := unicode.IsLetter(ar[i]), unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// isASCIIWord reports whether c is a letter, a digit, or one of "-./_"
// and so, after the first character, needs nothing of analyzeScalar.
func isASCIIWord(c byte) bool {
	return isASCIILetter(c) || isASCIIDigit(c) || c == '-' || c == '.' || c == '/' || c == '_'
}
