package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
)

func TestProxyForwardsWhatWasRouted(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL+"/base/")))

	resp, body := do(t, "GET", ts.base+"/api/items?limit=5&x=%20y", nil,
		"Connection", "keep-alive, X-Hop", "X-Hop", "secret", "Te", "trailers", "Keep-Alive", "timeout=5",
		"X-Forwarded-For", "6.6.6.6", "Forwarded", "for=6.6.6.6", "Host", "api.example.com", "X-Request-Id", "req-42")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := up.last(t)
	// The servers base path (/api) is stripped and the target's own path
	// (/base) prefixed; the query goes as sent.
	if got.URI != "/base/items?limit=5&x=%20y" {
		t.Errorf("upstream URI %q", got.URI)
	}
	if got.Host != strings.TrimPrefix(up.URL, "http://") {
		t.Errorf("upstream Host %q, want the target's", got.Host)
	}
	for _, h := range []string{"X-Hop", "Te", "Keep-Alive", "Connection"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("hop-by-hop %s: %q reached the upstream", h, v)
		}
	}
	// The client is not a trusted proxy: what it claims is replaced.
	want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "api.example.com",
		"Forwarded": "for=127.0.0.1;proto=http;host=api.example.com", "X-Request-Id": "req-42"}
	for k, v := range want {
		if g := got.Header.Get(k); g != v {
			t.Errorf("upstream %s = %q, want %q", k, g, v)
		}
	}
	if resp.Header.Get("X-Request-Id") != "req-42" {
		t.Errorf("response X-Request-Id %q", resp.Header.Get("X-Request-Id"))
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q: the upstream's was not passed on", resp.Header.Get("Content-Type"))
	}
}

func TestTrustedProxyForwardingIsKept(t *testing.T) {
	up := newUpstream(t, nil)
	b := testBundle(up.URL)
	b.TrustedProxies = []string{"127.0.0.0/8"}
	ts := startServer(t, staticLoad(b))
	do(t, "GET", ts.base+"/api/items", nil, "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https", "Forwarded", "for=203.0.113.7")
	got := up.last(t)
	if v := got.Header.Get("X-Forwarded-For"); v != "203.0.113.7, 127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", v)
	}
	if v := got.Header.Get("X-Forwarded-Proto"); v != "https" {
		t.Errorf("X-Forwarded-Proto %q", v)
	}
	if v := got.Header.Get("Forwarded"); !strings.HasPrefix(v, "for=203.0.113.7, for=127.0.0.1;proto=http") {
		t.Errorf("Forwarded %q", v)
	}
}

func TestRoutingAndRewrites(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	tests := []struct {
		method, path string
		status       int
		upstreamURI  string // "" when the upstream must not be called
	}{
		{"GET", "/api/items/42", 200, "/v2/things/42"},                       // x-gateway path rewrite
		{"PUT", "/api/items/7", 200, "/items/7"},                             // same template, other method
		{"HEAD", "/api/items", 200, "/items"},                                // HEAD served by the GET route, sent as HEAD
		{"GET", "/api/files/report.tar.json", 200, "/files/report.tar.json"}, // two parameters in one segment
		{"GET", "/api/files/report.exe", 400, ""},                            // ext not in the enum
		{"GET", "/api//items", 200, "/items"},                                // runs of "/" merged
		{"GET", "/api/%69tems", 200, "/items"},                               // unreserved escapes decoded
		{"GET", "/api/items/0", 400, ""},                                     // minimum 1
		{"GET", "/api/items/abc", 400, ""},                                   // not an integer
		{"GET", "/api/nothing", 404, ""},
		{"GET", "/items", 404, ""}, // the base path is part of the route
		{"DELETE", "/api/items/1", 405, ""},
		{"GET", "/api/items/1%2F..%2Fadmin", 400, ""}, // encoded "/" never routes
		{"GET", "/api/items/%2e%2e/x", 400, ""},       // encoded dot segment
	}
	for _, tt := range tests {
		before := up.count()
		resp, body := do(t, tt.method, ts.base+tt.path, nil)
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, body)
			continue
		}
		if tt.upstreamURI == "" {
			if up.count() != before {
				t.Errorf("%s %s: reached the upstream as %q", tt.method, tt.path, up.last(t).URI)
			}
			problemOf(t, resp, body)
			continue
		}
		if got := up.last(t); got.URI != tt.upstreamURI || got.Method != tt.method {
			t.Errorf("%s %s: upstream got %s %q, want %s %q", tt.method, tt.path, got.Method, got.URI, tt.method, tt.upstreamURI)
		}
		if tt.method == "HEAD" && len(body) != 0 {
			t.Errorf("HEAD answered with a body of %d bytes", len(body))
		}
	}
	resp, body := do(t, "DELETE", ts.base+"/api/items/1", nil)
	if a := resp.Header.Get("Allow"); a != "GET, HEAD, PUT" {
		t.Errorf("Allow %q", a)
	}
	if p := problemOf(t, resp, body); p["type"] != "https://gwc.dev/problems/method-not-allowed" || p["status"] != 405.0 {
		t.Errorf("405 problem %v", p)
	}
}

