// Package loop is gwc serve's event-loop engine: HTTP/1.1 on gnet's event
// loops, as nginx serves, instead of a goroutine per connection; the
// default for plain HTTP/1.1. A connection and the upstream connections its
// requests go out on belong to one loop, whose goroutine parses the request
// (package h1, fasthttp's header types), runs the gateway's steps
// (Gateway.ServeAsync), writes the upstream request, parses the answer and
// writes it back, without parking a goroutine on the way.
//
// What the loop does not do itself it hands, with the connection, to the
// goroutine engine (package goroutine; the connection's socket taken off
// the loop), which then serves the connection to its end: a request to an
// operation with a step that may wait on something else (Redis, an
// authorizer, a JWKS fetch, bcrypt, the response cache, an https upstream);
// a request body over loopBody that is not in yet; an answer that streams
// (chunked or until close, not in whole with its header) or is over
// loopAnswer. The loop holds everything else whole in memory, which is what
// makes it fast: small requests and answers, one read and one write each.
//
// The public listener stays Go's: accepted connections are handed to the
// loops (gnet's Engine.Register), which keeps the address, its errors and
// Addr as they are for the goroutine engine. gnet itself listens only on a
// unix socket in a private temporary directory, which nothing connects to.
package loop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/engine"
	"github.com/gwcdev/gwc/runtime/engine/goroutine"
	"github.com/gwcdev/gwc/runtime/gateway"
	"github.com/gwcdev/gwc/runtime/h1"
	"github.com/gwcdev/gwc/runtime/problem"
	"github.com/gwcdev/gwc/runtime/proxy"
)

// What one client connection may hold in memory on a loop, together
// bounded by MaxConnMemory (docs/security.md): a request body and an answer
// are held whole up to loopBody and loopAnswer (larger ones stream, on the
// goroutine engine, which reads and writes as the peers do); a connection's
// unwritten answers past maxOutbound stop the loop from reading its next
// requests (a client that does not read), until half of them are out; and
// a client that sends more than maxInbound ahead of what was served is
// closed (gnet reads every readable socket, and cannot leave bytes in the
// kernel as a goroutine that stops reading does).
const (
	loopBody    = 256 << 10
	loopAnswer  = 256 << 10
	maxOutbound = 256 << 10
)

// maxInbound is the most a client may have sent that is not served yet: a
// head and a body of the largest sizes the loop holds, and room for the
// next request's head.
func (e *Engine) maxInbound() int { return 2*e.cfg.MaxHeaderBytes + loopBody }

// maxAnswerHead bounds an upstream answer's head.
const maxAnswerHead = 64 << 10

// MaxConnMemory bounds the buffers one client connection holds: its head
// and body (maxInbound), one answer held whole and the unwritten answers
// behind it (loopAnswer and maxOutbound, each possibly held twice while it
// is copied), with the default 16 KiB header limit.
const MaxConnMemory = 2 << 20

// maxIdleUpstream is how many idle connections a loop keeps per upstream
// target; upstreamIdle is how long one is kept.
const (
	maxIdleUpstream = 512
	upstreamIdle    = proxy.IdleTimeout
)

// MaxLoops is the most event loops an engine may run (gnet's own limit).
const MaxLoops = 256

// Engine is the event-loop engine.
type Engine struct {
	gnet.BuiltinEventEngine
	cfg      engine.Config
	loops    int
	adopt    func(goroutine.Handoff)
	eng      gnet.Engine
	dir      string // holds gnet's own socket
	booted   chan struct{}
	failed   chan struct{} // closed when the loops could not start
	bootOnce sync.Once

	mu     sync.Mutex
	states map[gnet.EventLoop]*loopState

	// active counts the requests being served, for the drain.
	active atomic.Int64
}

// loopState is what one event loop owns; only its goroutine touches it.
type loopState struct {
	e  *Engine
	el gnet.EventLoop
	// current is the connection in OnTraffic; closeCurrent asks OnTraffic
	// to close it when it returns.
	current      gnet.Conn
	closeCurrent bool
	clients      map[*clientConn]struct{}
	idle         map[string]*idlePool // by target address
	// scratch for parsing and writing
	parser  *h1.Parser
	bw      *bufio.Writer
	chunked []byte
	// now is the time at the start of the event being handled, read once
	// per event (tick): the connections' timeouts and the gateway's
	// timings (gateway.Sender.Now) take it.
	now time.Time
}

// tick reads the clock for the event that starts.
func (ls *loopState) tick() { ls.now = time.Now() }

