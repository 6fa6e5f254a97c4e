package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render/diff"
	"github.com/upgrade-bot/upgrade-bot/vcs/git"
)

// Proposal is what a forge gets for one cluster: a branch with the bump, a
// pull request title and body, and the diff comment.
type Proposal struct {
	Cluster *ClusterPlan
	Branch  string
	Commit  string
	// Reused is true when the branch already held exactly this change.
	Reused bool
	// Pushed is true when the branch was pushed to the remote.
	Pushed  bool
	Title   string
	Body    string
	Comment string
}

// Title is the pull request title of a cluster's upgrade.
func Title(c *ClusterPlan) string {
	return fmt.Sprintf("Upgrade %s to release v%s", c.Name, c.To)
}

// marker is the hidden line in a pull request body that lets the bot find
// and adopt its own pull requests.
type marker struct {
	Cluster string `json:"cluster"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// MarkerPrefix starts the hidden marker line in the bot's pull request bodies.
const MarkerPrefix = "<!-- upgrade-bot "

// Body is the pull request body of a cluster's upgrade.
func Body(c *ClusterPlan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Upgrades cluster **%s** (%s) from release **v%s** to **v%s**.\n\n", c.ID(), c.Provider, c.From, c.To)
	if len(c.Warnings) > 0 {
		b.WriteString("> [!WARNING]\n")
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "> - %s\n", escapeMarkdown(w))
		}
		b.WriteString("\n")
	}
	writeReleaseTable(&b, c)
	b.WriteString("### Where the version is written\n\n")
	for _, l := range c.Locations {
		fmt.Fprintf(&b, "- `%s:%d` — %s\n", l.Path, l.Line, escapeMarkdown(l.Description))
	}
	b.WriteString("\n")
	if c.ToRelease != nil && c.ToRelease.ChangelogURL != "" {
		fmt.Fprintf(&b, "Release notes: %s\n\n", c.ToRelease.ChangelogURL)
	}
	b.WriteString("Merging this pull request lets Flux apply the new version, which starts the upgrade. ")
	b.WriteString("The rendered change of every cluster resource is in the comment below.\n\n")
	m, _ := json.Marshal(marker{Cluster: c.ID(), From: c.From, To: c.To})
	fmt.Fprintf(&b, "%s%s -->\n", MarkerPrefix, m)
	return b.String()
}

func writeReleaseTable(b *strings.Builder, c *ClusterPlan) {
	if len(c.Release) == 0 {
		return
	}
	var comps, apps []releases.Change
	for _, ch := range c.Release {
		if ch.Kind == "component" {
			comps = append(comps, ch)
		} else {
			apps = append(apps, ch)
		}
	}
	for _, group := range []struct {
		title   string
		changes []releases.Change
	}{{"Components", comps}, {"Apps", apps}} {
		if len(group.changes) == 0 {
			continue
		}
		fmt.Fprintf(b, "### %s\n\n| name | v%s | v%s | |\n|---|---|---|---|\n", group.title, c.From, c.To)
		for _, ch := range group.changes {
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", ch.Name, orDash(ch.From), orDash(ch.To), ch.Type)
		}
		b.WriteString("\n")
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// DiffComment is the comment holding the rendered diff of a cluster's
// upgrade; it stays within CommentLimit, leaving diffs out if need be.
func DiffComment(c *ClusterPlan) string {
	head := diffHead(c)
	return head + diff.Markdown(c.Resources, diff.MarkdownOptions{MaxBytes: CommentLimit - len(head) - len(diffFooter)}) + diffFooter
}

// DiffComments is the rendered diff of a cluster's upgrade as comments of
// at most limit bytes each, minus reserve for what the caller adds (a
// marker): one comment when it fits, numbered parts when it does not, with
// nothing left out.
func DiffComments(c *ClusterPlan, limit, reserve int) []string {
	head := diffHead(c)
	const partHead = "### Rendered change of %s: v%s → v%s (part %d of %d)\n\n"
	budget := limit - reserve - len(head) - len(diffFooter) - len(partHead) - len(c.ID()) - 64
	pages := diff.MarkdownPages(c.Resources, budget)
	if len(pages) == 1 {
		return []string{head + pages[0] + diffFooter}
	}
	out := make([]string, len(pages))
	for i, p := range pages {
		h := fmt.Sprintf(partHead, c.ID(), c.From, c.To, i+1, len(pages))
		if i == 0 {
			h = strings.Replace(head, "\n\n", fmt.Sprintf(" (part 1 of %d)\n\n", len(pages)), 1)
		}
		out[i] = h + p + diffFooter
	}
	return out
}

const diffFooter = "\n<sub>Rendered by upgrade-bot: each resource under its current release and under the target release, with the release's ConfigMaps applied as the management cluster's Kyverno policy applies them.</sub>\n"

// diffHead is the title of a diff comment and the git change, folded.
func diffHead(c *ClusterPlan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Rendered change of %s: v%s → v%s\n\n", c.ID(), c.From, c.To)
	if len(c.Files) > 0 {
		b.WriteString("<details><summary>Git change: ")
		b.WriteString(plural(len(c.Files), "file"))
		b.WriteString("</summary>\n\n")
		for _, f := range c.Files {
			b.WriteString(fence(f.Unified, "diff"))
		}
		b.WriteString("</details>\n\n")
	}
	return b.String()
}

// fence wraps text in a code fence longer than any backtick run inside it.
func fence(text, lang string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return f + lang + "\n" + text + f + "\n"
}

func escapeMarkdown(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}

// Git is what proposing needs of a repository.
type Git interface {
	Dirty() ([]string, error)
	CommitBranch(ctx context.Context, branch string, changes []git.Change, message string, author git.Signature, when time.Time) (git.CommitResult, error)
	Push(ctx context.Context, remote, branch string, cred *git.Credential) error
}

// Proposer delivers plans as branches.
type Proposer struct {
	Git    Git
	Author git.Signature
	// Dir is the planned directory relative to the git repository's root,
	// slash-separated; empty when the plan was made at the root. The plan's
	// paths are relative to it.
	Dir string
	// Push pushes each branch to Remote after committing.
	Push   bool
	Remote string
	// Credential authenticates the push; nil for none.
	Credential *git.Credential
	// Now stamps the commit; time.Now when nil.
	Now func() time.Time
}

// CheckClean refuses to propose from a repository with uncommitted
// changes: the plan was read from the work tree, the branch is built on
// HEAD, and the two must be the same.
func (p *Proposer) CheckClean() error {
	dirty, err := p.Git.Dirty()
	if err != nil {
		return fmt.Errorf("checking the work tree: %w", err)
	}
	if len(dirty) > 0 {
		return invalidf("the work tree has uncommitted changes (%s): commit or stash them first, so that the branch holds exactly what was planned", summarizeList(dirty, 5))
	}
	return nil
}

// Propose commits each upgrading cluster's bump on its own branch, pushes
// it when asked, and returns the texts of the pull requests.
func (p *Proposer) Propose(ctx context.Context, plan *Plan) ([]*Proposal, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	var out []*Proposal
	for _, c := range plan.Clusters {
		if c.Status != StatusUpgrade {
			continue
		}
		res, err := p.Commit(ctx, c, now())
		if err != nil {
			return out, invalid(fmt.Errorf("committing the upgrade of %s: %w", c.ID(), err))
		}
		pr := &Proposal{Cluster: c, Branch: res.Branch, Commit: res.Commit, Reused: res.Reused, Title: Title(c), Body: Body(c), Comment: DiffComment(c)}
		if p.Push {
			remote := p.Remote
			if remote == "" {
				remote = "origin"
			}
			if err := p.Git.Push(ctx, remote, res.Branch, p.Credential); err != nil {
				return out, fmt.Errorf("pushing the upgrade of %s: %w", c.ID(), err)
			}
			pr.Pushed = true
		}
		out = append(out, pr)
	}
	return out, nil
}

// Commit commits one upgrading cluster's bump on its branch, built on the
// repository's HEAD.
func (p *Proposer) Commit(ctx context.Context, c *ClusterPlan, when time.Time) (git.CommitResult, error) {
	changes := make([]git.Change, 0, len(c.Changes))
	for _, ch := range c.Changes {
		changes = append(changes, git.Change{Path: path.Join(p.Dir, ch.Path), Content: ch.After})
	}
	return p.Git.CommitBranch(ctx, c.Branch(), changes, commitMessage(c), p.Author, when)
}

func commitMessage(c *ClusterPlan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nBump the release of cluster %s from v%s to v%s.\n", Title(c), c.ID(), c.From, c.To)
	for _, ch := range c.Release {
		if ch.Kind == "component" {
			fmt.Fprintf(&b, "\n%s: %s", ch.Name, changeText(ch))
		}
	}
	if len(c.Release) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}
