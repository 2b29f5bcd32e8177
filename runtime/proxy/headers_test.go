package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/valyala/fasthttp"
)

// parse reads a raw request header as the server does.
func parse(t *testing.T, raw string) *fasthttp.RequestHeader {
	t.Helper()
	var h fasthttp.RequestHeader
	if err := h.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatalf("parsing %q: %v", raw, err)
	}
	return &h
}

func TestCheckRequest(t *testing.T) {
	tests := []struct {
		raw     string
		problem string
		hop     HopSet
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\nX-Ok: 1\r\n\r\n", "", 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n", BadHeaderName, 0},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\ncontent-length: 3\r\n\r\n", CLAndTE, hopBit([]byte("Transfer-Encoding"))},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", "", 0},
		{"GET / HTTP/1.1\r\nHost: a\nX-Ok: 1\r\n\r\n", BareLF, 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nconnection: keep-alive, X-Hop\r\nTE: trailers\r\nproxy-authorization: x\r\n\r\n", "",
			hopBit([]byte("Connection")) | hopBit([]byte("Te")) | hopBit([]byte("Proxy-Authorization"))},
	}
	for _, tt := range tests {
		c := CheckRequest(parse(t, tt.raw))
		if c.Problem != tt.problem || c.Hop != tt.hop {
			t.Errorf("%q: got %+v, want problem %q hop %b", tt.raw, c, tt.problem, tt.hop)
		}
	}
}

func TestStripHop(t *testing.T) {
	h := parse(t, "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"+
		"TE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\nX-Keep: yes\r\n\r\n")
	StripRequestHop(h, CheckRequest(h).Hop)
	for _, k := range []string{"Connection", "X-Hop", "Keep-Alive", "Te", "Upgrade", "Proxy-Authorization"} {
		if v := h.Peek(k); v != nil {
			t.Errorf("request %s: %q kept", k, v)
		}
	}
	if string(h.Peek("X-Keep")) != "yes" {
		t.Error("an end-to-end header was removed")
	}

	var r fasthttp.ResponseHeader
	if err := r.Read(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive, X-Up\r\n" +
		"X-Up: 1\r\nKeep-Alive: timeout=5\r\nX-Keep: yes\r\n\r\n"))); err != nil {
		t.Fatal(err)
	}
	StripResponseHop(&r)
	for _, k := range []string{"Connection", "X-Up", "Keep-Alive"} {
		if v := r.Peek(k); len(v) > 0 {
			t.Errorf("response %s: %q kept", k, v)
		}
	}
	if string(r.Peek("X-Keep")) != "yes" {
		t.Error("an end-to-end response header was removed")
	}
}

func TestSetForwarded(t *testing.T) {
	raw := "GET / HTTP/1.1\r\nHost: api.example.com\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nForwarded: for=10.0.0.1\r\n\r\n"
	for _, tt := range []struct {
		peer          string
		trusted       bool
		xff, proto, f string
	}{
		{"192.0.2.1", false, "192.0.2.1", "http", "for=192.0.2.1;proto=http;host=api.example.com"},
		{"192.0.2.1", true, "10.0.0.1, 192.0.2.1", "https", "for=10.0.0.1, for=192.0.2.1;proto=http;host=api.example.com"},
		{"2001:db8::1", false, "2001:db8::1", "http", `for="[2001:db8::1]";proto=http;host=api.example.com`},
	} {
		h := parse(t, raw)
		SetForwarded(h, Forwarded{Peer: netip.MustParseAddr(tt.peer), Trusted: tt.trusted, Proto: "http"}, h.Host())
		got := [3]string{string(h.Peek("X-Forwarded-For")), string(h.Peek("X-Forwarded-Proto")), string(h.Peek("Forwarded"))}
		if want := [3]string{tt.xff, tt.proto, tt.f}; got != want {
			t.Errorf("peer %s trusted %v: got %q, want %q", tt.peer, tt.trusted, got, want)
		}
	}
	// A Host a client controls is left out of Forwarded rather than quoted.
	h := parse(t, "GET / HTTP/1.1\r\nHost: a\"b\r\n\r\n")
	SetForwarded(h, Forwarded{Peer: netip.MustParseAddr("192.0.2.1"), Proto: "http"}, h.Host())
	if f := string(h.Peek("Forwarded")); f != "for=192.0.2.1;proto=http" {
		t.Errorf("Forwarded %q", f)
	}
}