// clientConn is one client connection.
type clientConn struct {
	c  gnet.Conn
	ls *loopState
	// ctx is the request in progress, reused for each of the connection's.
	ctx fasthttp.RequestCtx
	// busy: a request is being served (on the loop, upstream, or on a
	// goroutine); nothing more is read meanwhile.
	busy bool
	// hdr is the length of the request's header once it is parsed (the body
	// is still to come), 0 before.
	hdr int
	// since is when the connection went idle, its request's first byte
	// came (reading), or its header was in (hdr > 0).
	since        time.Time
	reading      bool
	sentContinue bool
	closed       bool
	inProcess    bool
	// keep: the client keeps the connection after this request; http10:
	// it spoke HTTP/1.0.
	keep, http10 bool
	// stalled: its answers are not read (over maxOutbound), so its requests
	// are not either; outSince is since when answers have been waiting to
	// be written (the write timeout).
	stalled  bool
	outSince time.Time

	// x is the request with its upstream, on up; reused says up came from
	// the idle pool, retried that the request was sent again on a fresh
	// connection after a pooled one failed before answering.
	x       *gateway.Exchange
	up      *upConn
	reused  bool
	retried bool

	// handoff, when set, waits for the connection's answers to be written
	// out before the connection goes to the goroutine engine, which goes on
	// from where it stands.
	handoff *goroutine.Handoff
}

// idlePool is a loop's idle connections to one target address.
type idlePool []*upConn

// upConn is one upstream connection.
type upConn struct {
	c     gnet.Conn
	ls    *loopState
	pool  *idlePool   // its loop's pool for its target address
	owner *clientConn // the request it carries; nil when idle
	since time.Time   // idle since
	// the answer being read
	hdr     int  // header length once parsed
	cl      int  // its Content-Length: -1 chunked, -2 until close
	head    bool // no body (HEAD, 1xx, 204, 304)
	got     bool // some of the answer arrived
	closing bool
}

// New returns an engine of loops event loops (0: one per CPU Go may use)
// serving with cfg, which hands what it does not serve itself to adopt.
func New(cfg engine.Config, loops int, adopt func(goroutine.Handoff)) (*Engine, error) {
	if loops < 0 || loops > MaxLoops {
		return nil, fmt.Errorf("%d event loops: want 0 (one per CPU) to %d", loops, MaxLoops)
	}
	dir, err := os.MkdirTemp("", "gwc-loop-")
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, loops: loops, adopt: adopt, dir: dir, booted: make(chan struct{}), failed: make(chan struct{}),
		states: map[gnet.EventLoop]*loopState{}}
	spareP(e.Loops())
	return e, nil
}

// spareP makes Go's P count (GOMAXPROCS) at least one more than the loops.
// A loop waits for its events in epoll_wait, a blocking system call of
// gnet's, not in Go's netpoller. While every P is in such a call, Go's
// monitor thread (sysmon) takes a P away from its waiting loop after 20 µs
// and hands it on; when the wait returns, the loop's thread must find a P
// again, often by parking and waking another thread (futexes, context
// switches) and going on there, and the monitor, busy retaking, keeps
// waking every 20 µs. It does not retake while a P is idle. With one P
// to spare, each loop comes back to its own P, and what is not a loop (the
// garbage collector's workers, dials, health checks, the connections handed
// to the goroutine engine) runs beside the loops instead of taking their Ps.
// The spare P is idle most of the time: CPU use is still bounded by the
// loops' threads and the container's CPU limit. Setting GOMAXPROCS stops Go
// from following later changes of that limit, which the loops, counted at
// start, do not follow either.
func spareP(loops int) {
	if runtime.GOMAXPROCS(0) < loops+1 {
		runtime.GOMAXPROCS(loops + 1)
	}
}

// Loops is how many event loops run: as New was asked, or one per CPU Go
// may use (GOMAXPROCS as the process started with it, which follows a
// container's CPU limit, before spareP raised it; gnet's own default is
// every CPU of the machine).
func (e *Engine) Loops() int {
	if e.loops > 0 {
		return e.loops
	}
	return startProcs()
}

// startProcs is GOMAXPROCS as it was when the first loop engine was made.
var startProcs = sync.OnceValue(func() int { return runtime.GOMAXPROCS(0) })