func TestValidation(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	tests := []struct {
		name           string
		method, path   string
		ctype, body    string
		hdr            []string
		status         int
		pointer        string
		upstreamCalled bool
	}{
		{"valid query", "GET", "/api/items?limit=100", "", "", nil, 200, "", true},
		{"query over maximum", "GET", "/api/items?limit=101", "", "", nil, 400, "/query/limit", false},
		{"query not a number", "GET", "/api/items?limit=ten", "", "", nil, 400, "/query/limit", false},
		{"valid JSON body", "POST", "/api/items", "application/json", `{"name":"a","n":3}`, nil, 200, "", true},
		{"JSON body wrong type", "POST", "/api/items", "application/json", `{"name":5}`, nil, 400, "/body/name", false},
		{"JSON body missing required", "POST", "/api/items", "application/json", `{"n":1}`, nil, 400, "/body", false},
		{"JSON body extra property", "POST", "/api/items", "application/json", `{"name":"a","admin":true}`, nil, 400, "/body", false},
		{"JSON body malformed", "POST", "/api/items", "application/json", `{"name":`, nil, 400, "/body", false},
		{"body required", "POST", "/api/items", "application/json", ``, nil, 400, "/body", false},
		{"valid form body", "POST", "/api/items", "application/x-www-form-urlencoded", `Name=x&Count=2`, nil, 200, "", true},
		{"form field wrong type", "POST", "/api/items", "application/x-www-form-urlencoded", `Name=x&Count=two`, nil, 400, "/body/Count", false},
		{"undeclared media type", "POST", "/api/items", "text/plain", `name`, nil, 415, "", false},
		{"body over max_body", "POST", "/api/items", "application/json", `{"name":"` + strings.Repeat("a", 3000) + `"}`, nil, 413, "", false},
		{"header missing", "GET", "/api/header", "", "", nil, 400, "/header/X-Tenant", false},
		{"header invalid", "GET", "/api/header", "", "", []string{"X-Tenant", "x1"}, 400, "/header/X-Tenant", false},
		{"header valid, any case", "GET", "/api/header", "", "", []string{"x-tenant", "t1"}, 200, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			var body io.Reader
			hdr := tt.hdr
			if tt.method == "POST" {
				body = strings.NewReader(tt.body)
				hdr = append(hdr, "Content-Type", tt.ctype)
			}
			resp, data := do(t, tt.method, ts.base+tt.path, body, hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, data)
			}
			if called := up.count() > before; called != tt.upstreamCalled {
				t.Fatalf("upstream called: %v, want %v", called, tt.upstreamCalled)
			}
			if tt.upstreamCalled {
				if tt.method == "POST" && string(up.last(t).Body) != tt.body {
					t.Errorf("upstream got body %q, want %q", up.last(t).Body, tt.body)
				}
				return
			}
			p := problemOf(t, resp, data)
			if tt.pointer != "" {
				errs, _ := p["errors"].([]any)
				found := false
				for _, e := range errs {
					if e.(map[string]any)["pointer"] == tt.pointer {
						found = true
					}
				}
				if !found {
					t.Errorf("no error at %s: %s", tt.pointer, data)
				}
			}
		})
	}
}

