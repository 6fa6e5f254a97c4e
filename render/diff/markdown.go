package diff

import (
	"fmt"
	"html"
	"strings"
	"unicode/utf8"
)

// MarkdownOptions shape a markdown comment.
type MarkdownOptions struct {
	// MaxBytes is the most bytes the comment may have; 0 means no limit.
	MaxBytes int
}

// shownFields is how many changed fields a summary row names.
const shownFields = 3

// Markdown presents resource differences for a pull request comment: a
// table of the resources that differ, a line naming the unchanged ones, and
// the diff of each resource that differs, folded. When the comment would
// exceed o.MaxBytes, diffs are left out from the end (and, if need be, table
// rows), saying so.
func Markdown(rs []Resource, o MarkdownOptions) string {
	changed, unchanged, rows, sections := markdownParts(rs, 0)
	out := compose(rows, sections, unchangedLine(unchanged), len(changed), len(sections))
	if o.MaxBytes <= 0 || len(out) <= o.MaxBytes {
		return out
	}
	// Leave out diffs from the end until the comment fits.
	size := len(compose(rows, nil, unchangedLine(unchanged), len(changed), len(sections)))
	kept := 0
	for kept < len(sections) && size+len(sections[kept]) <= o.MaxBytes {
		size += len(sections[kept])
		kept++
	}
	out = compose(rows, sections[:kept], unchangedLine(unchanged), len(changed), len(sections))
	if len(out) <= o.MaxBytes {
		return out
	}
	// Not even the summary fits: shorten the table, then say only that
	// much was left out, then cut.
	for n := len(rows) - 1; n >= 0; n-- {
		short := append(rows[:n:n], fmt.Sprintf("| and %d more | | |\n", len(rows)-n))
		out = compose(short, nil, plural(len(unchanged), "resource")+" unchanged.\n", len(changed), len(sections))
		if len(out) <= o.MaxBytes {
			return out
		}
	}
	return cut(tooLong(len(changed)), o.MaxBytes)
}

// tooLong is the whole comment when nothing else fits.
func tooLong(changed int) string {
	return fmt.Sprintf("%s changed; the details were left out to keep the comment under the size limit; run `upgrade-bot plan` to see them all.\n", plural(changed, "resource"))
}