// Serve implements engine.Engine: it starts the loops and hands them the
// listener's connections until ln is closed.
func (e *Engine) Serve(ln net.Listener) error {
	errc := make(chan error, 1)
	go func() {
		errc <- gnet.Run(e, "unix://"+filepath.Join(e.dir, "gnet.sock"),
			gnet.WithMulticore(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithLoadBalancing(gnet.LeastConnections), gnet.WithLogger(gnetLogger{e.cfg.Log}),
			gnet.WithTicker(true), gnet.WithNumEventLoop(e.Loops()))
	}()
	select {
	case <-e.booted:
	case err := <-errc:
		os.RemoveAll(e.dir)
		close(e.failed)
		return fmt.Errorf("starting the event loops: %w", err)
	}
	return engine.Accept(ln, func(c net.Conn) {
		if _, err := e.eng.Register(gnet.NewNetConnContext(context.Background(), c)); err != nil {
			c.Close()
		}
	})
}

// Shutdown implements engine.Engine: it waits until no request is being
// served or ctx ends (the sweep closes idle connections meanwhile), then
// stops the loops, closing every connection.
func (e *Engine) Shutdown(ctx context.Context) error {
	// The loops may be starting still (a server stopped at once).
	select {
	case <-e.booted:
	case <-e.failed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	var err error
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for e.active.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-t.C:
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.eng.Stop(sctx) //nolint:errcheck // the loops are gone either way
	os.RemoveAll(e.dir)
	return err
}

func (e *Engine) OnBoot(eng gnet.Engine) gnet.Action {
	e.eng = eng
	return gnet.None
}

// OnTick sweeps every loop, on that loop: deadlines, timeouts, idle
// connections, the drain. Its first call, once the loops run (OnBoot comes
// before), lets run hand them connections.
func (e *Engine) OnTick() (time.Duration, gnet.Action) {
	e.bootOnce.Do(func() { close(e.booted) })
	e.cfg.Front.Tick(time.Now())
	e.mu.Lock()
	for el, ls := range e.states {
		el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error { //nolint:errcheck // the engine is stopping
			ls.sweep(time.Now()) // sets ls.now
			return nil
		}))
	}
	e.mu.Unlock()
	return 100 * time.Millisecond, gnet.None
}

func (e *Engine) state(c gnet.Conn) *loopState {
	el := c.EventLoop()
	e.mu.Lock()
	defer e.mu.Unlock()
	ls := e.states[el]
	if ls == nil {
		ls = &loopState{e: e, el: el, clients: map[*clientConn]struct{}{}, idle: map[string]*idlePool{}}
		// Large enough for any head the limits allow, an upstream's too.
		ls.parser = h1.NewParser(max(e.cfg.MaxHeaderBytes, maxAnswerHead))
		// Writes go to the connection as the buffer fills (gnet keeps what
		// the socket does not take): an answer of up to 16 KiB is one write.
		ls.bw = bufio.NewWriterSize(nil, 16<<10)
		e.states[el] = ls
	}
	return ls
}

func (e *Engine) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if up, ok := c.Context().(*upConn); ok {
		up.c = c
		up.ls.tick()
		if up.closing {
			// Its request timed out while it was dialled.
			return nil, gnet.Close
		}
		if cc := up.owner; cc != nil {
			cc.send(up)
		} else {
			up.release()
		}
		return nil, gnet.None
	}
	ls := e.state(c)
	ls.tick()
	cc := &clientConn{c: c, ls: ls, since: ls.now}
	cc.ctx.Init2(addrConn{local: c.LocalAddr(), remote: c.RemoteAddr()}, nil, false)
	c.SetContext(cc)
	ls.clients[cc] = struct{}{}
	return nil, gnet.None
}

func (e *Engine) OnTraffic(c gnet.Conn) gnet.Action {
	var ls *loopState
	switch v := c.Context().(type) {
	case *clientConn:
		ls = v.ls
		ls.current = c
		ls.tick()
		if c.InboundBuffered() > e.maxInbound() && (v.busy || v.stalled) {
			// Sending ahead of what is served, and past what the loop
			// holds: its bytes cannot be left unread.
			v.closed = true
			ls.current = nil
			return gnet.Close
		}
		v.process()
	case *upConn:
		ls = v.ls
		ls.current = c
		ls.tick()
		v.read()
	default:
		return gnet.Close
	}
	ls.current = nil
	if ls.closeCurrent {
		ls.closeCurrent = false
		return gnet.Close
	}
	return gnet.None
}

// detach closes c on the loop at once, without gnet reading from it again
// (its socket, duplicated, lives on elsewhere): the connection in OnTraffic
// is closed when OnTraffic returns, before any other read.
func (ls *loopState) detach(c gnet.Conn) {
	c.SetContext(nil)
	if c == ls.current {
		ls.closeCurrent = true
		return
	}
	ls.el.Close(c) //nolint:errcheck // it is gone either way
}

