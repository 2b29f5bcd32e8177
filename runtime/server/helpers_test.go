package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// recorded is what an upstream saw of one request.
type recorded struct {
	Method, URI, Host string
	Header            http.Header
	Body              []byte
}

// upstreamServer is a real HTTP server on 127.0.0.1 that records requests
// and answers with handler (echoing the request as JSON when nil).
type upstreamServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []recorded
}

func newUpstream(t testing.TB, handler http.HandlerFunc) *upstreamServer {
	t.Helper()
	u := &upstreamServer{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(), Body: body}
		u.mu.Lock()
		u.seen = append(u.seen, rec)
		u.mu.Unlock()
		if handler != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			handler(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rec) //nolint:errcheck
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstreamServer) last(t *testing.T) recorded {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("the upstream saw no request")
	}
	return u.seen[len(u.seen)-1]
}

// since returns the requests after the first n.
func (u *upstreamServer) since(n int) []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.seen[n:]...)
}

func (u *upstreamServer) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

// schema is a JSON Schema literal.
func schema(s string) json.RawMessage { return json.RawMessage(s) }

// route adds op to b with its route under b's base path.
func addOp(b *bundle.Bundle, op bundle.Operation) {
	op.BasePath = "/api"
	if op.ID == "" {
		op.ID = op.Method + " " + op.Path
	}
	b.Routes = append(b.Routes, bundle.Route{Method: op.Method, Path: "/api" + op.Path, Operation: len(b.Operations)})
	b.Operations = append(b.Operations, op)
}

// mainBundle is an empty bundle titled title (its source title.yaml) with
// one upstream, "main", of one target.
func mainBundle(title, target string) *bundle.Bundle {
	b := &bundle.Bundle{API: bundle.API{Title: title, Version: "1", OpenAPI: "3.1.0", Source: strings.ToLower(title) + ".yaml"}}
	b.Upstreams = []bundle.Upstream{{Name: "main", Targets: []bundle.Target{{URL: target, Weight: 1}}, Balance: "round-robin"}}
	return b
}

// testBundle is a bundle whose upstream "main" has the given targets (URLs).
// Its operations cover each runtime step; the tests name them by path.
func testBundle(targets ...string) *bundle.Bundle {
	b := &bundle.Bundle{API: bundle.API{Title: "Test API", Version: "1.0.0", OpenAPI: "3.1.0", Source: "test.yaml"}}
	var ts []bundle.Target
	for _, t := range targets {
		ts = append(ts, bundle.Target{URL: t, Weight: 1})
	}
	b.Upstreams = []bundle.Upstream{{Name: "main", Targets: ts, Balance: "round-robin",
		Retries: &bundle.Retries{Attempts: 1, On: []string{"connect-error", "503"}}}}
	up := bundle.Policy{Upstream: "main"}
	idParam := bundle.Param{Name: "id", In: "path", Required: true, Style: "simple", Type: "integer", Schema: schema(`{"type":"integer","minimum":1}`)}
	addOp(b, bundle.Operation{ID: "listItems", Method: "GET", Path: "/items", Public: true, Policy: up,
		Params: []bundle.Param{{Name: "limit", In: "query", Style: "form", Explode: true, Type: "integer", Schema: schema(`{"type":"integer","maximum":100}`)}}})
	addOp(b, bundle.Operation{ID: "createItem", Method: "POST", Path: "/items", Public: true, Policy: bundle.Policy{Upstream: "main", MaxBody: 2048},
		Body: &bundle.RequestBody{Required: true, Content: []bundle.MediaType{
			{Type: "application/json", Schema: schema(`{"type":"object","required":["name"],"additionalProperties":false,"properties":{"name":{"type":"string","maxLength":50},"n":{"type":"integer"}}}`)},
			{Type: "application/x-www-form-urlencoded", Schema: schema(`{"type":"object","required":["Name"],"properties":{"Name":{"type":"string"},"Count":{"type":"integer"}}}`)},
		}}})
	addOp(b, bundle.Operation{ID: "getItem", Method: "GET", Path: "/items/{id}", Public: true, Params: []bundle.Param{idParam},
		Policy: bundle.Policy{Upstream: "main", Path: "/v2/things/{id}"}})
	addOp(b, bundle.Operation{ID: "putItem", Method: "PUT", Path: "/items/{id}", Public: true, Params: []bundle.Param{idParam}, Policy: up})
	addOp(b, bundle.Operation{ID: "getFile", Method: "GET", Path: "/files/{name}.{ext}", Public: true, Policy: up,
		Params: []bundle.Param{{Name: "name", In: "path", Required: true, Style: "simple", Schema: schema(`{"type":"string"}`)},
			{Name: "ext", In: "path", Required: true, Style: "simple", Schema: schema(`{"type":"string","enum":["json","txt"]}`)}}})
	addOp(b, bundle.Operation{ID: "upload", Method: "POST", Path: "/upload", Public: true, Policy: bundle.Policy{Upstream: "main", MaxBody: 64 << 20}})
	addOp(b, bundle.Operation{ID: "small", Method: "POST", Path: "/small", Public: true, Policy: bundle.Policy{Upstream: "main", MaxBody: 100}})
	addOp(b, bundle.Operation{ID: "slow", Method: "GET", Path: "/slow", Public: true, Policy: bundle.Policy{Upstream: "main", Timeout: bundle.Duration(300 * time.Millisecond)}})
	addOp(b, bundle.Operation{ID: "needsHeader", Method: "GET", Path: "/header", Public: true, Policy: up,
		Params: []bundle.Param{{Name: "X-Tenant", In: "header", Required: true, Style: "simple", Schema: schema(`{"type":"string","pattern":"^t[0-9]+$"}`)}}})
	addOp(b, bundle.Operation{ID: "secure", Method: "GET", Path: "/secure", Policy: up,
		Security: []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "keys"}}}}})
	addOp(b, bundle.Operation{ID: "secureMock", Method: "GET", Path: "/secure-mock", Policy: bundle.Policy{Upstream: "main", Mock: true},
		Security:  []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "keys"}}}},
		Responses: []bundle.Response{{Status: "200", Content: []bundle.MockContent{{Type: "text/plain", Examples: []bundle.Example{{Value: json.RawMessage(`"hi"`)}}}}}}})
	addOp(b, bundle.Operation{ID: "getMock", Method: "GET", Path: "/mock", Public: true, Policy: bundle.Policy{Mock: true},
		Responses: []bundle.Response{{Status: "201", Content: []bundle.MockContent{{Type: "application/json",
			Examples: []bundle.Example{{Value: json.RawMessage(`{"mocked":true}`)}}}},
			Headers: []bundle.MockHeader{{Name: "X-Rate", Example: json.RawMessage(`"5"`)}}}}})
	addOp(b, bundle.Operation{ID: "noExample", Method: "GET", Path: "/no-example", Public: true,
		Responses: []bundle.Response{{Status: "200", Content: []bundle.MockContent{{Type: "application/json"}}}}})
	// No keys configured: gwc cannot check the scheme (auth_test.go has
	// the schemes it checks).
	b.SecuritySchemes = []bundle.SecurityScheme{{Name: "keys", Type: "apiKey", In: "header", ParamName: "X-Key"}}
	return b
}

