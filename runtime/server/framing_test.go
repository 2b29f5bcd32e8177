package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// What an engine does itself, on whichever engine the suite runs
// (GWC_TEST_ENGINE): framing requests (package h1), pipelining,
// 100-continue, HTTP/1.0, its timeouts, pooled upstream connections, and,
// on the loop engine, handing connections to the goroutine engine.

func startEngine(t testing.TB, up string, set func(*Options)) *testServer {
	t.Helper()
	return startServerWith(t, staticLoad(testBundle(up)), set)
}

// startLoop serves on the loop engine, whatever the suite runs on.
func startLoop(t testing.TB, up string, set func(*Options)) *testServer {
	t.Helper()
	return startServerWith(t, staticLoad(testBundle(up)), func(o *Options) {
		o.Engine = EngineLoop
		if set != nil {
			set(o)
		}
	})
}

// dial opens a connection to ts, closed when the test ends.
func dial(t *testing.T, ts *testServer) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ts.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// answers reads n HTTP/1.1 answers from r, returning their status lines and
// bodies.
func answers(t *testing.T, r *bufio.Reader, n int) (status, bodies []string) {
	t.Helper()
	for i := 0; i < n; i++ {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status = append(status, resp.Status)
		bodies = append(bodies, string(b))
	}
	return status, bodies
}

func TestPipelinedRequestsAnswerInOrder(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startEngine(t, up.URL, nil)
	c := dial(t, ts)
	// Four requests in one write, one of them with a chunked body, and one
	// the gateway answers itself.
	io.WriteString(c, "GET /api/items?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"+ //nolint:errcheck
		"POST /api/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n"+
		"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /api/items?n=4 HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	status, bodies := answers(t, bufio.NewReader(c), 4)
	want := []string{"200 OK", "200 OK", "404 Not Found", "200 OK"}
	for i := range want {
		if status[i] != want[i] {
			t.Errorf("answer %d: %s, want %s (%s)", i+1, status[i], want[i], bodies[i])
		}
	}
	if !strings.Contains(bodies[0], `"URI":"/items?n=1"`) || !strings.Contains(bodies[3], `"URI":"/items?n=4"`) {
		t.Errorf("answers out of order: %q, %q", bodies[0], bodies[3])
	}
	// The chunked body went upstream whole, without its trailer: with a
	// Content-Length from the loop engine, which holds it, chunked from the
	// goroutine engine, which streams it.
	var seen recorded
	for _, r := range up.since(0) {
		if r.URI == "/upload" {
			seen = r
		}
	}
	if string(seen.Body) != "abcde" || seen.Header.Get("Trailer") != "" {
		t.Errorf("upstream got body %q, header %v", seen.Body, seen.Header)
	}
	if cl := seen.Header.Get("Content-Length"); cl != "" && cl != "5" {
		t.Errorf("upstream got Content-Length %q for a body of 5 bytes", cl)
	}
}

func TestRequestInPieces(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startEngine(t, up.URL, nil)
	c := dial(t, ts)
	req := "POST /api/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"name\":\"a\"}"
	for i := 0; i < len(req); i += 7 {
		io.WriteString(c, req[i:min(i+7, len(req))]) //nolint:errcheck
		time.Sleep(2 * time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	status, body := answers(t, bufio.NewReader(c), 1)
	if status[0] != "201 Created" && status[0] != "200 OK" {
		t.Fatalf("status %s: %s", status[0], body[0])
	}
	if got := string(up.last(t).Body); got != `{"name":"a"}` {
		t.Errorf("upstream got %q", got)
	}
}

func TestExpectContinue(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startEngine(t, up.URL, nil)
	c := dial(t, ts)
	io.WriteString(c, "POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n") //nolint:errcheck
	c.SetReadDeadline(time.Now().Add(5 * time.Second))                                                             //nolint:errcheck
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, %v; want 100 Continue before the body", line, err)
	}
	r.ReadString('\n')         //nolint:errcheck // the empty line
	io.WriteString(c, "hello") //nolint:errcheck
	status, _ := answers(t, r, 1)
	if status[0] != "200 OK" || string(up.last(t).Body) != "hello" {
		t.Errorf("status %s, upstream got %q", status[0], up.last(t).Body)
	}
	if up.last(t).Header.Get("Expect") != "" {
		t.Errorf("Expect went upstream")
	}
}

func TestHTTP10(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startEngine(t, up.URL, nil)
	out, closed := raw(t, ts.Addr().String(), "GET /api/items HTTP/1.0\r\nHost: x\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 200") || !closed {
		t.Errorf("HTTP/1.0: closed %v, answer %q", closed, out)
	}
	// Keep-alive asked for: two answers on one connection.
	out, _ = raw(t, ts.Addr().String(), "GET /api/items HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"+
		"GET /api/items HTTP/1.0\r\nHost: x\r\n\r\n", 2*time.Second)
	if n := strings.Count(out, "HTTP/1.1 200"); n != 2 || !strings.Contains(out, "Connection: keep-alive") {
		t.Errorf("HTTP/1.0 keep-alive: %d answers: %q", n, out)
	}
}

func TestEngineTimeouts(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startEngine(t, up.URL, func(o *Options) {
		o.ReadHeaderTimeout, o.ReadTimeout, o.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond, 400*time.Millisecond
	})
	addr := ts.Addr().String()
	// A header that never ends: 408, closed.
	start := time.Now()
	out, closed := raw(t, addr, "GET /api/items HTTP/1.1\r\nHost: x\r\nX-Slow: ", 3*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 408") || !closed {
		t.Errorf("slow header: closed %v after %v, answer %q", closed, time.Since(start), out)
	}
	// A body that never comes.
	out, closed = raw(t, addr, "POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", 3*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 408") || !closed {
		t.Errorf("slow body: closed %v, answer %q", closed, out)
	}
	// An idle kept-alive connection is closed.
	out, closed = raw(t, addr, "GET /api/items HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 200") || !closed {
		t.Errorf("idle: closed %v, answer %q", closed, out)
	}
	// The upstream's deadline: 504.
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Second) })
	ts2 := startLoop(t, slow.URL, nil)
	resp, _ := do(t, "GET", ts2.base+"/api/slow", nil)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("slow upstream: status %d", resp.StatusCode)
	}
}

