package loop

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/engine/goroutine"
	"github.com/gwcdev/gwc/runtime/gateway"
	"github.com/gwcdev/gwc/runtime/h1"
	"github.com/gwcdev/gwc/runtime/problem"
)

// A client connection: reading its requests off the loop's buffer,
// serving them, writing the answers, and handing the connection off.

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
