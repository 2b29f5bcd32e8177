package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// countingUpstream answers with how many calls it has had, and whatever
// Cache-Control the request's path asks for.
func countingUpstream(t *testing.T, delay time.Duration) (*upstreamServer, *atomic.Int32) {
	var n atomic.Int32
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		c := n.Add(1)
		time.Sleep(delay)
		switch {
		case strings.HasSuffix(r.URL.Path, "/nostore"):
			w.Header().Set("Cache-Control", "no-store")
		case strings.HasSuffix(r.URL.Path, "/fail"):
			w.WriteHeader(http.StatusServiceUnavailable)
		case strings.HasSuffix(r.URL.Path, "/cookie"):
			w.Header().Set("Set-Cookie", "session=abc")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "yes")
		fmt.Fprintf(w, `{"call":%d,"lang":%q}`, c, r.Header.Get("Accept-Language"))
	})
	return up, &n
}

func cacheBundle(t *testing.T, target, redisURL string, ttl time.Duration) *bundle.Bundle {
	t.Helper()
	t.Setenv("GWC_TEST_CACHE_KEYS", "a:key-a,b:key-b")
	b := mainBundle("Cache", target)
	if redisURL != "" {
		t.Setenv("GWC_TEST_CACHE_REDIS", redisURL)
		b.Store = &bundle.Store{Redis: &bundle.Redis{URL: "env:GWC_TEST_CACHE_REDIS", OnError: "open"}}
	}
	b.SecuritySchemes = []bundle.SecurityScheme{{Name: "key", Type: "apiKey", In: "header", ParamName: "X-Key", Keys: "env:GWC_TEST_CACHE_KEYS"}}
	sec := []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "key"}}}}
	private := bundle.Policy{Upstream: "main", Cache: &bundle.Cache{TTL: bundle.Duration(ttl), Vary: []string{"Accept-Language"}}}
	for _, path := range []string{"/items", "/nostore", "/fail", "/cookie"} {
		addOp(b, bundle.Operation{ID: "get" + path, Method: "GET", Path: path, Security: sec, Policy: private})
	}
	addOp(b, bundle.Operation{ID: "post", Method: "POST", Path: "/items", Security: sec, Policy: private})
	addOp(b, bundle.Operation{ID: "shared", Method: "GET", Path: "/shared", Security: sec,
		Policy: bundle.Policy{Upstream: "main", Cache: &bundle.Cache{TTL: bundle.Duration(ttl), Shared: true}}})
	return b
}