func TestPooledUpstreamClosedBetweenRequests(t *testing.T) {
	// An upstream that closes every connection soon after answering,
	// without saying so: the loop drops the closed connections from its pool
	// (or, finding one dead as it sends, sends again on a fresh one).
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok") //nolint:errcheck
	}))
	up.Config.ConnState = func(c net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			conns.Add(1)
		case http.StateIdle:
			go func() { time.Sleep(20 * time.Millisecond); c.Close() }()
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	ts := startEngine(t, up.URL, nil)
	for i := 0; i < 5; i++ {
		resp, body := do(t, "GET", ts.base+"/api/items", nil)
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("request %d: status %d: %s", i+1, resp.StatusCode, body)
		}
		time.Sleep(60 * time.Millisecond)
	}
	if n := conns.Load(); n < 5 {
		t.Errorf("the upstream saw %d connections for 5 requests, each after the last was closed", n)
	}
}

func TestLargeAnswersStreamAndTheConnectionServesOn(t *testing.T) {
	big := strings.Repeat("y", 3<<20)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/items" {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			io.WriteString(w, big) //nolint:errcheck
			return
		}
		io.WriteString(w, "small") //nolint:errcheck
	})
	ts := startEngine(t, up.URL, nil)
	c := dial(t, ts)
	// The large answer streams (on the loop engine, the connection goes to
	// the goroutine engine), and the same connection then serves the next
	// request.
	io.WriteString(c, "GET /api/items HTTP/1.1\r\nHost: x\r\n\r\nGET /api/items/7 HTTP/1.1\r\nHost: x\r\n\r\n") //nolint:errcheck
	c.SetReadDeadline(time.Now().Add(10 * time.Second))                                                         //nolint:errcheck
	status, bodies := answers(t, bufio.NewReader(c), 2)
	if status[0] != "200 OK" || len(bodies[0]) != len(big) {
		t.Errorf("large answer: %s, %d bytes", status[0], len(bodies[0]))
	}
	if status[1] != "200 OK" || bodies[1] != "small" {
		t.Errorf("next answer: %s %q", status[1], bodies[1])
	}
}

func TestUpstreamThatNeverAccepts(t *testing.T) {
	// A listener that never accepts, its queue full: connecting to it hangs
	// or the request is never read. The request fails within its timeout
	// (the dial's or the sweep's), and the loop goes on serving.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for i := 0; i < 3; i++ {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			defer c.Close()
		}
	}
	ts := startEngine(t, "http://"+addr, nil)
	for i := 0; i < 2; i++ {
		start := time.Now()
		resp, body := do(t, "GET", ts.base+"/api/slow", nil)
		if resp.StatusCode != http.StatusGatewayTimeout && resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("request %d: status %d after %v: %s", i+1, resp.StatusCode, time.Since(start), body)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("request %d took %v (the operation's timeout is 300ms)", i+1, d)
		}
	}
}

