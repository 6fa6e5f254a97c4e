package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// DashboardTitle is the title of a repository's upgrade dashboard issue.
const DashboardTitle = "Upgrade dashboard"

// dashboardMarker ends the dashboard's body: it is how the bot finds its
// dashboard among its issues.
const dashboardMarker = "<!-- upgrade-bot:dashboard -->"

// requestBox is the hidden name of a dashboard checkbox: which cluster to
// upgrade to which release when it is ticked.
func requestBox(cluster, target string) string {
	return fmt.Sprintf("<!-- upgrade-bot:request %s@%s -->", cluster, target)
}

var tickedBox = regexp.MustCompile(`(?m)^\s*[-*] \[[xX]\] <!-- upgrade-bot:request (\S+)@(v?[0-9][^\s@]*) -->`)

// DashboardRequest is a ticked box of the dashboard: a request to upgrade
// Cluster to Target now.
type DashboardRequest struct {
	Cluster, Target string
}

// TickedRequests reads the ticked boxes of a dashboard's body, each once,
// in the body's order.
func TickedRequests(body string) []DashboardRequest {
	var out []DashboardRequest
	for _, m := range tickedBox.FindAllStringSubmatch(body, -1) {
		r := DashboardRequest{Cluster: m[1], Target: m[2]}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// isDashboard reports whether an issue is the bot's dashboard.
func isDashboard(i vcs.Issue) bool {
	return strings.Contains(i.Body, dashboardMarker)
}

// Dashboard is what the dashboard issue shows of one repository.
type Dashboard struct {
	// Decisions are the clusters and what the bot does about each.
	Decisions []Decision
	// Open are the bot's open pull requests, by cluster ID.
	Open map[string]vcs.PullRequest
	// Merged are the pull requests the bot automerged this time, by
	// cluster ID; Unmerged says why an open one the policy automerges is
	// not merged yet.
	Merged   map[string]vcs.PullRequest
	Unmerged map[string]string
	// Limited and Declined are clusters the reconcile held back for the
	// pull request limits, or because a person closed the pull request
	// for that version.
	Limited, Declined []string
	// Failed are clusters whose pull request could not be proposed, and
	// why.
	Failed map[string]string
	// Limits are the repository's pull request limits, for the text.
	ConcurrentLimit, HourlyLimit int
	// PolicyProblem is why the repository's policy file is not valid, when
	// it is not; the last valid policy stays in force.
	PolicyProblem error
}

// dashboardSection is one heading of the dashboard and its items, in the
// order they are shown.
type dashboardSection struct {
	title string
	items []string
	// compact sections list names on one line instead of items.
	compact bool
}

// Render writes the dashboard's body, at most limit bytes: a large fleet
// gets its sections cut short, each saying how many clusters it leaves
// out, so that the body stays within the forge's limit and every count is
// still right.
func (d *Dashboard) Render(limit int) string {
	sections := d.sections()
	for _, keep := range []int{-1, 500, 200, 100, 50, 20, 10, 5} {
		if body := d.render(sections, keep); len(body) <= limit {
			return body
		}
	}
	return d.render(sections, 0)
}

func (d *Dashboard) sections() []dashboardSection {
	var open, ready, waiting, skipped dashboardSection
	open.title = "Open upgrade pull requests"
	ready.title = "Ready, held back"
	waiting.title = "Waiting"
	skipped.title = "Not proposed by the policy"
	upToDate := dashboardSection{title: "Up to date", compact: true}
	var notes []string
	for _, dec := range d.Decisions {
		name := "**" + dec.Name + "**"
		current := dec.Current
		if current != "" && !strings.HasPrefix(current, "v") {
			current = "v" + current
		}
		if pr, ok := d.Open[dec.Name]; ok {
			_, target, _ := parseBranch(pr.Head)
			item := fmt.Sprintf("%s %s → %s: %s", name, current, target, prLink(pr))
			if newer := cmp.Or(dec.Target, dec.Requestable); newer != "" && newer != target {
				item += fmt.Sprintf(" (%s is available)", newer)
			}
			if why := d.Unmerged[dec.Name]; why != "" {
				item += "; automerge: " + why
			}
			open.items = append(open.items, "- "+item)
			continue
		}
		if pr, ok := d.Merged[dec.Name]; ok {
			_, target, _ := parseBranch(pr.Head)
			open.items = append(open.items, fmt.Sprintf("- %s %s → %s: %s merged automatically", name, current, target, prLink(pr)))
			continue
		}
		target := cmp.Or(dec.Target, dec.Requestable)
		box := func(why string) string {
			return fmt.Sprintf("- [ ] %s %s %s → %s: %s", requestBox(dec.Name, target), name, current, target, why)
		}
		switch {
		case d.Failed[dec.Name] != "":
			ready.items = append(ready.items, box("its pull request could not be opened: "+d.Failed[dec.Name]))
		case slices.Contains(d.Declined, dec.Name):
			ready.items = append(ready.items, box("a person closed its pull request without merging it, so it is not proposed again; tick to propose it anyway"))
		case slices.Contains(d.Limited, dec.Name):
			ready.items = append(ready.items, box(d.limitText()+"; tick to open it now"))
		case dec.Action == ActionPropose:
			// Proposed on the next reconcile: nothing held it back.
			ready.items = append(ready.items, box("allowed now; its pull request is opened on the next run"))
		case dec.Action == ActionWait:
			waiting.items = append(waiting.items, box(dec.Reason))
		case target != "":
			skipped.items = append(skipped.items, box(dec.Reason))
		case dec.Available == "" && dec.Action == ActionSkip && strings.HasPrefix(dec.Reason, "on the newest"):
			upToDate.items = append(upToDate.items, dec.Name+" ("+current+")")
		default:
			notes = append(notes, fmt.Sprintf("- %s: %s", name, dec.Reason))
		}
	}
	other := dashboardSection{title: "Not upgradable", items: notes}
	return []dashboardSection{open, ready, waiting, skipped, other, upToDate}
}

func (d *Dashboard) limitText() string {
	var parts []string
	if d.ConcurrentLimit > 0 {
		parts = append(parts, fmt.Sprintf("at most %d open at a time", d.ConcurrentLimit))
	}
	if d.HourlyLimit > 0 {
		parts = append(parts, fmt.Sprintf("%d opened per hour", d.HourlyLimit))
	}
	return "held back by the pull request limits (" + strings.Join(parts, ", ") + ")"
}

func prLink(pr vcs.PullRequest) string {
	if pr.URL != "" {
		return fmt.Sprintf("[#%d](%s)", pr.Number, pr.URL)
	}
	return fmt.Sprintf("#%d", pr.Number)
}

// render writes the body with at most keep items per section (-1: all).
func (d *Dashboard) render(sections []dashboardSection, keep int) string {
	var b strings.Builder
	b.WriteString("This issue lists every cluster of the repository and what upgrade-bot does about it; the bot keeps it up to date. ")
	b.WriteString("Tick a box to ask for that upgrade now: it is a request like `/upgrade <version> <cluster>`, and its pull request follows.\n\n")
	if d.PolicyProblem != nil {
		fmt.Fprintf(&b, "> [!WARNING]\n> `%s` is not valid, so the last valid policy stays in force. Fix it and the next run picks it up:\n", policy.FileName)
		for _, line := range problemLines(d.PolicyProblem) {
			fmt.Fprintf(&b, "> - %s\n", line)
		}
		b.WriteString("\n")
	}
	var counts []string
	total := 0
	for _, s := range sections {
		total += len(s.items)
		if len(s.items) > 0 {
			counts = append(counts, fmt.Sprintf("%s: %d", strings.ToLower(s.title), len(s.items)))
		}
	}
	fmt.Fprintf(&b, "**%d clusters** — %s.\n", total, strings.Join(counts, ", "))
	for _, s := range sections {
		if len(s.items) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s (%d)\n\n", s.title, len(s.items))
		shown := s.items
		if keep >= 0 && len(shown) > keep {
			shown = shown[:keep]
		}
		if s.compact {
			b.WriteString(strings.Join(shown, ", "))
			b.WriteString("\n")
		} else {
			for _, item := range shown {
				b.WriteString(item)
				b.WriteString("\n")
			}
		}
		if left := len(s.items) - len(shown); left > 0 {
			fmt.Fprintf(&b, "\n… and %d more, left out to keep this issue within the forge's size limit; `upgrade-bot status` lists every cluster.\n", left)
		}
	}
	b.WriteString("\n")
	b.WriteString(dashboardMarker)
	b.WriteString("\n")
	return b.String()
}

// problemLines splits a joined policy error into one line per problem.
func problemLines(err error) []string {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}

// openByCluster maps the bot's open pull requests to the IDs of the
// clusters they upgrade.
func openByCluster(decisions []Decision, open []vcs.PullRequest) map[string]vcs.PullRequest {
	ids := map[string]string{}
	for _, dec := range decisions {
		ids[path.Base(dec.Name)] = dec.Name
	}
	out := map[string]vcs.PullRequest{}
	for _, pr := range open {
		cluster, _, ok := parseBranch(pr.Head)
		if !ok {
			continue
		}
		if id, ok := ids[cluster]; ok {
			if old, seen := out[id]; !seen || pr.Number > old.Number {
				out[id] = pr
			}
		}
	}
	return out
}

// DashboardEdited acts on an edit of an issue: when it is the bot's
// dashboard and the edit ticked boxes, the repository is reconciled with
// those requests, by who ticked them. Someone without write permission
// (or a place on the allowlist) gets the boxes cleared and a comment
// saying why.
func (s *Service) DashboardEdited(ctx context.Context, p vcs.Provider, repo string, issue vcs.Issue, sender vcs.User) error {
	if !isDashboard(issue) || len(TickedRequests(issue.Body)) == 0 {
		return nil
	}
	self, err := s.self(ctx, p)
	if err != nil {
		return err
	}
	if strings.EqualFold(sender.Login, self.Login) || sender.Bot {
		return nil
	}
	allowed, err := s.allowed(ctx, p, repo, sender.Login)
	if err != nil {
		return err
	}
	if !allowed {
		s.log(ctx).Info("refusing a dashboard request from someone without write permission", "repo", repo, "user", sender.Login)
		cleared := tickedBox.ReplaceAllStringFunc(issue.Body, func(m string) string {
			i := strings.Index(m, "[")
			return m[:i] + "[ ]" + m[i+3:]
		})
		if err := do(ctx, s, func() error { return p.EditIssue(ctx, repo, issue.Number, issue.Title, cleared) }); err != nil {
			return fmt.Errorf("clearing the boxes of the upgrade dashboard #%d of %s: %w", issue.Number, repo, err)
		}
		msg := fmt.Sprintf("@%s, ticking a box of this dashboard asks for an upgrade, which needs write permission on %s. The box is cleared again; ask a maintainer to tick it.", sender.Login, repo)
		return s.upsertComments(ctx, p, repo, vcs.Thread{Number: issue.Number}, "refused:"+strings.ToLower(sender.Login), []string{msg})
	}
	res, err := s.reconcile(ctx, p, repo, &issue, sender.Login)
	if err != nil {
		return err
	}
	s.log(ctx).Info("acted on the dashboard's requests", "repo", repo, "requests", res.Requested, "by", sender.Login)
	return nil
}
