package diff

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestHunkStartsPointIntoBothTexts checks every hunk header of many random
// edits: the lines a hunk keeps or removes are found in the old text at its
// "-start", and the lines it keeps or adds in the new text at its "+start".
// go-udiff alone gets "+start" wrong after a hunk that joins two edits.
func TestHunkStartsPointIntoBothTexts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		var old []string
		for j := range 10 + rng.IntN(60) {
			old = append(old, fmt.Sprintf("line %d", j))
		}
		var new []string
		for _, l := range old {
			switch rng.IntN(12) {
			case 0: // removed
			case 1: // changed
				new = append(new, l+" changed")
			case 2: // lines added after it
				new = append(new, l, "added "+strconv.Itoa(rng.IntN(1000)), "added too")
			default:
				new = append(new, l)
			}
		}
		o, n := strings.Join(old, "\n")+"\n", strings.Join(new, "\n")+"\n"
		u, err := unified("a/x", "b/x", o, n)
		if err != nil {
			t.Fatal(err)
		}
		checkHunks(t, i, u, old, new)
	}
}

func checkHunks(t *testing.T, run int, u string, old, new []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(u, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		var fromStart, fromCount, toStart, toCount int
		if !strings.HasPrefix(lines[i], "@@ ") {
			continue
		}
		fromStart, fromCount = parseRange(t, strings.Fields(lines[i])[1])
		toStart, toCount = parseRange(t, strings.Fields(lines[i])[2])
		oi, ni := fromStart-1, toStart-1
		if fromCount == 0 {
			oi = fromStart
		}
		if toCount == 0 {
			ni = toStart
		}
		for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "@@ ") {
			i++
			l := lines[i]
			text := l[1:]
			switch l[0] {
			case ' ':
				if oi >= len(old) || old[oi] != text || ni >= len(new) || new[ni] != text {
					t.Fatalf("run %d: context line %q is not at old line %d and new line %d:\n%s", run, text, oi+1, ni+1, u)
				}
				oi++
				ni++
			case '-':
				if oi >= len(old) || old[oi] != text {
					t.Fatalf("run %d: removed line %q is not at old line %d:\n%s", run, text, oi+1, u)
				}
				oi++
			case '+':
				if ni >= len(new) || new[ni] != text {
					t.Fatalf("run %d: added line %q is not at new line %d:\n%s", run, text, ni+1, u)
				}
				ni++
			}
		}
	}
}

func parseRange(t *testing.T, r string) (start, count int) {
	t.Helper()
	r = r[1:]
	count = 1
	if s, c, ok := strings.Cut(r, ","); ok {
		r = s
		var err error
		if count, err = strconv.Atoi(c); err != nil {
			t.Fatal(err)
		}
	}
	start, err := strconv.Atoi(r)
	if err != nil {
		t.Fatal(err)
	}
	return start, count
}
