package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/engine/loop"
)

// The attack suite: hostile clients and upstreams speaking raw bytes on
// 127.0.0.1, each case a hole an attack run found or the rule behind it.
// Like the rest of this package it runs on every engine (scripts/test.sh
// runs it once per engine, GWC_TEST_ENGINE).

// rawUpstream is an upstream that answers with whatever bytes answer
// returns, as they are: it can lie about its framing. It reads the requests
// of each connection in turn (keep-alive) and records them.
type rawUpstream struct {
	ln   net.Listener
	addr string
	mu   sync.Mutex
	seen []rawSeen
}

// rawSeen is one request a rawUpstream read, with the number of the
// connection it came on.
type rawSeen struct {
	conn   int
	req    *http.Request
	body   []byte
	header http.Header
}

func newRawUpstream(t testing.TB, answer func(r *http.Request, body []byte) string) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln, addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for n := 1; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(c, n, answer)
		}
	}()
	return u
}

func (u *rawUpstream) serve(c net.Conn, n int, answer func(*http.Request, []byte) string) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		u.mu.Lock()
		u.seen = append(u.seen, rawSeen{conn: n, req: req, body: body, header: req.Header.Clone()})
		u.mu.Unlock()
		out := answer(req, body)
		if out == "" {
			return // hang up without an answer
		}
		if _, err := io.WriteString(c, out); err != nil {
			return
		}
	}
}

func (u *rawUpstream) requests() []rawSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]rawSeen(nil), u.seen...)
}

// echoAnswer answers with the request's URI, well framed.
func echoAnswer(r *http.Request) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(r.RequestURI), r.RequestURI)
}

// TestUpstreamThatSaysLessThanItSends: an answer with more bytes than its
// framing says (a Content-Length shorter than the body, a body on a 204,
// a 304 or the answer to a HEAD) must not leave its connection out of step:
// the bytes past the framing are never taken as the answer to another
// request, whoever sends it. nginx and Envoy close such a connection.
func TestUpstreamThatSaysLessThanItSends(t *testing.T) {
	const forged = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nforged"
	lies := map[string]string{
		"/items?lie=short-length": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + forged,
		"/items?lie=204-body":     "HTTP/1.1 204 No Content\r\n\r\n" + forged,
		"/items?lie=304-body":     "HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n" + forged,
		"/items?lie=head-body":    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n" + forged,
		"/items?lie=cl-and-te":    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + forged,
		"/items?lie=chunked-more": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + forged,
		"/items?lie=bare-lf":      "HTTP/1.1 200 OK\nContent-Length: 2\n\nok" + forged,
	}
	up := newRawUpstream(t, func(r *http.Request, _ []byte) string {
		if lie, ok := lies[r.RequestURI]; ok {
			return lie
		}
		return echoAnswer(r)
	})
	ts := startServer(t, staticLoad(testBundle("http://"+up.addr)))
	for lie := range lies {
		t.Run(strings.TrimPrefix(lie, "/items?lie="), func(t *testing.T) {
			method := "GET"
			if strings.HasSuffix(lie, "head-body") {
				method = "HEAD"
			}
			do(t, method, ts.base+"/api"+lie, nil)
			// Other clients, one after the other, each on a connection of
			// its own: each gets its own answer.
			for i := 0; i < 5; i++ {
				uri := fmt.Sprintf("/items?n=%d", i)
				resp, body := do(t, "GET", ts.base+"/api"+uri, nil)
				if resp.StatusCode != 200 || string(body) != uri {
					t.Fatalf("request %d after the lying answer got %d %q, want its own answer %q", i+1, resp.StatusCode, body, uri)
				}
			}
		})
	}
}

// TestRequestHiddenInABody: request heads are delimited by the grammar that
// parses them. A head whose lines end in a bare LF is refused (400, closed):
// a framing that takes CRLFCRLF as the end of a head, while the parser
// accepts bare LF, finds a different end than the parser and makes the body
// of a later request into a request of its own.
func TestRequestHiddenInABody(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	hidden := "GET /hidden HTTP/1.1\r\nHost: h\r\n\r\n"
	for name, req := range map[string]string{
		"bare LF head, then a POST": "GET /api/items HTTP/1.1\nHost: h\n\n" +
			fmt.Sprintf("POST /api/upload HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", len(hidden), hidden),
		"one bare LF line":     "GET /api/items HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n",
		"bare LF request line": "GET /api/items HTTP/1.1\nHost: h\r\n\r\n",
		"bare CR in a value":   "GET /api/items HTTP/1.1\r\nHost: h\r\nX-A: 1\r2\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			before := up.count()
			out, closed := raw(t, ts.Addr().String(), req, 2*time.Second)
			if !strings.HasPrefix(out, "HTTP/1.1 400 ") {
				t.Errorf("answer %q, want a 400", out)
			}
			if !closed {
				t.Errorf("the connection was left open after a framing error")
			}
			for _, r := range up.since(before) {
				t.Errorf("the upstream received %s %s", r.Method, r.URI)
			}
		})
	}
}

