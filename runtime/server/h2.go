package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"

	"github.com/gwcdev/gwc/runtime/proxy"
)

// HTTP/2 over TLS. The engines speak HTTP/1.1 only, so the TLS listener
// negotiates the protocol itself (ALPN): a connection that chose "h2" is
// served by golang.org/x/net/http2, whose requests are handed to the same
// gateway through a RequestCtx made for each (with the TLS connection, so
// that IsTLS, the client address and client certificates read as they do
// over HTTP/1.1); any other connection goes to the goroutine engine.

// alpnListener accepts TCP connections, completes their TLS handshakes, and
// passes HTTP/1.1 ones on through Accept.
type alpnListener struct {
	net.Listener // the TCP listener
	cfg          *tls.Config
	h1           chan net.Conn
	h2           func(*tls.Conn)
	handshake    time.Duration
	done         chan struct{}
	closeOnce    sync.Once
}

func newALPNListener(ln net.Listener, cfg *tls.Config, handshake time.Duration, h2 func(*tls.Conn)) *alpnListener {
	l := &alpnListener{Listener: ln, cfg: cfg, h1: make(chan net.Conn), h2: h2, handshake: handshake, done: make(chan struct{})}
	go l.loop()
	return l
}

func (l *alpnListener) loop() {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				l.Close() //nolint:errcheck
				return
			}
			// Out of file descriptors and the like: back off and go on, as
			// net/http does, rather than stop serving.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
			case <-l.done:
				return
			}
			continue
		}
		delay = 0
		go l.serve(c)
	}
}

func (l *alpnListener) serve(c net.Conn) {
	tc := tls.Server(c, l.cfg)
	c.SetDeadline(time.Now().Add(l.handshake)) //nolint:errcheck
	if err := tc.Handshake(); err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{}) //nolint:errcheck
	if tc.ConnectionState().NegotiatedProtocol == http2.NextProtoTLS {
		l.h2(tc)
		return
	}
	select {
	case l.h1 <- tc:
	case <-l.done:
		tc.Close()
	}
}

// Accept returns the next HTTP/1.1 connection, its handshake done.
func (l *alpnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.h1:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *alpnListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

type connKey struct{}

// h2Server serves HTTP/2 connections into the gateway.
type h2Server struct {
	s    *Server
	base *http.Server
	h2   *http2.Server
}

func newH2Server(s *Server) *h2Server {
	h := &h2Server{s: s, h2: &http2.Server{IdleTimeout: s.opts.IdleTimeout}}
	// The HTTP/1.1 engines' limits hold on HTTP/2 streams too: x/net/http2
	// takes the header list limit from MaxHeaderBytes, and bounds each
	// stream's body by ReadTimeout and its answer by WriteTimeout.
	h.base = &http.Server{Handler: http.HandlerFunc(h.serveHTTP), ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout: s.opts.ReadTimeout, WriteTimeout: s.opts.WriteTimeout, IdleTimeout: s.opts.IdleTimeout,
		MaxHeaderBytes: s.opts.MaxHeaderBytes}
	// ConfigureServer ties the HTTP/2 connections to base, whose Shutdown
	// sends them GOAWAY and lets their streams finish.
	http2.ConfigureServer(h.base, h.h2) //nolint:errcheck // fails only for a TLS config it is not given
	return h
}

func (h *h2Server) serveConn(tc *tls.Conn) {
	ctx := context.WithValue(context.Background(), connKey{}, tc)
	h.h2.ServeConn(tc, &http2.ServeConnOpts{Context: ctx, BaseConfig: h.base, Handler: h.base.Handler})
}

// hopHeaders are HTTP/1.1 connection fields HTTP/2 forbids in a response.
var hopHeaders = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "content-length": true}

// h2Ctxs recycles the RequestCtx each HTTP/2 request is served through,
// and h2Calls its upstream call.
var (
	h2Ctxs  = sync.Pool{New: func() any { return new(fasthttp.RequestCtx) }}
	h2Calls = sync.Pool{New: func() any { return new(proxy.Call) }}
)

// serveHTTP runs one HTTP/2 request through the gateway.
func (h *h2Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	tc := r.Context().Value(connKey{}).(*tls.Conn) // set by serveConn for every connection
	ctx := h2Ctxs.Get().(*fasthttp.RequestCtx)
	defer func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		h2Ctxs.Put(ctx)
	}()
	ctx.Init2(tc, nil, false)
	req := &ctx.Request
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(r.URL.RequestURI())
	req.Header.SetHost(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		n := int(r.ContentLength)
		if r.ContentLength < 0 {
			n = -1
		}
		req.SetBodyStream(r.Body, n)
	}
	// A stream reset or a connection that goes away ends r's context: the
	// upstream exchange is aborted, and the request recorded as a 499.
	call := h2Calls.Get().(*proxy.Call)
	call.Reset()
	stop := context.AfterFunc(r.Context(), call.Abort)
	gone := false
	h.s.front.Guard(ctx, func() { gone = h.s.gw.Load().Serve(ctx, call) })
	stop()
	h2Calls.Put(call)
	if gone {
		return
	}

	resp := &ctx.Response
	out := w.Header()
	for k, v := range resp.Header.All() {
		name := string(k)
		if hopHeaders[strings.ToLower(name)] || strings.EqualFold(name, "Content-Type") {
			continue
		}
		out.Add(name, string(v))
	}
	if ct := resp.Header.ContentType(); len(ct) > 0 {
		out.Set("Content-Type", string(ct))
	}
	if resp.IsBodyStream() {
		w.WriteHeader(resp.StatusCode())
		fw := flushWriter{w}
		io.Copy(fw, resp.BodyStream()) //nolint:errcheck // the client went away
		resp.CloseBodyStream()         //nolint:errcheck
		return
	}
	body := resp.Body()
	out.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode())
	if r.Method != http.MethodHead {
		w.Write(body) //nolint:errcheck // the client went away
	}
}

// flushWriter flushes after each write, so that a streamed answer reaches
// the client as it comes.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