func TestBodyLimitsWhenStreaming(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	// Content-Length over the limit: refused before reading the body.
	resp, data := do(t, "POST", ts.base+"/api/small", strings.NewReader(strings.Repeat("x", 101)))
	if resp.StatusCode != 413 {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	// Chunked (no Content-Length): cut while streaming, whatever the client
	// claimed.
	before := up.count()
	resp, data = do(t, "POST", ts.base+"/api/small", io.MultiReader(strings.NewReader(strings.Repeat("y", 150))))
	if resp.StatusCode != 413 {
		t.Fatalf("chunked over the limit: status %d: %s", resp.StatusCode, data)
	}
	if up.count() > before && len(up.last(t).Body) > 100 {
		t.Errorf("the upstream received %d bytes past the limit", len(up.last(t).Body))
	}
	// Within the limit, chunked: forwarded whole.
	resp, data = do(t, "POST", ts.base+"/api/small", io.MultiReader(strings.NewReader(strings.Repeat("z", 100))))
	if resp.StatusCode != 200 || string(up.last(t).Body) != strings.Repeat("z", 100) {
		t.Fatalf("chunked within the limit: status %d, upstream got %d bytes", resp.StatusCode, len(up.last(t).Body))
	}
	_ = data
}

func TestMocks(t *testing.T) {
	ts := startServer(t, staticLoad(testBundle("http://127.0.0.1:1")))
	resp, body := do(t, "GET", ts.base+"/api/mock", nil)
	if resp.StatusCode != 201 || string(body) != `{"mocked":true}` || resp.Header.Get("Content-Type") != "application/json" ||
		resp.Header.Get("X-Rate") != "5" {
		t.Errorf("mock: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = do(t, "HEAD", ts.base+"/api/mock", nil)
	if resp.StatusCode != 201 || len(body) != 0 {
		t.Errorf("HEAD mock: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = do(t, "GET", ts.base+"/api/no-example", nil)
	if p := problemOf(t, resp, body); resp.StatusCode != 501 || p["type"] != "https://gwc.dev/problems/no-example" {
		t.Errorf("no example: %d %s", resp.StatusCode, body)
	}
}

// TestSecuredOperationsWithUncheckableSchemes: an apiKey scheme without
// keys cannot be checked; what requires it is refused when proxied, and
// answered with X-Gwc-Auth: not-checked when mocked.
func TestSecuredOperationsWithUncheckableSchemes(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	resp, body := do(t, "GET", ts.base+"/api/secure", nil, "X-Key", "anything")
	if resp.StatusCode != 500 || up.count() != 0 {
		t.Fatalf("status %d, upstream calls %d: %s", resp.StatusCode, up.count(), body)
	}
	if p := problemOf(t, resp, body); p["type"] != "https://gwc.dev/problems/auth-unavailable" ||
		!strings.Contains(fmt.Sprint(p["detail"]), "keys (apiKey scheme without x-gateway.keys)") {
		t.Errorf("problem %v", p)
	}
	// A mock answers with the spec's examples only: it is served, and says
	// that its security was not checked.
	resp, body = do(t, "GET", ts.base+"/api/secure-mock", nil)
	if resp.StatusCode != 200 || string(body) != "hi" || resp.Header.Get("X-Gwc-Auth") != "not-checked" {
		t.Errorf("secured mock: %d %q, X-Gwc-Auth %q", resp.StatusCode, body, resp.Header.Get("X-Gwc-Auth"))
	}
	if !strings.Contains(ts.logs.String(), "mocked operations whose security schemes gwc cannot check answer anyway") {
		t.Errorf("no warning in the log:\n%s", ts.logs.String())
	}
}

func TestUpstreamFailures(t *testing.T) {
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) })
	ts := startServer(t, staticLoad(testBundle(slow.URL)))
	start := time.Now()
	resp, body := do(t, "GET", ts.base+"/api/slow", nil)
	if resp.StatusCode != 504 {
		t.Fatalf("slow upstream: status %d: %s", resp.StatusCode, body)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("the 300ms timeout answered after %v", el)
	}
	problemOf(t, resp, body)

	dead := startServer(t, staticLoad(testBundle("http://127.0.0.1:1")))
	resp, body = do(t, "GET", dead.base+"/api/items", nil)
	if resp.StatusCode != 502 {
		t.Fatalf("refused connection: status %d: %s", resp.StatusCode, body)
	}
	if p := problemOf(t, resp, body); p["type"] != "https://gwc.dev/problems/bad-gateway" {
		t.Errorf("problem %v", p)
	}
}

func TestRetriesMoveToAnotherTarget(t *testing.T) {
	good := newUpstream(t, nil)
	// A closed port first: the connect error is retried on the other target.
	ts := startServer(t, staticLoad(testBundle("http://127.0.0.1:1", good.URL)))
	for i := 0; i < 4; i++ {
		resp, body := do(t, "GET", ts.base+"/api/items", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, body)
		}
	}
	// A listed status (503) is retried for an idempotent method only.
	var calls atomic.Int32
	flaky := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 1 {
			w.WriteHeader(503)
			return
		}
		w.Write([]byte("ok")) //nolint:errcheck
	})
	ts2 := startServer(t, staticLoad(testBundle(flaky.URL)))
	resp, body := do(t, "GET", ts2.base+"/api/items", nil)
	if resp.StatusCode != 200 || string(body) != "ok" || calls.Load() != 2 {
		t.Errorf("GET after a 503: status %d %q, %d calls", resp.StatusCode, body, calls.Load())
	}
	calls.Store(0)
	resp, _ = do(t, "POST", ts2.base+"/api/upload", strings.NewReader("data"))
	if resp.StatusCode != 503 || calls.Load() != 1 {
		t.Errorf("POST after a 503: status %d, %d calls (POST is not retried)", resp.StatusCode, calls.Load())
	}
	// The retry goes to another target than the one that failed, whatever
	// the balancing: with random picks, a retry that could land on the same
	// target would fail one request in four here.
	down := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	b := testBundle(down.URL, good.URL)
	b.Upstreams[0].Balance = "random"
	ts3 := startServer(t, staticLoad(b))
	for i := 0; i < 24; i++ {
		if resp, body := do(t, "GET", ts3.base+"/api/items", nil); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d %s: the retry went back to the target that failed", i+1, resp.StatusCode, body)
		}
	}
}

