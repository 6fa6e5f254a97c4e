package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/go-logr/logr"
)

// errJobTimeout is the cause of a job's context when JobTimeout ran out.
var errJobTimeout = errors.New("job timeout exceeded")

// work is one worker: it handles queued jobs until the queue is closed and
// empty. After the grace period it abandons what it takes instead.
func (s *Server) work(ctx context.Context) {
	for j := range s.queue {
		s.mu.Lock()
		if s.abandoning {
			s.mu.Unlock()
			s.abandoned(j, "queued")
			continue
		}
		s.active[j] = struct{}{}
		s.mu.Unlock()
		s.handle(ctx, j)
	}
}

// handle runs the handler on one job and counts the outcome, unless
// shutdown abandoned the job meanwhile (then it was counted there).
func (s *Server) handle(ctx context.Context, j *job) {
	log := s.jobLogger(j)
	ctx, cancel := context.WithTimeoutCause(ctx, s.opts.JobTimeout, errJobTimeout)
	defer cancel()
	ctx = logr.NewContextWithSlogLogger(ctx, log)

	log.Debug("job started", "waited", time.Since(j.accepted).String())
	start := time.Now()
	err := s.call(ctx, j)
	took := time.Since(start)
	s.metrics.duration.WithLabelValues(j.route).Observe(took.Seconds())

	s.mu.Lock()
	abandoned := j.abandoned
	delete(s.active, j)
	s.mu.Unlock()

	// Metrics are counted before the record is logged: a record seen
	// means the metrics show the job.
	var panicked *panicError
	switch {
	case abandoned:
		log.Debug("abandoned job returned", "took", took.String(), keyError, err)
	case errors.As(err, &panicked):
		s.metrics.jobs.WithLabelValues(j.route, jobPanic).Inc()
		log.Error("job panicked", "took", took.String(), keyError, panicked.value, "stack", string(panicked.stack))
	case err != nil:
		s.metrics.jobs.WithLabelValues(j.route, jobError).Inc()
		if errors.Is(context.Cause(ctx), errJobTimeout) {
			err = fmt.Errorf("%w (after %s): %w", errJobTimeout, s.opts.JobTimeout, err)
		}
		log.Error("job failed", "took", took.String(), keyError, err)
	default:
		s.metrics.jobs.WithLabelValues(j.route, jobOK).Inc()
		log.Info("job done", "took", took.String())
	}
}

// panicError is a recovered panic of a handler.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.value) }

// call runs the handler, turning a panic into a *panicError.
func (s *Server) call(ctx context.Context, j *job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return s.opts.Handler.Handle(ctx, j.provider, j.event)
}

// abandon gives up on every job still running or queued: it marks and logs
// them, then cancels the running ones' contexts.
func (s *Server) abandon(cancelJobs context.CancelCauseFunc) {
	s.mu.Lock()
	s.abandoning = true
	running := make([]*job, 0, len(s.active))
	for j := range s.active {
		j.abandoned = true
		running = append(running, j)
	}
	s.mu.Unlock()

	cancelJobs(ErrShutdown)
	for _, j := range running {
		s.abandoned(j, "running")
	}
	// The queue is closed: this ends when the workers and this loop have
	// taken every job left.
	for j := range s.queue {
		s.abandoned(j, "queued")
	}
}

// abandoned logs and counts a job given up on at shutdown.
func (s *Server) abandoned(j *job, state string) {
	s.metrics.jobs.WithLabelValues(j.route, jobAbandoned).Inc()
	s.jobLogger(j).Warn("job abandoned at shutdown; a comment command is picked up again by the start-up scan",
		"state", state, "grace", s.opts.ShutdownGrace.String())
}

// jobLogger is the logger for records about j.
func (s *Server) jobLogger(j *job) *slog.Logger {
	return s.log.With(keyProvider, j.route, keyDelivery, j.event.DeliveryID,
		keyRepo, j.event.Repo, keyKind, string(j.event.Kind))
}
