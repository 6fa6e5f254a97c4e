package github

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"sync"
)

// DefaultCacheBytes is the memory for remembered answers when
// Options.CacheBytes is zero.
const DefaultCacheBytes = 32 << 20

// CacheHeader is set on an answer the cache served after GitHub answered
// 304 Not Modified; it is "revalidated".
const CacheHeader = "X-Upgrade-Bot-Cache"

// answers remembers GitHub's answers to GET requests that carry a
// validator (ETag or Last-Modified), least recently used first out when
// they would take more than max bytes. Keys name the credential the
// answer was given to as well as the URL: GitHub varies its answers by
// Authorization.
//
// Why not an RFC 9111 cache library (github.com/bartventer/httpcache,
// the archived github.com/gregjones/httpcache): GitHub marks its answers
// "Cache-Control: private, max-age=60", which such a cache serves without
// asking for a minute. The bot reads what it has just written (a pull
// request it opened, a comment it edited), so it must always ask; what it
// wants is only the revalidation, which is this small.
type answers struct {
	max int64

	mu    sync.Mutex
	size  int64
	byKey map[string]*list.Element
	lru   *list.List // of *answer, most recently used first
}

type answer struct {
	key    string
	header http.Header
	body   []byte
	size   int64
}

func newAnswers(maxBytes int64) *answers {
	return &answers{max: maxBytes, byKey: map[string]*list.Element{}, lru: list.New()}
}

func (c *answers) get(key string) *answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*answer)
}

func (c *answers) put(a *answer) {
	a.size = int64(len(a.body) + len(a.key))
	for k, vs := range a.header {
		a.size += int64(len(k))
		for _, v := range vs {
			a.size += int64(len(v))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(a.key)
	if a.size > c.max/4 {
		return // one answer may not crowd out the rest
	}
	c.byKey[a.key] = c.lru.PushFront(a)
	c.size += a.size
	for c.size > c.max {
		c.removeLocked(c.lru.Back().Value.(*answer).key)
	}
}

func (c *answers) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
}

func (c *answers) removeLocked(key string) {
	el, ok := c.byKey[key]
	if !ok {
		return
	}
	c.size -= el.Value.(*answer).size
	c.lru.Remove(el)
	delete(c.byKey, key)
}

// len is how many answers are remembered, and their size.
func (c *answers) len() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.size
}

// revalidating is a RoundTripper that asks GitHub whether a remembered
// answer is still current (If-None-Match, If-Modified-Since) and serves
// it when GitHub says 304 Not Modified, which does not count against the
// rate limit. Every request still reaches GitHub.
type revalidating struct {
	next  http.RoundTripper
	cache *answers
	// who names the credential: "token", or "installation/<id>" (whose
	// tokens change every hour, their answers not).
	who string
}

func (t *revalidating) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("Range") != "" {
		return t.next.RoundTrip(req)
	}
	key := t.who + " " + req.Header.Get("Accept") + " " + req.URL.String()
	known := t.cache.get(key)
	if known != nil {
		req = req.Clone(req.Context())
		if etag := known.header.Get("ETag"); etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		if lm := known.header.Get("Last-Modified"); lm != "" {
			req.Header.Set("If-Modified-Since", lm)
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && known != nil:
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		// The 304's headers are the current ones (the rate limit's, a new
		// ETag): they update the remembered answer's.
		header := known.header.Clone()
		for k, vs := range resp.Header {
			header[k] = vs
		}
		header.Del("Content-Length")
		header.Set(CacheHeader, "revalidated")
		return &http.Response{
			Status:        "200 OK",
			StatusCode:    http.StatusOK,
			Proto:         resp.Proto,
			ProtoMajor:    resp.ProtoMajor,
			ProtoMinor:    resp.ProtoMinor,
			Header:        header,
			Body:          io.NopCloser(bytes.NewReader(known.body)),
			ContentLength: int64(len(known.body)),
			Request:       resp.Request,
			TLS:           resp.TLS,
		}, nil
	case resp.StatusCode == http.StatusOK && (resp.Header.Get("ETag") != "" || resp.Header.Get("Last-Modified") != ""):
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.cache.remove(key)
			return nil, err
		}
		t.cache.put(&answer{key: key, header: resp.Header.Clone(), body: body})
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	case resp.StatusCode < 500:
		// Gone, changed without a validator, or no longer allowed.
		t.cache.remove(key)
	}
	return resp, nil
}
