package render

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrAmbiguousCluster is returned (wrapped) by Find when a name without
// namespace matches clusters in several namespaces.
var ErrAmbiguousCluster = errors.New("ambiguous cluster name")

// UnknownClusterError says that no cluster has the name asked for, with the
// closest names the repository has.
type UnknownClusterError struct {
	Name        string
	Suggestions []string
	// Known is how many clusters the repository has.
	Known int
}

// Error names the cluster asked for and the closest known ones.
func (e *UnknownClusterError) Error() string {
	return e.text("; list them with `upgrade-bot plan --all`")
}

// Brief is Error without the command line's hint.
func (e *UnknownClusterError) Brief() string { return e.text("") }

func (e *UnknownClusterError) text(hint string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "no cluster %q in the repository", e.Name)
	if len(e.Suggestions) > 0 {
		fmt.Fprintf(&b, "; did you mean %s?", orList(e.Suggestions))
	}
	if e.Known == 0 {
		b.WriteString(" (no Cluster API clusters found)")
	} else {
		fmt.Fprintf(&b, " (%d clusters found%s)", e.Known, hint)
	}
	return b.String()
}

func orList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// Find returns the cluster named "name" or "namespace/name". A bare name
// found in several namespaces is an error listing them; an unknown name is
// an *UnknownClusterError with suggestions.
func (r *Repository) Find(name string) (*Cluster, error) {
	name = strings.TrimSpace(name)
	ns, n, qualified := strings.Cut(name, "/")
	var matches []*Cluster
	for _, c := range r.Clusters {
		if (qualified && c.Namespace == ns && c.Name == n) || (!qualified && c.Name == name) {
			matches = append(matches, c)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return nil, &UnknownClusterError{Name: name, Suggestions: r.suggest(name), Known: len(r.Clusters)}
	}
	ids := make([]string, len(matches))
	for i, c := range matches {
		ids[i] = clusterID(c.Namespace, c.Name)
	}
	return nil, fmt.Errorf("%w: %q is in %d namespaces (%s); name one as namespace/name", ErrAmbiguousCluster, name, len(ids), strings.Join(ids, ", "))
}

// suggest returns up to three cluster names close to name: by edit
// distance, or sharing a prefix. Names are given the way Find accepts them
// (namespace/name when the name alone is ambiguous).
func (r *Repository) suggest(name string) []string {
	count := map[string]int{}
	for _, c := range r.Clusters {
		count[c.Name]++
	}
	type scored struct {
		id   string
		dist int
	}
	var out []scored
	qns, q, qualified := strings.Cut(strings.ToLower(name), "/")
	if !qualified {
		q, qns = qns, ""
	}
	for _, c := range r.Clusters {
		id := c.Name
		if count[c.Name] > 1 || qualified {
			id = clusterID(c.Namespace, c.Name)
		}
		cand := strings.ToLower(c.Name)
		d := levenshtein(q, cand)
		prefix := len(q) >= 2 && (strings.HasPrefix(cand, q) || strings.HasPrefix(q, cand))
		if d <= max(1, len(q)/3) || prefix {
			if qualified {
				// The name weighs more than the namespace.
				d = 10*d + levenshtein(qns, strings.ToLower(c.Namespace))
			}
			out = append(out, scored{id, d})
		}
	}
	slices.SortFunc(out, func(a, b scored) int { return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.id, b.id)) })
	var ids []string
	for _, s := range out {
		if !slices.Contains(ids, s.id) {
			ids = append(ids, s.id)
		}
		if len(ids) == 3 {
			break
		}
	}
	return ids
}

// levenshtein is the edit distance between a and b, by runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			sub := prev[j-1]
			if ra[i-1] != rb[j-1] {
				sub++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, sub)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