func (e *Engine) OnClose(c gnet.Conn, err error) gnet.Action {
	switch v := c.Context().(type) {
	case *clientConn:
		v.closed = true
		delete(v.ls.clients, v)
		if x := v.x; x != nil {
			// Its request is with the upstream: the call is dropped (its
			// connection closed, so that the upstream may stop too) and the
			// request is recorded as 499. A request being answered in this
			// event finishes, and its answer is dropped.
			v.ls.tick()
			if up := v.up; up != nil {
				up.owner = nil
				up.close()
			}
			v.x, v.up = nil, nil
			e.cfg.Front.Guard(&v.ctx, x.Abandon)
			e.active.Add(-1)
		}
	case *upConn:
		v.ls.tick()
		v.closed(err)
	}
	return gnet.None
}

// process reads and serves the requests in the connection's buffer, one
// at a time.
func (cc *clientConn) process() {
	if cc.inProcess {
		return // respond, from a request served in the loop below
	}
	cc.inProcess = true
	defer func() { cc.inProcess = false }()
	for !cc.busy && !cc.closed {
		if cc.c.OutboundBuffered() > maxOutbound {
			cc.stalled = true
			return
		}
		buf, _ := cc.c.Peek(-1)
		if len(buf) == 0 {
			return
		}
		if !cc.reading {
			// A request's first byte: its header's time starts.
			cc.reading, cc.since = true, cc.ls.now
		}
		if !cc.next(buf) {
			return
		}
	}
}

// next parses the request at the start of buf and serves it once it is
// whole; false when it is not yet, or the connection is done.
func (cc *clientConn) next(buf []byte) bool {
	cfg := &cc.ls.e.cfg
	req := &cc.ctx.Request
	if cc.hdr == 0 {
		// Empty lines before a request line are ignored (RFC 9112 §2.2).
		if skip := h1.SkipEmptyLines(buf); skip > 0 {
			cc.c.Discard(skip) //nolint:errcheck // what Peek returned is there
			buf = buf[skip:]
		}
		if len(buf) == 0 {
			cc.reading = false
			return false
		}
		end, err := h1.HeadEnd(buf, cfg.MaxHeaderBytes)
		if err == nil && end > 0 {
			err = cc.ls.parser.Request(buf[:end], &req.Header)
		}
		if err != nil {
			cc.refuseHead(err, buf)
			return false
		}
		if end == 0 {
			return false
		}
		end -= 4
		// The body's time starts with the header in.
		cc.hdr, cc.since = end+4, cc.ls.now
		// Whether the client keeps the connection, before the gateway
		// strips Connection from what goes upstream.
		cc.keep = !req.Header.ConnectionClose() &&
			(req.Header.IsHTTP11() || bytes.EqualFold(req.Header.Peek("Connection"), []byte("keep-alive")))
		cc.http10 = !req.Header.IsHTTP11()
	}
	limit := cfg.Gateway().MaxBody()
	switch cl := req.Header.ContentLength(); {
	case cl > 0:
		if int64(cl) > limit {
			cc.refuse(problem.BodyTooLarge, fmt.Sprintf("the body is %d bytes; no operation accepts more than %d", cl, limit))
			return false
		}
		if len(buf) < cc.hdr+cl {
			if cl > loopBody {
				cc.streamRequest()
				return false
			}
			cc.maybeContinue()
			return false
		}
		req.SetBody(buf[cc.hdr : cc.hdr+cl])
		cc.c.Discard(cc.hdr + cl) //nolint:errcheck
	case cl == -1: // chunked
		body, n, done, err := h1.DecodeChunked(cc.ls.chunked[:0], buf[cc.hdr:], int(limit))
		cc.ls.chunked = body
		switch {
		case errors.Is(err, h1.ErrTooLarge):
			// Past the limit is past every operation's max_body.
			cc.refuse(problem.BodyTooLarge, fmt.Sprintf("the body is larger than any operation accepts (%d bytes)", limit))
			return false
		case err != nil:
			cc.refuse(problem.BadRequest, "reading the body: "+err.Error())
			return false
		case !done:
			if len(buf)-cc.hdr > loopBody {
				cc.streamRequest()
				return false
			}
			cc.maybeContinue()
			return false
		}
		// The header still says chunked, for the gateway's framing checks;
		// what goes upstream has a Content-Length (Request.Write).
		req.SetBody(body)
		cc.c.Discard(cc.hdr + n) //nolint:errcheck
	default:
		cc.c.Discard(cc.hdr) //nolint:errcheck
	}
	cc.hdr, cc.reading = 0, false
	cc.serve()
	return true
}

