// Package server is the HTTP side of `upgrade-bot serve`: it receives forge
// webhooks, checks and decodes them through the forge's vcs.Provider,
// answers within milliseconds and hands each event to a bounded pool of
// workers that run the bot on it. It also serves /healthz, /readyz and
// Prometheus /metrics.
//
// The bot itself is given to the server as a Handler; the server knows
// nothing about what an event means.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// The defaults for the zero values of Options.
const (
	DefaultWorkers       = 4
	DefaultQueueSize     = 256
	DefaultMaxBody       = 1 << 20 // 1 MiB; GitHub caps payloads at 25 MB, but the bot's events are small
	DefaultDedupe        = 10_000
	DefaultShutdownGrace = 30 * time.Second
	DefaultJobTimeout    = 5 * time.Minute
)

// abandonWait is how long Run still waits, after cancelling the jobs that
// outlived the grace period, for their handlers to return.
const abandonWait = 5 * time.Second

// ErrShutdown is the cause (context.Cause) of a job's context when the
// server gave up on the job at shutdown: the grace period ran out.
var ErrShutdown = errors.New("server shut down before the job finished")

// Handler runs the bot on one event. It is called from a worker goroutine,
// one call per accepted delivery, with a context that
//   - carries a *slog.Logger with the provider, delivery, repo and kind
//     attributes (logr.FromContextAsSlogLogger(ctx) returns it, and
//     controller-runtime's log.FromContext finds it too);
//   - expires after Options.JobTimeout;
//   - is cancelled with cause ErrShutdown when the server shuts down and
//     the job outlives the grace period.
//
// A returned error is logged and counted; there is no retry.
type Handler interface {
	Handle(ctx context.Context, p vcs.Provider, ev vcs.Event) error
}

// Options configure a Server. Only Providers and Handler are required;
// zero values take the defaults above.
type Options struct {
	// Providers maps a route name to a forge: POST /webhooks/<name> is
	// checked and decoded by that provider. The name is also the
	// "provider" label of the metrics and logs, so two GitHub Apps can be
	// told apart ("github", "github-enterprise").
	Providers map[string]vcs.Provider
	// Handler runs the bot on each accepted event.
	Handler Handler
	// Workers is how many events are handled at the same time.
	Workers int
	// QueueSize is how many accepted events may wait for a worker; when
	// the queue is full, webhooks are answered 503 so the forge retries
	// (or someone redelivers).
	QueueSize int
	// MaxBody is the largest webhook body accepted, in bytes.
	MaxBody int64
	// Dedupe is how many delivery ids are remembered to recognise
	// redeliveries (least recently seen forgotten first).
	Dedupe int
	// Ready, when set, is asked by /readyz whether the bot can work
	// (for example whether the management API answers).
	Ready func(context.Context) error
	// Active, when set, says whether this replica is the one that works:
	// with several replicas and leader election, a follower answers
	// /readyz and webhooks 503 with its error (so the Service sends the
	// forge to the leader), while /healthz stays 200.
	Active func() error
	// Logger receives the server's records; discarded when nil.
	Logger *slog.Logger
	// Registerer is where the server's metrics are registered and
	// Gatherer what /metrics serves. When both are nil the server uses a
	// registry of its own; when only Registerer is set, it must be a
	// Gatherer too (a *prometheus.Registry is).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// ShutdownGrace is how long Run lets in-flight and queued jobs finish
	// after its context is cancelled.
	ShutdownGrace time.Duration
	// JobTimeout bounds each Handler call.
	JobTimeout time.Duration
}

