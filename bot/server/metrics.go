package server

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// The outcomes of a webhook request, the "outcome" label of
// upgrade_bot_webhook_requests_total.
const (
	outcomeAccepted     = "accepted"
	outcomeIgnored      = "ignored"
	outcomeDuplicate    = "duplicate"
	outcomeUnauthorized = "unauthorized"
	outcomeTooLarge     = "too_large"
	outcomeBadRequest   = "bad_request"
	outcomeQueueFull    = "queue_full"
	outcomeShuttingDown = "shutting_down"
	outcomeInactive     = "inactive"
)

// The outcomes of a job, the "outcome" label of upgrade_bot_jobs_total.
const (
	jobOK        = "ok"
	jobError     = "error"
	jobPanic     = "panic"
	jobAbandoned = "abandoned"
)

// metrics are the server's Prometheus metrics.
type metrics struct {
	requests *prometheus.CounterVec
	jobs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newMetrics creates the metrics, with every provider and outcome at zero
// so that rates and alerts work from the start, and registers them with
// reg. queueLength reports how many jobs wait for a worker.
func newMetrics(reg prometheus.Registerer, providers []string, queueLength func() float64) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_bot_webhook_requests_total",
			Help: "Webhook requests received, by provider route and outcome.",
		}, []string{"provider", "outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_bot_jobs_total",
			Help: "Webhook events handled, by provider route and outcome.",
		}, []string{"provider", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "upgrade_bot_job_duration_seconds",
			Help:    "How long handling one webhook event took, by provider route.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"provider"}),
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "upgrade_bot_job_queue_length",
		Help: "Accepted webhook events waiting for a worker.",
	}, queueLength)

	for _, p := range providers {
		for _, o := range []string{outcomeAccepted, outcomeIgnored, outcomeDuplicate, outcomeUnauthorized,
			outcomeTooLarge, outcomeBadRequest, outcomeQueueFull, outcomeShuttingDown, outcomeInactive} {
			m.requests.WithLabelValues(p, o)
		}
		for _, o := range []string{jobOK, jobError, jobPanic, jobAbandoned} {
			m.jobs.WithLabelValues(p, o)
		}
		m.duration.WithLabelValues(p)
	}
	for _, c := range []prometheus.Collector{m.requests, m.jobs, m.duration, queue} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metric: %w", err)
		}
	}
	return m, nil
}
