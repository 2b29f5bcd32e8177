package gateway

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/proxy"
	"github.com/gwcdev/gwc/runtime/router"
	"github.com/gwcdev/gwc/runtime/upstream"
)

// Serving without blocking. Serve runs a request from start to answer on
// the calling goroutine, waiting for the upstream on the way. An engine
// that runs many connections on one thread (an event loop) cannot wait:
// ServeAsync runs the same steps up to the upstream call, hands the
// prepared request to the engine's Sender, and the engine calls
// Exchange.Answered when the upstream's answer (or a failure) is in, which
// runs the rest: retries, the answer's checks and headers, metrics and the
// access log. Operations with a step that waits on something else (see
// operation.mayWait) are left to Serve.

// Sender sends ServeAsync's upstream requests.
type Sender interface {
	// Send writes x.Request() to x.Addr() (host:port, plain HTTP/1.1), reads
	// the answer into x.Response() and then calls x.Answered, on the
	// goroutine that called ServeAsync's engine, with nil or the error that
	// kept an answer from arriving by x.Deadline(): a *net.OpError of Op
	// "dial" when no connection could be made, proxy.ErrTimeout past the
	// deadline, any other error for a connection that failed or an answer
	// it could not hold. Answered must not be called before Send returns.
	Send(x *Exchange)
	// Now is the time as the engine read it last: an event loop reads it
	// once per event it handles (a request in, an answer in) and the
	// gateway takes its timings and deadlines from that, instead of reading
	// the clock a dozen times per request.
	Now() time.Time
}

// Outcome is what ServeAsync did with a request.
type Outcome uint8

const (
	// Answered: the answer is in the RequestCtx's Response.
	Answered Outcome = iota
	// Sent: the request is with the Sender, and Exchange.Answered finishes
	// it; the RequestCtx must stay as it is until then.
	Sent
	// Waits: the request's operation has a step that may wait; nothing was
	// done, and the caller should call Serve, on a goroutine of its own.
	Waits
)

// ServeAsync serves the request of ctx as Serve does, except that it never
// waits: the upstream call goes through send.
func (g *Gateway) ServeAsync(ctx *fasthttp.RequestCtx, send Sender) Outcome {
	r := requests.Get().(*request)
	r.ctx, r.g, r.start = ctx, g, send.Now()
	r.sender = send
	o := g.route(r)
	if o != nil && o.waits {
		r.release()
		return Waits
	}
	if o != nil {
		r.exchange.r = r
		o.serve(r)
		if r.pending {
			return Sent
		}
	}
	// Answered within the event: its own time, not the event's.
	g.finish(r, time.Now())
	r.release()
	return Answered
}

// WantsBody reports whether the request of ctx, whose head is in and whose
// client waits for 100 Continue before it sends the body, may send it: it
// has a route, and the length it declares is within its operation's
// max_body. When not, the engine serves it at once, without its body, and
// the gateway refuses it (404, 405, 413): the client is not asked for a
// body to be refused.
func (g *Gateway) WantsBody(ctx *fasthttp.RequestCtx) bool {
	path, err := router.Normalize(b2s(ctx.Request.URI().PathOriginal()))
	if err != nil {
		return false
	}
	var params router.Params
	i, res := g.router.Lookup(b2s(ctx.Request.Header.Method()), path, &params)
	if res != router.Found {
		return false
	}
	cl := ctx.Request.Header.ContentLength()
	return cl <= 0 || int64(cl) <= g.ops[i].maxBody
}

// MaxBody is the largest request body an operation of g accepts (its
// max_body, or DefaultMaxBody): an engine that reads bodies whole reads no
// more.
func (g *Gateway) MaxBody() int64 { return g.maxBody }

// Exchange is a request of ServeAsync's that is with its Sender.
type Exchange struct {
	r        *request
	attempts proxy.Attempts
	target   *upstream.Target
}

// Addr is where the request goes: the current attempt's target, host:port.
func (x *Exchange) Addr() string { return x.target.Addr }

// Request is the request to send, ready to be written (Request.Write). Its
// request line and Host are set in its header only (proxy.Attempts.
// HeaderOnly): calling its URI method would parse them again, and Write
// would then rebuild the request line from the parsed URI.
func (x *Exchange) Request() *fasthttp.Request { return &x.r.ctx.Request }

// Response is where the answer goes.
func (x *Exchange) Response() *fasthttp.Response { return &x.r.ctx.Response }

// Deadline is when the answer must be in.
func (x *Exchange) Deadline() time.Time { return x.attempts.Deadline() }

// next starts an attempt; false when there is no target to take it, and
// the request is answered.
func (x *Exchange) next() bool {
	t, err := x.attempts.NextAt(x.r.sender.Now())
	if err != nil {
		x.r.op.forwarded(x.r, proxy.NoTarget, err)
		return false
	}
	x.target = t
	return true
}

// Answered finishes the attempt the Sender made: err is nil when the
// Response holds the upstream's answer. again is true when the request is
// to be sent once more (to Addr, which may have changed; the Response is
// reset); otherwise the answer to the client is in the RequestCtx's
// Response, and x must not be used again.
func (x *Exchange) Answered(err error) (again bool) {
	r := x.r
	resp := x.Response()
	retry, failure := x.attempts.DoneAt(err, resp, r.sender.Now())
	switch {
	case retry:
		resp.Reset()
		if x.next() {
			return true
		}
	default:
		if err != nil {
			resp.Reset()
		}
		r.op.forwarded(r, failure, err)
	}
	r.g.finish(r, r.sender.Now())
	r.release()
	return false
}

// Abandon ends the exchange of a request whose client went away before its
// answer came: the engine has dropped the attempt (closed its upstream
// connection, so that the upstream can stop too). The request is recorded
// as 499 (client closed), not as an upstream failure, and x must not be
// used again.
func (x *Exchange) Abandon() {
	r := x.r
	x.attempts.Abandon()
	r.clientClosed()
	r.g.finish(r, r.sender.Now())
	r.release()
}