// AddFlags registers command-line flags for the tuning options (workers,
// queue, body size, deduplication, shutdown grace, job timeout), with the
// defaults as flag defaults.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Workers, "workers", DefaultWorkers, "how many webhook events are handled at the same time")
	fs.IntVar(&o.QueueSize, "queue-size", DefaultQueueSize, "how many accepted webhook events may wait for a worker")
	fs.Int64Var(&o.MaxBody, "max-body", DefaultMaxBody, "largest webhook body accepted, in bytes")
	fs.IntVar(&o.Dedupe, "dedupe", DefaultDedupe, "how many webhook delivery ids are remembered to recognise redeliveries")
	fs.DurationVar(&o.ShutdownGrace, "shutdown-grace", DefaultShutdownGrace, "how long running jobs may finish after a shutdown signal")
	fs.DurationVar(&o.JobTimeout, "job-timeout", DefaultJobTimeout, "longest time one webhook event may take to handle")
}

// Validate reports what is wrong with the options, all at once.
func (o *Options) Validate() error {
	var errs []error
	if len(o.Providers) == 0 {
		errs = append(errs, errors.New("no webhook providers"))
	}
	for name, p := range o.Providers {
		if name == "" || strings.ContainsAny(name, "/?#%") {
			errs = append(errs, fmt.Errorf("provider route name %q: must be one non-empty path segment", name))
		}
		if p == nil {
			errs = append(errs, fmt.Errorf("provider %q is nil", name))
		}
	}
	if o.Handler == nil {
		errs = append(errs, errors.New("no handler"))
	}
	for _, n := range []struct {
		name  string
		value int64
	}{
		{"workers", int64(o.Workers)},
		{"queue size", int64(o.QueueSize)},
		{"max body", o.MaxBody},
		{"dedupe", int64(o.Dedupe)},
		{"shutdown grace", int64(o.ShutdownGrace)},
		{"job timeout", int64(o.JobTimeout)},
	} {
		if n.value < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", n.name))
		}
	}
	if o.Registerer == nil && o.Gatherer != nil {
		errs = append(errs, errors.New("metrics gatherer set without a registerer"))
	}
	if _, ok := o.Registerer.(prometheus.Gatherer); o.Registerer != nil && o.Gatherer == nil && !ok {
		errs = append(errs, errors.New("metrics registerer is not a gatherer and no gatherer is set"))
	}
	return errors.Join(errs...)
}

// Server receives webhooks and runs the handler on them. Create it with
// New; serve it with Run, or mount Handler in a server of your own and
// still call Run for the workers (see Run).
type Server struct {
	opts      Options
	log       *slog.Logger
	providers map[string]vcs.Provider
	gatherer  prometheus.Gatherer
	metrics   *metrics
	mux       *http.ServeMux

	// shuttingDown makes /readyz answer 503.
	shuttingDown atomic.Bool
	// running is set by the first Run.
	running atomic.Bool

	// queue holds accepted jobs until a worker takes them; closed at
	// shutdown.
	queue chan *job

	// mu guards what follows: the delivery ids, sending to and closing
	// the queue, and the set of running jobs.
	mu sync.Mutex
	// seen are the delivery ids of accepted jobs.
	seen *deliveries
	// closed is set when the queue is closed.
	closed bool
	// abandoning is set when the grace period ran out: workers abandon
	// what they take from the queue instead of running it.
	abandoning bool
	// active are the jobs being handled.
	active map[*job]struct{}
}