func TestResponseCache(t *testing.T) {
	up, calls := countingUpstream(t, 0)
	ts := startServer(t, staticLoad(cacheBundle(t, up.URL, "", 2*time.Second)))
	fetch := func(path string, hdr ...string) (*http.Response, string) {
		resp, body := do(t, "GET", ts.base+path, nil, hdr...)
		return resp, string(body)
	}

	resp, first := fetch("/api/items?b=2&a=1", "X-Key", "key-a")
	if resp.StatusCode != 200 || resp.Header.Get("X-Cache") != "MISS" || calls.Load() != 1 {
		t.Fatalf("first: %d %s X-Cache %q, %d calls", resp.StatusCode, first, resp.Header.Get("X-Cache"), calls.Load())
	}
	// The same query in another order is the same answer, from the cache.
	resp, again := fetch("/api/items?a=1&b=2", "X-Key", "key-a")
	if again != first || resp.Header.Get("X-Cache") != "HIT" || resp.Header.Get("Age") == "" ||
		resp.Header.Get("X-Upstream") != "yes" || resp.Header.Get("Content-Type") != "application/json" || calls.Load() != 1 {
		t.Errorf("hit: %q %v, %d calls", again, resp.Header, calls.Load())
	}
	// Another client never gets client a's answer.
	if resp, other := fetch("/api/items?a=1&b=2", "X-Key", "key-b"); other == first || resp.Header.Get("X-Cache") != "MISS" {
		t.Errorf("client b got %q (%s)", other, resp.Header.Get("X-Cache"))
	}
	// A vary header's value is part of the key.
	if resp, fr := fetch("/api/items?a=1&b=2", "X-Key", "key-a", "Accept-Language", "fr"); resp.Header.Get("X-Cache") != "MISS" || !strings.Contains(fr, `"fr"`) {
		t.Errorf("Accept-Language: fr got %q (%s)", fr, resp.Header.Get("X-Cache"))
	}
	// What may not be kept is not: no-store, non-2xx, Set-Cookie.
	for _, path := range []string{"/api/nostore", "/api/fail", "/api/cookie"} {
		before := calls.Load()
		fetch(path, "X-Key", "key-a")
		if resp, _ := fetch(path, "X-Key", "key-a"); resp.Header.Get("X-Cache") == "HIT" || calls.Load() != before+2 {
			t.Errorf("%s was cached (%d calls for 2 requests)", path, calls.Load()-before)
		}
	}
	// Unauthenticated requests never reach the cache.
	if resp, _ := fetch("/api/items?a=1&b=2"); resp.StatusCode != 401 {
		t.Errorf("no key: %d", resp.StatusCode)
	}
	// POST is not cached.
	before := calls.Load()
	do(t, "POST", ts.base+"/api/items", nil, "X-Key", "key-a")
	do(t, "POST", ts.base+"/api/items", nil, "X-Key", "key-a")
	if calls.Load() != before+2 {
		t.Error("POST was cached")
	}
	// shared: true is one answer for every client.
	_, sa := fetch("/api/shared", "X-Key", "key-a")
	resp, sb := fetch("/api/shared", "X-Key", "key-b")
	if sa != sb || resp.Header.Get("X-Cache") != "HIT" {
		t.Errorf("shared: %q then %q (%s)", sa, sb, resp.Header.Get("X-Cache"))
	}
	// The TTL ends an entry.
	time.Sleep(2100 * time.Millisecond)
	if resp, later := fetch("/api/items?a=1&b=2", "X-Key", "key-a"); later == first || resp.Header.Get("X-Cache") != "MISS" {
		t.Errorf("after the TTL: %q (%s)", later, resp.Header.Get("X-Cache"))
	}
	metrics := get(t, "http://"+ts.AdminAddr().String()+"/metrics")
	for _, want := range []string{`gwc_cache_requests_total{result="hit"}`, `gwc_cache_requests_total{result="miss"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestResponseCacheCoalesces: concurrent misses for one key make one
// upstream call.
func TestResponseCacheCoalesces(t *testing.T) {
	up, calls := countingUpstream(t, 200*time.Millisecond)
	ts := startServer(t, staticLoad(cacheBundle(t, up.URL, "", time.Minute)))
	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body := do(t, "GET", ts.base+"/api/items", nil, "X-Key", "key-a")
			bodies[i] = string(body)
		}()
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("20 concurrent misses made %d upstream calls", calls.Load())
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Errorf("answers differ: %q and %q", bodies[0], b)
		}
	}
}

// TestResponseCacheRedis: replicas sharing a Redis share entries.
func TestResponseCacheRedis(t *testing.T) {
	rs := startRedis(t)
	up, calls := countingUpstream(t, 0)
	one := startServer(t, staticLoad(cacheBundle(t, up.URL, rs.URL(), time.Minute)))
	two := startServer(t, staticLoad(cacheBundle(t, up.URL, rs.URL(), time.Minute)))
	// Behind a load balancer, both replicas see the Host it was sent to
	// (the Host is part of the key).
	r1, b1 := do(t, "GET", one.base+"/api/items?x=1", nil, "X-Key", "key-a", "Host", "api.example")
	r2, b2 := do(t, "GET", two.base+"/api/items?x=1", nil, "X-Key", "key-a", "Host", "api.example")
	if string(b1) != string(b2) || r1.Header.Get("X-Cache") != "MISS" || r2.Header.Get("X-Cache") != "HIT" || calls.Load() != 1 {
		t.Errorf("replica two: %q (%s) after %q (%s), %d calls", b2, r2.Header.Get("X-Cache"), b1, r1.Header.Get("X-Cache"), calls.Load())
	}
	// Redis down: the cache is bypassed, requests are served.
	rs.Stop()
	if resp, _ := do(t, "GET", one.base+"/api/items?x=1", nil, "X-Key", "key-a", "Host", "api.example"); resp.StatusCode != 200 || calls.Load() != 2 {
		t.Errorf("Redis down: %d, %d calls", resp.StatusCode, calls.Load())
	}
}
