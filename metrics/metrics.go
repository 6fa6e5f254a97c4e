// Package metrics exports what the bot does as Prometheus metrics: pull
// requests by action, comment commands by result, the last successful
// reconcile of each repository, how long renders take (Bot), and the
// requests to the forges with the rate limit they report (Forges, an HTTP
// transport). The webhook server exports its own (requests, jobs, queue)
// beside them on the same registry.
package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Bot implements bot.Metrics on a Prometheus registry.
type Bot struct {
	pullRequests *prometheus.CounterVec
	reconciled   *prometheus.GaugeVec
	render       prometheus.Histogram
	commands     *prometheus.CounterVec
}

// New registers the bot's metrics on reg, with every pull request action
// of each forge at zero so that rates start from the first scrape.
func New(reg prometheus.Registerer, forges []string) (*Bot, error) {
	b := &Bot{
		pullRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_bot_pull_requests_total",
			Help: "Upgrade pull requests by forge and action: opened, updated, closed (superseded) and merged (automerged).",
		}, []string{"forge", "action"}),
		reconciled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "upgrade_bot_last_reconcile_success_timestamp_seconds",
			Help: "When the last successful reconcile of a repository ended, as a Unix time.",
		}, []string{"forge", "repo"}),
		render: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "upgrade_bot_render_duration_seconds",
			Help:    "How long planning and rendering an upgrade took.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12), // 50 ms to about 100 s
		}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_bot_commands_total",
			Help: "Comment commands by forge, verb (unknown: it did not parse) and result: ok, invalid (the reply says what to fix), failed (the bot or the forge failed), denied (no write permission).",
		}, []string{"forge", "verb", "result"}),
	}
	for _, c := range []prometheus.Collector{b.pullRequests, b.reconciled, b.render, b.commands} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the bot's metrics: %w", err)
		}
	}
	for _, f := range forges {
		for _, a := range []string{"opened", "updated", "closed", "merged"} {
			b.pullRequests.WithLabelValues(f, a)
		}
	}
	return b, nil
}

// PullRequest counts a pull request action.
func (b *Bot) PullRequest(forge, action string) { b.pullRequests.WithLabelValues(forge, action).Inc() }

// Reconciled records a successful reconcile.
func (b *Bot) Reconciled(forge, repo string, at time.Time) {
	b.reconciled.WithLabelValues(forge, repo).Set(float64(at.UnixNano()) / 1e9)
}

// Command counts a comment command.
func (b *Bot) Command(forge, verb, result string) {
	b.commands.WithLabelValues(forge, verb, result).Inc()
}

// Rendered observes a render's duration.
func (b *Bot) Rendered(d time.Duration) { b.render.Observe(d.Seconds()) }
