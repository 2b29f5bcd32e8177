// Package goroutine is the engine that serves each connection on a
// goroutine of its own, which may wait: on a slow client's body, on the
// upstream, on Redis or an authorizer. It serves TLS connections (HTTP/1.1
// after ALPN), the connections the event loops hand it (a step that waits,
// a body or an answer that streams), and plain HTTP/1.1 when asked to
// (gwc serve --engine goroutine).
//
// It frames requests with package h1, as the event loops do. A request
// body streams from the connection as the gateway reads it (a small one is
// read whole first), with its trailer section dropped; Expect: 100-continue
// is answered when the gateway first reads the body, so a request refused
// before that (413, 404, 401) gets its refusal instead of a 100. While the
// gateway waits on the upstream (from watchAfter on), the engine watches
// the connection: a client that goes away aborts the upstream exchange, and
// the request is logged as 499.
package goroutine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/engine"
	"github.com/gwcdev/gwc/runtime/h1"
	"github.com/gwcdev/gwc/runtime/problem"
	"github.com/gwcdev/gwc/runtime/proxy"
)

// smallBody is the largest request body read whole before the gateway
// sees the request; larger ones, chunked ones and those whose client waits
// for 100 Continue stream.
const smallBody = 16 << 10

// maxDrain is the most of an unread request body read and dropped after
// its answer, so that the connection can serve the next request; past it,
// the connection is closed.
const maxDrain = 64 << 10

// Engine serves connections on goroutines.
type Engine struct {
	cfg engine.Config

	mu       sync.Mutex // guards conns
	conns    map[*conn]struct{}
	stopping atomic.Bool
	wg       sync.WaitGroup
	// parsers are shared by the connections: a head is parsed at once, and
	// an idle connection holds none.
	parsers sync.Pool
}

// New returns an engine serving with cfg.
func New(cfg engine.Config) *Engine {
	e := &Engine{cfg: cfg, conns: map[*conn]struct{}{}}
	e.parsers.New = func() any { return h1.NewParser(cfg.MaxHeaderBytes) }
	return e
}

// Serve implements engine.Engine.
func (e *Engine) Serve(ln net.Listener) error {
	return engine.Accept(ln, func(c net.Conn) { e.Adopt(Handoff{Conn: c}) })
}

// Handoff is a connection passed to the engine, with where it stands.
type Handoff struct {
	Conn net.Conn
	// Rest is what was read from Conn and not used: the start of what
	// follows.
	Rest []byte
	// Ctx, when not nil, is a request read whole (its body in memory), to
	// be served first; Answered says its answer is already in
	// Ctx.Response, to be written only. Keep and HTTP10 are what its head
	// said of the connection.
	Ctx                    *fasthttp.RequestCtx
	Answered, Keep, HTTP10 bool
	// Done, when not nil, is called once Ctx's answer is written.
	Done func()
}

// Adopt serves h's connection on a goroutine of its own, to its end.
func (e *Engine) Adopt(h Handoff) {
	c := &conn{e: e, nc: h.Conn}
	e.mu.Lock()
	if e.stopping.Load() && h.Ctx == nil {
		e.mu.Unlock()
		h.Conn.Close()
		return
	}
	e.conns[c] = struct{}{}
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		c.serve(h)
	}()
}

// Shutdown implements engine.Engine.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.stopping.Store(true)
	for c := range e.conns {
		if c.idle.Load() {
			c.nc.Close()
		}
	}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		e.mu.Lock()
		for c := range e.conns {
			c.nc.Close()
		}
		e.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// conn is one connection being served.
type conn struct {
	e    *Engine
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	ctx  fasthttp.RequestCtx
	call proxy.Call
	// idle is set while the connection waits for its next request (the
	// drain closes it then).
	idle atomic.Bool
	// keep and http10 are what the request's head says of the connection.
	keep, http10 bool
	// body is the request's streamed body, nil when it has none or it was
	// read whole.
	body bodyReader
	// watching: a goroutine reads ahead to see the client go (watch);
	// watched says when it has stopped.
	watching bool
	serving  bool // the gateway has the request
	timer    *time.Timer
	watched  chan struct{}
	gone     atomic.Bool
	stopped  atomic.Bool
}