// maybeContinue answers Expect: 100-continue once the head is in and the
// body is not, unless the gateway would refuse the request on its head
// alone (no route, a length past its operation's max_body): it is then
// served at once, without the body its client has not sent, and the
// connection is closed after. false when it was served.
func (cc *clientConn) maybeContinue() bool {
	if cc.sentContinue || !cc.ctx.Request.MayContinue() {
		return true
	}
	if !cc.ls.e.cfg.Gateway().WantsBody(&cc.ctx) {
		cc.c.Discard(cc.hdr) //nolint:errcheck // the head is in the buffer
		cc.hdr, cc.reading, cc.keep = 0, false, false
		cc.serve()
		return false
	}
	cc.sentContinue = true
	cc.c.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")) //nolint:errcheck // a closed connection ends the request
	return true
}

// refuse answers a request the engine could not read, and closes.
func (cc *clientConn) refuse(reason problem.Reason, detail string) {
	cc.busy = true
	cc.ls.e.cfg.Front.Refuse(&cc.ctx, reason, detail)
	cc.ls.e.active.Add(1)
	cc.respond()
}

// refuseHead answers a request whose head could not be read, and closes.
func (cc *clientConn) refuseHead(err error, buf []byte) {
	cc.busy = true
	cc.ls.e.cfg.Front.RefuseHead(&cc.ctx, err, buf, cc.ls.e.cfg.MaxHeaderBytes)
	cc.ls.e.active.Add(1)
	cc.respond()
}

// serve runs the parsed request through the gateway.
func (cc *clientConn) serve() {
	e := cc.ls.e
	cc.busy = true
	e.active.Add(1)
	g := e.cfg.Gateway()
	var out gateway.Outcome
	if !cc.guard(func() { out = g.ServeAsync(&cc.ctx, cc) }) {
		cc.respond()
		return
	}
	switch out {
	case gateway.Answered:
		cc.respond()
	case gateway.Waits:
		// Served by the goroutine engine, with the connection.
		cc.handOff(&goroutine.Handoff{Ctx: &cc.ctx, Keep: cc.keep, HTTP10: cc.http10, Done: cc.doneElsewhere})
	}
}

// doneElsewhere counts the end of a request the goroutine engine finished.
func (cc *clientConn) doneElsewhere() { cc.ls.e.active.Add(-1) }

// streamRequest hands the connection, its request not yet read, to the
// goroutine engine, which streams the body.
func (cc *clientConn) streamRequest() {
	cc.busy = true
	cc.hdr, cc.reading = 0, false
	cc.ctx.Request.Reset()
	cc.handOff(&goroutine.Handoff{})
}

// handOff takes the connection off the loop and serves it on the goroutine
// engine, from where h says it stands; the bytes the loop had read and not
// used are read again there. The hand-off waits until the answers written
// so far are out.
func (cc *clientConn) handOff(h *goroutine.Handoff) {
	cc.busy = true
	cc.handoff = h
	if cc.c.OutboundBuffered() == 0 {
		cc.doHandOff()
	} // else sweep tries again
}

func (cc *clientConn) doHandOff() {
	h := cc.handoff
	cc.handoff = nil
	e := cc.ls.e
	conn, err := dupConn(cc.c)
	if err != nil {
		e.cfg.Log.Warn("handing a connection to the goroutine engine failed", "error", err)
		if h.Done != nil {
			h.Done() // its request is dropped with the connection
		}
		cc.closed = true
		cc.c.Close() //nolint:errcheck
		return
	}
	buf, _ := cc.c.Peek(-1)
	h.Conn, h.Rest = conn, bytes.Clone(buf)
	cc.closed = true
	delete(cc.ls.clients, cc)
	cc.ls.detach(cc.c)
	e.adopt(*h)
}

// dupConn is a net.Conn on a duplicate of c's socket, which lives on once
// the loop closes c (detach).
func dupConn(c gnet.Conn) (net.Conn, error) {
	fd, err := c.Dup()
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "socket")
	defer f.Close()
	return net.FileConn(f)
}

// guard runs f with the front's panic guard; false when f panicked, its
// exchange then dropped.
func (cc *clientConn) guard(f func()) bool {
	if cc.ls.e.cfg.Front.Guard(&cc.ctx, f) {
		return true
	}
	cc.x, cc.up = nil, nil
	return false
}

