package bot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// Autoplan comments the rendered diff on a person's pull request that
// changes a cluster's version, like Atlantis's autoplan: for each cluster
// whose version label differs between the pull request's base and head,
// the base's manifests are planned to the head's version. The comment is
// edited in place on every push. The bot's own pull requests are left
// alone: their diff comment comes with them.
func (s *Service) Autoplan(ctx context.Context, p vcs.Provider, repo string, pr *vcs.PullRequest) error {
	if _, _, ok := parseBranch(pr.Head); ok {
		return nil
	}
	log := s.log(ctx).With("repo", repo, "number", pr.Number)
	ws, err := s.checkout(ctx, p, repo)
	if err != nil {
		return err
	}
	defer ws.unlock()
	headRef := pr.HeadRef
	if headRef == "" {
		headRef = "refs/heads/" + pr.Head
	}
	head, err := ws.repo.FetchRef(ctx, "origin", headRef, ws.cred)
	if err != nil {
		return fmt.Errorf("fetching the head of pull request #%d: %w", pr.Number, err)
	}
	base := ws.head
	if pr.Base != "" && pr.Base != ws.info.DefaultBranch {
		if base, err = ws.repo.FetchRef(ctx, "origin", "refs/heads/"+pr.Base, ws.cred); err != nil {
			return fmt.Errorf("fetching the base of pull request #%d: %w", pr.Number, err)
		}
	}
	tmp, err := os.MkdirTemp("", "upgrade-bot-autoplan-")
	if err != nil {
		return fmt.Errorf("making a directory for the pull request's trees: %w", err)
	}
	defer os.RemoveAll(tmp)
	baseDir, headDir := filepath.Join(tmp, "base"), filepath.Join(tmp, "head")
	if err := ws.repo.Export(ctx, base, baseDir); err != nil {
		return fmt.Errorf("writing out the base of pull request #%d: %w", pr.Number, err)
	}
	if err := ws.repo.Export(ctx, head, headDir); err != nil {
		return fmt.Errorf("writing out the head of pull request #%d: %w", pr.Number, err)
	}
	baseTree, changed, err := s.versionChanges(ctx, baseDir, headDir)
	if err != nil {
		return s.comment(ctx, p, repo, pr.Number, "autoplan:error", fmt.Sprintf("upgrade-bot could not read this pull request's clusters: %s", explain(err)))
	}
	if len(changed) == 0 {
		log.Debug("the pull request changes no cluster's version")
		return nil
	}
	thread := vcs.Thread{Number: pr.Number, PullRequest: true}
	planner := s.planner(ctx)
	for _, ch := range changed {
		plan, err := planner.PlanTree(ctx, baseTree, Request{Clusters: []string{ch.cluster}, Target: ch.to, Mode: ModePlan, Force: true})
		if err != nil {
			msg := fmt.Sprintf("upgrade-bot could not render the change of %s to %s: %s", ch.cluster, ch.to, explain(err))
			if err := s.upsertComments(ctx, p, repo, thread, "autoplan:"+ch.cluster, []string{msg}); err != nil {
				return err
			}
			continue
		}
		for _, cp := range plan.Clusters {
			if cp.Status != StatusUpgrade {
				continue
			}
			pages := DiffComments(cp, min(p.CommentLimit(), CommentLimit), 200)
			if err := s.upsertComments(ctx, p, repo, thread, "autoplan:"+cp.ID(), pages); err != nil {
				return err
			}
			log.Info("commented the rendered diff of a version change", "cluster", cp.ID(), "from", cp.From, "to", cp.To)
		}
	}
	return nil
}

func (s *Service) comment(ctx context.Context, p vcs.Provider, repo string, number int, key, body string) error {
	return s.upsertComments(ctx, p, repo, vcs.Thread{Number: number, PullRequest: true}, key, []string{body})
}

type versionChange struct{ cluster, from, to string }

// versionChanges reads two trees and lists the clusters whose version
// label differs between them; it returns the base tree for planning.
func (s *Service) versionChanges(ctx context.Context, baseDir, headDir string) (*render.Repository, []versionChange, error) {
	label := s.label()
	base, err := render.Discover(ctx, baseDir, render.Options{VersionLabel: label})
	if err != nil {
		return nil, nil, invalid(fmt.Errorf("reading the base: %w", err))
	}
	head, err := render.Discover(ctx, headDir, render.Options{VersionLabel: label})
	if err != nil {
		return nil, nil, invalid(fmt.Errorf("reading the head: %w", err))
	}
	// The label, or where the repository's locators find the version; a
	// version that cannot be read is "", no change to comment on.
	before := map[string]string{}
	baseVersion := s.planner(ctx).VersionReader(ctx, base)
	for _, c := range base.Clusters {
		before[clusterID(c)], _ = baseVersion(c)
	}
	var out []versionChange
	headVersion := s.planner(ctx).VersionReader(ctx, head)
	for _, c := range head.Clusters {
		id := clusterID(c)
		from, ok := before[id]
		to, _ := headVersion(c)
		if !ok || to == "" || strings.TrimPrefix(from, "v") == strings.TrimPrefix(to, "v") {
			continue
		}
		out = append(out, versionChange{cluster: id, from: from, to: to})
	}
	return base, out, nil
}