func (c *conn) serve(h Handoff) {
	e := c.e
	defer func() {
		if c.timer != nil {
			c.timer.Stop()
		}
		c.nc.Close()
		e.mu.Lock()
		delete(e.conns, c)
		e.mu.Unlock()
	}()
	var src io.Reader = c.nc
	if len(h.Rest) > 0 {
		src = &engine.PrefixReader{Rest: h.Rest, R: c.nc}
	}
	// The reader holds a whole head; answers are written through 4 KiB
	// (larger writes go straight to the connection).
	c.br = bufio.NewReaderSize(src, e.cfg.MaxHeaderBytes+4096)
	c.bw = bufio.NewWriterSize(c.nc, 4<<10)
	c.ctx.Init2(c.nc, nil, false)
	if h.Ctx != nil {
		keep := c.first(h)
		if h.Done != nil {
			h.Done()
		}
		if !keep {
			return
		}
	}
	for c.next() {
	}
}

// first serves or writes the request another engine handed over.
func (c *conn) first(h Handoff) (keep bool) {
	ctx := h.Ctx
	c.keep, c.http10 = h.Keep, h.HTTP10
	if !h.Answered {
		c.call.Reset()
		c.watch() // its body is in memory
		gone := false
		c.e.cfg.Front.Guard(ctx, func() { gone = c.e.cfg.Gateway().Serve(ctx, &c.call) })
		if c.unwatch() || gone {
			return false
		}
	}
	return c.write(ctx)
}

// next reads, serves and answers one request; false when the connection
// is done.
func (c *conn) next() bool {
	e := c.e
	ctx := &c.ctx
	ctx.Request.Reset()
	ctx.Response.Reset()
	if !c.readHead() {
		return false
	}
	if !c.readBody() {
		c.write(ctx)
		return false
	}
	c.call.Reset()
	if c.body.r == nil {
		// The body is in: the connection is the client's alone. (A body
		// that streams starts the watch when it ends.)
		c.watch()
	}
	gone := false
	c.serving = true
	e.cfg.Front.Guard(ctx, func() { gone = e.cfg.Gateway().Serve(ctx, &c.call) })
	c.serving = false
	if c.unwatch() || gone {
		return false
	}
	if !c.write(ctx) {
		return false
	}
	return c.drain()
}

// readHead waits for the next request and reads its head; false when the
// connection is done (closed, idle too long, or a head refused).
func (c *conn) readHead() bool {
	e := c.e
	cfg := &e.cfg
	// Idle until the next request's first byte: the drain closes it then.
	// Either the drain sees it idle, or it sees the drain (atomics are
	// sequentially consistent: idle is stored before stopping is loaded
	// here, stopping before idle in Shutdown).
	c.idle.Store(true)
	if e.stopping.Load() && c.br.Buffered() == 0 {
		c.idle.Store(false)
		return false
	}
	c.nc.SetReadDeadline(time.Now().Add(cfg.IdleTimeout)) //nolint:errcheck
	_, err := c.br.Peek(1)
	c.idle.Store(false)
	if err != nil || e.stopping.Load() {
		return false // closed, idle too long, or draining: no answer
	}
	c.nc.SetReadDeadline(time.Now().Add(cfg.ReadHeaderTimeout)) //nolint:errcheck
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		if skip := h1.SkipEmptyLines(buf); skip > 0 {
			c.br.Discard(skip) //nolint:errcheck // peeked
			buf = buf[skip:]
		}
		if len(buf) > 0 {
			end, err := h1.HeadEnd(buf, cfg.MaxHeaderBytes)
			if err != nil {
				cfg.Front.RefuseHead(&c.ctx, err, buf, cfg.MaxHeaderBytes)
				c.write(&c.ctx)
				return false
			}
			if end > 0 {
				p := e.parsers.Get().(*h1.Parser)
				err := p.Request(buf[:end], &c.ctx.Request.Header)
				e.parsers.Put(p)
				if err != nil {
					cfg.Front.RefuseHead(&c.ctx, err, buf, cfg.MaxHeaderBytes)
					c.write(&c.ctx)
					return false
				}
				c.br.Discard(end) //nolint:errcheck // peeked
				h := &c.ctx.Request.Header
				c.keep = !h.ConnectionClose() && (h.IsHTTP11() || bytes.EqualFold(h.Peek("Connection"), []byte("keep-alive")))
				c.http10 = !h.IsHTTP11()
				return true
			}
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil && c.br.Buffered() == len(buf) {
			if isTimeout(err) {
				cfg.Front.Refuse(&c.ctx, problem.RequestTimeout, "the request was not received in time")
				c.write(&c.ctx)
			}
			return false
		}
	}
}

