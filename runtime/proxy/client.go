package proxy

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/h1"
)

// The upstream client of the engines that may block (a goroutine per
// connection): one request at a time on each keep-alive connection to a
// target, HTTP/1.1 as package h1 frames it, so that answers are delimited by
// the same grammar the event-loop engine uses. What it adds to a plain
// client is what a gateway needs: an exchange another goroutine can abort
// (the client went away: the connection is closed, so the upstream sees it
// go too), a connection reused only when its last answer ended exactly
// where its framing said and it has said nothing since, and errors that
// tell the upstream's faults from the client's.

// Errors of Client.Do.
var (
	// ErrNoFreeConns: MaxConns connections to the target are busy, and
	// none came free within MaxConnWait (a connect error).
	ErrNoFreeConns = errors.New("no free connection to the target")
	// ErrAborted: the exchange was aborted (Call.Abort) because the client
	// went away.
	ErrAborted = errors.New("the client went away")
	// ErrAnswer: the upstream's answer is not HTTP/1.1 as h1 frames it.
	ErrAnswer = errors.New("the upstream's answer is malformed")
)

// ClientError is an error of the client's side of an exchange: its request
// body could not be read (cut short, malformed chunks, a timeout). What a
// client sends never counts as an upstream's failure.
type ClientError struct{ Err error }

func (e *ClientError) Error() string { return "reading the request body: " + e.Err.Error() }
func (e *ClientError) Unwrap() error { return e.Err }

// smallAnswer is the largest answer body read whole before it is passed
// on: an upstream that cuts it short gets its client a 502, not a torn
// answer. Larger bodies stream as they come.
const smallAnswer = 64 << 10

// Call is one exchange in progress, which another goroutine may abort:
// the engine serving a client aborts its call when the client goes away.
// A Call is reused from one exchange to the next.
type Call struct {
	mu      sync.Mutex
	conn    net.Conn
	aborted bool
}

// Abort ends the exchange: its connection is closed, and Do returns
// ErrAborted. An exchange that starts after Abort (a retry) fails at once,
// until Reset.
func (c *Call) Abort() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.aborted = true
	if c.conn != nil {
		c.conn.Close()
	}
	c.mu.Unlock()
}

// Aborted reports whether Abort was called since the last Reset.
func (c *Call) Aborted() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aborted
}

// Reset makes c ready for the next request.
func (c *Call) Reset() {
	c.mu.Lock()
	c.conn, c.aborted = nil, false
	c.mu.Unlock()
}

// attach makes nc the connection Abort closes; false when the call was
// aborted already.
func (c *Call) attach(nc net.Conn) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = nc
	return !c.aborted
}

func (c *Call) detach() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.conn = nil
	c.mu.Unlock()
}

// client sends requests to one target.
type client struct {
	addr string
	tls  *tls.Config // nil: plain HTTP
	// free holds a token per connection that may still be opened (MaxConns
	// in all); handoff passes a connection being released to a request
	// waiting for one.
	free    chan struct{}
	handoff chan *upConn
	mu      sync.Mutex
	idle    []*upConn // most recently used last
	janitor *time.Timer
}

// upConn is one connection to the target.
type upConn struct {
	c      net.Conn
	tls    bool
	raw    syscall.RawConn // the TCP socket's, under TLS too
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
	parser *h1.Parser
}

func newClient(addr string, cfg *tls.Config) *client {
	c := &client{addr: addr, tls: cfg, free: make(chan struct{}, MaxConns), handoff: make(chan *upConn)}
	for range MaxConns {
		c.free <- struct{}{}
	}
	return c
}

// Do sends req and reads the answer into resp before deadline. call, when
// not nil, may abort the exchange from another goroutine. A body that
// streams (over smallAnswer, chunked or until the upstream closes) is left
// for resp's reader: its connection is kept until it is read to its end or
// closed (resp.CloseBodyStream). A request written to a pooled connection
// the upstream had closed is sent once more on a new one when that is safe
// (Repeatable, and its body is in memory).
func (c *client) Do(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time, call *Call) error {
	for attempt := 0; ; attempt++ {
		uc, reused, err := c.get(deadline, call, attempt > 0)
		if err != nil {
			return err
		}
		stale, err := c.exchange(uc, req, resp, deadline, call)
		if err == nil {
			return nil
		}
		if stale && reused && attempt == 0 && Repeatable(req) && !req.IsBodyStream() && !call.Aborted() {
			resp.Reset()
			continue
		}
		if call.Aborted() {
			return ErrAborted
		}
		return err
	}
}