// TestDuplicateCredentials: a credential given twice is refused (400) before
// any check: otherwise one copy is checked and the other, a forged one,
// reaches the upstream. Authorization is refused twice on every operation
// (RFC 9110 makes it a singleton field); an API key twice in its header,
// query parameter or cookie wherever the operation's schemes read it.
func TestDuplicateCredentials(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(authBundle(t, up.URL)))
	basic := basicAuth("alice", "s3cret")
	forged := basicAuth("admin", "forged")
	for _, c := range []struct {
		name, req string
	}{
		{"two Authorization fields", "GET /api/either HTTP/1.1\r\nHost: h\r\nAuthorization: " + basic + "\r\nAuthorization: " + forged + "\r\n\r\n"},
		{"two Authorization fields, other case", "GET /api/either HTTP/1.1\r\nHost: h\r\nauthorization: " + basic + "\r\nAUTHORIZATION: " + forged + "\r\n\r\n"},
		{"two Authorization fields on a public operation", "GET /api/public HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n"},
		{"two key headers", "GET /api/header HTTP/1.1\r\nHost: h\r\nX-API-Key: k-acme-123\r\nX-API-Key: k-forged\r\n\r\n"},
		{"two query keys", "GET /api/either?api_key=q-key-1&api_key=forged HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"two cookie keys", "GET /api/either HTTP/1.1\r\nHost: h\r\nCookie: session=k-beta-789; session=forged\r\n\r\n"},
		{"two cookie keys in two fields", "GET /api/either HTTP/1.1\r\nHost: h\r\nCookie: session=k-beta-789\r\nCookie: session=forged\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := up.count()
			out, _ := raw(t, ts.Addr().String(), strings.Replace(c.req, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1), 2*time.Second)
			if !strings.HasPrefix(out, "HTTP/1.1 400 ") {
				t.Errorf("answer %q, want a 400", out)
			}
			if !strings.Contains(out, "more than once") {
				t.Errorf("the problem does not say what is wrong: %q", out)
			}
			if up.count() != before {
				t.Errorf("the request reached the upstream: %v", up.since(before))
			}
		})
	}
	// One of each still passes.
	resp, body := do(t, "GET", ts.base+"/api/either", nil, "Authorization", basic)
	if resp.StatusCode != 200 {
		t.Errorf("one Authorization: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", ts.base+"/api/either", nil, "Cookie", "theme=dark; session=k-beta-789; lang=fr")
	if resp.StatusCode != 200 {
		t.Errorf("one session cookie among others: %d %s", resp.StatusCode, body)
	}
}