// New checks the options, fills in the defaults and registers the metrics.
// It starts nothing: see Run.
func New(opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("checking webhook server options: %w", err)
	}
	setDefault(&opts.Workers, DefaultWorkers)
	setDefault(&opts.QueueSize, DefaultQueueSize)
	setDefault(&opts.MaxBody, DefaultMaxBody)
	setDefault(&opts.Dedupe, DefaultDedupe)
	setDefault(&opts.ShutdownGrace, DefaultShutdownGrace)
	setDefault(&opts.JobTimeout, DefaultJobTimeout)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		reg := prometheus.NewRegistry()
		opts.Registerer, opts.Gatherer = reg, reg
	}
	if opts.Gatherer == nil {
		opts.Gatherer = opts.Registerer.(prometheus.Gatherer) // checked by Validate
	}

	s := &Server{
		opts:      opts,
		log:       opts.Logger,
		providers: make(map[string]vcs.Provider, len(opts.Providers)),
		gatherer:  opts.Gatherer,
		queue:     make(chan *job, opts.QueueSize),
		seen:      newDeliveries(opts.Dedupe),
		active:    make(map[*job]struct{}),
	}
	names := make([]string, 0, len(opts.Providers))
	for name, p := range opts.Providers {
		s.providers[name] = p
		names = append(names, name)
	}
	m, err := newMetrics(opts.Registerer, names, func() float64 { return float64(len(s.queue)) })
	if err != nil {
		return nil, fmt.Errorf("registering webhook server metrics: %w", err)
	}
	s.metrics = m

	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/webhooks/{provider}", s.serveWebhook)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}))
	return s, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Handler returns the server's routes:
//
//	POST /webhooks/<name>  a webhook for the provider registered as <name>
//	GET  /healthz          200 while the process runs
//	GET  /readyz           200 when ready to receive webhooks, else 503 and why
//	GET  /metrics          the Prometheus metrics
//
// Events accepted before Run starts wait in the queue for its workers.
func (s *Server) Handler() http.Handler { return s.mux }

// The server's HTTP timeouts: webhooks are small and answered at once.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Run starts the workers, serves Handler on ln until ctx is cancelled (or
// serving fails), then shuts down:
//
//  1. /readyz answers 503 and the listener closes; requests being
//     answered are finished.
//  2. Jobs running and queued get ShutdownGrace to finish.
//  3. Then the contexts of the jobs still running are cancelled (cause
//     ErrShutdown); they and the jobs still queued are logged as
//     abandoned and counted. Run waits a few seconds more for their
//     handlers to return.
//
// Run returns nil after a shutdown asked for by ctx, or the error that
// stopped serving. It can be called once. Only Run's workers handle
// events, so Run is needed even where Handler is mounted in another
// server.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("webhook server already running")
	}
	// Jobs keep ctx's values but not its cancellation: shutdown decides
	// when they stop.
	jobCtx, cancelJobs := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelJobs(ErrShutdown)
	var workers sync.WaitGroup
	for range s.opts.Workers {
		workers.Go(func() { s.work(jobCtx) })
	}

	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	s.log.Info("serving webhooks", "address", ln.Addr().String(), "workers", s.opts.Workers)

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("serving webhooks on %s: %w", ln.Addr(), err)
	}

	s.shuttingDown.Store(true)
	s.log.Info("shutting down", "grace", s.opts.ShutdownGrace.String())
	grace, cancelGrace := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownGrace)
	defer cancelGrace()
	if shutErr := hs.Shutdown(grace); shutErr != nil {
		s.log.Warn("closing webhook connections", "error", shutErr)
		_ = hs.Close()
	}

	s.mu.Lock()
	s.closed = true
	close(s.queue)
	queued, running := len(s.queue), len(s.active)
	s.mu.Unlock()
	s.log.Info("waiting for jobs to finish", "running", running, "queued", queued)

	stopped := make(chan struct{})
	go func() {
		workers.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		s.log.Info("all jobs finished")
		return err
	case <-grace.Done():
	}

	s.abandon(cancelJobs)
	select {
	case <-stopped:
	case <-time.After(abandonWait):
		s.log.Warn("job handlers still running after their contexts were cancelled")
	}
	return err
}

// serveReady answers /readyz.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if s.shuttingDown.Load() {
		writeText(w, http.StatusServiceUnavailable, "not ready: shutting down")
		return
	}
	if s.opts.Active != nil {
		if err := s.opts.Active(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
	}
	if s.opts.Ready != nil {
		if err := s.opts.Ready(r.Context()); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
	}
	writeText(w, http.StatusOK, "ok")
}

// writeText answers with a one-line plain text body.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, msg)
}