// exchange sends req on uc and reads the answer; stale says that uc failed
// before any byte of an answer came (a pooled connection the upstream had
// closed).
func (c *client) exchange(uc *upConn, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time, call *Call) (stale bool, err error) {
	if !call.attach(uc.c) {
		c.discard(uc)
		return false, ErrAborted
	}
	defer call.detach()
	uc.c.SetDeadline(deadline) //nolint:errcheck // a closed connection fails the write below
	uc.bw.Reset(uc.c)
	if err := req.Write(uc.bw); err != nil {
		c.discard(uc)
		return isStale(err), err
	}
	if err := uc.bw.Flush(); err != nil {
		c.discard(uc)
		return isStale(err), err
	}
	head := req.Header.IsHead()
	for {
		n, err := readHead(uc.br)
		if err != nil {
			c.discard(uc)
			return n == 0 && isStale(err), err
		}
		buf, _ := uc.br.Peek(n)
		if err := uc.parser.Answer(buf, &resp.Header); err != nil {
			c.discard(uc)
			return false, fmt.Errorf("%w: %w", ErrAnswer, err)
		}
		uc.br.Discard(n) //nolint:errcheck // peeked
		st := resp.Header.StatusCode()
		if st == fasthttp.StatusSwitchingProtocols {
			c.discard(uc)
			return false, fmt.Errorf("%w: the upstream switched protocols", ErrAnswer)
		}
		if st >= 100 && st < 200 {
			resp.Header.Reset() // an interim answer: the final one follows
			continue
		}
		break
	}
	st := resp.Header.StatusCode()
	cl := resp.Header.ContentLength()
	keep := !resp.Header.ConnectionClose()
	switch {
	case head || st == fasthttp.StatusNoContent || st == fasthttp.StatusNotModified:
		c.done(uc, keep)
	case cl >= 0 && cl <= smallAnswer:
		// Into the response's own buffer, which it keeps from one request
		// to the next.
		buf := resp.SwapBody(nil)[:0]
		if cap(buf) < cl {
			buf = make([]byte, cl)
		}
		buf = buf[:cl]
		_, err := io.ReadFull(uc.br, buf)
		resp.SwapBody(buf)
		if err != nil {
			c.discard(uc)
			return false, fmt.Errorf("the upstream's answer ended before its %d bytes: %w", cl, err)
		}
		c.done(uc, keep)
	default:
		var r io.Reader
		size := cl
		switch cl {
		case -1:
			r = h1.NewChunkedReader(uc.br)
		case -2:
			r, keep = uc.br, false // until the upstream closes
		default:
			r = io.LimitReader(uc.br, int64(cl))
		}
		// The deadline was the answer head's; the body gets as long again
		// for each read.
		uc.c.SetDeadline(time.Time{}) //nolint:errcheck
		resp.SetBodyStream(&answerBody{c: c, uc: uc, r: r, size: cl, keep: keep, idle: max(time.Until(deadline), time.Second)}, size)
	}
	return false, nil
}

// readHead reads until the answer head is whole in br (which holds more
// than h1.MaxAnswerHead), and returns its length; n is how many bytes had
// come when it failed.
func readHead(br *bufio.Reader) (n int, err error) {
	for want := 1; ; {
		if _, err := br.Peek(want); err != nil {
			return br.Buffered(), err
		}
		buf, _ := br.Peek(br.Buffered())
		end, err := h1.HeadEnd(buf, h1.MaxAnswerHead)
		if err != nil {
			return len(buf), fmt.Errorf("%w: %w", ErrAnswer, err)
		}
		if end > 0 {
			return end, nil
		}
		want = len(buf) + 1
	}
}

// done releases uc after a whole answer: kept when the answer ended
// exactly where its framing said (nothing more was read) and neither side
// closes it.
func (c *client) done(uc *upConn, keep bool) {
	if keep && uc.br.Buffered() == 0 {
		c.release(uc)
		return
	}
	c.discard(uc)
}

// answerBody is an answer's body as it streams from its connection.
type answerBody struct {
	c    *client
	uc   *upConn
	r    io.Reader
	size int
	keep bool
	idle time.Duration
	read int
	end  bool
}

func (b *answerBody) Read(p []byte) (int, error) {
	if b.uc == nil {
		if b.end {
			return 0, io.EOF
		}
		return 0, io.ErrClosedPipe
	}
	b.uc.c.SetReadDeadline(time.Now().Add(b.idle)) //nolint:errcheck
	n, err := b.r.Read(p)
	b.read += n
	if err == io.EOF {
		if b.size >= 0 && b.read < b.size {
			err = io.ErrUnexpectedEOF
		} else {
			// The whole body: the connection goes back, when its framing
			// held and it stays open.
			b.end = true
			uc := b.uc
			b.uc = nil
			uc.c.SetReadDeadline(time.Time{}) //nolint:errcheck
			b.c.done(uc, b.keep && b.size != -2)
			return n, io.EOF
		}
	}
	if b.size >= 0 && b.read == b.size && err == nil {
		// io.LimitReader says EOF only on the next read.
		b.end = true
		uc := b.uc
		b.uc = nil
		uc.c.SetReadDeadline(time.Time{}) //nolint:errcheck
		b.c.done(uc, b.keep)
		return n, nil
	}
	if err != nil {
		uc := b.uc
		b.uc = nil
		b.c.discard(uc)
	}
	return n, err
}

// Close drops the connection when the body was not read to its end.
func (b *answerBody) Close() error {
	if uc := b.uc; uc != nil {
		b.uc = nil
		b.c.discard(uc)
	}
	return nil
}