// TestBareLFInABodyIsData: the bare-LF rule is the head's; a body is bytes.
func TestBareLFInABodyIsData(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	body := "line one\nline two\n\n"
	out, _ := raw(t, ts.Addr().String(), fmt.Sprintf("POST /api/upload HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body), 2*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 200 ") {
		t.Fatalf("answer %q", out)
	}
	if got := string(up.last(t).Body); got != body {
		t.Errorf("upstream got %q", got)
	}
}

// TestCacheKeyAndCredentials: an answer kept in the response cache is
// served only to requests it answers. The key covers what is forwarded and
// can change the answer (Host, forwarded as X-Forwarded-Host, among it); an
// answer to a request with Authorization is kept for others only when its
// Cache-Control says so (RFC 9111 §3.5).
func TestCacheKeyAndCredentials(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("public") != "" {
			w.Header().Set("Cache-Control", "public, max-age=60")
		}
		if v := r.URL.Query().Get("vary"); v != "" {
			w.Header().Set("Vary", v)
			fmt.Fprintf(w, "lang=%s for=%s", r.Header.Get("Accept-Language"), r.Header.Get("X-Forwarded-For"))
			return
		}
		fmt.Fprintf(w, "host=%s auth=%s", r.Header.Get("X-Forwarded-Host"), r.Header.Get("Authorization"))
	})
	b := mainBundle("Cache", up.URL)
	cached := bundle.Policy{Upstream: "main", Cache: &bundle.Cache{TTL: bundle.Duration(time.Minute)}}
	addOp(b, bundle.Operation{ID: "page", Method: "GET", Path: "/page", Public: true, Policy: cached})
	ts := startServer(t, staticLoad(b))
	get := func(path string, hdr ...string) (string, string) {
		resp, body := do(t, "GET", ts.base+path, nil, hdr...)
		return string(body), resp.Header.Get("X-Cache")
	}

	if body, _ := get("/api/page", "Host", "evil.example"); body != "host=evil.example auth=" {
		t.Fatalf("first answer %q", body)
	}
	if body, xc := get("/api/page", "Host", "api.good.example"); body != "host=api.good.example auth=" {
		t.Errorf("Host api.good.example got %q (X-Cache %s): the answer cached for another Host", body, xc)
	}
	if body, xc := get("/api/page", "Host", "EVIL.example"); xc != "HIT" || body != "host=evil.example auth=" {
		t.Errorf("the same host in other case: %q (X-Cache %s), want the cached answer", body, xc)
	}

	// A per-user answer the upstream made from a forwarded Authorization.
	if body, _ := get("/api/page?u=1", "Authorization", "Bearer alice"); body != "host="+ts.Addr().String()+" auth=Bearer alice" {
		t.Fatalf("answer to alice %q", body)
	}
	if body, xc := get("/api/page?u=1"); strings.Contains(body, "alice") {
		t.Errorf("an anonymous client got alice's answer %q (X-Cache %s)", body, xc)
	}
	if body, xc := get("/api/page?u=1", "Authorization", "Bearer mallory"); strings.Contains(body, "alice") {
		t.Errorf("mallory got alice's answer %q (X-Cache %s)", body, xc)
	}
	// Unless the upstream says the answer is public.
	get("/api/page?public=1", "Authorization", "Bearer alice")
	if body, xc := get("/api/page?public=1"); xc != "HIT" || !strings.Contains(body, "alice") {
		t.Errorf("a public answer was not kept: %q (X-Cache %s)", body, xc)
	}

	// The upstream's Vary is honoured: an answer serves only requests with
	// the same values of the fields it names.
	get("/api/page?vary=Accept-Language", "Accept-Language", "fr")
	if body, xc := get("/api/page?vary=Accept-Language", "Accept-Language", "fr"); xc != "HIT" || body != "lang=fr for=127.0.0.1" {
		t.Errorf("Accept-Language: fr again got %q (X-Cache %s), want the kept answer", body, xc)
	}
	if body, xc := get("/api/page?vary=Accept-Language", "Accept-Language", "de"); xc == "HIT" || body != "lang=de for=127.0.0.1" {
		t.Errorf("Accept-Language: de got %q (X-Cache %s)", body, xc)
	}
	// An answer that varies on a field gwc sets (the client's address, in
	// X-Forwarded-For) is not kept: a client could send the field itself.
	get("/api/page?vary=X-Forwarded-For")
	if body, xc := get("/api/page?vary=X-Forwarded-For", "X-Forwarded-For", "127.0.0.1"); xc == "HIT" {
		t.Errorf("an answer varying on X-Forwarded-For was kept: %q", body)
	}
}

// TestClientsThatNeverRead: clients that pipeline requests for large
// answers and read none hold at most the documented memory per connection
// (docs/security.md), and are closed after the write timeout.
func TestClientsThatNeverRead(t *testing.T) {
	// Answers an engine may hold whole, and answers it streams.
	for _, size := range []int{200 << 10, 512 << 10} {
		t.Run(fmt.Sprintf("%d KiB answers", size>>10), func(t *testing.T) { clientsThatNeverRead(t, size) })
	}
}