func TestBalancingAndBreaker(t *testing.T) {
	a, b := newUpstream(t, nil), newUpstream(t, nil)
	bun := testBundle(a.URL, b.URL)
	ts := startServer(t, staticLoad(bun))
	for i := 0; i < 10; i++ {
		do(t, "GET", ts.base+"/api/items", nil)
	}
	if a.count() != 5 || b.count() != 5 {
		t.Errorf("round-robin: %d and %d requests", a.count(), b.count())
	}

	// Every failure counts towards the breaker; once open, the target is
	// not called and the answer is 503.
	var calls atomic.Int32
	failing := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { calls.Add(1); w.WriteHeader(502) })
	bun = testBundle(failing.URL)
	bun.Upstreams[0].Retries = nil
	bun.Upstreams[0].CircuitBreaker = &bundle.CircuitBreaker{Failures: 3, OpenFor: bundle.Duration(time.Minute)}
	ts = startServer(t, staticLoad(bun))
	for i := 0; i < 3; i++ {
		if resp, _ := do(t, "GET", ts.base+"/api/items", nil); resp.StatusCode != 502 {
			t.Fatalf("request %d: status %d, want the upstream's 502", i, resp.StatusCode)
		}
	}
	resp, body := do(t, "GET", ts.base+"/api/items", nil)
	if p := problemOf(t, resp, body); resp.StatusCode != 503 || p["type"] != "https://gwc.dev/problems/upstream-unavailable" {
		t.Errorf("open breaker: %d %s", resp.StatusCode, body)
	}
	if calls.Load() != 3 {
		t.Errorf("upstream called %d times, want 3", calls.Load())
	}
}

