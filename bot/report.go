package bot

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render/diff"
)

// CommentLimit is the largest comment body the bot writes; GitHub refuses
// bodies over 65,536 characters, and the margin leaves room for a header.
const CommentLimit = 60000

// WriteText writes the plan for a terminal.
func WriteText(w io.Writer, p *Plan) error {
	var b strings.Builder
	for i, c := range p.Clusters {
		if i > 0 {
			b.WriteString("\n")
		}
		writeClusterText(&b, c)
	}
	writeProblemsText(&b, p)
	up, cur, skip := p.Counts()
	fmt.Fprintf(&b, "\n%s to upgrade to v%s, %d already on it, %d skipped.\n", plural(up, "cluster"), p.Target, cur, skip)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeClusterText(b *strings.Builder, c *ClusterPlan) {
	switch c.Status {
	case StatusSkipped:
		fmt.Fprintf(b, "Cluster %s: skipped: %s\n", c.ID(), c.Reason)
		return
	case StatusCurrent:
		fmt.Fprintf(b, "Cluster %s (%s): already on v%s, nothing to do.\n", c.ID(), c.Provider, c.To)
		return
	}
	fmt.Fprintf(b, "Cluster %s (%s): v%s → v%s\n", c.ID(), c.Provider, c.From, c.To)
	for _, w := range c.Warnings {
		fmt.Fprintf(b, "  warning: %s\n", w)
	}
	if len(c.Release) > 0 {
		b.WriteString("\nRelease changes:\n")
		for _, ch := range c.Release {
			fmt.Fprintf(b, "  %-9s %-40s %s\n", ch.Kind, ch.Name, changeText(ch))
		}
	}
	fmt.Fprintf(b, "\nGit change (%s):\n", plural(len(c.Files), "file"))
	for _, f := range c.Files {
		b.WriteString(f.Unified)
	}
	changed := 0
	var unchanged []string
	for _, r := range c.Resources {
		if r.Status == diff.StatusUnchanged {
			unchanged = append(unchanged, resourceID(r))
			continue
		}
		changed++
	}
	fmt.Fprintf(b, "\nRendered change (%d of %s change):\n", changed, plural(len(c.Resources), "resource"))
	var changedRes []diff.Resource
	for _, r := range c.Resources {
		if r.Status != diff.StatusUnchanged {
			changedRes = append(changedRes, r)
		}
	}
	b.WriteString(diff.Text(changedRes))
	if len(unchanged) > 0 {
		fmt.Fprintf(b, "Unchanged: %s\n", strings.Join(unchanged, ", "))
	}
}

func writeProblemsText(b *strings.Builder, p *Plan) {
	if len(p.Problems) > 0 {
		fmt.Fprintf(b, "\nProblems in the repository (%d; these files were left out):\n", len(p.Problems))
		for _, pr := range p.Problems {
			fmt.Fprintf(b, "  %s\n", pr)
		}
	}
	if len(p.CatalogWarnings) > 0 {
		fmt.Fprintf(b, "\nProblems in the releases (%d):\n", len(p.CatalogWarnings))
		for _, w := range p.CatalogWarnings {
			fmt.Fprintf(b, "  %s\n", w)
		}
	}
}

func changeText(ch releases.Change) string {
	switch ch.Type {
	case releases.ChangeAdded:
		return fmt.Sprintf("added %s", ch.To)
	case releases.ChangeRemoved:
		return fmt.Sprintf("removed (was %s)", ch.From)
	default:
		return fmt.Sprintf("%s → %s", ch.From, ch.To)
	}
}

func resourceID(r diff.Resource) string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// WriteMarkdown writes the plan as markdown: per cluster the text of the
// diff comment a pull request would get.
func WriteMarkdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	for i, c := range p.Clusters {
		if i > 0 {
			b.WriteString("\n---\n\n")
		}
		switch c.Status {
		case StatusSkipped:
			fmt.Fprintf(&b, "### %s: skipped\n\n%s\n", c.ID(), c.Reason)
		case StatusCurrent:
			fmt.Fprintf(&b, "### %s: already on v%s\n", c.ID(), c.To)
		default:
			b.WriteString(DiffComment(c))
		}
	}
	if len(p.Problems) > 0 {
		fmt.Fprintf(&b, "\n**Problems in the repository** (these files were left out):\n\n")
		for _, pr := range p.Problems {
			fmt.Fprintf(&b, "- `%s`\n", pr)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// The stable JSON form of a plan is
//
//	{"target", "clusters": [jsonCluster...], "problems", "catalogWarnings"}
//
// written by WriteJSON with two-space indentation.
type jsonCluster struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Provider  string            `json:"provider"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	Status    ClusterStatus     `json:"status"`
	Reason    string            `json:"reason,omitempty"`
	Branch    string            `json:"branch,omitempty"`
	Locations []jsonLocation    `json:"locations"`
	Files     []jsonFile        `json:"files"`
	Resources []jsonResource    `json:"resources"`
	Release   []releases.Change `json:"release"`
	Warnings  []string          `json:"warnings"`
}

type jsonLocation struct {
	Locator     string `json:"locator"`
	Path        string `json:"path"`
	Line        int    `json:"line"`
	Column      int    `json:"column"`
	Value       string `json:"value"`
	Description string `json:"description"`
}

type jsonFile struct {
	Path string `json:"path"`
	Diff string `json:"diff"`
}

type jsonResource struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Namespace  string             `json:"namespace"`
	Name       string             `json:"name"`
	Status     diff.Status        `json:"status"`
	Diff       string             `json:"diff"`
	Changes    []diff.FieldChange `json:"changes"`
}

// WriteJSON writes the plan as JSON. The clusters are encoded in parallel:
// a plan of thousands of clusters is tens of megabytes of JSON.
func WriteJSON(w io.Writer, p *Plan) error {
	encoded := make([][]byte, len(p.Clusters))
	errs := make([]error, len(p.Clusters))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(p.Clusters)) {
		wg.Go(func() {
			var buf bytes.Buffer
			for {
				i := int(next.Add(1) - 1)
				if i >= len(p.Clusters) {
					return
				}
				buf.Reset()
				errs[i] = encodeJSON(&buf, jsonClusterOf(p.Clusters[i]), "    ")
				encoded[i] = bytes.Clone(buf.Bytes())
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("writing the plan as JSON: %w", err)
	}

	bw := bufio.NewWriter(w)
	var b bytes.Buffer
	b.WriteString("{\n  \"target\": ")
	if err := encodeJSON(&b, "v"+p.Target, "  "); err != nil {
		return fmt.Errorf("writing the plan as JSON: %w", err)
	}
	b.WriteString(",\n  \"clusters\": [")
	bw.Write(b.Bytes())
	for i, c := range encoded {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		bw.Write(c)
		encoded[i] = nil // written; let it go
	}
	if len(encoded) > 0 {
		bw.WriteString("\n  ")
	}
	b.Reset()
	b.WriteString("],\n  \"problems\": ")
	if err := encodeJSON(&b, nonNil(p.Problems), "  "); err != nil {
		return fmt.Errorf("writing the plan as JSON: %w", err)
	}
	b.WriteString(",\n  \"catalogWarnings\": ")
	if err := encodeJSON(&b, nonNil(p.CatalogWarnings), "  "); err != nil {
		return fmt.Errorf("writing the plan as JSON: %w", err)
	}
	b.WriteString("\n}\n")
	bw.Write(b.Bytes())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the plan as JSON: %w", err)
	}
	return nil
}

// encodeJSON appends v as indented JSON whose lines after the first start
// with prefix, without HTML escaping and without a final newline.
func encodeJSON(b *bytes.Buffer, v any, prefix string) error {
	enc := json.NewEncoder(b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // the newline Encode ends with
	return nil
}

func jsonClusterOf(c *ClusterPlan) jsonCluster {
	jc := jsonCluster{
		Name: c.Name, Namespace: c.Namespace, Provider: c.Provider,
		From: vprefix(c.From), To: vprefix(c.To), Status: c.Status, Reason: c.Reason,
		Locations: []jsonLocation{}, Files: []jsonFile{}, Resources: []jsonResource{},
		Release: c.Release, Warnings: nonNil(c.Warnings),
	}
	if jc.Release == nil {
		jc.Release = []releases.Change{}
	}
	if c.Status == StatusUpgrade {
		jc.Branch = c.Branch()
	}
	for _, l := range c.Locations {
		jc.Locations = append(jc.Locations, jsonLocation{Locator: l.Locator, Path: l.Path, Line: l.Line, Column: l.Column, Value: l.Value, Description: l.Description})
	}
	for _, f := range c.Files {
		jc.Files = append(jc.Files, jsonFile{Path: f.Path, Diff: f.Unified})
	}
	for _, r := range c.Resources {
		changes := r.Changes
		if changes == nil {
			changes = []diff.FieldChange{}
		}
		jc.Resources = append(jc.Resources, jsonResource{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Status: r.Status, Diff: r.Unified, Changes: changes})
	}
	return jc
}

func vprefix(v string) string {
	if v == "" {
		return ""
	}
	return "v" + v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
