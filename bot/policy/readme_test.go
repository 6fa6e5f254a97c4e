package policy_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
)

// TestREADMEExamples: every policy example of the README parses, alone
// and all together, so the documentation cannot drift from the parser.
func TestREADMEExamples(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## Policies and `upgrade-bot status`")
	if start < 0 {
		t.Fatal("the README has no policy section")
	}
	section := readme[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) < 4 {
		t.Fatalf("%d policy examples in the README, want at least the four common cases", len(blocks))
	}
	var all strings.Builder
	for _, m := range blocks {
		if _, err := policy.Parse([]byte(m[1]), policy.FileName); err != nil {
			t.Errorf("a README example does not parse: %v\n%s", err, m[1])
		}
		all.WriteString(m[1])
	}
	if _, err := policy.Parse([]byte(all.String()), policy.FileName); err != nil {
		t.Errorf("the README examples together do not parse: %v", err)
	}
}