func TestHealthChecksTakeTargetsOut(t *testing.T) {
	var healthy atomic.Bool
	sick := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && !healthy.Load() {
			w.WriteHeader(500)
		}
	})
	good := newUpstream(t, nil)
	bun := testBundle(sick.URL, good.URL)
	bun.Upstreams[0].HealthCheck = &bundle.HealthCheck{Path: "/healthz", Interval: bundle.Duration(20 * time.Millisecond), Unhealthy: 2, Healthy: 1}
	ts := startServer(t, staticLoad(bun))
	waitFor(t, "the sick target marked down", func() bool {
		return strings.Contains(scrape(t, ts), `gwc_upstream_target_healthy{target="`+sick.URL+`",upstream="main"} 0`)
	})
	before := sick.count()
	for i := 0; i < 6; i++ {
		do(t, "GET", ts.base+"/api/items", nil)
	}
	// Only probes reach the sick target now.
	for _, r := range sick.since(before) {
		if r.URI != "/healthz" {
			t.Errorf("a request reached the target that is down: %s", r.URI)
		}
	}
	healthy.Store(true)
	waitFor(t, "the target back up", func() bool {
		return strings.Contains(scrape(t, ts), `gwc_upstream_target_healthy{target="`+sick.URL+`",upstream="main"} 1`)
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func scrape(t *testing.T, ts *testServer) string {
	t.Helper()
	_, body := do(t, "GET", "http://"+ts.AdminAddr().String()+"/metrics", nil)
	return string(body)
}

func TestStreamingBothWays(t *testing.T) {
	// A response written in pieces arrives in pieces: the first one before
	// the upstream has finished.
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/upload" {
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%d", n)
			return
		}
		w.Write([]byte("first\n")) //nolint:errcheck
		w.(http.Flusher).Flush()
		<-release
		w.Write([]byte("second\n")) //nolint:errcheck
	})
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	resp, err := client.Get(ts.base + "/api/items")
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, line); err != nil || string(line) != "first\n" {
		t.Fatalf("first piece: %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(rest) != "second\n" {
		t.Errorf("rest %q", rest)
	}

	// A 20 MB chunked upload to an operation that does not validate its
	// body reaches the upstream whole.
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for i := 0; i < 20; i++ {
			pw.Write(chunk) //nolint:errcheck
		}
		pw.Close()
	}()
	r2, body := do(t, "POST", ts.base+"/api/upload", pr)
	if r2.StatusCode != 200 || string(body) != fmt.Sprint(20<<20) {
		t.Errorf("upload: status %d, upstream counted %s bytes", r2.StatusCode, body)
	}
}

func TestFramingGuards(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	addr := ts.Addr().String()
	tests := []struct{ name, req, want string }{
		{"CL and TE", "POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/items HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400"},
		{"bad header name", "GET /api/items HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\nGET /api/items HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400"},
		{"header too large", "GET /api/items HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", "HTTP/1.1 431"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			out, closed := raw(t, addr, tt.req, 2*time.Second)
			if !strings.HasPrefix(out, tt.want) {
				t.Fatalf("answer %q, want %s", out, tt.want)
			}
			if !closed {
				t.Errorf("the connection was left open after a framing error")
			}
			if strings.Count(out, "HTTP/1.1 ") != 1 {
				t.Errorf("the pipelined request after the bad one was served: %q", out)
			}
			if up.count() != before {
				t.Errorf("the bad request reached the upstream")
			}
		})
	}
}

func TestAdminEndpoints(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	do(t, "GET", ts.base+"/api/items", nil)
	do(t, "GET", ts.base+"/api/items?limit=x", nil)
	do(t, "GET", ts.base+"/nowhere", nil)
	admin := "http://" + ts.AdminAddr().String()
	if resp, body := do(t, "GET", admin+"/healthz", nil); resp.StatusCode != 200 {
		t.Errorf("/healthz %d %s", resp.StatusCode, body)
	}
	resp, body := do(t, "GET", admin+"/readyz", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"title":"Test API"`) {
		t.Errorf("/readyz %d %s", resp.StatusCode, body)
	}
	m := scrape(t, ts)
	for _, want := range []string{
		`gwc_requests_total{class="2xx",method="GET",operation="listItems"} 1`,
		`gwc_requests_total{class="4xx",method="GET",operation="listItems"} 1`,
		`gwc_rejections_total{reason="validation"} 1`,
		`gwc_rejections_total{reason="not-found"} 1`,
		`gwc_upstream_attempts_total{outcome="ok",upstream="main"} 1`,
		`gwc_request_duration_seconds_count{operation="listItems"} 2`,
		`gwc_upstream_duration_seconds_count{upstream="main"} 1`,
		`gwc_bundle_info{digest="",title="Test API",version="1.0.0"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestHotReloadUnderLoadFailsNoRequest(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.URL.Path)) }) //nolint:errcheck
	var version atomic.Int32
	load := func(context.Context) ([]Loaded, error) {
		b := testBundle(up.URL)
		b.API.Version = fmt.Sprint(version.Load())
		// Each version rewrites getItem to its own upstream path.
		b.Operations[2].Policy.Path = fmt.Sprintf("/v%d/things/{id}", version.Load())
		return []Loaded{{Bundle: b, Name: "test"}}, nil
	}
	ts := startServer(t, load)
	stop := make(chan struct{})
	var failed, served atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(ts.base + "/api/items/1")
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				served.Add(1)
			}
		}()
	}
	for i := 1; i <= 20; i++ {
		version.Store(int32(i))
		if err := ts.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during reloads", failed.Load(), served.Load())
	}
	if served.Load() < 50 {
		t.Errorf("only %d requests served: the test did not load the server", served.Load())
	}
	if _, body := do(t, "GET", ts.base+"/api/items/1", nil); string(body) != "/v20/things/1" {
		t.Errorf("after the reloads the upstream path is %q, want the last bundle's", body)
	}
}