func clientsThatNeverRead(t *testing.T, size int) {
	const clients = 30
	answer := strings.Repeat("z", size)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(answer)))
		io.WriteString(w, answer) //nolint:errcheck
	})
	ts := startServerWith(t, staticLoad(testBundle(up.URL)), func(o *Options) { o.WriteTimeout = 3 * time.Second })
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	before := heap()
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", ts.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		go io.WriteString(c, strings.Repeat("GET /api/items HTTP/1.1\r\nHost: x\r\n\r\n", 60)) //nolint:errcheck
	}
	// Until the gateway stops asking the upstream: every connection is as
	// full as it gets.
	for last, still, deadline := -1, 0, time.Now().Add(20*time.Second); still < 5 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		if n := up.count(); n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
	held := heap() - min(before, heap())
	t.Logf("%d clients that do not read: %.1f MiB held, %.2f MiB each", clients, float64(held)/(1<<20), float64(held)/clients/(1<<20))
	if per := held / clients; per > loop.MaxConnMemory {
		t.Errorf("each connection holds %.1f MiB; the limit is %.1f MiB", float64(per)/(1<<20), float64(loop.MaxConnMemory)/(1<<20))
	}
	// Past the write timeout, every one is closed: reading now gets what
	// was on its way, then the end.
	time.Sleep(3 * time.Second)
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
		n, err := io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || n > 64<<20 {
			t.Fatalf("client %d: the connection was not closed after the write timeout (%d bytes read, %v)", i+1, n, err)
		}
	}
}

// trailerUpstream records what reached it of each request: its header
// section, and its trailer section once the body is read.
func trailerUpstream(t *testing.T) (*upstreamServer, *sync.Map) {
	var trailers sync.Map // request path → http.Header of trailers
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		trailers.Store(r.URL.Path, r.Trailer.Clone())
		fmt.Fprint(w, "ok")
	})
	return up, &trailers
}

// TestClientTrailers: a client's trailer fields are dropped, never merged
// into the forwarded header section nor forwarded as trailers: they would
// pass by the header rules (an API key trailer reached the upstream, though
// keys are removed; a Trailer field moved gwc's X-Request-Id out of the
// header section). And what a client sends can never count as an upstream
// failure: trailers the upstream hop cannot carry once made requests fail
// with 502, and three of them opened the circuit breaker for every client.
func TestClientTrailers(t *testing.T) {
	up, trailers := trailerUpstream(t)
	b := testBundle(up.URL)
	b.Upstreams[0].Retries = nil
	b.Upstreams[0].CircuitBreaker = &bundle.CircuitBreaker{Failures: 3, OpenFor: bundle.Duration(time.Minute)}
	ts := startServer(t, staticLoad(b))
	for name, req := range map[string]string{
		"a forbidden trailer on a GET":  "GET /api/items HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nAuthorization: Bearer forged\r\n\r\n",
		"an API key trailer":            "POST /api/upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Api-Key: k\r\nX-Tenant: evil\r\n\r\n",
		"a trailer after an empty body": "POST /api/upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Tenant: evil\r\n\r\n",
		"a Trailer field naming gwc's own": "POST /api/upload HTTP/1.1\r\nHost: h\r\nTrailer: X-Request-Id\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"3\r\nabc\r\n0\r\nX-Request-Id: forged\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			before := up.count()
			for i := 0; i < 3; i++ {
				out, _ := raw(t, ts.Addr().String(), strings.Replace(req, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1), 2*time.Second)
				if !strings.HasPrefix(out, "HTTP/1.1 200 ") {
					t.Fatalf("request %d: answer %q, want the upstream's 200", i+1, out)
				}
			}
			for _, r := range up.since(before) {
				for _, k := range []string{"Authorization", "X-Api-Key", "X-Tenant", "Trailer"} {
					if v := r.Header.Get(k); v != "" {
						t.Errorf("the upstream got %s: %s in the header section", k, v)
					}
				}
				if v := r.Header.Get("X-Request-Id"); v == "" || v == "forged" {
					t.Errorf("the upstream got X-Request-Id %q in the header section", v)
				}
				if v := r.Header.Get("X-Forwarded-For"); v != "127.0.0.1" {
					t.Errorf("the upstream got X-Forwarded-For %q", v)
				}
				tr, _ := trailers.Load(strings.TrimPrefix(r.URI, ""))
				if h, _ := tr.(http.Header); len(h) > 0 {
					t.Errorf("the upstream got trailers %v", h)
				}
			}
		})
	}
	// No client made the upstream look down.
	if resp, body := do(t, "GET", ts.base+"/api/items", nil); resp.StatusCode != 200 {
		t.Errorf("after the trailers: %d %s", resp.StatusCode, body)
	}
}

