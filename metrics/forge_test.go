package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestForgeTransport sends real requests through the counting transport to
// servers answering with GitHub's and GitLab's rate limit headers, and to
// an address that refuses connections.
func TestForgeTransport(t *testing.T) {
	github := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "4321")
		w.Header().Set("X-RateLimit-Reset", "1796000000")
		w.Header().Set("X-RateLimit-Resource", "core")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer github.Close()
	gitlab := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("RateLimit-Limit", "600")
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reset", "1796000060")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer gitlab.Close()
	refused := httptest.NewServer(http.NotFoundHandler())
	refused.Close()

	reg := prometheus.NewPedanticRegistry()
	f, err := NewForges(reg)
	if err != nil {
		t.Fatal(err)
	}
	gh := &http.Client{Transport: f.Transport("github", nil)}
	gl := &http.Client{Transport: f.Transport("gitlab", nil)}
	do := func(c *http.Client, method, url string) {
		req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	do(gh, http.MethodGet, github.URL)
	do(gh, http.MethodGet, github.URL)
	do(gh, http.MethodPost, github.URL)
	do(gl, http.MethodPut, gitlab.URL)
	do(gl, http.MethodGet, refused.URL)

	want := `
# HELP upgrade_bot_forge_rate_limit The requests the forge allows per rate limit window, as its last answer said.
# TYPE upgrade_bot_forge_rate_limit gauge
upgrade_bot_forge_rate_limit{forge="github",resource="core"} 5000
upgrade_bot_forge_rate_limit{forge="gitlab",resource="api"} 600
# HELP upgrade_bot_forge_rate_limit_remaining The requests left in the forge's current rate limit window, as its last answer said (GitHub: per resource such as core; GitLab: api).
# TYPE upgrade_bot_forge_rate_limit_remaining gauge
upgrade_bot_forge_rate_limit_remaining{forge="github",resource="core"} 4321
upgrade_bot_forge_rate_limit_remaining{forge="gitlab",resource="api"} 0
# HELP upgrade_bot_forge_rate_limit_reset_timestamp_seconds When the forge's current rate limit window ends, as a Unix time.
# TYPE upgrade_bot_forge_rate_limit_reset_timestamp_seconds gauge
upgrade_bot_forge_rate_limit_reset_timestamp_seconds{forge="github",resource="core"} 1.796e+09
upgrade_bot_forge_rate_limit_reset_timestamp_seconds{forge="gitlab",resource="api"} 1.79600006e+09
# HELP upgrade_bot_forge_requests_total Requests to a forge's API by method and status code ("error" when no answer came); answers served from the bot's cache are not requests, 304 revalidations are.
# TYPE upgrade_bot_forge_requests_total counter
upgrade_bot_forge_requests_total{code="200",forge="github",method="GET"} 2
upgrade_bot_forge_requests_total{code="201",forge="github",method="POST"} 1
upgrade_bot_forge_requests_total{code="429",forge="gitlab",method="PUT"} 1
upgrade_bot_forge_requests_total{code="error",forge="gitlab",method="GET"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
