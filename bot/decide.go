package bot

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/upgrade-bot/upgrade-bot/bot/policy"
	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/render"
)

// Action is what the bot does about a cluster now.
type Action string

// The actions of a decision.
const (
	// ActionPropose: the bot opens (or keeps) an upgrade pull request now.
	ActionPropose Action = "propose"
	// ActionWait: the policy allows the upgrade, but later (window,
	// freeze, release age, rollout wave).
	ActionWait Action = "wait"
	// ActionSkip: nothing to do, or the policy does not allow it (update
	// type, ignored or pinned versions); a person may still ask for it.
	ActionSkip Action = "skip"
)

// Decision is what the bot does about one cluster, and why.
type Decision struct {
	Name    string `json:"name"`
	Current string `json:"current"`
	// Available is the newest release of the cluster's provider.
	Available string `json:"available,omitempty"`
	// Target is the release the policy allows, when there is one.
	Target string `json:"target,omitempty"`
	// Requestable is the newest release a person may ask for (released:
	// not archived, work in progress or a preview), whatever the policy
	// says; the dashboard offers it when there is no target.
	Requestable string `json:"requestable,omitempty"`
	Action      Action `json:"action"`
	Reason      string `json:"reason"`
	// Wave is the cluster's rollout wave, when the policy has waves.
	Wave string `json:"wave,omitempty"`
	// Until is the earliest time a wait can end, when known.
	Until *time.Time `json:"until,omitempty"`
	// Automerge is true when the bot merges the proposed pull request
	// itself, once the forge says it can and merge says it may.
	Automerge bool `json:"automerge,omitempty"`
	merge     policy.Automerge
}

// Decider decides, for every cluster of a repository, whether the bot
// upgrades it now: the one decision function behind release-driven pull
// requests and `upgrade-bot status`.
type Decider struct {
	Catalog *releases.Catalog
	Policy  *policy.File
	// Label is the version label; render.DefaultVersionLabel when empty.
	Label string
	// Version reads the version a cluster is on (Planner.VersionReader:
	// the label, else a Flux variable, an App, values); nil reads the label
	// only.
	Version func(c *render.Cluster) (string, error)
	// Since tells when a cluster (by ID) reached the version it is on,
	// for the rollout waves' soak time; false when unknown.
	Since func(cluster string) (time.Time, bool)
}

// Decide decides about every cluster of repo at time now, in the
// repository's order.
func (d *Decider) Decide(repo *render.Repository, now time.Time) []Decision {
	label := cmp.Or(d.Label, render.DefaultVersionLabel)
	pf := d.Policy
	if pf == nil {
		pf = policy.Default()
	}
	members := make([]member, len(repo.Clusters))
	for i, c := range repo.Clusters {
		members[i] = member{c: c, id: clusterID(c), current: c.Labels[label],
			settings: pf.For(policy.Cluster{Name: c.Name, Namespace: c.Namespace, Labels: c.Labels})}
		if d.Version != nil {
			v, err := d.Version(c)
			if err != nil {
				members[i].versionErr = err
				continue
			}
			members[i].current = v
		}
		members[i].version, members[i].versionErr = releases.ParseVersion(members[i].current)
	}
	out := make([]Decision, len(members))
	for i, e := range members {
		dec := &out[i]
		*dec = Decision{Name: e.id, Current: e.current}
		if e.settings.Wave != nil {
			dec.Wave = e.settings.Wave.Name
		}
		cur := e.version
		if e.versionErr != nil {
			dec.Action, dec.Reason = ActionSkip, fmt.Sprintf("no valid version label %s: %v", label, e.versionErr)
			if e.current == "" && d.Version != nil {
				dec.Reason = e.versionErr.Error()
			}
			continue
		}
		provider, ok := releases.ProviderFor(e.c.InfrastructureKind)
		if !ok {
			dec.Action, dec.Reason = ActionSkip, fmt.Sprintf("no release provider for infrastructure kind %q", e.c.InfrastructureKind)
			continue
		}
		target, newest, released, why := d.target(e.settings, provider, cur)
		if newest != nil {
			dec.Available = "v" + newest.Version.String()
		}
		if released != nil {
			dec.Requestable = "v" + released.Version.String()
		}
		if target == nil {
			dec.Action, dec.Reason = ActionSkip, why
			continue
		}
		dec.Target = "v" + target.Version.String()
		if ok, at := e.settings.OldEnough(target.Date, now); !ok {
			dec.Action, dec.Until = ActionWait, &at
			dec.Reason = fmt.Sprintf("release %s is younger than %s (old enough %s)", dec.Target, age(e.settings.MinimumReleaseAge), at.In(timeZone(e.settings)).Format("Mon 2006-01-02 15:04 MST"))
			continue
		}
		if wait, until := d.waveWait(members, e.settings, target, now); wait != "" {
			dec.Action, dec.Reason, dec.Until = ActionWait, wait, until
			continue
		}
		if !e.settings.Open(now) {
			dec.Action, dec.Reason = ActionWait, e.settings.Why(now)
			if at, ok := e.settings.NextOpen(now); ok {
				dec.Until = &at
			}
			continue
		}
		dec.Action, dec.Reason = ActionPropose, fmt.Sprintf("%s is allowed and the window is open", updateText(cur, target))
		if e.settings.Automerge(cur.String(), target.Version.String()) {
			dec.Automerge, dec.merge = true, e.settings.Merge
		}
	}
	return out
}