// readBody readies the request's body: read whole when small and there,
// else a stream the gateway reads. false when it was refused (the answer
// is in the response).
func (c *conn) readBody() bool {
	cfg := &c.e.cfg
	req := &c.ctx.Request
	c.body = bodyReader{}
	c.nc.SetReadDeadline(time.Now().Add(cfg.ReadTimeout)) //nolint:errcheck // the body's time starts now
	limit := cfg.Gateway().MaxBody()
	cont := req.MayContinue()
	switch cl := req.Header.ContentLength(); {
	case cl == 0, cl == -2: // -2: no framing, no body
		return true
	case cl > 0 && int64(cl) > limit:
		// Past every operation's max_body: refused before it is read.
		cfg.Front.Refuse(&c.ctx, problem.BodyTooLarge, "the body is larger than any operation accepts")
		return false
	case cl > 0 && cl <= smallBody && !cont:
		buf := req.SwapBody(nil)[:0]
		if cap(buf) < cl {
			buf = make([]byte, cl)
		}
		buf = buf[:cl]
		_, err := io.ReadFull(c.br, buf)
		req.SwapBody(buf)
		if err != nil {
			if isTimeout(err) {
				cfg.Front.Refuse(&c.ctx, problem.RequestTimeout, "the request was not received in time")
			} else {
				cfg.Front.Refuse(&c.ctx, problem.BadRequest, "the body ended before its Content-Length")
			}
			return false
		}
		return true
	case cl > 0:
		c.body = bodyReader{c: c, r: io.LimitReader(c.br, int64(cl)), left: int64(cl), cont: cont}
		req.SetBodyStream(&c.body, cl)
	case cont:
		// chunked, its client waiting for 100 Continue; trailers dropped
		c.body = bodyReader{c: c, r: h1.NewChunkedReader(c.br), left: -1, cont: true}
		req.SetBodyStream(&c.body, -1)
	default:
		// chunked: read whole when small, so that a malformed one is
		// refused before anything reaches an upstream; else what was read,
		// then the rest as it comes. Trailers are dropped.
		cr := h1.NewChunkedReader(c.br)
		buf := req.SwapBody(nil)[:0]
		buf, err := readUpTo(buf, cr, smallBody+1)
		switch {
		case err == nil:
			// The header still says chunked, for the gateway's framing
			// checks; Request.Write sends a Content-Length upstream.
			req.SwapBody(buf)
		case errors.Is(err, errMore):
			c.body = bodyReader{c: c, r: io.MultiReader(bytes.NewReader(buf), cr), left: -1}
			req.SetBodyStream(&c.body, -1)
		default:
			req.SwapBody(buf)
			if isTimeout(err) {
				cfg.Front.Refuse(&c.ctx, problem.RequestTimeout, "the request was not received in time")
			} else {
				cfg.Front.Refuse(&c.ctx, problem.BadRequest, "reading the body: "+err.Error())
			}
			return false
		}
	}
	return true
}

// errMore says a body is longer than readUpTo's limit.
var errMore = errors.New("more to read")