func TestLimitReader(t *testing.T) {
	for _, tt := range []struct {
		n, limit int
		err      error
	}{{10, 10, nil}, {11, 10, ErrBodyTooLarge}, {0, 0, nil}, {1, 0, ErrBodyTooLarge}} {
		got, err := io.ReadAll(&LimitReader{R: strings.NewReader(strings.Repeat("x", tt.n)), N: int64(tt.limit)})
		if !errors.Is(err, tt.err) || (err == nil && len(got) != tt.n) {
			t.Errorf("%d bytes, limit %d: %d bytes, %v", tt.n, tt.limit, len(got), err)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		err  error
		kind string
		f    Failure
	}{
		{nil, "", OK},
		{&net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, "connect-error", Connect},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "connect-error", Connect},
		{ErrNoFreeConns, "connect-error", Connect},
		{ErrTimeout, "timeout", Timeout},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout", Timeout},
		{ErrBodyTooLarge, "", BodyTooLarge},
		{fmt.Errorf("writing: %w", &ClientError{Err: io.ErrUnexpectedEOF}), "", ClientFailed},
		{ErrAborted, "", Aborted},
		{io.ErrUnexpectedEOF, "", Broken},
		{fmt.Errorf("%w: bad", ErrAnswer), "", Broken},
	} {
		if k, f := classify(tt.err); k != tt.kind || f != tt.f {
			t.Errorf("%v: %q %v, want %q %v", tt.err, k, f, tt.kind, tt.f)
		}
	}
}

// checkLines is CheckRequest as it was first written, line by line: the
// reference FuzzCheckRaw holds checkRaw's single pass to.
func checkLines(raw []byte, chunked bool) Check {
	var c Check
	for len(raw) > 0 {
		line, bare := raw, false
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
			bare = i == 0 || line[i-1] != '\r'
		} else {
			raw = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			if bare {
				c.Problem = BareLF
				return c
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			c.Problem = BadHeaderName
			return c
		}
		name := line[:colon]
		for _, b := range name {
			if !tchar[b] {
				c.Problem = BadHeaderName
				return c
			}
		}
		if chunked && bytes.EqualFold(name, []byte("Content-Length")) {
			c.Problem = CLAndTE
			return c
		}
		for i, k := range hopHeaders {
			if bytes.EqualFold(name, []byte(k)) {
				c.Hop |= 1 << i
			}
		}
		if bytes.EqualFold(name, []byte("Expect")) {
			c.Expect = true
		}
		if bytes.EqualFold(name, []byte("Authorization")) {
			c.Authorizations++
		}
		if bare {
			c.Problem = BareLF
			return c
		}
	}
	return c
}

func FuzzCheckRaw(f *testing.F) {
	for _, s := range []string{
		"Host: a\r\nX-Ok: 1\r\n", "Host: a\r\nBad Name: 1\r\n", "Transfer-Encoding: chunked\r\ncontent-length: 3\r\n",
		"connection: keep-alive, X-Hop\r\nTE: trailers\r\nproxy-authorization: x\r\n", "Expect: 100-continue\r\n",
		"A: b\r\n c\r\n\td\r\n", ":x\r\n", "\r\r\n", "x\r\n", "\rX: 1\r\n", "X: 1\r", "X: 1", "\n\nUpgrade: h2c\n", "A: 1\nB: 2\r\n", "A: 1\r\n\n",
		"Authorization: a\r\nauthorization: b\r\n",
		"Keep-Alive: 1\r\nTrailer: x\r\nProxy-Connection: y\r\nProxy-Authenticate: z\r\n", "X-\u00e9: 1\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, chunked bool) {
		if got, want := checkRaw(raw, chunked), checkLines(raw, chunked); got != want {
			t.Fatalf("checkRaw(%q, %v) = %+v, the line-by-line check %+v", raw, chunked, got, want)
		}
	})
}
