package bot

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []Command
		errs []string // substrings of each error, in order
	}{
		{name: "upgrade one cluster", body: "/upgrade v31.0.0 peu01",
			want: []Command{{Verb: VerbUpgrade, Target: "v31.0.0", Clusters: []string{"peu01"}, Line: 1, Text: "/upgrade v31.0.0 peu01"}}},
		{name: "without v and without clusters", body: "please\n/upgrade 31.0.0\nthanks",
			want: []Command{{Verb: VerbUpgrade, Target: "v31.0.0", Line: 2, Text: "/upgrade 31.0.0"}}},
		{name: "plan several clusters, duplicates dropped", body: "/upgrade plan v31.1.0 peu01 org-a/peu02 peu01",
			want: []Command{{Verb: VerbPlan, Target: "v31.1.0", Clusters: []string{"peu01", "org-a/peu02"}, Line: 1, Text: "/upgrade plan v31.1.0 peu01 org-a/peu02 peu01"}}},
		{name: "verb in capitals, CRLF and extra spaces", body: "hi\r\n  /upgrade   PLAN  v31.0.0\r\n",
			want: []Command{{Verb: VerbPlan, Target: "v31.0.0", Line: 2, Text: "/upgrade PLAN v31.0.0"}}},
		{name: "several commands", body: "/upgrade help\n/upgrade v31.0.0 a\n/upgrade rerender",
			want: []Command{
				{Verb: VerbHelp, Line: 1, Text: "/upgrade help"},
				{Verb: VerbUpgrade, Target: "v31.0.0", Clusters: []string{"a"}, Line: 2, Text: "/upgrade v31.0.0 a"},
				{Verb: VerbRerender, Line: 3, Text: "/upgrade rerender"},
			}},
		{name: "quoted, inline and indented code are not commands",
			body: "> /upgrade v31.0.0\n>/upgrade v31.0.0\nrun `/upgrade v31.0.0` later\n    /upgrade v31.0.0\nsee /upgrade v31.0.0"},
		{name: "fenced code blocks are not commands",
			body: "```\n/upgrade v31.0.0\n```\n~~~~yaml\n/upgrade v32.0.0\n~~~\n/upgrade v33.0.0\n~~~~\n/upgrade v34.0.0",
			want: []Command{{Verb: VerbUpgrade, Target: "v34.0.0", Line: 9, Text: "/upgrade v34.0.0"}}},
		{name: "other slash commands", body: "/upgrades v31.0.0\n/upgrade-bot v31.0.0\n/label bug"},
		{name: "missing version", body: "/upgrade", errs: []string{"line 1 `/upgrade`: no release version"}},
		{name: "plan without version", body: "/upgrade plan", errs: []string{"no release version"}},
		{name: "not a version", body: "/upgrade peu01 v31.0.0", errs: []string{`"peu01" is not a release version`}},
		{name: "help with arguments", body: "/upgrade help me", errs: []string{`takes no arguments, got "me"`}},
		{name: "good and bad together", body: "/upgrade latest\n/upgrade v31.0.0",
			want: []Command{{Verb: VerbUpgrade, Target: "v31.0.0", Line: 2, Text: "/upgrade v31.0.0"}},
			errs: []string{`"latest" is not a release version`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, errs := ParseCommands(tt.body)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands:\n got %+v\nwant %+v", got, tt.want)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("got %d errors (%v), want %d", len(errs), errs, len(tt.errs))
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tt.errs[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, err, tt.errs[i])
				}
				var ce *CommandError
				if !errors.As(err, &ce) || ce.Usage == "" || !strings.HasPrefix(ce.Usage, CommandPrefix) {
					t.Errorf("error %d is not a CommandError with usage: %#v", i, err)
				}
				if !errors.Is(err, ErrInvalidRequest) {
					t.Errorf("error %d is not marked as bad input", i)
				}
			}
		})
	}
}

func TestCommandHelpComesFromTheTable(t *testing.T) {
	t.Parallel()
	help := CommandHelp()
	for _, s := range commandTable() {
		if !strings.Contains(help, "`"+s.usage+"`") {
			t.Errorf("help does not show %q:\n%s", s.usage, help)
		}
		// Every example in the help parses to its own row's verb.
		cmds, errs := ParseCommands(s.example)
		if len(errs) > 0 || len(cmds) != 1 || cmds[0].Verb != s.verb {
			t.Errorf("example %q parses to %+v, %v; want one %s command", s.example, cmds, errs, s.verb)
		}
	}
}
