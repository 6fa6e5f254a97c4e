package metrics

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Forges counts the requests the bot makes to the forges' APIs and keeps
// the rate limit the forges report in their answers.
type Forges struct {
	requests  *prometheus.CounterVec
	remaining *prometheus.GaugeVec
	limit     *prometheus.GaugeVec
	reset     *prometheus.GaugeVec
}

// NewForges registers the forge request metrics on reg.
func NewForges(reg prometheus.Registerer) (*Forges, error) {
	f := &Forges{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_bot_forge_requests_total",
			Help: "Requests to a forge's API by method and status code (\"error\" when no answer came); answers served from the bot's cache are not requests, 304 revalidations are.",
		}, []string{"forge", "method", "code"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "upgrade_bot_forge_rate_limit_remaining",
			Help: "The requests left in the forge's current rate limit window, as its last answer said (GitHub: per resource such as core; GitLab: api).",
		}, []string{"forge", "resource"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "upgrade_bot_forge_rate_limit",
			Help: "The requests the forge allows per rate limit window, as its last answer said.",
		}, []string{"forge", "resource"}),
		reset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "upgrade_bot_forge_rate_limit_reset_timestamp_seconds",
			Help: "When the forge's current rate limit window ends, as a Unix time.",
		}, []string{"forge", "resource"}),
	}
	for _, c := range []prometheus.Collector{f.requests, f.remaining, f.limit, f.reset} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the forge metrics: %w", err)
		}
	}
	return f, nil
}

// Transport counts the requests that next carries for forge and reads the
// rate limit headers of their answers: GitHub's X-RateLimit-* (with
// X-RateLimit-Resource) and GitLab's RateLimit-*. next is
// http.DefaultTransport when nil.
func (f *Forges) Transport(forge string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &counting{f: f, forge: forge, next: next}
}

type counting struct {
	f     *Forges
	forge string
	next  http.RoundTripper
}

func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		c.f.requests.WithLabelValues(c.forge, req.Method, "error").Inc()
		return resp, err
	}
	c.f.requests.WithLabelValues(c.forge, req.Method, strconv.Itoa(resp.StatusCode)).Inc()
	c.f.rate(c.forge, resp.Header)
	return resp, nil
}

// rate records the rate limit an answer reports, if it reports one.
func (f *Forges) rate(forge string, h http.Header) {
	prefix, resource := "X-RateLimit-", strings.TrimSpace(h.Get("X-RateLimit-Resource"))
	if h.Get(prefix+"Remaining") == "" {
		prefix, resource = "RateLimit-", "api"
	}
	if resource == "" {
		resource = "core"
	}
	set := func(g *prometheus.GaugeVec, header string) {
		if v, err := strconv.ParseFloat(strings.TrimSpace(h.Get(prefix+header)), 64); err == nil {
			g.WithLabelValues(forge, resource).Set(v)
		}
	}
	set(f.remaining, "Remaining")
	set(f.limit, "Limit")
	set(f.reset, "Reset")
}