func TestReloadKeepsServingWhenTheNewBundleIsBad(t *testing.T) {
	up := newUpstream(t, nil)
	var broken atomic.Bool
	load := func(context.Context) ([]Loaded, error) {
		b := testBundle(up.URL)
		if broken.Load() {
			b.Upstreams[0].Targets[0].URL = "ftp://nowhere"
		}
		return []Loaded{{Bundle: b, Name: "test"}}, nil
	}
	ts := startServer(t, load)
	broken.Store(true)
	if err := ts.Reload(context.Background()); err == nil {
		t.Fatal("a bundle with an ftp target was accepted")
	}
	if resp, _ := do(t, "GET", ts.base+"/api/items", nil); resp.StatusCode != 200 {
		t.Errorf("after a failed reload: status %d", resp.StatusCode)
	}
	if m := scrape(t, ts); !strings.Contains(m, `gwc_bundle_reloads_total{result="error"} 1`) {
		t.Errorf("the failed reload was not counted")
	}
}

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	started := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("finished")) //nolint:errcheck
	})
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := client.Get(ts.base + "/api/items")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-started
	ts.cancel()
	admin := "http://" + ts.AdminAddr().String()
	waitFor(t, "readiness to report draining", func() bool {
		resp, err := client.Get(admin + "/readyz")
		if err != nil {
			return true // the admin listener may already be closed
		}
		resp.Body.Close()
		return resp.StatusCode == 503
	})
	r := <-res
	if r.err != nil || r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight request: %+v", r)
	}
	ts.stop(t)
	if _, err := client.Get(ts.base + "/api/items"); err == nil {
		t.Error("a new request was served after shutdown")
	}
}

func TestSeveralBundles(t *testing.T) {
	up := newUpstream(t, nil)
	v1 := testBundle(up.URL)
	v2 := testBundle(up.URL)
	v2.API.Source = "v2.yaml"
	for i := range v2.Routes {
		v2.Routes[i].Path = "/v2" + v2.Routes[i].Path
	}
	for i := range v2.Operations {
		v2.Operations[i].BasePath = "/v2/api"
	}
	ts := startServer(t, staticLoad(v1, v2))
	do(t, "GET", ts.base+"/v2/api/items", nil)
	if got := up.last(t).URI; got != "/items" {
		t.Errorf("second bundle: upstream got %q", got)
	}
	do(t, "GET", ts.base+"/api/items?limit=1", nil)
	if got := up.last(t).URI; got != "/items?limit=1" {
		t.Errorf("first bundle: upstream got %q", got)
	}

	_, err := New(context.Background(), Options{Listen: "127.0.0.1:0", Load: staticLoad(v1, testBundle(up.URL))})
	if err == nil || !strings.Contains(err.Error(), "test.yaml (bundle 1) is mounted at /api and test.yaml (bundle 2) at /api, which overlap") {
		t.Errorf("two bundles on one base path: %v", err)
	}
	// A mount inside another's is refused too.
	beta := testBundle(up.URL)
	beta.API.Source = "beta.yaml"
	for i := range beta.Routes {
		beta.Routes[i].Path = "/v2/api/beta" + beta.Routes[i].Path[len("/api"):]
	}
	for i := range beta.Operations {
		beta.Operations[i].BasePath = "/v2/api/beta"
	}
	_, err = New(context.Background(), Options{Listen: "127.0.0.1:0", Load: staticLoad(v2, beta)})
	if err == nil || !strings.Contains(err.Error(), "mounted at /v2/api and beta.yaml (bundle 2) at /v2/api/beta, which overlap") {
		t.Errorf("nested mounts: %v", err)
	}
}