// get returns a connection to the target: a pooled one that has said
// nothing since its last answer (reused), or a new one. fresh asks for a
// new one.
func (c *client) get(deadline time.Time, call *Call, fresh bool) (uc *upConn, reused bool, err error) {
	if !fresh {
		for {
			c.mu.Lock()
			n := len(c.idle)
			if n == 0 {
				c.mu.Unlock()
				break
			}
			uc = c.idle[n-1]
			c.idle[n-1] = nil
			c.idle = c.idle[:n-1]
			c.mu.Unlock()
			if time.Since(uc.idleAt) < IdleTimeout && uc.usable() {
				return uc, true, nil
			}
			c.discard(uc)
		}
	}
	select {
	case <-c.free:
		uc, err = c.open(deadline)
		return uc, false, err
	default:
	}
	wait := min(time.Until(deadline), MaxConnWait)
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	select {
	case <-c.free:
		uc, err = c.open(deadline)
		return uc, false, err
	case uc := <-c.handoff:
		return uc, true, nil
	case <-t.C:
		return nil, false, ErrNoFreeConns
	}
}

// open dials a connection in the place a token of free gave; the place is
// given back when the dial fails.
func (c *client) open(deadline time.Time) (*upConn, error) {
	uc, err := c.dial(deadline)
	if err != nil {
		c.free <- struct{}{}
	}
	return uc, err
}

// dial opens a connection, with TLS for an https target.
func (c *client) dial(deadline time.Time) (*upConn, error) {
	d := net.Dialer{Deadline: deadline, Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", c.addr)
	if err != nil {
		return nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return nil, fmt.Errorf("dialling %s: not a TCP connection", c.addr)
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		nc.Close()
		return nil, err
	}
	if c.tls != nil {
		t := tls.Client(nc, c.tls)
		t.SetDeadline(deadline) //nolint:errcheck
		if err := t.Handshake(); err != nil {
			nc.Close()
			// A failed handshake is a failure to connect.
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: nc.RemoteAddr(), Err: err}
		}
		nc = t
	}
	return &upConn{c: nc, tls: c.tls != nil, raw: raw, br: bufio.NewReaderSize(nc, h1.MaxAnswerHead+4096),
		bw: bufio.NewWriterSize(nc, 16<<10), parser: h1.NewParser(h1.MaxAnswerHead)}, nil
}

// release pools uc, or hands it to a request waiting for a connection.
func (c *client) release(uc *upConn) {
	select {
	case c.handoff <- uc:
		return
	default:
	}
	uc.idleAt = time.Now()
	c.mu.Lock()
	c.idle = append(c.idle, uc)
	if c.janitor == nil {
		c.janitor = time.AfterFunc(IdleTimeout, c.sweep)
	}
	c.mu.Unlock()
}

// sweep closes the connections idle for IdleTimeout, and comes again while
// some are left.
func (c *client) sweep() {
	now := time.Now()
	c.mu.Lock()
	keep := c.idle[:0]
	var old []*upConn
	for _, uc := range c.idle {
		if now.Sub(uc.idleAt) >= IdleTimeout {
			old = append(old, uc)
		} else {
			keep = append(keep, uc)
		}
	}
	clear(c.idle[len(keep):])
	c.idle = keep
	if len(c.idle) > 0 {
		c.janitor.Reset(IdleTimeout / 2)
	} else {
		c.janitor = nil
	}
	c.mu.Unlock()
	for _, uc := range old {
		c.discard(uc)
	}
}

// discard closes uc, freeing its place.
func (c *client) discard(uc *upConn) {
	uc.c.Close()
	c.free <- struct{}{}
}

// usable reports whether a pooled connection can carry a request: it is
// still open, and has said nothing since its last answer (bytes waiting
// would be an answer nothing asked for, read as the next request's).
func (uc *upConn) usable() bool {
	switch peek(uc.raw) {
	case peekQuiet:
		return true
	case peekClosed:
		return false
	}
	if !uc.tls {
		return false
	}
	// Under TLS, records the TLS layer reads by itself (a session ticket
	// sent after the handshake) come too: read what is there, briefly;
	// only application data, or the end, makes the connection unusable.
	uc.c.SetReadDeadline(time.Now().Add(time.Millisecond)) //nolint:errcheck
	_, err := uc.br.Peek(1)
	uc.c.SetReadDeadline(time.Time{}) //nolint:errcheck
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// What a non-blocking peek at a socket finds.
const (
	peekQuiet  = iota // nothing waiting, still open
	peekData          // bytes waiting
	peekClosed        // the peer closed it, or it failed
)

// peek looks at a socket without reading from it: one non-blocking
// MSG_PEEK.
func peek(raw syscall.RawConn) int {
	var b [1]byte
	state := peekClosed
	err := raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n > 0:
			state = peekData
		case n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK):
			state = peekQuiet
		}
		return true
	})
	if err != nil {
		return peekClosed
	}
	return state
}

// isStale reports an error of a connection the upstream had closed: it
// said nothing and the write or the read met the close.
func isStale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}
