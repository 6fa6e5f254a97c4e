package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/upgrade-bot/upgrade-bot/bot/server"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// waitLimit only guards against a hung test; nothing waits for it to pass.
const waitLimit = 10 * time.Second

// ---- a forge for the tests ----

// testProvider is a forge whose webhooks carry an HMAC-SHA256 of the body
// in X-Test-Signature and their delivery id in X-Test-Delivery, like
// GitHub's. Only ParseWebhook is used by the server.
type testProvider struct {
	name   string
	secret []byte
}

var _ vcs.Provider = (*testProvider)(nil)

var errNotUsed = errors.New("not used")

// testPayload is the body of a test webhook.
type testPayload struct {
	Kind    vcs.EventKind `json:"kind"`
	Repo    string        `json:"repo"`
	Body    string        `json:"body,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	Sender  string        `json:"sender"`
	Padding string        `json:"padding,omitempty"`
}

func (p *testProvider) sign(body []byte) string {
	mac := hmac.New(sha256.New, p.secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (p *testProvider) ParseWebhook(r *http.Request, body []byte) (vcs.Event, error) {
	if !hmac.Equal([]byte(r.Header.Get("X-Test-Signature")), []byte(p.sign(body))) {
		return vcs.Event{}, fmt.Errorf("checking X-Test-Signature: %w", vcs.ErrUnauthorized)
	}
	var pl testPayload
	if err := json.Unmarshal(body, &pl); err != nil {
		return vcs.Event{}, fmt.Errorf("decoding test webhook: %w", err)
	}
	ev := vcs.Event{
		Kind:       pl.Kind,
		DeliveryID: r.Header.Get("X-Test-Delivery"),
		Repo:       pl.Repo,
		Sender:     vcs.User{Login: pl.Sender},
		Reason:     pl.Reason,
	}
	if pl.Kind == vcs.EventComment {
		ev.Comment = &vcs.Comment{Body: pl.Body, Author: ev.Sender}
	}
	return ev, nil
}

func (p *testProvider) Name() string                           { return p.name }
func (p *testProvider) Self(context.Context) (vcs.User, error) { return vcs.User{}, errNotUsed }
func (p *testProvider) Repository(context.Context, string) (vcs.Repository, error) {
	return vcs.Repository{}, errNotUsed
}
func (p *testProvider) GitCredential(context.Context, string) (string, string, error) {
	return "", "", errNotUsed
}
func (p *testProvider) FindPullRequest(context.Context, string, string) (*vcs.PullRequest, error) {
	return nil, errNotUsed
}
func (p *testProvider) PullRequests(context.Context, string, string) ([]vcs.PullRequest, error) {
	return nil, errNotUsed
}
func (p *testProvider) BranchHistory(context.Context, string, string) ([]vcs.PullRequest, error) {
	return nil, errNotUsed
}
func (p *testProvider) PullRequestsCreatedSince(context.Context, string, string, time.Time) ([]vcs.PullRequest, error) {
	return nil, errNotUsed
}
func (p *testProvider) PullRequest(context.Context, string, int) (*vcs.PullRequest, error) {
	return nil, errNotUsed
}
func (p *testProvider) CreatePullRequest(context.Context, string, vcs.NewPullRequest) (*vcs.PullRequest, error) {
	return nil, errNotUsed
}
func (p *testProvider) UpdatePullRequest(context.Context, string, int, string, string) error {
	return errNotUsed
}
func (p *testProvider) ClosePullRequest(context.Context, string, int) error { return errNotUsed }
func (p *testProvider) Comments(context.Context, string, vcs.Thread) ([]vcs.Comment, error) {
	return nil, errNotUsed
}
func (p *testProvider) RecentComments(context.Context, string, time.Time) ([]vcs.Comment, error) {
	return nil, errNotUsed
}
func (p *testProvider) CreateComment(context.Context, string, vcs.Thread, string) (vcs.Comment, error) {
	return vcs.Comment{}, errNotUsed
}
func (p *testProvider) EditComment(context.Context, string, vcs.CommentRef, string) error {
	return errNotUsed
}
func (p *testProvider) Reactions(context.Context, string, vcs.CommentRef) ([]vcs.Reaction, error) {
	return nil, errNotUsed
}
func (p *testProvider) React(context.Context, string, vcs.CommentRef, vcs.ReactionContent) error {
	return errNotUsed
}
func (p *testProvider) Permission(context.Context, string, string) (vcs.Permission, error) {
	return vcs.PermissionNone, errNotUsed
}
func (p *testProvider) Issues(context.Context, string, string) ([]vcs.Issue, error) {
	return nil, errNotUsed
}
func (p *testProvider) CreateIssue(context.Context, string, string, string) (*vcs.Issue, error) {
	return nil, errNotUsed
}
func (p *testProvider) EditIssue(context.Context, string, int, string, string) error {
	return errNotUsed
}
func (p *testProvider) MergeState(context.Context, string, int) (vcs.MergeState, error) {
	return vcs.MergeState{}, errNotUsed
}
func (p *testProvider) MergePullRequest(context.Context, string, int, vcs.MergeOptions) error {
	return errNotUsed
}
func (p *testProvider) CommentLimit() int { return 65536 }

// ---- a handler that records its calls ----

// call is one Handle call as the handler saw it.
type call struct {
	Provider string
	Event    vcs.Event
	// HasLogger and HasDeadline say what the context carried.
	HasLogger, HasDeadline bool
}

// recorder is a Handler that records every call and then runs do, when
// set, for the event's delivery id.
type recorder struct {
	mu    sync.Mutex
	calls []call
	// handled receives the delivery id of each call, after do returned
	// or panicked.
	handled chan string
	do      func(ctx context.Context, ev vcs.Event) error
}

func newRecorder(do func(ctx context.Context, ev vcs.Event) error) *recorder {
	return &recorder{handled: make(chan string, 100), do: do}
}

func (r *recorder) Handle(ctx context.Context, p vcs.Provider, ev vcs.Event) error {
	defer func() { r.handled <- ev.DeliveryID }()
	_, hasDeadline := ctx.Deadline()
	log := logr.FromContextAsSlogLogger(ctx)
	if log != nil {
		log.Info("test handler called")
	}
	r.mu.Lock()
	r.calls = append(r.calls, call{Provider: p.Name(), Event: ev, HasLogger: log != nil, HasDeadline: hasDeadline})
	r.mu.Unlock()
	if r.do != nil {
		return r.do(ctx, ev)
	}
	return nil
}

func (r *recorder) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// waitHandled waits until the handler has returned for delivery id.
func (r *recorder) waitHandled(t *testing.T, id string) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case got := <-r.handled:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("delivery %q was not handled", id)
		}
	}
}

// ---- logs ----

// record is one log record, its attributes flattened to strings.
type record struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// logSink collects log records and lets a test wait for one.
type logSink struct {
	mu      sync.Mutex
	records []record
	waiters map[string][]chan struct{}
}

func (s *logSink) logger() *slog.Logger {
	return slog.New(&sinkHandler{sink: s})
}

// seen returns a channel closed once a record with message msg is logged.
func (s *logSink) seen(msg string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	for _, r := range s.records {
		if r.Msg == msg {
			close(ch)
			return ch
		}
	}
	if s.waiters == nil {
		s.waiters = make(map[string][]chan struct{})
	}
	s.waiters[msg] = append(s.waiters[msg], ch)
	return ch
}

// wait waits until a record with message msg is logged.
func (s *logSink) wait(t *testing.T, msg string) {
	t.Helper()
	select {
	case <-s.seen(msg):
	case <-time.After(waitLimit):
		t.Fatalf("no log record %q", msg)
	}
}

// find returns the records with message msg.
func (s *logSink) find(msg string) []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []record
	for _, r := range s.records {
		if r.Msg == msg {
			out = append(out, r)
		}
	}
	return out
}

type sinkHandler struct {
	sink  *logSink
	attrs []slog.Attr
}

func (h *sinkHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *sinkHandler) Handle(_ context.Context, r slog.Record) error {
	rec := record{Level: r.Level, Msg: r.Message, Attrs: make(map[string]string)}
	for _, a := range h.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	h.sink.records = append(h.sink.records, rec)
	for _, ch := range h.sink.waiters[r.Message] {
		close(ch)
	}
	delete(h.sink.waiters, r.Message)
	return nil
}

func (h *sinkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &sinkHandler{sink: h.sink, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *sinkHandler) WithGroup(string) slog.Handler { return h }

// ---- the server under test ----

// harness is a Server running on a loopback port.
type harness struct {
	srv      *server.Server
	url      string
	provider *testProvider
	handler  *recorder
	reg      *prometheus.Registry
	logs     *logSink
	client   *http.Client
	cancel   context.CancelFunc
	done     chan error
}

// start runs a server with a "test" provider (unless opts has providers),
// handler as its Handler and the test's logger and registry.
func start(t *testing.T, opts server.Options, handler *recorder) *harness {
	t.Helper()
	h := &harness{
		provider: &testProvider{name: "test", secret: []byte("test-secret")},
		handler:  handler,
		reg:      prometheus.NewRegistry(),
		logs:     &logSink{},
		done:     make(chan error, 1),
	}
	if opts.Providers == nil {
		opts.Providers = map[string]vcs.Provider{"test": h.provider}
	}
	opts.Handler = handler
	opts.Logger = h.logs.logger()
	opts.Registerer, opts.Gatherer = h.reg, h.reg
	srv, err := server.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	h.url = "http://" + ln.Addr().String()
	transport := &http.Transport{}
	h.client = &http.Client{Transport: transport, Timeout: waitLimit}
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	go func() { h.done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		transport.CloseIdleConnections()
		select {
		case <-h.done:
		case <-time.After(waitLimit):
			t.Error("server did not stop")
		}
	})
	return h
}

// stop shuts the server down and returns what Run returned: every accepted
// job has then been handled or abandoned.
func (h *harness) stop(t *testing.T) error {
	t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
		return err
	case <-time.After(waitLimit):
		t.Fatal("server did not stop")
		return nil
	}
}

// request is one webhook request of a test, and the answer expected.
type request struct {
	method   string // POST when empty
	path     string // /webhooks/test when empty
	delivery string
	// payload is sent as JSON when body is empty.
	payload testPayload
	body    string
	// signer signs the body; the harness's provider when nil.
	signer       *testProvider
	badSignature bool
	// chunked sends the body without a Content-Length.
	chunked bool

	wantStatus int
	wantBody   string // the body starts with this
	wantHeader map[string]string
}

// comment is the payload of an /upgrade comment.
func comment(repo string) testPayload {
	return testPayload{Kind: vcs.EventComment, Repo: repo, Body: "/upgrade v31.0.0 peu01", Sender: "alice"}
}

// commentEvent is the event comment(repo) decodes to.
func commentEvent(repo, delivery string) vcs.Event {
	return vcs.Event{
		Kind: vcs.EventComment, DeliveryID: delivery, Repo: repo,
		Sender:  vcs.User{Login: "alice"},
		Comment: &vcs.Comment{Body: "/upgrade v31.0.0 peu01", Author: vcs.User{Login: "alice"}},
	}
}

// send sends req and checks the answer.
func (h *harness) send(t *testing.T, req request) {
	t.Helper()
	method, path := req.method, req.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/webhooks/test"
	}
	body := []byte(req.body)
	if req.body == "" {
		var err error
		if body, err = json.Marshal(req.payload); err != nil {
			t.Fatal(err)
		}
	}
	var r io.Reader = strings.NewReader(string(body))
	if req.chunked {
		r = io.MultiReader(r) // hides the length from net/http
	}
	hr, err := http.NewRequestWithContext(t.Context(), method, h.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	signer := req.signer
	if signer == nil {
		signer = h.provider
	}
	sig := signer.sign(body)
	if req.badSignature {
		sig = (&testProvider{secret: []byte("wrong secret")}).sign(body)
	}
	hr.Header.Set("X-Test-Signature", sig)
	if req.delivery != "" {
		hr.Header.Set("X-Test-Delivery", req.delivery)
	}
	resp, err := h.client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != req.wantStatus || !strings.HasPrefix(string(got), req.wantBody) {
		t.Errorf("%s %s (delivery %q): got %d %q, want %d %q…", method, path, req.delivery,
			resp.StatusCode, got, req.wantStatus, req.wantBody)
	}
	for k, v := range req.wantHeader {
		if g := resp.Header.Get(k); g != v {
			t.Errorf("%s %s: header %s is %q, want %q", method, path, k, g, v)
		}
	}
}

// metric returns the value of the counter or gauge name with exactly the
// given labels (name=value pairs), or the sample count of a histogram.
func metric(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

var webhookOutcomes = []string{"accepted", "ignored", "duplicate", "unauthorized", "too_large", "bad_request", "queue_full", "shutting_down", "inactive"}

var jobOutcomes = []string{"ok", "error", "panic", "abandoned"}

// scrape GETs the metrics at url and returns the samples of the families
// whose name starts with prefix, one line each, sorted: counters and
// gauges as `name{labels} value`, histograms as `name{labels} count n`.
func scrape(t *testing.T, client *http.Client, url, prefix string) []string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	var lines []string
	for name, f := range families {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(labels)
			series := name
			if len(labels) > 0 {
				series += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Histogram != nil:
				lines = append(lines, fmt.Sprintf("%s count %d", series, m.GetHistogram().GetSampleCount()))
			case m.Counter != nil:
				lines = append(lines, fmt.Sprintf("%s %v", series, m.GetCounter().GetValue()))
			case m.Gauge != nil:
				lines = append(lines, fmt.Sprintf("%s %v", series, m.GetGauge().GetValue()))
			}
		}
	}
	slices.Sort(lines)
	return lines
}

// checkCounts compares the counters of provider with want (outcome →
// value; the outcomes not named are zero).
func checkCounts(t *testing.T, g prometheus.Gatherer, name, provider string, outcomes []string, want map[string]float64) {
	t.Helper()
	for _, o := range outcomes {
		if got := metric(t, g, name, "provider", provider, "outcome", o); got != want[o] {
			t.Errorf("%s{provider=%q,outcome=%q} = %v, want %v", name, provider, o, got, want[o])
		}
	}
}

// ---- tests ----

func TestWebhooks(t *testing.T) {
	t.Parallel()
	other := &testProvider{name: "other", secret: []byte("other-secret")}
	padded := func(size int) string {
		pl := comment("org/gitops")
		b, _ := json.Marshal(pl)
		pl.Padding = strings.Repeat("x", size-len(b)-len(`,"padding":""`))
		b, _ = json.Marshal(pl)
		if len(b) != size {
			panic(fmt.Sprintf("padded body is %d bytes, want %d", len(b), size))
		}
		return string(b)
	}

	tests := []struct {
		name     string
		opts     server.Options
		requests []request
		// wantCalls are the handler's calls, in order (one worker).
		wantCalls []call
		// wantRequests are the webhook counters per provider and outcome.
		wantRequests map[string]map[string]float64
	}{
		{
			name: "accepted",
			requests: []request{
				{delivery: "d1", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
			},
			wantCalls:    []call{{Provider: "test", Event: commentEvent("org/gitops", "d1")}},
			wantRequests: map[string]map[string]float64{"test": {"accepted": 1}},
		},
		{
			name: "duplicate delivery",
			requests: []request{
				{delivery: "d1", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
				{delivery: "d1", payload: comment("org/gitops"), wantStatus: 200, wantBody: "duplicate delivery"},
				{delivery: "d2", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
			},
			wantCalls: []call{
				{Provider: "test", Event: commentEvent("org/gitops", "d1")},
				{Provider: "test", Event: commentEvent("org/gitops", "d2")},
			},
			wantRequests: map[string]map[string]float64{"test": {"accepted": 2, "duplicate": 1}},
		},
		{
			name: "same delivery id from two providers",
			opts: server.Options{Providers: map[string]vcs.Provider{
				"test":  &testProvider{name: "test", secret: []byte("test-secret")},
				"other": other,
			}},
			requests: []request{
				{delivery: "d1", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
				{path: "/webhooks/other", signer: other, delivery: "d1", payload: comment("group/gitops"), wantStatus: 202, wantBody: "accepted"},
			},
			wantCalls: []call{
				{Provider: "test", Event: commentEvent("org/gitops", "d1")},
				{Provider: "other", Event: commentEvent("group/gitops", "d1")},
			},
			wantRequests: map[string]map[string]float64{"test": {"accepted": 1}, "other": {"accepted": 1}},
		},
		{
			name: "deliveries without an id are never duplicates",
			requests: []request{
				{payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
				{payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
			},
			wantCalls: []call{
				{Provider: "test", Event: commentEvent("org/gitops", "")},
				{Provider: "test", Event: commentEvent("org/gitops", "")},
			},
			wantRequests: map[string]map[string]float64{"test": {"accepted": 2}},
		},
		{
			name: "least recently seen delivery ids are forgotten",
			opts: server.Options{Dedupe: 2},
			requests: []request{
				{delivery: "d1", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
				{delivery: "d2", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
				{delivery: "d3", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
				{delivery: "d1", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
				{delivery: "d3", payload: comment("org/gitops"), wantStatus: 200, wantBody: "duplicate delivery"},
			},
			wantCalls: []call{
				{Provider: "test", Event: commentEvent("org/gitops", "d1")},
				{Provider: "test", Event: commentEvent("org/gitops", "d2")},
				{Provider: "test", Event: commentEvent("org/gitops", "d3")},
				{Provider: "test", Event: commentEvent("org/gitops", "d1")},
			},
			wantRequests: map[string]map[string]float64{"test": {"accepted": 4, "duplicate": 1}},
		},
		{
			name: "bad signature",
			requests: []request{
				{delivery: "d1", payload: comment("org/gitops"), badSignature: true, wantStatus: 401, wantBody: "unauthorized"},
				// A refused delivery is not remembered.
				{delivery: "d1", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"},
			},
			wantCalls:    []call{{Provider: "test", Event: commentEvent("org/gitops", "d1")}},
			wantRequests: map[string]map[string]float64{"test": {"unauthorized": 1, "accepted": 1}},
		},
		{
			name: "bad payload",
			requests: []request{
				{delivery: "d1", body: `{"kind":`, wantStatus: 400, wantBody: "bad webhook: decoding test webhook"},
			},
			wantRequests: map[string]map[string]float64{"test": {"bad_request": 1}},
		},
		{
			name: "body of exactly MaxBody bytes",
			opts: server.Options{MaxBody: 200},
			requests: []request{
				{delivery: "d1", body: padded(200), wantStatus: 202, wantBody: "accepted"},
				{delivery: "d2", body: padded(200), chunked: true, wantStatus: 202, wantBody: "accepted"},
			},
			wantCalls: []call{
				{Provider: "test", Event: commentEvent("org/gitops", "d1")},
				{Provider: "test", Event: commentEvent("org/gitops", "d2")},
			},
			wantRequests: map[string]map[string]float64{"test": {"accepted": 2}},
		},
		{
			name: "body too large",
			opts: server.Options{MaxBody: 200},
			requests: []request{
				{delivery: "d1", body: padded(201), wantStatus: 413, wantBody: "body larger than 200 bytes"},
				{delivery: "d2", body: padded(201), chunked: true, wantStatus: 413, wantBody: "body larger than 200 bytes"},
			},
			wantRequests: map[string]map[string]float64{"test": {"too_large": 2}},
		},
		{
			name: "ignored event",
			requests: []request{
				{delivery: "d1", payload: testPayload{Kind: vcs.EventIgnored, Repo: "org/gitops", Reason: "label added"}, wantStatus: 200, wantBody: "ignored: label added"},
			},
			wantRequests: map[string]map[string]float64{"test": {"ignored": 1}},
		},
		{
			name: "unknown provider",
			requests: []request{
				{path: "/webhooks/bitbucket", delivery: "d1", payload: comment("org/gitops"), wantStatus: 404},
				{method: http.MethodGet, path: "/webhooks/bitbucket", wantStatus: 404},
				{path: "/webhooks", delivery: "d1", payload: comment("org/gitops"), wantStatus: 404},
			},
			wantRequests: map[string]map[string]float64{"test": {}},
		},
		{
			name: "wrong method",
			requests: []request{
				{method: http.MethodGet, wantStatus: 405, wantHeader: map[string]string{"Allow": "POST"}},
				{method: http.MethodPut, delivery: "d1", payload: comment("org/gitops"), wantStatus: 405},
			},
			wantRequests: map[string]map[string]float64{"test": {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Workers = 1 // calls in delivery order
			h := start(t, tt.opts, newRecorder(nil))
			for _, req := range tt.requests {
				h.send(t, req)
			}
			if err := h.stop(t); err != nil {
				t.Errorf("Run: %v", err)
			}
			want := tt.wantCalls
			for i := range want {
				want[i].HasLogger, want[i].HasDeadline = true, true
			}
			if diff := cmp.Diff(want, h.handler.Calls()); diff != "" {
				t.Errorf("handler calls (-want +got):\n%s", diff)
			}
			for provider, want := range tt.wantRequests {
				checkCounts(t, h.reg, "upgrade_bot_webhook_requests_total", provider, webhookOutcomes, want)
				checkCounts(t, h.reg, "upgrade_bot_jobs_total", provider, jobOutcomes,
					map[string]float64{"ok": want["accepted"]})
			}
			// The handler's records carry the job's attributes.
			handled := h.logs.find("test handler called")
			if len(handled) != len(tt.wantCalls) {
				t.Fatalf("%d handler records, want %d", len(handled), len(tt.wantCalls))
			}
			for i, r := range handled {
				c := tt.wantCalls[i]
				want := map[string]string{"provider": c.Provider, "delivery": c.Event.DeliveryID, "repo": c.Event.Repo, "kind": "comment"}
				if diff := cmp.Diff(want, r.Attrs); diff != "" {
					t.Errorf("handler record %d attributes (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestUnauthorizedIsLoggedWithoutSecrets(t *testing.T) {
	t.Parallel()
	h := start(t, server.Options{}, newRecorder(nil))
	h.send(t, request{delivery: "d1", payload: comment("org/gitops"), badSignature: true, wantStatus: 401, wantBody: "unauthorized"})
	h.stop(t)
	refused := h.logs.find("webhook refused")
	if len(refused) != 1 || refused[0].Level != slog.LevelWarn {
		t.Fatalf("refusal records: %+v, want one warning", refused)
	}
	for k, v := range refused[0].Attrs {
		if strings.Contains(v, "sha256=") || strings.Contains(v, "secret") || strings.Contains(v, "upgrade v31") {
			t.Errorf("refusal record attribute %s=%q shows the signature, secret or body", k, v)
		}
	}
}

func TestConcurrentRedeliveries(t *testing.T) {
	t.Parallel()
	const deliveries, copies = 20, 3
	h := start(t, server.Options{}, newRecorder(nil)) // default workers
	var wg sync.WaitGroup
	for i := range deliveries * copies {
		wg.Go(func() {
			id := fmt.Sprintf("d%d", i%deliveries)
			body, _ := json.Marshal(comment("org/gitops"))
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url+"/webhooks/test", strings.NewReader(string(body)))
			req.Header.Set("X-Test-Signature", h.provider.sign(body))
			req.Header.Set("X-Test-Delivery", id)
			resp, err := h.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 202 && resp.StatusCode != 200 {
				t.Errorf("delivery %s: status %d", id, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	h.stop(t)
	seen := map[string]int{}
	for _, c := range h.handler.Calls() {
		seen[c.Event.DeliveryID]++
	}
	for i := range deliveries {
		if id := fmt.Sprintf("d%d", i); seen[id] != 1 {
			t.Errorf("delivery %s handled %d times, want once", id, seen[id])
		}
	}
	if len(seen) != deliveries {
		t.Errorf("handled deliveries %v, want d0…d%d", seen, deliveries-1)
	}
	checkCounts(t, h.reg, "upgrade_bot_webhook_requests_total", "test", webhookOutcomes,
		map[string]float64{"accepted": deliveries, "duplicate": deliveries * (copies - 1)})
}

func TestQueueFull(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	handler := newRecorder(func(ctx context.Context, ev vcs.Event) error {
		if ev.DeliveryID == "d1" {
			close(started)
			<-release
		}
		return nil
	})
	h := start(t, server.Options{Workers: 1, QueueSize: 1}, handler)
	queueLength := func() float64 { return metric(t, h.reg, "upgrade_bot_job_queue_length") }

	h.send(t, request{delivery: "d1", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	<-started // the worker is busy with d1, the queue is empty
	h.send(t, request{delivery: "d2", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	if got := queueLength(); got != 1 {
		t.Errorf("queue length %v, want 1", got)
	}
	for range 2 {
		h.send(t, request{delivery: "d3", payload: comment("org/gitops"),
			wantStatus: 503, wantBody: "busy", wantHeader: map[string]string{"Retry-After": "10"}})
	}
	close(release)
	handler.waitHandled(t, "d2") // the queue drained
	if got := queueLength(); got != 0 {
		t.Errorf("queue length %v, want 0", got)
	}
	h.send(t, request{delivery: "d3", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	if err := h.stop(t); err != nil {
		t.Errorf("Run: %v", err)
	}

	var got []string
	for _, c := range handler.Calls() {
		got = append(got, c.Event.DeliveryID)
	}
	if diff := cmp.Diff([]string{"d1", "d2", "d3"}, got); diff != "" {
		t.Errorf("handled deliveries (-want +got):\n%s", diff)
	}
	checkCounts(t, h.reg, "upgrade_bot_webhook_requests_total", "test", webhookOutcomes,
		map[string]float64{"accepted": 3, "queue_full": 2})
}

func TestJobOutcomes(t *testing.T) {
	t.Parallel()
	handler := newRecorder(func(ctx context.Context, ev vcs.Event) error {
		switch ev.DeliveryID {
		case "panic":
			var seen map[string]bool
			seen[ev.DeliveryID] = true // a write to a nil map, as a bug would
		case "error":
			return errors.New("cloning org/gitops: repository not found")
		case "timeout":
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	h := start(t, server.Options{Workers: 1, JobTimeout: 100 * time.Millisecond}, handler)
	for _, id := range []string{"panic", "error", "timeout", "ok"} {
		h.send(t, request{delivery: id, payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	}
	// The server keeps working after the panic: "ok" is handled after it
	// by the same single worker.
	h.logs.wait(t, "job done")
	checkCounts(t, h.reg, "upgrade_bot_jobs_total", "test", jobOutcomes,
		map[string]float64{"ok": 1, "error": 2, "panic": 1})
	if got := metric(t, h.reg, "upgrade_bot_job_duration_seconds", "provider", "test"); got != 4 {
		t.Errorf("job duration samples %v, want 4", got)
	}
	h.send(t, request{delivery: "after", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	handler.waitHandled(t, "after")
	if err := h.stop(t); err != nil {
		t.Errorf("Run: %v", err)
	}

	panicked := h.logs.find("job panicked")
	if len(panicked) != 1 {
		t.Fatalf("%d panic records, want 1", len(panicked))
	}
	if p := panicked[0]; p.Level != slog.LevelError || p.Attrs["delivery"] != "panic" ||
		!strings.Contains(p.Attrs["error"], "nil map") || !strings.Contains(p.Attrs["stack"], "server_test.go") {
		t.Errorf("panic record %+v: want an error with the delivery, the panic and the stack", p)
	}
	failed := map[string]string{}
	for _, r := range h.logs.find("job failed") {
		failed[r.Attrs["delivery"]] = r.Attrs["error"]
	}
	if !strings.Contains(failed["error"], "repository not found") {
		t.Errorf("error job logged %q, want the handler's error", failed["error"])
	}
	if !strings.Contains(failed["timeout"], "job timeout exceeded (after 100ms)") {
		t.Errorf("timed out job logged %q, want it to say the job timed out", failed["timeout"])
	}
	checkCounts(t, h.reg, "upgrade_bot_jobs_total", "test", jobOutcomes,
		map[string]float64{"ok": 2, "error": 2, "panic": 1})
}

func TestShutdownWithinGrace(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	var ctxErr error
	handler := newRecorder(func(ctx context.Context, ev vcs.Event) error {
		if ev.DeliveryID == "slow" {
			close(started)
			<-release
			ctxErr = ctx.Err() // read after Run returned
		}
		return nil
	})
	h := start(t, server.Options{Workers: 1, ShutdownGrace: time.Minute}, handler)
	h.send(t, request{delivery: "slow", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	<-started
	h.send(t, request{delivery: "queued", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})

	h.cancel()
	h.logs.wait(t, "waiting for jobs to finish")
	// Shutting down: not ready, no new webhooks, the listener is closed.
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "shutting down") {
		t.Errorf("/readyz during shutdown: %d %q, want 503 shutting down", rec.Code, rec.Body)
	}
	body, _ := json.Marshal(comment("org/gitops"))
	late := httptest.NewRequest(http.MethodPost, "/webhooks/test", strings.NewReader(string(body)))
	late.Header.Set("X-Test-Signature", h.provider.sign(body))
	late.Header.Set("X-Test-Delivery", "late")
	rec = httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, late)
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "10" {
		t.Errorf("webhook during shutdown: %d %q, want 503 with Retry-After", rec.Code, rec.Body)
	}
	if resp, err := h.client.Get(h.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("listener still open during shutdown: %s", resp.Status)
	}

	close(release)
	select {
	case err := <-h.done:
		h.done <- err
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("server did not stop")
	}
	if ctxErr != nil {
		t.Errorf("slow job's context: %v, want it alive within the grace period", ctxErr)
	}
	var got []string
	for _, c := range handler.Calls() {
		got = append(got, c.Event.DeliveryID)
	}
	if diff := cmp.Diff([]string{"slow", "queued"}, got); diff != "" {
		t.Errorf("handled deliveries (-want +got):\n%s", diff)
	}
	checkCounts(t, h.reg, "upgrade_bot_jobs_total", "test", jobOutcomes, map[string]float64{"ok": 2})
	checkCounts(t, h.reg, "upgrade_bot_webhook_requests_total", "test", webhookOutcomes,
		map[string]float64{"accepted": 2, "shutting_down": 1})
	if len(h.logs.find("all jobs finished")) != 1 {
		t.Error(`no "all jobs finished" record`)
	}
}

func TestShutdownAbandonsJobsBeyondGrace(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var cause error
	handler := newRecorder(func(ctx context.Context, ev vcs.Event) error {
		close(started) // only "stuck" may run
		<-ctx.Done()
		cause = context.Cause(ctx) // read after Run returned
		return ctx.Err()
	})
	h := start(t, server.Options{Workers: 1, ShutdownGrace: 50 * time.Millisecond}, handler)
	h.send(t, request{delivery: "stuck", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	<-started
	h.send(t, request{delivery: "queued", payload: testPayload{Kind: vcs.EventPullRequest, Repo: "org/gitops"}, wantStatus: 202, wantBody: "accepted"})

	if err := h.stop(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	if !errors.Is(cause, server.ErrShutdown) {
		t.Errorf("stuck job's context cause: %v, want ErrShutdown", cause)
	}
	if calls := handler.Calls(); len(calls) != 1 {
		t.Errorf("handler called %d times, want only for the stuck job", len(calls))
	}
	checkCounts(t, h.reg, "upgrade_bot_jobs_total", "test", jobOutcomes, map[string]float64{"abandoned": 2})

	const msg = "job abandoned at shutdown; a comment command is picked up again by the start-up scan"
	got := map[string]map[string]string{}
	for _, r := range h.logs.find(msg) {
		got[r.Attrs["delivery"]] = r.Attrs
	}
	want := map[string]map[string]string{
		"stuck":  {"provider": "test", "delivery": "stuck", "repo": "org/gitops", "kind": "comment", "state": "running", "grace": "50ms"},
		"queued": {"provider": "test", "delivery": "queued", "repo": "org/gitops", "kind": "pull_request", "state": "queued", "grace": "50ms"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("abandoned job records (-want +got):\n%s", diff)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ready      func(context.Context) error
		path       string
		wantStatus int
		wantBody   string
	}{
		{name: "healthz", path: "/healthz", wantStatus: 200, wantBody: "ok"},
		{name: "healthz while not ready", path: "/healthz", ready: func(context.Context) error { return errors.New("no") }, wantStatus: 200, wantBody: "ok"},
		{name: "ready without a check", path: "/readyz", wantStatus: 200, wantBody: "ok"},
		{name: "ready", path: "/readyz", ready: func(context.Context) error { return nil }, wantStatus: 200, wantBody: "ok"},
		{
			name:  "not ready",
			path:  "/readyz",
			ready: func(context.Context) error { return errors.New("management API unreachable") },
			// The reason is told.
			wantStatus: 503, wantBody: "not ready: management API unreachable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, server.Options{Ready: tt.ready}, newRecorder(nil))
			resp, err := h.client.Get(h.url + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || strings.TrimSpace(string(body)) != tt.wantBody {
				t.Errorf("GET %s: %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	h := start(t, server.Options{}, newRecorder(func(ctx context.Context, ev vcs.Event) error {
		if ev.DeliveryID == "d2" {
			return errors.New("rendering: no such release")
		}
		return nil
	}))
	h.send(t, request{delivery: "d1", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	h.send(t, request{delivery: "d1", payload: comment("org/gitops"), wantStatus: 200, wantBody: "duplicate"})
	h.send(t, request{delivery: "d2", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	h.send(t, request{delivery: "d3", payload: testPayload{Kind: vcs.EventIgnored, Reason: "push"}, wantStatus: 200, wantBody: "ignored: push"})
	h.send(t, request{delivery: "d4", payload: comment("org/gitops"), badSignature: true, wantStatus: 401, wantBody: "unauthorized"})
	h.logs.wait(t, "job done")
	h.logs.wait(t, "job failed")

	want := []string{
		`upgrade_bot_job_duration_seconds{provider="test"} count 2`,
		`upgrade_bot_job_queue_length 0`,
		`upgrade_bot_jobs_total{outcome="abandoned",provider="test"} 0`,
		`upgrade_bot_jobs_total{outcome="error",provider="test"} 1`,
		`upgrade_bot_jobs_total{outcome="ok",provider="test"} 1`,
		`upgrade_bot_jobs_total{outcome="panic",provider="test"} 0`,
		`upgrade_bot_webhook_requests_total{outcome="accepted",provider="test"} 2`,
		`upgrade_bot_webhook_requests_total{outcome="bad_request",provider="test"} 0`,
		`upgrade_bot_webhook_requests_total{outcome="duplicate",provider="test"} 1`,
		`upgrade_bot_webhook_requests_total{outcome="ignored",provider="test"} 1`,
		`upgrade_bot_webhook_requests_total{outcome="inactive",provider="test"} 0`,
		`upgrade_bot_webhook_requests_total{outcome="queue_full",provider="test"} 0`,
		`upgrade_bot_webhook_requests_total{outcome="shutting_down",provider="test"} 0`,
		`upgrade_bot_webhook_requests_total{outcome="too_large",provider="test"} 0`,
		`upgrade_bot_webhook_requests_total{outcome="unauthorized",provider="test"} 1`,
	}
	if diff := cmp.Diff(want, scrape(t, h.client, h.url+"/metrics", "upgrade_bot_")); diff != "" {
		t.Errorf("/metrics (-want +got):\n%s", diff)
	}
	if got := metric(t, h.reg, "upgrade_bot_job_duration_seconds", "provider", "test"); got != 2 {
		t.Errorf("job duration samples %v, want 2", got)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	p := &testProvider{name: "test"}
	handler := newRecorder(nil)
	shared := prometheus.NewRegistry()
	if _, err := server.New(server.Options{Providers: map[string]vcs.Provider{"test": p}, Handler: handler, Registerer: shared}); err != nil {
		t.Fatalf("New with a registry as registerer: %v", err)
	}
	tests := []struct {
		name    string
		opts    server.Options
		wantErr string // empty: no error
	}{
		{name: "defaults", opts: server.Options{Providers: map[string]vcs.Provider{"test": p}, Handler: handler}},
		{name: "no providers", opts: server.Options{Handler: handler}, wantErr: "no webhook providers"},
		{name: "nil provider", opts: server.Options{Providers: map[string]vcs.Provider{"test": nil}, Handler: handler}, wantErr: `provider "test" is nil`},
		{name: "route with a slash", opts: server.Options{Providers: map[string]vcs.Provider{"a/b": p}, Handler: handler}, wantErr: `route name "a/b"`},
		{name: "no handler", opts: server.Options{Providers: map[string]vcs.Provider{"test": p}}, wantErr: "no handler"},
		{name: "negative workers", opts: server.Options{Providers: map[string]vcs.Provider{"test": p}, Handler: handler, Workers: -1}, wantErr: "workers is negative"},
		{name: "negative grace", opts: server.Options{Providers: map[string]vcs.Provider{"test": p}, Handler: handler, ShutdownGrace: -time.Second}, wantErr: "shutdown grace is negative"},
		{name: "gatherer alone", opts: server.Options{Providers: map[string]vcs.Provider{"test": p}, Handler: handler, Gatherer: prometheus.NewRegistry()}, wantErr: "gatherer set without a registerer"},
		{name: "metrics registered twice", opts: server.Options{Providers: map[string]vcs.Provider{"test": p}, Handler: handler, Registerer: shared}, wantErr: "registering webhook server metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := server.New(tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	h := start(t, server.Options{}, newRecorder(nil))
	h.logs.wait(t, "serving webhooks")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := h.srv.Run(t.Context(), ln); err == nil {
		t.Error("second Run: no error")
	}
}

// TestInactiveReplica: a follower of the leader election is alive but not
// ready, and refuses webhooks without handling them, so that only the
// leader works; once it leads, it accepts them.
func TestInactiveReplica(t *testing.T) {
	t.Parallel()
	var leading atomic.Bool
	active := func() error {
		if !leading.Load() {
			return errors.New("following replica-a, the leader")
		}
		return nil
	}
	handler := newRecorder(nil)
	h := start(t, server.Options{Active: active}, handler)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := h.client.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	if code, body := get("/healthz"); code != 200 {
		t.Errorf("a follower's /healthz: %d %q, want 200", code, body)
	}
	if code, body := get("/readyz"); code != 503 || body != "not ready: following replica-a, the leader" {
		t.Errorf("a follower's /readyz: %d %q", code, body)
	}
	h.send(t, request{delivery: "d1", payload: comment("org/gitops"), wantStatus: 503, wantBody: "not the active replica: following replica-a, the leader",
		wantHeader: map[string]string{"Retry-After": "10"}})
	leading.Store(true)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("the leader's /readyz: %d, want 200", code)
	}
	h.send(t, request{delivery: "d1", payload: comment("org/gitops"), wantStatus: 202, wantBody: "accepted"})
	handler.waitHandled(t, "d1")
	if err := h.stop(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := len(handler.Calls()); n != 1 {
		t.Errorf("%d deliveries handled, want the one the leader accepted", n)
	}
	checkCounts(t, h.reg, "upgrade_bot_webhook_requests_total", "test", webhookOutcomes,
		map[string]float64{"accepted": 1, "inactive": 1})
}