// TestAbandonedRequests: a client that hangs up while its request waits on
// the upstream cancels the upstream call (its connection to the upstream is
// closed, so the upstream can stop too), and the access log records 499, as
// nginx does. Abandoned calls never hold the upstream's connections from
// other clients.
func TestAbandonedRequests(t *testing.T) {
	var mu sync.Mutex
	canceled := map[string]time.Time{}
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			fmt.Fprint(w, "ok")
			return
		}
		select {
		case <-r.Context().Done():
			mu.Lock()
			canceled[r.URL.RawQuery] = time.Now()
			mu.Unlock()
		case <-time.After(5 * time.Second):
			fmt.Fprint(w, "late")
		}
	})
	b := testBundle(up.URL)
	for i := range b.Operations {
		if b.Operations[i].ID == "slow" {
			b.Operations[i].Policy.Timeout = bundle.Duration(10 * time.Second)
		}
	}
	var access syncBuffer
	ts := startServerWith(t, staticLoad(b), func(o *Options) { o.AccessLog = slogJSON(&access) })
	c, err := net.Dial("tcp", ts.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /api/slow?n=1 HTTP/1.1\r\nHost: h\r\n\r\n") //nolint:errcheck
	time.Sleep(300 * time.Millisecond)
	hungUp := time.Now()
	c.Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		at, ok := canceled["n=1"]
		mu.Unlock()
		if ok {
			if d := at.Sub(hungUp); d > time.Second {
				t.Errorf("the upstream call was canceled %v after the client hung up", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the upstream call went on after its client hung up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The access log says 499.
	var rec struct {
		Status int    `json:"status"`
		Path   string `json:"path"`
	}
	for deadline := time.Now().Add(3 * time.Second); ; {
		for _, line := range strings.Split(strings.TrimSpace(access.String()), "\n") {
			if err := json.Unmarshal([]byte(line), &rec); err == nil && rec.Path == "/api/slow" {
				break
			}
		}
		if rec.Path != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rec.Status != 499 {
		t.Errorf("access log status %d for the abandoned request, want 499:\n%s", rec.Status, access.String())
	}
	// Many abandoned requests: every upstream call ends with its client.
	var conns []net.Conn
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", ts.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /api/slow?n=x%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
		conns = append(conns, c)
	}
	time.Sleep(300 * time.Millisecond)
	for _, c := range conns {
		c.Close()
	}
	time.Sleep(time.Second)
	mu.Lock()
	n := len(canceled)
	mu.Unlock()
	if n != 51 {
		t.Errorf("%d of 50 abandoned upstream calls were canceled within a second", n-1)
	}
	if resp, body := do(t, "GET", ts.base+"/api/items", nil); resp.StatusCode != 200 {
		t.Errorf("another route: %d %s", resp.StatusCode, body)
	}
}

// TestRequestLinesRefused: what the request line says is held to what gwc
// serves: HTTP/1.1 and HTTP/1.0 (505 for any other version, which is never
// forwarded), no fragment (400), a request line within the head limit (414
// past it; 431 when the fields are what is too long).
func TestRequestLinesRefused(t *testing.T) {
	up := newRawUpstream(t, func(r *http.Request, _ []byte) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(r.Proto), r.Proto)
	})
	ts := startServer(t, staticLoad(testBundle("http://"+up.addr)))
	for _, c := range []struct{ req, want string }{
		{"GET /api/items HTTP/2.0\r\nHost: h\r\n\r\n", "HTTP/1.1 505 "},
		{"GET /api/items HTTP/9.9\r\nHost: h\r\n\r\n", "HTTP/1.1 505 "},
		{"GET /api/items#top HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 400 "},
		{"GET /api/items?q=" + strings.Repeat("a", 20<<10) + " HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 414 "},
		{"GET /api/items HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", "HTTP/1.1 431 "},
	} {
		before := len(up.requests())
		out, _ := raw(t, ts.Addr().String(), c.req, 2*time.Second)
		if !strings.HasPrefix(out, c.want) {
			t.Errorf("%.40q: answer %.80q, want %s", c.req, out, c.want)
		}
		if n := len(up.requests()); n != before {
			t.Errorf("%.40q reached the upstream", c.req)
		}
	}
	// An HTTP/1.0 client's request goes upstream as HTTP/1.1.
	out, _ := raw(t, ts.Addr().String(), "GET /api/items HTTP/1.0\r\nHost: h\r\n\r\n", 2*time.Second)
	if !strings.HasSuffix(out, "HTTP/1.1") {
		t.Errorf("the upstream got %q", out)
	}
}

// TestExpectContinueOnlyForABodyThatIsWanted: a client that waits for 100
// Continue is refused on its head alone when the body would be refused (a
// length past the operation's max_body, no route), without a 100 first;
// otherwise it gets the 100, sends the body, and it is forwarded.
func TestExpectContinueOnlyForABodyThatIsWanted(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	for _, c := range []struct{ head, want string }{
		{"POST /api/small HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n", "HTTP/1.1 413 "},
		{"POST /nowhere HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n", "HTTP/1.1 404 "},
	} {
		before := up.count()
		out, closed := raw(t, ts.Addr().String(), c.head, 2*time.Second)
		if !strings.HasPrefix(out, c.want) || strings.Contains(out, "100 Continue") {
			t.Errorf("%.40q: answer %.80q, want %s and no 100 Continue", c.head, out, c.want)
		}
		if !closed {
			t.Errorf("%.40q: the connection stayed open, its body unsent", c.head)
		}
		if up.count() != before {
			t.Errorf("%.40q reached the upstream", c.head)
		}
	}
	c := dial(t, ts)
	io.WriteString(c, "POST /api/upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n") //nolint:errcheck
	c.SetReadDeadline(time.Now().Add(5 * time.Second))                                                             //nolint:errcheck
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("first line %q, %v; want a 100 Continue", line, err)
	}
	br.ReadString('\n')            //nolint:errcheck // the interim answer's empty line
	io.WriteString(c, "hello")     //nolint:errcheck
	status, _ := answers(t, br, 1) //nolint:dogsled
	if status[0] != "200 OK" || string(up.last(t).Body) != "hello" {
		t.Errorf("after the body: %s, upstream got %q", status[0], up.last(t).Body)
	}
}

