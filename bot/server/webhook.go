package server

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// Log keys, the same in every record.
const (
	keyProvider = "provider"
	keyDelivery = "delivery"
	keyRepo     = "repo"
	keyKind     = "kind"
	keyError    = "error"
)

// retryAfter is the Retry-After answered when the queue is full or the
// server is shutting down, in seconds.
const retryAfter = 10

// maxErrorAnswer bounds the parse error repeated in a 400 answer.
const maxErrorAnswer = 200

// job is one accepted event waiting for, or being handled by, a worker.
type job struct {
	route    string
	provider vcs.Provider
	event    vcs.Event
	accepted time.Time
	// abandoned is set, under Server.mu, when shutdown gave up on the job.
	abandoned bool
}

// serveWebhook answers POST /webhooks/{provider}.
func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request) {
	route := r.PathValue("provider")
	p, ok := s.providers[route]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeText(w, http.StatusMethodNotAllowed, "method not allowed: webhooks are POSTed")
		return
	}
	log := s.log.With(keyProvider, route)
	if s.opts.Active != nil {
		if err := s.opts.Active(); err != nil {
			// The forge may redeliver; what it does not, the leader's
			// start-up scan and reconcile pick up.
			log.Info("webhook refused: this replica is not the active one", keyError, err)
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
			s.answer(w, route, outcomeInactive, http.StatusServiceUnavailable, "not the active replica: "+err.Error())
			return
		}
	}

	if r.ContentLength > s.opts.MaxBody {
		s.tooLarge(w, route)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBody+1))
	if err != nil {
		log.Warn("reading webhook body", keyError, err)
		s.answer(w, route, outcomeBadRequest, http.StatusBadRequest, "cannot read body")
		return
	}
	if int64(len(body)) > s.opts.MaxBody {
		s.tooLarge(w, route)
		return
	}

	ev, err := p.ParseWebhook(r, body)
	switch {
	case errors.Is(err, vcs.ErrUnauthorized):
		// The provider's error names what did not match, never the secret;
		// neither the body nor the headers are logged.
		log.Warn("webhook refused", "remote", r.RemoteAddr, keyError, err)
		s.answer(w, route, outcomeUnauthorized, http.StatusUnauthorized, "unauthorized")
		return
	case err != nil:
		log.Info("webhook not understood", "remote", r.RemoteAddr, keyError, err)
		msg := err.Error()
		if len(msg) > maxErrorAnswer {
			msg = msg[:maxErrorAnswer] + "…"
		}
		s.answer(w, route, outcomeBadRequest, http.StatusBadRequest, "bad webhook: "+msg)
		return
	}
	log = log.With(keyDelivery, ev.DeliveryID, keyRepo, ev.Repo, keyKind, string(ev.Kind))

	if ev.Kind == vcs.EventIgnored {
		// Never 4xx: GitLab disables a hook that keeps answering 4xx.
		log.Debug("webhook ignored", "reason", ev.Reason)
		s.answer(w, route, outcomeIgnored, http.StatusOK, "ignored: "+ev.Reason)
		return
	}

	switch o := s.enqueue(&job{route: route, provider: p, event: ev, accepted: time.Now()}); o {
	case outcomeAccepted:
		log.Info("webhook accepted")
		s.answer(w, route, o, http.StatusAccepted, "accepted")
	case outcomeDuplicate:
		log.Info("webhook delivered again, ignored")
		s.answer(w, route, o, http.StatusOK, "duplicate delivery")
	case outcomeQueueFull:
		log.Warn("webhook refused: job queue full", "queue_size", s.opts.QueueSize)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		s.answer(w, route, o, http.StatusServiceUnavailable, "busy: job queue full, retry later")
	default: // outcomeShuttingDown
		log.Info("webhook refused: shutting down")
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		s.answer(w, route, o, http.StatusServiceUnavailable, "shutting down, retry later")
	}
}

// tooLarge answers a body larger than MaxBody.
func (s *Server) tooLarge(w http.ResponseWriter, route string) {
	s.log.Warn("webhook body too large", keyProvider, route, "max_body", s.opts.MaxBody)
	s.answer(w, route, outcomeTooLarge, http.StatusRequestEntityTooLarge,
		"body larger than "+strconv.FormatInt(s.opts.MaxBody, 10)+" bytes")
}

// answer counts a webhook request and answers it.
func (s *Server) answer(w http.ResponseWriter, route, outcome string, status int, msg string) {
	s.metrics.requests.WithLabelValues(route, outcome).Inc()
	writeText(w, status, msg)
}

// enqueue queues j unless its delivery was accepted before, the queue is
// full or the server is shutting down, and says which. The delivery id is
// remembered only when j is queued, so that a delivery refused for a full
// queue is accepted when it comes again.
func (s *Server) enqueue(j *job) string {
	key := j.route + "\x00" + j.event.DeliveryID
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return outcomeShuttingDown
	}
	// Without a delivery id (an old forge), every delivery is new.
	if j.event.DeliveryID != "" && s.seen.contains(key) {
		return outcomeDuplicate
	}
	select {
	case s.queue <- j:
	default:
		return outcomeQueueFull
	}
	if j.event.DeliveryID != "" {
		s.seen.add(key)
	}
	return outcomeAccepted
}
