package bot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

// CommandPrefix starts every comment command.
const CommandPrefix = "/upgrade"

// Verb is what a comment command asks for.
type Verb string

// The comment commands' verbs.
const (
	// VerbUpgrade opens (or updates) an upgrade pull request.
	VerbUpgrade Verb = "upgrade"
	// VerbPlan comments the rendered diff only.
	VerbPlan Verb = "plan"
	// VerbRerender renders the bot's own pull request again.
	VerbRerender Verb = "rerender"
	// VerbHelp replies with the command table.
	VerbHelp Verb = "help"
)

// Command is one parsed comment command.
type Command struct {
	Verb     Verb
	Target   string
	Clusters []string
	// Line is the command's line in the comment, from 1.
	Line int
	// Text is the command as written.
	Text string
}

// CommandError is a malformed command: the reply quotes it and shows the
// usage of what was meant.
type CommandError struct {
	Line  int
	Text  string
	Err   error
	Usage string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("line %d `%s`: %v", e.Line, e.Text, e.Err)
}

func (e *CommandError) Unwrap() []error { return []error{e.Err, ErrInvalidRequest} }

// commandSpec is one row of the command table, from which both parsing
// and `/upgrade help` are made.
type commandSpec struct {
	verb    Verb
	usage   string
	summary string
	where   string
	example string
	parse   func(args []string) (Command, error)
}

// commandTable is every command the bot understands. The first word after
// /upgrade picks the row; a version there means the upgrade row.
func commandTable() []commandSpec {
	return []commandSpec{
		{
			verb:    VerbUpgrade,
			usage:   "/upgrade <version> [cluster ...]",
			summary: "Open (or update) a pull request per cluster that bumps its release, with the rendered diff of every cluster resource as a comment.",
			where:   "issues and pull requests",
			example: "/upgrade v31.0.0 peu01",
			parse:   parseTargetAndClusters(VerbUpgrade),
		},
		{
			verb:    VerbPlan,
			usage:   "/upgrade plan <version> [cluster ...]",
			summary: "Comment the rendered diff of the upgrade here, without opening a pull request.",
			where:   "issues and pull requests",
			example: "/upgrade plan v31.0.0 peu01 peu02",
			parse:   parseTargetAndClusters(VerbPlan),
		},
		{
			verb:    VerbRerender,
			usage:   "/upgrade rerender",
			summary: "Render this upgrade pull request again against the current base branch and releases, and update its branch and diff comment.",
			where:   "the bot's own pull requests",
			example: "/upgrade rerender",
			parse:   parseNoArgs(VerbRerender),
		},
		{
			verb:    VerbHelp,
			usage:   "/upgrade help",
			summary: "Show this help.",
			where:   "anywhere",
			example: "/upgrade help",
			parse:   parseNoArgs(VerbHelp),
		},
	}
}

func parseTargetAndClusters(verb Verb) func([]string) (Command, error) {
	return func(args []string) (Command, error) {
		if len(args) == 0 {
			return Command{}, errors.New("no release version: say which release to upgrade to")
		}
		v, err := releases.ParseVersion(args[0])
		if err != nil {
			return Command{}, err // it names the word and the form a version takes
		}
		cmd := Command{Verb: verb, Target: "v" + v.String()}
		if len(args) > 1 {
			cmd.Clusters = dedupe(args[1:])
		}
		return cmd, nil
	}
}

func parseNoArgs(verb Verb) func([]string) (Command, error) {
	return func(args []string) (Command, error) {
		if len(args) > 0 {
			return Command{}, fmt.Errorf("takes no arguments, got %q", strings.Join(args, " "))
		}
		return Command{Verb: verb}, nil
	}
}

// ParseCommands finds the commands in a comment: lines that start with
// /upgrade, outside code blocks and quotes. Several commands in one comment
// are fine. Malformed commands come back as *CommandError, beside the good
// ones.
func ParseCommands(body string) ([]Command, []error) {
	var (
		cmds  []Command
		errs  []error
		fence string
	)
	table := commandTable()
	for i, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if fence != "" {
			if indent < 4 && strings.HasPrefix(trimmed, fence) && strings.TrimSpace(strings.TrimLeft(trimmed, fence[:1])) == "" {
				fence = ""
			}
			continue
		}
		if indent < 4 {
			if f := fenceOpening(trimmed); f != "" {
				fence = f
				continue
			}
		}
		// Indented code blocks, quotes and anything not at the start of
		// the line are not commands.
		if indent >= 4 || !strings.HasPrefix(trimmed, CommandPrefix) {
			continue
		}
		fields := strings.Fields(trimmed)
		if fields[0] != CommandPrefix {
			continue // "/upgrades", "/upgrade-bot": another command
		}
		text := strings.Join(fields, " ")
		args := fields[1:]
		spec := table[0]
		if len(args) > 0 {
			for _, s := range table[1:] {
				if strings.EqualFold(args[0], string(s.verb)) {
					spec, args = s, args[1:]
					break
				}
			}
		}
		cmd, err := spec.parse(args)
		if err != nil {
			errs = append(errs, &CommandError{Line: i + 1, Text: text, Err: err, Usage: spec.usage})
			continue
		}
		cmd.Line, cmd.Text = i+1, text
		cmds = append(cmds, cmd)
	}
	return cmds, errs
}

// fenceOpening returns the fence a line opens (``` or ~~~, three or more),
// or "".
func fenceOpening(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return strings.Repeat(c, n)
		}
	}
	return ""
}

// CommandHelp is the reply to /upgrade help, generated from the command
// table.
func CommandHelp() string {
	var b strings.Builder
	b.WriteString("#### upgrade-bot commands\n\n| command | what it does | where |\n|---|---|---|\n")
	for _, s := range commandTable() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.usage, s.summary, s.where)
	}
	b.WriteString("\nWith no cluster named, the repository's only cluster is meant. A command must start its own line; several commands in one comment are fine. ")
	b.WriteString("Running commands needs write permission on the repository.\n\nExamples:\n\n```\n")
	for _, s := range commandTable() {
		b.WriteString(s.example)
		b.WriteString("\n")
	}
	b.WriteString("```\n")
	return b.String()
}