func TestClientThatDoesNotRead(t *testing.T) {
	// A client pipelines requests for large answers and reads none: the
	// loop stops reading its requests once a few MiB of answers wait, and
	// closes the connection after the write timeout.
	answer := strings.Repeat("z", 512<<10)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(answer)))
		io.WriteString(w, answer) //nolint:errcheck
	})
	ts := startEngine(t, up.URL, func(o *Options) { o.WriteTimeout = 500 * time.Millisecond })
	c := dial(t, ts)
	go io.WriteString(c, strings.Repeat("GET /api/items HTTP/1.1\r\nHost: x\r\n\r\n", 200)) //nolint:errcheck
	time.Sleep(1500 * time.Millisecond)
	if n := up.count(); n >= 100 {
		t.Errorf("the upstream got %d of the 200 requests of a client that reads nothing", n)
	}
	// Closed: reading gets what was written, then the end.
	c.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the connection was not closed after the write timeout")
	}
}

// FuzzFraming sends arbitrary bytes to the engine as a client's, then ends
// the client's side. Whatever they are, the connection is answered and
// closed within the read timeouts, nothing panics (a panic ends the test
// binary), and the server serves a good request afterwards.
// One server takes every input, so that what an input leaves behind in the
// loop meets the next. The seeds run with the tests; go test -run '^$'
// -fuzz FuzzFraming ./runtime/server explores further.
func FuzzFraming(f *testing.F) {
	for _, s := range []string{
		"GET /api/items HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /api/items HTTP/1.1\r\nHost: x\r\n\r\nGET /api/items HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /api/items HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n",
		"POST /api/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"name\":\"abc\"}",
		"POST /api/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"name\":",
		"POST /api/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST /api/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
		"POST /api/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel",
		"POST /api/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n" + strings.Repeat("a", 128) + "\r\n0\r\n\r\n",
		"POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"POST /api/upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
		"GET /api/items HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /api/items HTTP/1.0\r\n\r\n",
		"GET /api/items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /api/items HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /api/%2e%2e/secret HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://evil.example/api/items HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /api/items HTTP/1.1\r\nHost: x\r\n folded: value\r\n\r\n",
		"GET /api/items HTTP/9.9\r\n\r\n", "GET\r\n\r\n", "\r\n\r\n", "\x00\x01\x02", "",
		"GET /api/items HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("b", 20<<10) + "\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	up := newUpstream(f, nil)
	ts := startEngine(f, up.URL, func(o *Options) {
		o.ReadHeaderTimeout, o.ReadTimeout, o.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		c := dial(t, ts)
		if _, err := c.Write(in); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite() //nolint:errcheck
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%q: the connection was still open 2 s after the client's side ended", in)
			}
		}
		resp, err := http.Get(ts.base + "/api/items")
		if err != nil {
			t.Fatalf("after %q: %v", in, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after %q: a good request got %s", in, resp.Status)
		}
	})
}

// The loops read the clock once per event (gateway.Sender.Now): a request's
// duration runs from the event that brought it to the event that brought
// its upstream's answer, so it holds the upstream's time, and an answer
// made within its own event still times itself.
func TestLoopTimings(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(80 * time.Millisecond)
		w.Write([]byte(`[]`)) //nolint:errcheck
	})
	var access syncBuffer
	ts := startLoop(t, up.URL, func(o *Options) { o.AccessLog = slogJSON(&access) })
	do(t, "GET", ts.base+"/api/items?limit=2", nil)
	do(t, "GET", ts.base+"/nowhere", nil)
	var durations []float64
	for _, line := range strings.Split(strings.TrimSpace(access.String()), "\n") {
		var rec struct {
			Status     int     `json:"status"`
			DurationMS float64 `json:"duration_ms"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("access log line %q: %v", line, err)
		}
		durations = append(durations, rec.DurationMS)
	}
	if len(durations) != 2 {
		t.Fatalf("access log has %d records, want 2:\n%s", len(durations), access.String())
	}
	if d := durations[0]; d < 80 || d > 5000 {
		t.Errorf("proxied request took %v ms by the access log, want the upstream's 80 ms or a little more", d)
	}
	if d := durations[1]; d < 0 || d > 1000 {
		t.Errorf("a 404 took %v ms by the access log", d)
	}
}

// TestDateMoves: every answer's Date is the time it was sent, to the
// second, on every engine (fasthttp's response header writes it from a
// clock it refreshes; gwc sets none of its own).
func TestDateMoves(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startEngine(t, up.URL, nil)
	resp, _ := do(t, "GET", ts.base+"/nowhere", nil)
	first, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	resp, _ = do(t, "GET", ts.base+"/nowhere", nil)
	later, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		t.Fatal(err)
	}
	if d := later.Sub(first); d < time.Second || d > 4*time.Second {
		t.Errorf("Date moved by %v over 2.1 s: %s then %s", d, first, later)
	}
}