// TestCutOffAnswer: an upstream that hangs up before its answer's declared
// length gets its client a 502, logged as one; not an empty reply logged
// as the upstream's 200.
func TestCutOffAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				http.ReadRequest(bufio.NewReader(c))                                         //nolint:errcheck
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten!") //nolint:errcheck
			}()
		}
	}()
	b := testBundle("http://" + ln.Addr().String())
	b.Upstreams[0].Retries = nil
	var access syncBuffer
	ts := startServerWith(t, staticLoad(b), func(o *Options) { o.AccessLog = slogJSON(&access) })
	out, _ := raw(t, ts.Addr().String(), "GET /api/items HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 5*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 502 ") {
		t.Errorf("answer %q, want a 502", out)
	}
	if !strings.Contains(access.String(), `"status":502`) {
		t.Errorf("access log:\n%s", access.String())
	}
}

// TestHTTP11Conformance is the HTTP/1.1 conformance check the engine was
// chosen by (docs/runtime-engine.md), on every engine: each refused request
// is followed, pipelined, by a GET /after, which must not be served (the
// connection is closed after a framing error, since where the next request
// starts is not known), and neither request may reach the upstream.
func TestHTTP11Conformance(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	smuggled := "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
	for _, c := range []struct{ name, req string }{
		{"CL and TE", "POST /api/upload HTTP/1.1\r\nHost: a\r\nContent-Length: " + fmt.Sprint(len(smuggled)) +
			"\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled},
		{"TE and CL", "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + smuggled},
		{"duplicate Content-Length", "POST /api/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
		{"same Content-Length twice", "POST /api/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
		{"Content-Length with a sign", "POST /api/upload HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"},
		{"Content-Length list", "POST /api/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello"},
		{"Transfer-Encoding other than chunked", "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + smuggled},
		{"Transfer-Encoding with a space before the colon", "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n" + smuggled},
		{"bad chunk size", "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"},
		{"chunk size overflow", "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"10000000000000001\r\nx\r\n0\r\n\r\n"},
		{"chunk data longer than its size", "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n"},
		{"bad header name", "GET /api/items HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n"},
		{"NUL in a value", "GET /api/items HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n"},
		{"no method", "/api/items HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"space in the target", "GET /api/it ems HTTP/1.1\r\nHost: a\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := up.count()
			out, closed := raw(t, ts.Addr().String(), c.req+"GET /api/items?after=1 HTTP/1.1\r\nHost: a\r\n\r\n", 2*time.Second)
			if !strings.HasPrefix(out, "HTTP/1.1 400 ") {
				t.Errorf("answer %.120q, want a 400", out)
			}
			if strings.Count(out, "HTTP/1.1 ") != 1 || !closed {
				t.Errorf("the connection was read on after a framing error (closed: %v): %.200q", closed, out)
			}
			for _, r := range up.since(before) {
				t.Errorf("the upstream received %s %s", r.Method, r.URI)
			}
		})
	}

	// An obs-fold is unfolded (RFC 9112 §5.2); hop-by-hop fields, and those
	// Connection names, are not forwarded; X-Forwarded-* are set, an
	// untrusted client's X-Forwarded-For replaced.
	resp, _ := do(t, "GET", ts.base+"/api/items", nil, "Connection", "keep-alive, X-Hop", "X-Hop", "1", "Keep-Alive", "timeout=5",
		"Proxy-Authorization", "Basic eA==", "TE", "trailers", "Upgrade", "foo", "X-Forwarded-For", "10.0.0.1", "X-Keep", "yes", "Host", "api.example")
	h := up.last(t).Header
	if resp.StatusCode != 200 {
		t.Fatalf("hop-by-hop request: %d", resp.StatusCode)
	}
	for _, k := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Authorization", "Te", "Upgrade"} {
		if v, ok := h[k]; ok {
			t.Errorf("%s forwarded: %q", k, v)
		}
	}
	if h.Get("X-Keep") != "yes" || h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Forwarded-Proto") != "http" ||
		h.Get("X-Forwarded-Host") != "api.example" {
		t.Errorf("forwarded header %v", h)
	}
	out, _ := raw(t, ts.Addr().String(), "GET /api/items HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 200 ") {
		t.Errorf("obs-fold: %.80q", out)
	} else if v := up.last(t).Header.Get("X-Fold"); strings.ContainsAny(v, "\r\n") {
		t.Errorf("obs-fold forwarded folded: %q", v)
	}
	// An HTTP/1.0 client without Host is served; Connection: close is
	// honoured.
	out, closed := raw(t, ts.Addr().String(), "GET /api/items HTTP/1.0\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 200 ") || !closed {
		t.Errorf("HTTP/1.0 without Host: %.80q, closed %v", out, closed)
	}
	out, closed = raw(t, ts.Addr().String(), "GET /api/items HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /api/items HTTP/1.1\r\nHost: a\r\n\r\n", 2*time.Second)
	if strings.Count(out, "HTTP/1.1 200 ") != 1 || !closed {
		t.Errorf("Connection: close: %d answers, closed %v", strings.Count(out, "HTTP/1.1 "), closed)
	}
}

// TestSlowChunkedAnswerStreams: an upstream's answer that comes in pieces
// reaches the client as it comes, not once it is whole.
func TestSlowChunkedAnswerStreams(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		fl := w.(http.Flusher)
		for i := 0; i < 5; i++ {
			fmt.Fprintf(w, "chunk %d\n", i)
			fl.Flush()
			time.Sleep(150 * time.Millisecond)
		}
	})
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	start := time.Now()
	resp, err := client.Get(ts.base + "/api/items")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if first := time.Since(start); err != nil || line != "chunk 0\n" || first > 500*time.Millisecond {
		t.Errorf("first piece %q after %v (%v); the whole answer takes 750 ms", line, first, err)
	}
}

// TestJSONBodiesAreRFC8259Text: a body validated as JSON is one RFC 8259
// value: a duplicate member name (an upstream that keeps the first would get
// a value the schema never saw), bytes after the value, invalid UTF-8 and
// lone surrogates are refused, and none of it reaches the upstream.
func TestJSONBodiesAreRFC8259Text(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	for name, body := range map[string]string{
		"duplicate name":       `{"name":"` + strings.Repeat("a", 1000) + `","name":"ok"}`,
		"duplicate, nested":    `{"name":"ok","n":1,"n":2}`,
		"data after the value": `{"name":"ok"},"admin":true}`,
		"a bracket after":      `{"name":"ok"}]`,
		"NUL after":            "{\"name\":\"ok\"}\x00",
		"invalid UTF-8":        "{\"name\":\"\xff\xfe\"}",
		"lone surrogate":       `{"name":"\ud800"}`,
	} {
		before := up.count()
		resp, data := do(t, "POST", ts.base+"/api/items", strings.NewReader(body), "Content-Type", "application/json")
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, data)
		}
		if up.count() != before {
			t.Errorf("%s: the body reached the upstream", name)
		}
	}
	if resp, data := do(t, "POST", ts.base+"/api/items", strings.NewReader(`{"name":"ok \ud83d\ude00"}`), "Content-Type", "application/json"); resp.StatusCode != 200 {
		t.Errorf("a valid body with a surrogate pair: %d %s", resp.StatusCode, data)
	}
}