// Now implements gateway.Sender: the time of the loop's event.
func (cc *clientConn) Now() time.Time { return cc.ls.now }

// Send implements gateway.Sender: on a pooled idle connection to x's
// target, or a new one.
func (cc *clientConn) Send(x *gateway.Exchange) {
	cc.x = x
	cc.retried = false
	cc.dispatch(false)
}

// dispatch sends cc.x on a connection; fresh asks for a new one.
func (cc *clientConn) dispatch(fresh bool) {
	ls := cc.ls
	addr := cc.x.Addr()
	pool := ls.idle[addr]
	if pool == nil {
		pool = new(idlePool)
		ls.idle[addr] = pool
	}
	for idle := *pool; !fresh && len(idle) > 0; idle = *pool {
		up := idle[len(idle)-1]
		*pool = idle[:len(idle)-1]
		if up.c.InboundBuffered() > 0 {
			// It spoke while idle, and nothing was asked of it.
			up.close()
			continue
		}
		up.owner = cc
		cc.reused = true
		cc.send(up)
		return
	}
	cc.reused = false
	up := &upConn{ls: ls, pool: pool, owner: cc}
	cc.up = up
	timeout := min(time.Until(cc.x.Deadline()), 10*time.Second)
	go func() {
		c, err := net.DialTimeout("tcp", addr, max(timeout, time.Millisecond))
		if err == nil {
			_, err = ls.el.Enroll(gnet.NewContext(context.Background(), up), c)
			if err != nil {
				c.Close()
			}
		}
		if err != nil {
			ls.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error { //nolint:errcheck
				ls.tick()
				if cc := up.owner; cc != nil {
					up.owner = nil
					cc.answered(err)
				}
				return nil
			}))
		}
	}()
}

// send writes the request on up.
func (cc *clientConn) send(up *upConn) {
	cc.up = up
	up.hdr, up.cl, up.head, up.got = 0, 0, false, false
	req := cc.x.Request()
	ls := cc.ls
	ls.bw.Reset(up.c)
	err := req.Write(ls.bw)
	if err == nil {
		err = ls.bw.Flush()
	}
	if err != nil {
		up.owner = nil
		up.close()
		if cc.reused && !cc.retried && proxy.Repeatable(cc.x.Request()) {
			// A pooled connection found dead as it was written to.
			cc.retried = true
			cc.dispatch(true)
			return
		}
		// Not from here: send may run inside Send, inside ServeAsync, which
		// must return before the request is finished.
		cc.ls.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error { //nolint:errcheck // stopping: the connection is closed
			cc.ls.tick()
			cc.answered(err)
			return nil
		}))
	}
}

// answered finishes an attempt: the answer is in the response, or err.
func (cc *clientConn) answered(err error) {
	cc.up = nil
	x := cc.x
	var again bool
	if !cc.guard(func() { again = x.Answered(err) }) {
		cc.respond()
		return
	}
	if again {
		cc.retried = false
		cc.dispatch(false)
		return
	}
	cc.x = nil
	cc.respond()
}

// respond writes the response and goes on to the next request.
func (cc *clientConn) respond() {
	e := cc.ls.e
	defer e.active.Add(-1)
	req, resp := &cc.ctx.Request, &cc.ctx.Response
	keep := cc.keep && !resp.ConnectionClose() && !e.cfg.Draining.Load() && !cc.closed
	e.cfg.Front.Finish(&cc.ctx, keep, cc.http10)
	if !cc.closed {
		ls := cc.ls
		ls.bw.Reset(cc.c)
		if err := resp.Write(ls.bw); err != nil || ls.bw.Flush() != nil {
			// Part of the answer may be out: the connection cannot go on.
			keep = false
		}
	}
	req.Reset()
	resp.Reset()
	cc.busy, cc.sentContinue, cc.since = false, false, cc.ls.now
	if !keep {
		cc.closed = true
		cc.c.Close() //nolint:errcheck
		return
	}
	cc.process()
}