// compose puts a comment together. total is the number of diffs there are,
// of which sections are shown.
func compose(rows, sections []string, unchangedText string, changed, total int) string {
	var b strings.Builder
	if changed > 0 {
		b.WriteString("| Resource | Status | Changed fields |\n|---|---|---|\n")
		for _, r := range rows {
			b.WriteString(r)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("No resource changes.\n\n")
	}
	if unchangedText != "" {
		b.WriteString(unchangedText)
		b.WriteString("\n")
	}
	for _, s := range sections {
		b.WriteString(s)
	}
	if left := total - len(sections); left > 0 {
		fmt.Fprintf(&b, "%s left out to keep the comment under the size limit; run `upgrade-bot plan` to see them all.\n", plural(left, "diff"))
	}
	return b.String()
}

func tableRow(r Resource) string {
	var fields string
	switch r.Status {
	case StatusAdded:
		fields = "new resource"
	case StatusRemoved:
		fields = "resource removed"
	default:
		names := make([]string, 0, shownFields)
		for i, c := range r.Changes {
			if i == shownFields {
				break
			}
			names = append(names, codeSpan(c.Path))
		}
		fields = strings.Join(names, ", ")
		if more := len(r.Changes) - shownFields; more > 0 {
			fields += fmt.Sprintf(" and %d more", more)
		}
	}
	return fmt.Sprintf("| %s | %s | %s |\n", cell(r.ID()), cell(string(r.Status)), fields)
}

func unchangedLine(rs []Resource) string {
	if len(rs) == 0 {
		return ""
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = cell(r.ID())
	}
	return "Unchanged: " + strings.Join(ids, ", ") + ".\n"
}

func section(r Resource) string {
	var what string
	switch r.Status {
	case StatusAdded:
		what = "added"
	case StatusRemoved:
		what = "removed"
	default:
		what = plural(len(r.Changes), "field") + " changed"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<details><summary>%s — %s</summary>\n\n", html.EscapeString(r.ID()), what)
	b.WriteString(fenced(r.Unified, "diff"))
	b.WriteString("\n</details>\n\n")
	return b.String()
}

// fenced wraps text in a code fence longer than any run of backticks in it.
func fenced(text, lang string) string {
	fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return fence + lang + "\n" + text + fence + "\n"
}

// codeSpan writes s as inline code that survives a table cell: delimited by
// more backticks than it holds in a row, with pipes escaped.
func codeSpan(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

// cell escapes text for a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ", "`", "\\`").Replace(s)
}

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// cut shortens s to at most n bytes without splitting a character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Text presents resource differences for a terminal: for each resource that
// differs, a header line and its unified diff.
func Text(rs []Resource) string {
	var b strings.Builder
	for _, r := range rs {
		if r.Status == StatusUnchanged {
			continue
		}
		switch r.Status {
		case StatusChanged:
			fmt.Fprintf(&b, "%s: %s changed\n", r.ID(), plural(len(r.Changes), "field"))
		default:
			fmt.Fprintf(&b, "%s: %s\n", r.ID(), r.Status)
		}
		b.WriteString(r.Unified)
		if r.Unified != "" && !strings.HasSuffix(r.Unified, "\n") {
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// MarkdownPages is Markdown split into pages of at most maxBytes each, for
// forges that limit a comment's size: nothing is left out, the diffs are
// spread over as many pages as they need. The first page holds the table
// and the diffs that fit after it; the later pages hold the rest, in order.
// A single diff longer than a page is shortened to fit, saying how many
// lines were left out. When not even the table fits in a page, the result
// is the one page Markdown makes with that limit.
func MarkdownPages(rs []Resource, maxBytes int) []string {
	whole := Markdown(rs, MarkdownOptions{})
	if maxBytes <= 0 || len(whole) <= maxBytes {
		return []string{whole}
	}
	changed, unchanged, rows, sections := markdownParts(rs, maxBytes)
	head := compose(rows, nil, unchangedLine(unchanged), len(changed), 0)
	if len(head) > maxBytes {
		return []string{Markdown(rs, MarkdownOptions{MaxBytes: maxBytes})}
	}
	var pages []string
	page := strings.Builder{}
	page.WriteString(head)
	for _, s := range sections {
		if page.Len()+len(s) > maxBytes {
			pages = append(pages, page.String())
			page.Reset()
		}
		page.WriteString(s)
	}
	return append(pages, page.String())
}

// markdownParts sorts resources into changed and unchanged ones and makes
// the table row and folded diff of each changed one; with maxSection > 0,
// longer diffs are shortened to fit.
func markdownParts(rs []Resource, maxSection int) (changed, unchanged []Resource, rows, sections []string) {
	for _, r := range rs {
		if r.Status == StatusUnchanged {
			unchanged = append(unchanged, r)
		} else {
			changed = append(changed, r)
		}
	}
	rows = make([]string, len(changed))
	sections = make([]string, len(changed))
	for i, r := range changed {
		rows[i] = tableRow(r)
		sections[i] = section(r)
		if maxSection > 0 && len(sections[i]) > maxSection {
			sections[i] = shortSection(r, maxSection)
		}
	}
	return changed, unchanged, rows, sections
}

// shortSection is a resource's folded diff cut to at most maxBytes, whole
// lines only, saying how many lines were left out.
func shortSection(r Resource, maxBytes int) string {
	lines := strings.SplitAfter(r.Unified, "\n")
	for keep := len(lines) - 1; keep >= 0; keep-- {
		short := r
		short.Unified = strings.Join(lines[:keep], "") + fmt.Sprintf("… %d more lines left out to fit the comment size limit; run `upgrade-bot plan` to see them\n", len(lines)-keep)
		if s := section(short); len(s) <= maxBytes {
			return s
		}
	}
	return cut(section(r), maxBytes)
}