// member is a cluster with its settings and its version, read once: the
// wave check looks at every earlier member for each cluster.
type member struct {
	c          *render.Cluster
	settings   policy.Settings
	id         string
	current    string
	version    *semver.Version
	versionErr error
}

// target is the newest release newer than cur that the settings allow,
// the newest release there is, the newest released one, and, when nothing
// is allowed, why.
func (d *Decider) target(s policy.Settings, provider string, cur *semver.Version) (target, newest, released *releases.Release, why string) {
	var refused string
	list := d.Catalog.List(provider)
	slices.SortFunc(list, func(a, b *releases.Release) int { return b.Version.Compare(a.Version) })
	for _, r := range list {
		if !r.Version.GreaterThan(cur) {
			break
		}
		if newest == nil {
			newest = r
		}
		if r.Archived || r.State == "wip" || r.State == "preview" {
			continue
		}
		if released == nil {
			released = r
		}
		if ok, why := s.Allowed(cur.String(), r.Version.String()); !ok {
			if refused == "" {
				refused = fmt.Sprintf("%s; ask for it with /upgrade v%s", why, r.Version)
			}
			continue
		}
		return r, newest, released, ""
	}
	if newest == nil {
		return nil, nil, nil, fmt.Sprintf("on the newest %s release", provider)
	}
	if refused == "" {
		return nil, newest, released, fmt.Sprintf("v%s is not released yet (%s)", newest.Version, cmp.Or(newest.State, "archived"))
	}
	return nil, newest, released, refused
}

// waveWait says why a cluster waits for an earlier rollout wave, or "".
// An earlier wave is done when each of its clusters is on the target (or
// newer) and has been for the soak time.
func (d *Decider) waveWait(all []member, s policy.Settings, target *releases.Release, now time.Time) (string, *time.Time) {
	if s.Wave == nil || s.Wave.Index == 0 {
		return "", nil
	}
	var (
		latest  time.Time
		soaking string
	)
	for _, m := range all {
		w := m.settings.Wave
		if w == nil || w.Index >= s.Wave.Index {
			continue
		}
		if m.versionErr != nil || m.version.LessThan(target.Version) {
			return fmt.Sprintf("waiting for wave %s: %s is not on v%s yet", w.Name, m.id, target.Version), nil
		}
		if w.Soak <= 0 {
			continue
		}
		since, known := time.Time{}, false
		if d.Since != nil {
			since, known = d.Since(m.id)
		}
		if !known {
			return fmt.Sprintf("waiting for wave %s: when %s reached v%s is unknown, so its soak time of %s cannot be checked", w.Name, m.id, target.Version, age(w.Soak)), nil
		}
		if end := since.Add(w.Soak); end.After(latest) {
			latest, soaking = end, w.Name
		}
	}
	if latest.After(now) {
		return fmt.Sprintf("waiting for wave %s to soak on v%s until %s", soaking, target.Version, latest.UTC().Format(time.RFC3339)), &latest
	}
	return "", nil
}

func updateText(from *semver.Version, to *releases.Release) string {
	return fmt.Sprintf("the %s update v%s → v%s", policy.UpdateTypeOf(from, to.Version), from, to.Version)
}

func timeZone(s policy.Settings) *time.Location {
	if s.Location != nil {
		return s.Location
	}
	return time.UTC
}

// age prints a duration in days where it is whole days.
func age(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