// read reads the answer to the request up carries.
func (up *upConn) read() {
	cc := up.owner
	buf, _ := up.c.Peek(-1)
	if cc == nil || up.closing {
		// An idle connection that speaks: nothing is asked of it.
		up.c.Discard(len(buf)) //nolint:errcheck
		up.close()
		return
	}
	if len(buf) > 0 {
		up.got = true
	}
	resp := cc.x.Response()
	for up.hdr == 0 {
		end, err := h1.HeadEnd(buf, maxAnswerHead)
		if err == nil && end > 0 {
			err = up.ls.parser.Answer(buf[:end], &resp.Header)
		}
		if err != nil {
			up.fail(fmt.Errorf("%w: %w", proxy.ErrAnswer, err))
			return
		}
		if end == 0 {
			return
		}
		end -= 4
		st := resp.Header.StatusCode()
		if st >= 100 && st < 200 {
			if st == fasthttp.StatusSwitchingProtocols {
				up.fail(errors.New("the upstream switched protocols"))
				return
			}
			// An interim answer: the final one follows.
			up.c.Discard(end + 4) //nolint:errcheck
			buf = buf[end+4:]
			resp.Header.Reset()
			continue
		}
		up.hdr = end + 4
		up.cl = resp.Header.ContentLength()
		up.head = cc.x.Request().Header.IsHead() || st == fasthttp.StatusNoContent || st == fasthttp.StatusNotModified
	}
	// An answer is kept whole, and its connection pooled only when nothing
	// follows it: bytes past its framing (a Content-Length shorter than the
	// body, a body on a 204, a 304 or a HEAD's answer) mean that the
	// upstream and gwc disagree on where it ends, and would be read as the
	// answer to the next request sent on the connection.
	switch {
	case up.head:
		up.c.Discard(up.hdr) //nolint:errcheck
		up.done(!resp.ConnectionClose() && len(buf) == up.hdr)
	case up.cl >= 0:
		if up.cl > loopAnswer {
			up.stream()
			return
		}
		if len(buf) < up.hdr+up.cl {
			return
		}
		resp.SetBody(buf[up.hdr : up.hdr+up.cl])
		up.c.Discard(up.hdr + up.cl) //nolint:errcheck
		up.done(!resp.ConnectionClose() && len(buf) == up.hdr+up.cl)
	case up.cl == -1:
		body, n, done, err := h1.DecodeChunked(up.ls.chunked[:0], buf[up.hdr:], loopAnswer)
		up.ls.chunked = body
		switch {
		case err == nil && done:
			resp.SetBody(body)
			resp.Header.SetContentLength(len(body))
			up.c.Discard(up.hdr + n) //nolint:errcheck
			up.done(!resp.ConnectionClose() && len(buf) == up.hdr+n)
		case err == nil || errors.Is(err, h1.ErrTooLarge):
			// Not in whole: it streams, as it comes.
			up.stream()
		default:
			up.fail(err)
		}
	default:
		// Until the upstream closes: it streams.
		up.stream()
	}
}

// stream passes on an answer that is not in whole: the gateway finishes its
// header, and the client's connection and this one go to the goroutine
// engine, which copies the body as it comes.
func (up *upConn) stream() {
	cc := up.owner
	buf, _ := up.c.Peek(-1)
	rest := bytes.Clone(buf[up.hdr:])
	cl := up.cl
	up.owner, up.closing = nil, true
	conn, err := dupConn(up.c)
	up.ls.detach(up.c)
	if err != nil {
		cc.answered(err)
		return
	}
	cc.up = nil
	x := cc.x
	var again bool
	if !cc.guard(func() { again = x.Answered(nil) }) {
		conn.Close()
		cc.respond()
		return
	}
	if again {
		conn.Close()
		cc.retried = false
		cc.dispatch(false)
		return
	}
	cc.x = nil
	var body io.Reader = &prefixReader{rest: rest, r: conn}
	size := -1
	switch {
	case cl >= 0:
		body, size = io.LimitReader(body, int64(cl)), cl
	case cl == -1:
		body = h1.NewChunkedReader(bufio.NewReaderSize(body, 16<<10))
	}
	resp := &cc.ctx.Response
	resp.SetBodyStream(&answerBody{Reader: body, conn: conn}, size)
	cc.handOff(&goroutine.Handoff{Ctx: &cc.ctx, Answered: true, Keep: cc.keep, HTTP10: cc.http10, Done: cc.doneElsewhere})
}