// readUpTo appends r's bytes to buf until r ends (nil), or limit bytes are
// in (errMore), or r fails.
func readUpTo(buf []byte, r io.Reader, limit int) ([]byte, error) {
	for {
		if len(buf) >= limit {
			return buf, errMore
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// write writes the answer in ctx; false when the connection is done.
func (c *conn) write(ctx *fasthttp.RequestCtx) bool {
	cfg := &c.e.cfg
	resp := &ctx.Response
	keep := c.keep && !resp.ConnectionClose() && !cfg.Draining.Load()
	cfg.Front.Finish(ctx, keep, c.http10)
	c.nc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout)) //nolint:errcheck
	err := resp.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	resp.CloseBodyStream()             //nolint:errcheck // closing returns or drops the upstream connection
	c.nc.SetWriteDeadline(time.Time{}) //nolint:errcheck
	return err == nil && keep
}

// drain reads what the gateway left of the request's body, so that the
// next request can be read; false when there is too much, or it fails.
func (c *conn) drain() bool {
	b := &c.body
	if b.r == nil || b.done {
		return true
	}
	if b.err != nil || b.left > maxDrain || b.cont && !b.continued {
		// A client waiting for 100 Continue sends no body: what follows
		// would be its next request, or its body after all.
		return false
	}
	c.nc.SetReadDeadline(time.Now().Add(time.Second)) //nolint:errcheck
	n, err := io.Copy(io.Discard, io.LimitReader(b, maxDrain+1))
	return err == nil && n <= maxDrain && b.done
}

// watchAfter is how long the gateway serves a request before the engine
// starts watching its connection: most upstreams answer sooner, and a watch
// costs a goroutine's wake-ups and deadline changes.
const watchAfter = 20 * time.Millisecond

// watch arranges for the connection to be watched, from watchAfter on,
// while the gateway serves a request whose body is in, to see the client go
// away: a goroutine reads ahead (what it reads, a pipelined request, stays
// in the reader), and an end or an error aborts the upstream exchange
// (c.call).
func (c *conn) watch() {
	if c.watching {
		return
	}
	c.watching = true
	c.gone.Store(false)
	c.stopped.Store(false)
	if c.timer == nil {
		c.watched = make(chan struct{}, 1)
		c.timer = time.AfterFunc(watchAfter, c.watcher)
		return
	}
	c.timer.Reset(watchAfter)
}

// watcher reads ahead until the connection ends (the client went away) or
// unwatch stops it.
func (c *conn) watcher() {
	defer func() { c.watched <- struct{}{} }()
	// The body's deadline goes; unwatch's, set at any time, stays.
	c.nc.SetReadDeadline(time.Time{}) //nolint:errcheck
	if c.stopped.Load() {
		return
	}
	for {
		n := c.br.Buffered()
		if n >= c.br.Size() {
			return // full: nothing more can be watched
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			if !c.stopped.Load() {
				c.gone.Store(true)
				c.call.Abort()
			}
			return
		}
	}
}

// unwatch stops the watch, if one was arranged; true when the client went
// away meanwhile.
func (c *conn) unwatch() bool {
	if !c.watching {
		return false
	}
	c.watching = false
	if c.timer.Stop() {
		return false // it had not started
	}
	c.stopped.Store(true)
	c.nc.SetReadDeadline(aLongTimeAgo) //nolint:errcheck
	<-c.watched
	c.nc.SetReadDeadline(time.Time{}) //nolint:errcheck
	return c.gone.Load()
}

var aLongTimeAgo = time.Unix(1, 0)

// bodyReader is a request's body as it streams from the connection: its
// errors are the client's (proxy.ClientError), never an upstream's.
type bodyReader struct {
	c    *conn
	r    io.Reader
	left int64 // what the Content-Length still promises; -1 chunked
	// cont: the client waits for 100 Continue, sent at the first read.
	cont, continued bool
	done            bool
	err             error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.cont && !b.continued {
		b.continued = true
		if _, err := b.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			return 0, b.fail(err)
		}
		if err := b.c.bw.Flush(); err != nil {
			return 0, b.fail(err)
		}
	}
	n, err := b.r.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	switch {
	case err == io.EOF && b.left > 0:
		return n, b.fail(io.ErrUnexpectedEOF)
	case err == io.EOF, err == nil && b.left == 0:
		b.done = true
		if b.c.serving {
			// The body is in: from now on, the connection is watched for
			// its client going away while the answer is waited on.
			b.c.watch()
		}
		return n, io.EOF
	case err != nil:
		return n, b.fail(err)
	}
	return n, nil
}

func (b *bodyReader) fail(err error) error {
	b.err = &proxy.ClientError{Err: err}
	return b.err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