// startServer serves bundles from load on 127.0.0.1 until the test ends.
func startServer(t testing.TB, load LoadFunc) *testServer {
	t.Helper()
	return startServerWith(t, load, nil)
}

// startServerWith is startServer with options changed by set.
func startServerWith(t testing.TB, load LoadFunc, set func(*Options)) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	opts := Options{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Load: load,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), ShutdownTimeout: 5 * time.Second}
	if set != nil {
		set(&opts)
	}
	if opts.Engine == "" && opts.TLSCert == "" {
		// GWC_TEST_ENGINE=goroutine runs the tests on the goroutine
		// engine; the default is the loop engine (scripts/test.sh runs
		// this package on both).
		opts.Engine = os.Getenv("GWC_TEST_ENGINE")
	}
	s, err := New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	ts := &testServer{Server: s, cancel: cancel, done: done, logs: logs, base: "http://" + s.Addr().String()}
	t.Cleanup(func() {
		ts.stop(t)
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return ts
}

type testServer struct {
	*Server
	cancel  context.CancelFunc
	done    chan error
	stopped bool
	logs    *syncBuffer
	base    string
}

func (ts *testServer) stop(t testing.TB) {
	if ts.stopped {
		return
	}
	ts.stopped = true
	ts.cancel()
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the server did not stop")
	}
}

func staticLoad(bs ...*bundle.Bundle) LoadFunc {
	return func(context.Context) ([]Loaded, error) {
		out := make([]Loaded, len(bs))
		for i, b := range bs {
			out[i] = Loaded{Bundle: b, Name: b.API.Source}
		}
		return out, nil
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// client is a test HTTP client that keeps no connection between tests.
var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}

func do(t *testing.T, method, url string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, data
}

// problemOf decodes a problem+json answer.
func problemOf(t *testing.T, resp *http.Response, data []byte) map[string]any {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, data)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("problem is not JSON: %v: %s", err, data)
	}
	return p
}

// raw sends bytes over a new TCP connection and returns everything the
// server writes until it closes the connection or timeout passes.
func raw(t *testing.T, addr, request string, timeout time.Duration) (string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(timeout)) //nolint:errcheck
	var b strings.Builder
	_, err = io.Copy(&b, bufio.NewReader(c))
	// EOF, or a reset when the server closed with unread bytes of ours.
	closed := err == nil || errors.Is(err, syscall.ECONNRESET)
	return b.String(), closed
}

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
