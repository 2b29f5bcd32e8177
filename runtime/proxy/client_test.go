package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// rawTarget is an upstream on 127.0.0.1 that answers each request with the
// bytes answer gives, as they are, and counts its connections.
type rawTarget struct {
	addr  string
	conns atomic.Int32
	mu    sync.Mutex
	reqs  []string // request URIs, in order
}

func newRawTarget(t *testing.T, answer func(n int, r *http.Request) string) *rawTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	rt := &rawTarget{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rt.conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, r.Body) //nolint:errcheck
					rt.mu.Lock()
					rt.reqs = append(rt.reqs, r.RequestURI)
					n := len(rt.reqs)
					rt.mu.Unlock()
					out := answer(n, r)
					if out == "" {
						return
					}
					if out == "hang" {
						io.Copy(io.Discard, c) //nolint:errcheck // until the gateway closes
						return
					}
					closing := strings.HasSuffix(out, "|close")
					io.WriteString(c, strings.TrimSuffix(out, "|close")) //nolint:errcheck
					if closing {
						return
					}
				}
			}()
		}
	}()
	return rt
}

func get(t *testing.T, c *client, uri string, call *Call) (*fasthttp.Response, error) {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(uri)
	req.Header.SetHost("t")
	resp := new(fasthttp.Response)
	err := c.Do(req, resp, time.Now().Add(3*time.Second), call)
	return resp, err
}

func ok(body string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

func TestClientReusesOnlyWhatEndedWhereItsFramingSaid(t *testing.T) {
	rt := newRawTarget(t, func(n int, r *http.Request) string {
		switch r.URL.Path {
		case "/more":
			return ok("a") + "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
		case "/chunked":
			return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: t\r\n\r\n"
		}
		return ok(r.URL.Path)
	})
	c := newClient(rt.addr, nil)
	for i, uri := range []string{"/a", "/b", "/c"} {
		resp, err := get(t, c, uri, nil)
		if err != nil || string(resp.Body()) != uri {
			t.Fatalf("request %d: %v %q", i+1, err, resp.Body())
		}
	}
	if n := rt.conns.Load(); n != 1 {
		t.Errorf("%d connections for 3 requests, want 1 kept alive", n)
	}
	// Bytes past an answer's framing: its connection is not reused.
	if resp, err := get(t, c, "/more", nil); err != nil || string(resp.Body()) != "a" {
		t.Fatalf("/more: %v %q", err, resp.Body())
	}
	if resp, err := get(t, c, "/after", nil); err != nil || string(resp.Body()) != "/after" {
		t.Fatalf("after /more: %v %q, want its own answer", err, resp.Body())
	}
	if n := rt.conns.Load(); n != 2 {
		t.Errorf("%d connections, want a new one after the answer with bytes past its framing", n)
	}
	// A chunked answer streams, without its trailers, and its connection
	// comes back once it is read to its end.
	resp, err := get(t, c, "/chunked", nil)
	if err != nil || !resp.IsBodyStream() {
		t.Fatalf("/chunked: %v, stream %v", err, resp.IsBodyStream())
	}
	body, err := io.ReadAll(resp.BodyStream())
	resp.CloseBodyStream() //nolint:errcheck
	if err != nil || string(body) != "ok" {
		t.Fatalf("/chunked body %q, %v", body, err)
	}
	if _, err := get(t, c, "/last", nil); err != nil {
		t.Fatal(err)
	}
	if n := rt.conns.Load(); n != 2 {
		t.Errorf("%d connections, want the chunked answer's connection reused", n)
	}
}

func TestClientStaleAndQuiet(t *testing.T) {
	// The target closes every connection soon after answering, without
	// saying so: a request finds the pooled connection closed and goes out
	// on a new one.
	rt := newRawTarget(t, func(int, *http.Request) string { return ok("x") })
	c := newClient(rt.addr, nil)
	for i := 0; i < 3; i++ {
		resp, err := get(t, c, "/x", nil)
		if err != nil || string(resp.Body()) != "x" {
			t.Fatalf("request %d: %v", i+1, err)
		}
		// Close the pooled connection from the target's side.
		c.mu.Lock()
		for _, uc := range c.idle {
			uc.c.(*net.TCPConn).CloseRead() //nolint:errcheck
		}
		c.mu.Unlock()
	}
	// An idle connection that speaks is not reused either.
	spoke := newRawTarget(t, func(int, *http.Request) string { return ok("y") + "HTTP/1.1 200 OK\r\n" })
	c = newClient(spoke.addr, nil)
	get(t, c, "/1", nil) //nolint:errcheck
	time.Sleep(50 * time.Millisecond)
	if resp, err := get(t, c, "/2", nil); err != nil || string(resp.Body()) != "y" {
		t.Fatalf("after an idle connection spoke: %v %q", err, resp.Body())
	}
	if n := spoke.conns.Load(); n != 2 {
		t.Errorf("%d connections, want a new one", n)
	}
}

func TestClientAbort(t *testing.T) {
	rt := newRawTarget(t, func(int, *http.Request) string { return "hang" })
	c := newClient(rt.addr, nil)
	call := new(Call)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := get(t, c, "/slow", call)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	call.Abort()
	select {
	case err := <-done:
		if !errors.Is(err, ErrAborted) {
			t.Errorf("Do: %v, want ErrAborted", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("aborted after %v", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Abort did not end the exchange")
	}
	if k, f := classify(ErrAborted); f != Aborted || k != "" {
		t.Errorf("classify(ErrAborted) = %q %v", k, f)
	}
}

func TestClientAnswersThatAreNotAnswers(t *testing.T) {
	rt := newRawTarget(t, func(_ int, r *http.Request) string {
		switch r.URL.Path {
		case "/short":
			return "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc|close"
		case "/bare-lf":
			return "HTTP/1.1 200 OK\nContent-Length: 1\n\nx"
		case "/cl-te":
			return "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		case "/switch":
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"
		case "/interim":
			return "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok("final")
		}
		return ""
	})
	c := newClient(rt.addr, nil)
	for _, path := range []string{"/short", "/bare-lf", "/cl-te", "/switch", "/hangup"} {
		if resp, err := get(t, c, path, nil); err == nil {
			t.Errorf("%s: answered %d %q, want an error", path, resp.StatusCode(), resp.Body())
		} else if f := func() Failure { _, f := classify(err); return f }(); f != Broken {
			t.Errorf("%s: %v classified %v, want Broken", path, err, f)
		}
	}
	if resp, err := get(t, c, "/interim", nil); err != nil || string(resp.Body()) != "final" {
		t.Errorf("an interim answer, then the final one: %v %q", err, resp.Body())
	}
	if !strings.Contains(fmt.Sprint(ErrAnswer), "malformed") {
		t.Error(ErrAnswer)
	}
}

// TestClientReusesTLSConnections: a TLS upstream's records that are not an
// answer (TLS 1.3 session tickets, sent after the handshake) do not make a
// pooled connection look as if it had spoken.
func TestClientReusesTLSConnections(t *testing.T) {
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tls") //nolint:errcheck
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	c := newClient(ts.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "example.com", MinVersion: tls.VersionTLS13})
	for i := 0; i < 4; i++ {
		resp, err := get(t, c, "/", nil)
		if err != nil || string(resp.Body()) != "tls" {
			t.Fatalf("request %d: %v %q", i+1, err, resp.Body())
		}
		time.Sleep(20 * time.Millisecond) // the tickets arrive
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d TLS connections for 4 requests, want 1 kept alive", n)
	}
}