func TestAccessLog(t *testing.T) {
	up := newUpstream(t, nil)
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, Options{Listen: "127.0.0.1:0", Load: staticLoad(testBundle(up.URL)),
		AccessLog: slogJSON(&out)})
	if err != nil {
		t.Fatal(err)
	}
	go s.Run(ctx) //nolint:errcheck
	do(t, "GET", "http://"+s.Addr().String()+"/api/items?limit=2", nil, "X-Request-Id", "abc-1")
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &rec); err != nil {
		t.Fatalf("access log %q: %v", out.String(), err)
	}
	for k, v := range map[string]any{"request_id": "abc-1", "method": "GET", "path": "/api/items", "status": 200.0,
		"operation": "listItems", "upstream": "main", "remote_addr": "127.0.0.1"} {
		if rec[k] != v {
			t.Errorf("access log %s = %v, want %v", k, rec[k], v)
		}
	}
}

func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := New(ctx, Options{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Pprof: on, Load: staticLoad(testBundle("http://127.0.0.1:1"))})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }() //nolint:errcheck
		resp, _ := do(t, "GET", "http://"+s.AdminAddr().String()+"/debug/pprof/", nil)
		if want := map[bool]int{false: 404, true: 200}[on]; resp.StatusCode != want {
			t.Errorf("Pprof %v: /debug/pprof/ answered %d, want %d", on, resp.StatusCode, want)
		}
		cancel()
		<-done
	}
}

func TestClientTimeouts(t *testing.T) {
	up := newUpstream(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, Options{Listen: "127.0.0.1:0", Load: staticLoad(testBundle(up.URL)),
		ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go s.Run(ctx) //nolint:errcheck
	addr := s.Addr().String()

	// A header that never ends (slowloris) gets a 408 and the connection is
	// closed once the read-header timeout has passed.
	start := time.Now()
	out, closed := raw(t, addr, "GET /api/items HTTP/1.1\r\nHost: x\r\nX-Slow: ", 3*time.Second)
	if el := time.Since(start); !closed || el > 2*time.Second {
		t.Errorf("unfinished header: closed %v after %v (answer %q)", closed, el, out)
	}
	if !strings.HasPrefix(out, "HTTP/1.1 408") {
		t.Errorf("unfinished header answered %q, want a 408", out)
	}

	// A kept-alive connection with no next request is closed after the idle
	// timeout.
	start = time.Now()
	out, closed = raw(t, addr, "GET /api/items HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second)
	if el := time.Since(start); !closed || el > 2*time.Second || !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Errorf("idle connection: closed %v after %v, answer %q", closed, el, out)
	}
}

func TestLeastRequestsAndRandom(t *testing.T) {
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(200 * time.Millisecond) })
	fast := newUpstream(t, nil)
	b := testBundle(slow.URL, fast.URL)
	b.Upstreams[0].Balance = "least-requests"
	ts := startServer(t, staticLoad(b))
	// Concurrent requests: while the slow target holds one, the others go to
	// the fast one.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(t, "GET", ts.base+"/api/items", nil)
		}()
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	if slow.count() > 3 || fast.count() < 7 {
		t.Errorf("least-requests: slow target got %d, fast %d", slow.count(), fast.count())
	}

	a, c := newUpstream(t, nil), newUpstream(t, nil)
	b = testBundle(a.URL, c.URL)
	b.Upstreams[0].Balance = "random"
	ts = startServer(t, staticLoad(b))
	for i := 0; i < 40; i++ {
		do(t, "GET", ts.base+"/api/items", nil)
	}
	// Each target has 1/2 a chance per request: both get some (the chance
	// that one gets none of 40 is 2^-39).
	if a.count() == 0 || c.count() == 0 || a.count()+c.count() != 40 {
		t.Errorf("random: %d and %d requests", a.count(), c.count())
	}
}
