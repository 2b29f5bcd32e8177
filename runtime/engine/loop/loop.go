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
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/gwcdev/gwc/runtime/engine"
	"github.com/gwcdev/gwc/runtime/engine/goroutine"
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
		ls.parser = h1.NewParser(max(e.cfg.MaxHeaderBytes, h1.MaxAnswerHead))
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