// prefixReader reads rest, then r.
type prefixReader struct {
	rest []byte
	r    io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.rest) > 0 {
		n := copy(b, p.rest)
		p.rest = p.rest[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// answerBody is a streamed answer's body; closing it closes its upstream
// connection, which is not reused.
type answerBody struct {
	io.Reader
	conn net.Conn
}

func (b *answerBody) Close() error { return b.conn.Close() }

// done hands the whole answer on; keep returns the connection to the pool.
func (up *upConn) done(keep bool) {
	cc := up.owner
	up.owner = nil
	if keep {
		up.release()
	} else {
		up.close()
	}
	cc.answered(nil)
}

// fail drops the connection and fails its request with err.
func (up *upConn) fail(err error) {
	cc := up.owner
	up.owner = nil
	up.close()
	if cc != nil {
		cc.answered(err)
	}
}

// release puts an idle connection in its loop's pool.
func (up *upConn) release() {
	ls := up.ls
	if p := up.pool; len(*p) < maxIdleUpstream && !ls.e.cfg.Draining.Load() {
		up.since = ls.now
		*p = append(*p, up)
		return
	}
	up.close()
}

func (up *upConn) close() {
	if !up.closing {
		up.closing = true
		if up.c != nil { // else still dialling: OnOpen closes it
			up.c.Close() //nolint:errcheck
		}
	}
}

// closed handles the upstream closing the connection.
func (up *upConn) closed(err error) {
	p := up.pool
	for i, u := range *p {
		if u == up {
			*p = append((*p)[:i], (*p)[i+1:]...)
			break
		}
	}
	cc := up.owner
	if cc == nil {
		return
	}
	up.owner = nil
	switch {
	case up.hdr > 0 && up.cl == -2 && !up.head:
		// The body ran to the close.
		buf, _ := up.c.Peek(-1)
		cc.x.Response().SetBody(buf[up.hdr:])
		cc.answered(nil)
	case !up.got && cc.reused && !cc.retried && proxy.Repeatable(cc.x.Request()):
		// A pooled connection the upstream had closed: once more, on a
		// fresh one, as the blocking client does.
		cc.retried = true
		cc.dispatch(true)
	default:
		if err == nil {
			err = fasthttp.ErrConnectionClosed
		}
		cc.answered(err)
	}
}

// sweep enforces, once a tick: upstream deadlines, header and body read
// timeouts, idle timeouts, the drain, and the upstream pool's idle limit.
func (ls *loopState) sweep(now time.Time) {
	ls.now = now
	o := &ls.e.cfg
	draining := o.Draining.Load()
	for cc := range ls.clients {
		// Answers waiting to be written for longer than the write timeout:
		// the client is not reading them.
		if cc.c.OutboundBuffered() == 0 {
			cc.outSince = time.Time{}
		} else if cc.outSince.IsZero() {
			cc.outSince = now
		} else if now.Sub(cc.outSince) > o.WriteTimeout {
			cc.closed = true
			cc.c.Close() //nolint:errcheck
			continue
		}
		switch {
		case cc.stalled:
			if cc.c.OutboundBuffered() <= maxOutbound/2 {
				cc.stalled = false
				cc.process()
			}
		case cc.handoff != nil:
			if cc.c.OutboundBuffered() == 0 {
				cc.doHandOff()
			}
		case cc.x != nil:
			if now.After(cc.x.Deadline()) {
				if up := cc.up; up != nil {
					up.owner = nil
					up.close()
				}
				cc.answered(proxy.ErrTimeout)
			}
		case cc.busy:
		case cc.hdr > 0 && now.Sub(cc.since) > o.ReadTimeout,
			cc.hdr == 0 && cc.reading && now.Sub(cc.since) > o.ReadHeaderTimeout:
			cc.refuse(problem.RequestTimeout, "the request was not received in time")
		case !cc.reading && (draining || now.Sub(cc.since) > o.IdleTimeout):
			cc.closed = true
			cc.c.Close() //nolint:errcheck
		}
	}
	for _, p := range ls.idle {
		keep := (*p)[:0]
		for _, up := range *p {
			if draining || now.Sub(up.since) > upstreamIdle {
				up.close()
			} else {
				keep = append(keep, up)
			}
		}
		*p = keep
	}
}

// addrConn is the net.Conn a loop connection's RequestCtx is bound to: its
// addresses are the connection's; it is never read or written.
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (a addrConn) LocalAddr() net.Addr  { return a.local }
func (a addrConn) RemoteAddr() net.Addr { return a.remote }

// gnetLogger sends gnet's messages to the operational log at debug level.
type gnetLogger struct{ log *slog.Logger }

func (l gnetLogger) Debugf(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l gnetLogger) Infof(format string, args ...any)  { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l gnetLogger) Warnf(format string, args ...any)  { l.log.Warn(fmt.Sprintf(format, args...)) }
func (l gnetLogger) Errorf(format string, args ...any) { l.log.Error(fmt.Sprintf(format, args...)) }
func (l gnetLogger) Fatalf(format string, args ...any) { l.log.Error(fmt.Sprintf(format, args...)) }