// TestChunkedBodiesOfEverySize: chunked request bodies reach the upstream
// whole at every size, those an engine holds and those it streams (the
// trailer section's limit is the trailer's, not the body's).
func TestChunkedBodiesOfEverySize(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(testBundle(up.URL)))
	for _, size := range []int{1, 15 << 10, 17 << 10, 100 << 10, 300 << 10, 2 << 20} {
		body := strings.Repeat("c", size)
		req := fmt.Sprintf("POST /api/upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\nT: v\r\n\r\n", size, body)
		out, _ := raw(t, ts.Addr().String(), req, 5*time.Second)
		if !strings.HasPrefix(out, "HTTP/1.1 200 ") {
			t.Errorf("%d bytes: answer %.80q", size, out)
			continue
		}
		if got := len(up.last(t).Body); got != size {
			t.Errorf("%d bytes: the upstream got %d", size, got)
		}
	}
}

// TestAbandonedAfterAStreamedBody: a client that hangs up after sending a
// body large enough to stream, while its upstream call is waited on, is
// seen to go as one with a small body is (its call aborted, a 499).
func TestAbandonedAfterAStreamedBody(t *testing.T) {
	canceled := make(chan struct{}, 1)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			canceled <- struct{}{}
		case <-time.After(5 * time.Second):
		}
	})
	b := testBundle(up.URL)
	var access syncBuffer
	ts := startServerWith(t, staticLoad(b), func(o *Options) { o.AccessLog = slogJSON(&access) })
	c, err := net.Dial("tcp", ts.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("b", 300<<10)
	fmt.Fprintf(c, "POST /api/upload HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	time.Sleep(300 * time.Millisecond)
	c.Close()
	select {
	case <-canceled:
	case <-time.After(3 * time.Second):
		t.Fatal("the upstream call went on after its client hung up")
	}
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(access.String(), `"status":499`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(access.String(), `"status":499`) {
		t.Errorf("access log:\n%s", access.String())
	}
}

// TestRefusalsAreLogged: a request refused before it reaches the gateway
// (its head could not be read) is answered with an X-Request-Id, as every
// answer is, and recorded in the access log.
func TestRefusalsAreLogged(t *testing.T) {
	up := newUpstream(t, nil)
	var access syncBuffer
	ts := startServerWith(t, staticLoad(testBundle(up.URL)), func(o *Options) { o.AccessLog = slogJSON(&access) })
	out, _ := raw(t, ts.Addr().String(), "GET /api/items HTTP/1.1\nHost: h\n\n", 2*time.Second)
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(out)), nil)
	if err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	body, _ := io.ReadAll(resp.Body)
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 400 || id == "" || !strings.Contains(string(body), `"requestId":"`+id+`"`) {
		t.Errorf("refusal: %d, X-Request-Id %q, %s", resp.StatusCode, id, body)
	}
	raw(t, ts.Addr().String(), "GET /api/items HTTP/1.1\r\nHost: h\r\nX-Big: "+strings.Repeat("a", 20<<10)+"\r\n\r\n", 2*time.Second)
	logged := access.String()
	for _, want := range []string{`"request_id":"` + id + `"`, `"status":400`, `"reason":"bad-request"`, `"status":431`, `"reason":"header-too-large"`} {
		if !strings.Contains(logged, want) {
			t.Errorf("access log lacks %s:\n%s", want, logged)
		}
	}
}

// TestUpstreamAnswerHeadLimit: an upstream answer's head is held to one
// limit on every engine (h1.MaxAnswerHead): within it the answer is
// passed on, past it the upstream gets its client a 502.
func TestUpstreamAnswerHeadLimit(t *testing.T) {
	up := newRawUpstream(t, func(r *http.Request, _ []byte) string {
		n := 15 << 10
		if r.URL.Query().Get("big") != "" {
			n = 20 << 10
		}
		return "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", n) + "\r\nContent-Length: 2\r\n\r\nok"
	})
	ts := startServer(t, staticLoad(testBundle("http://"+up.addr)))
	if resp, body := do(t, "GET", ts.base+"/api/items", nil); resp.StatusCode != 200 || string(body) != "ok" {
		t.Errorf("a 15 KiB answer head: %d %q", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", ts.base+"/api/items?big=1", nil); resp.StatusCode != 502 {
		t.Errorf("a 20 KiB answer head: %d, want 502", resp.StatusCode)
	}
}
