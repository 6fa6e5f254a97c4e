package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/upgrade-bot/upgrade-bot/render"
	"github.com/upgrade-bot/upgrade-bot/render/dryrun"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// ClusterWatch is what following the management cluster needs: label
// changes made there, and where a cluster's rollout stands.
type ClusterWatch interface {
	WatchLabel(ctx context.Context, label string, ready chan<- struct{}, onChange func(dryrun.LabelChange)) error
	State(ctx context.Context, namespace, name, label string) (dryrun.ClusterState, error)
}

// Following configures how the bot follows the management cluster.
type Following struct {
	// Clusters is the management cluster; nil turns following off.
	Clusters ClusterWatch
	// Interval is how often a rollout is looked at (default 30 s);
	// Timeout how long the bot waits for it to finish (default 2 h).
	Interval, Timeout time.Duration
}

// Drift brings git in line with a version label changed on the management
// cluster outside git: unless the repository already holds the new
// version, the bot opens a pull request with it, so that Flux does not
// silently change the cluster back. A cluster the repository does not hold
// is left alone.
func (s *Service) Drift(ctx context.Context, p vcs.Provider, repo string, ch dryrun.LabelChange) error {
	id := ch.Namespace + "/" + ch.Name
	log := s.log(ctx).With("repo", repo, "cluster", id, "from", ch.From, "to", ch.To, "managers", ch.Managers)
	if ch.To == "" {
		log.Warn("the version label was removed from a cluster on the management cluster; nothing to propose")
		return nil
	}
	ws, err := s.checkout(ctx, p, repo)
	if err != nil {
		return err
	}
	defer ws.unlock()
	tree, err := render.Discover(ctx, ws.dir, render.Options{VersionLabel: s.label()})
	if err != nil {
		return fmt.Errorf("reading %s: %w", repo, err)
	}
	c, err := tree.Find(id)
	if err != nil {
		log.Info("a cluster's version label changed on the management cluster, but the repository does not hold the cluster")
		return nil
	}
	if sameVersion(c.Labels[s.label()], ch.To) {
		log.Info("a cluster's version label changed on the management cluster, and git already holds the new version")
		return nil
	}
	plan, err := s.planner(ctx).PlanTree(ctx, tree, Request{Clusters: []string{id}, Target: ch.To, Mode: ModePropose, Force: true, Actor: "management cluster"})
	if err != nil {
		return fmt.Errorf("planning the version found on the management cluster: %w", err)
	}
	by := "unknown"
	if len(ch.Managers) > 0 {
		by = strings.Join(ch.Managers, ", ")
	}
	origin := fmt.Sprintf("The version label of %s was changed from %s to %s **on the management cluster, outside git** (field managers: %s). "+
		"This pull request brings git in line, so that Flux does not change the cluster back at its next reconciliation. "+
		"Merge it to keep the new release; to undo the change instead, close it and set the label back on the management cluster.",
		id, orNone(ch.From), ch.To, by)
	for _, cp := range plan.Clusters {
		if cp.Status != StatusUpgrade {
			continue
		}
		pr, err := s.deliver(ctx, p, repo, ws, cp, origin)
		if err != nil {
			return err
		}
		log.Info("opened a pull request that brings git in line with the management cluster", "number", pr.Number)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func sameVersion(a, b string) bool {
	return strings.TrimPrefix(a, "v") == strings.TrimPrefix(b, "v")
}

// follow watches a merged upgrade pull request's cluster until it has
// rolled out, or the timeout passes, and comments the outcome and how long
// it took on the pull request. It runs beyond the webhook job that
// started it, until ctx ends.
func (s *Service) follow(ctx context.Context, p vcs.Provider, repo string, pr *vcs.PullRequest) {
	cluster, target, ok := bodyMarker(pr.Body)
	if !ok {
		return
	}
	ns, name, found := strings.Cut(cluster, "/")
	if !found {
		return
	}
	interval, timeout := s.Follow.Interval, s.Follow.Timeout
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if timeout <= 0 {
		timeout = 2 * time.Hour
	}
	log := s.log(ctx).With("repo", repo, "number", pr.Number, "cluster", cluster, "target", target)
	log.Info("following the upgrade on the management cluster")
	start := s.now()
	var st dryrun.ClusterState
	var err error
	for {
		st, err = s.Follow.Clusters.State(ctx, ns, name, s.label())
		if err == nil && sameVersion(st.Label, target) && st.Settled(st.Label) {
			took := s.now().Sub(start).Round(time.Second)
			msg := fmt.Sprintf("✅ %s is on release v%s: the upgrade finished %s after the merge.", cluster, strings.TrimPrefix(target, "v"), took)
			if st.ControlPlaneVersion != "" {
				msg += fmt.Sprintf(" The control plane runs Kubernetes %s.", st.ControlPlaneVersion)
			}
			s.report(ctx, p, repo, pr.Number, msg)
			log.Info("the upgrade finished", "took", took)
			return
		}
		if s.now().Sub(start) >= timeout {
			break
		}
		select {
		case <-ctx.Done():
			log.Warn("stopped following the upgrade", "error", ctx.Err())
			return
		case <-time.After(interval):
		}
	}
	var why []string
	switch {
	case err != nil:
		why = append(why, err.Error())
	case !sameVersion(st.Label, target):
		why = append(why, fmt.Sprintf("the cluster's label is still %s: has Flux applied the merge?", orNone(st.Label)))
	default:
		why = append(why, st.NotReady...)
		why = append(why, st.RollingOut...)
		if st.ControlPlaneVersion != st.ControlPlaneDesired {
			why = append(why, fmt.Sprintf("control plane at %s of %s", orNone(st.ControlPlaneVersion), st.ControlPlaneDesired))
		}
	}
	msg := fmt.Sprintf("⚠️ %s has not finished upgrading to v%s %s after the merge:\n\n- %s", cluster, strings.TrimPrefix(target, "v"), timeout, strings.Join(why, "\n- "))
	s.report(ctx, p, repo, pr.Number, msg)
	log.Warn("the upgrade did not finish in time", "why", why)
}

func (s *Service) report(ctx context.Context, p vcs.Provider, repo string, number int, msg string) {
	if err := s.upsertComments(ctx, p, repo, vcs.Thread{Number: number, PullRequest: true}, "outcome", []string{msg}); err != nil {
		s.log(ctx).Error("commenting the outcome of an upgrade", "repo", repo, "number", number, "error", err)
	}
}

// bodyMarker reads the cluster and target from the hidden marker of the
// bot's pull request body.
func bodyMarker(body string) (cluster, target string, ok bool) {
	i := strings.Index(body, MarkerPrefix)
	if i < 0 {
		return "", "", false
	}
	rest := body[i+len(MarkerPrefix):]
	j := strings.Index(rest, " -->")
	if j < 0 {
		return "", "", false
	}
	var m marker
	if err := json.Unmarshal([]byte(rest[:j]), &m); err != nil || m.Cluster == "" || m.To == "" {
		return "", "", false
	}
	return m.Cluster, m.To, true
}
