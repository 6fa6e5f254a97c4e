package releases

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
)

// indexFile is <provider>/releases.json.
const indexFile = "releases.json"

// indexEntry is one release in releases.json.
type indexEntry struct {
	Version          string `json:"version"`
	IsDeprecated     bool   `json:"isDeprecated"`
	IsStable         *bool  `json:"isStable"`
	ReleaseTimestamp string `json:"releaseTimestamp"`
	ChangelogURL     string `json:"changelogUrl"`
	// EndOfLifeDate is not in the real index; accepted for catalogs that
	// keep it there rather than in release.yaml.
	EndOfLifeDate string `json:"endOfLifeDate"`

	line int
}

// applyIndex reads the provider's releases.json, when there is one, into
// rels: the changelog address, deprecation, the date and end of life when
// release.yaml has none, and the state when release.yaml has none
// (isStable false: preview).
func (l *loader) applyIndex(provider string, rels []*Release) {
	p := path.Join(provider, indexFile)
	data, err := fs.ReadFile(l.fsys, p)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		l.warnf(p, 0, "reading the file: %v", err)
		return
	}
	entries, line, err := parseIndex(data)
	if err != nil {
		l.warnf(p, line, "reading the release index: %v; ignored", err)
		return
	}
	byVersion := make(map[string]*Release, len(rels))
	for _, r := range rels {
		byVersion[r.Version.String()] = r
	}
	for _, e := range entries {
		v, err := ParseVersion(e.Version)
		if err != nil {
			l.warnf(p, e.line, "%v; entry ignored", err)
			continue
		}
		r := byVersion[v.String()]
		if r == nil {
			l.warnf(p, e.line, "v%s is listed, but there is no %s/v%s/release.yaml; entry ignored", v, provider, v)
			continue
		}
		r.ChangelogURL = e.ChangelogURL
		if r.Date.IsZero() && e.ReleaseTimestamp != "" {
			t, err := parseTime(e.ReleaseTimestamp)
			if err != nil {
				l.warnf(p, e.line, "releaseTimestamp %q of v%s is not a date such as 2025-07-15T10:00:00Z", e.ReleaseTimestamp, v)
			}
			r.Date = t
		}
		if r.EndOfLife.IsZero() && e.EndOfLifeDate != "" {
			t, err := parseTime(e.EndOfLifeDate)
			if err != nil {
				l.warnf(p, e.line, "endOfLifeDate %q of v%s is not a date such as 2025-07-15T10:00:00Z", e.EndOfLifeDate, v)
			}
			r.EndOfLife = t
		}
		switch {
		case e.IsDeprecated && (r.State == "" || r.State == StateActive):
			r.State = StateDeprecated
		case r.State == "" && e.IsStable != nil && !*e.IsStable:
			r.State = StatePreview
		case r.State == "":
			r.State = StateActive
		}
	}
}

// parseIndex decodes releases.json keeping the line of each entry. On
// error it returns the line where decoding stopped.
func parseIndex(data []byte) ([]indexEntry, int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	lineOf := func(err error) int {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return lineAt(data, se.Offset)
		case errors.As(err, &te):
			return lineAt(data, te.Offset)
		}
		return lineAt(data, dec.InputOffset())
	}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, lineOf(err), err
	}
	var entries []indexEntry
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, lineOf(err), err
		}
		if tok != "releases" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, lineOf(err), err
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return nil, lineOf(err), fmt.Errorf("releases: %w", err)
		}
		for dec.More() {
			start := dec.InputOffset()
			var e indexEntry
			if err := dec.Decode(&e); err != nil {
				return nil, lineOf(err), err
			}
			e.line = lineAt(data, skipSeparators(data, start))
			entries = append(entries, e)
		}
		if _, err := dec.Token(); err != nil {
			return nil, lineOf(err), err
		}
	}
	return entries, 0, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

// skipSeparators moves off past white space and commas.
func skipSeparators(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// lineAt is the 1-based line of byte offset off.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}
