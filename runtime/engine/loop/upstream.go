package loop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/engine"
	"github.com/gwcdev/gwc/runtime/engine/goroutine"
	"github.com/gwcdev/gwc/runtime/gateway"
	"github.com/gwcdev/gwc/runtime/h1"
	"github.com/gwcdev/gwc/runtime/proxy"
)

// The loop's upstream side: the gateway.Sender that sends a request on a
// connection of the same loop, reading the answer as it comes, and the
// loop's idle connections.

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
		end, err := h1.HeadEnd(buf, h1.MaxAnswerHead)
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
	var body io.Reader = &engine.PrefixReader{Rest: rest, R: conn}
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
