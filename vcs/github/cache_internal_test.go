package github

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestAnswersStayWithinTheirBound(t *testing.T) {
	t.Parallel()
	c := newAnswers(10_000)
	body := []byte(strings.Repeat("x", 900))
	for i := range 100 {
		c.put(&answer{key: fmt.Sprintf("token https://api/%d", i), header: http.Header{"Etag": {`W/"1"`}}, body: body})
		if _, size := c.len(); size > 10_000 {
			t.Fatalf("after %d answers the cache holds %d bytes, more than its 10000", i+1, size)
		}
	}
	n, _ := c.len()
	if n < 5 {
		t.Errorf("the cache keeps %d answers of 900 bytes in 10000, want more", n)
	}
	// The least recently used go first.
	if c.get("token https://api/0") != nil {
		t.Error("the oldest answer is still there")
	}
	if c.get("token https://api/99") == nil {
		t.Error("the newest answer is gone")
	}
	// One answer may not take more than a quarter.
	c.put(&answer{key: "big", body: make([]byte, 5000)})
	if c.get("big") != nil {
		t.Error("an answer of half the bound was kept")
	}
}
