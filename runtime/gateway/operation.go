package gateway

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gwcdev/gwc/runtime/auth"
	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/header"
	"github.com/gwcdev/gwc/runtime/metrics"
	"github.com/gwcdev/gwc/runtime/problem"
	"github.com/gwcdev/gwc/runtime/proxy"
	"github.com/gwcdev/gwc/runtime/ratelimit"
	"github.com/gwcdev/gwc/runtime/validate"
)

// maxReplayBody is the largest body kept in memory for retries when the
// operation does not validate it.
const maxReplayBody = 64 << 10

// DefaultMaxBody is the request body limit of an operation whose policy
// sets no max_body (nginx's client_max_body_size default).
const DefaultMaxBody = 1 << 20

// operation is one bundle operation made live: its chain of steps, built
// from its policy at load, and what they use.
type operation struct {
	op      *bundle.Operation
	api     *api
	v       *validate.Operation
	metrics *metrics.Operation
	// up is the upstream; nil when the operation is answered by its mock.
	up      *proxy.Upstream
	maxBody int64
	timeout time.Duration
	// rewrite is the compiled x-gateway path; nil forwards the request path
	// without the servers base path.
	rewrite []rewritePart
	// steps run in order, each returning false when it answered the request;
	// final answers it when they all pass.
	steps []step
	final func(*operation, *request)
	// auth is the security requirement, when the operation has one this
	// runtime can check; noAuth is one it cannot (every alternative names a
	// scheme without its secrets, or of a type not implemented).
	auth, noAuth *auth.Policy
	// limiter is the rate limit; nil when there is none.
	limiter *limiter
	// cors is the CORS policy; nil when there is none.
	cors *cors
	// cache is the response cache; nil when there is none.
	cache *cachePolicy
	// ip is the client address policy; nil when there is none.
	ip *ipRules
	// authorizer is the external authorizer; nil when there is none.
	authorizer *authorizer
	// reqT and respT are the header transforms; nil when there are none.
	reqT, respT *transform
	// unchecked marks a mock whose requirement cannot be checked: it
	// answers, and says so.
	unchecked bool
	// waits marks an operation with a step that may wait on something
	// other than its upstream's answer (see ServeAsync).
	waits bool
}

type step func(*operation, *request) bool

// rewritePart is a literal, or the path parameter named by param.
type rewritePart struct {
	lit   string
	param string
}

func newOperation(g *Gateway, a *api, i int) (*operation, error) {
	op := &a.b.Operations[i]
	o := &operation{op: op, api: a, v: a.validators.Operation(i), metrics: g.cfg.Metrics.Operation(op.ID, op.Method),
		maxBody: op.Policy.MaxBody}
	if o.maxBody <= 0 {
		o.maxBody = DefaultMaxBody
	}
	mock := op.Policy.Mock || op.Policy.Upstream == ""
	if op.Policy.CORS != nil {
		o.cors = newCORS(op.Policy.CORS, op, a.b.SecuritySchemes)
	}
	if hs := op.Policy.Headers; hs != nil {
		var err error
		if o.reqT, err = compileTransform(hs.Request); err != nil {
			return nil, err
		}
		if o.respT, err = compileTransform(hs.Response); err != nil {
			return nil, err
		}
	}
	if op.Policy.IP != nil && (len(op.Policy.IP.Allow) > 0 || len(op.Policy.IP.Deny) > 0) {
		ip, err := newIPRules(op.Policy.IP)
		if err != nil {
			return nil, err
		}
		o.ip = ip
		o.steps = append(o.steps, (*operation).checkIP)
	}
	o.steps = append(o.steps, (*operation).checkLength)
	if !op.Public && len(op.Security) > 0 {
		p := a.schemes.Policy(op.Security)
		switch {
		case p.Checkable():
			o.auth = p
			o.steps = append(o.steps, (*operation).authenticate)
		case mock:
			// A mock answers only with the spec's own examples, so it
			// answers, and says so in X-Gwc-Auth, so that any spec can be
			// tried at once.
			o.noAuth, o.unchecked = p, true
		default:
			// A proxied operation is refused, never served unchecked.
			o.noAuth = p
			o.steps = append(o.steps, (*operation).refuseUnauthenticated)
		}
	}
	if name := op.Policy.Authorizer; name != "" {
		z := a.authorizers[name]
		if z == nil {
			return nil, fmt.Errorf("unknown authorizer %q", name)
		}
		o.authorizer = z
		o.steps = append(o.steps, (*operation).authorize)
	}
	if rl := op.Policy.RateLimit; rl != nil {
		// After authentication, so that a limit keyed by client or claim
		// counts the authenticated caller.
		o.limiter = newLimiter(rl, a.limits)
		o.steps = append(o.steps, (*operation).rateLimit)
	}
	if len(op.Params) > 0 {
		o.steps = append(o.steps, (*operation).validateParams)
	}
	if op.Body != nil {
		o.steps = append(o.steps, (*operation).validateBody)
	}
	switch {
	case mock:
		o.final = (*operation).serveMock
	default:
		up := a.upstreams[op.Policy.Upstream]
		if up == nil {
			return nil, fmt.Errorf("unknown upstream %q", op.Policy.Upstream)
		}
		o.up = up
		o.final = (*operation).serveUpstream
		if c := op.Policy.Cache; c != nil && c.TTL.D() > 0 {
			o.cache = newCachePolicy(c, a.cache)
			o.cache.owned = o.ownedFields()
		}
		o.timeout = op.Policy.Timeout.D()
		if o.timeout <= 0 {
			o.timeout = up.Timeout()
		}
		if op.Policy.Path != "" {
			rw, err := compileRewrite(op.Policy.Path, op.Params)
			if err != nil {
				return nil, err
			}
			o.rewrite = rw
		}
	}
	o.waits = o.mayWait()
	return o, nil
}

// ownedFields names, in lower case, the request fields o sets, changes or
// removes on the way upstream: the forwarding fields, X-Request-Id, its
// header transforms' and its credentials'.
func (o *operation) ownedFields() map[string]bool {
	owned := map[string]bool{"x-forwarded-for": true, "x-forwarded-proto": true, "x-forwarded-host": true,
		"forwarded": true, "x-request-id": true, "host": true}
	if t := o.reqT; t != nil {
		for _, name := range t.remove {
			owned[strings.ToLower(name)] = true
		}
		for _, op := range t.ops {
			owned[strings.ToLower(op.name)] = true
		}
	}
	if o.auth != nil {
		for _, f := range o.auth.Fields() {
			owned[f] = true
		}
	}
	return owned
}

// mayWait reports whether a step of o may wait on the network or a slow
// hash: an authentication that is not an API key or a client certificate,
// an authorizer, a rate limit kept in Redis, the response cache (a miss
// waits for the concurrent one that fetches, a Redis cache on Redis), or an
// https target, which only the blocking client speaks (TLS cannot be run
// on an event loop's non-blocking sockets here).
func (o *operation) mayWait() bool {
	if o.auth != nil && o.auth.Waits() {
		return true
	}
	if o.authorizer != nil || o.cache != nil {
		return true
	}
	if o.limiter != nil {
		if _, mem := o.limiter.store.Store.(*ratelimit.Memory); !mem {
			return true
		}
	}
	if o.up != nil {
		for _, t := range o.up.Pool.Targets {
			if t.URL.Scheme != "http" {
				return true
			}
		}
	}
	return false
}

// compileRewrite splits an x-gateway path template into literals and
// parameters, each of which must be a path parameter of the operation.
func compileRewrite(tmpl string, params []bundle.Param) ([]rewritePart, error) {
	if !strings.HasPrefix(tmpl, "/") {
		return nil, fmt.Errorf("x-gateway path %q does not start with \"/\"", tmpl)
	}
	var parts []rewritePart
	for s := tmpl; s != ""; {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			parts = append(parts, rewritePart{lit: s})
			break
		}
		if i > 0 {
			parts = append(parts, rewritePart{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("x-gateway path %q has an unclosed {", tmpl)
		}
		name := s[i+1 : i+j]
		known := false
		for _, p := range params {
			if p.In == "path" && p.Name == name {
				known = true
			}
		}
		if !known {
			return nil, fmt.Errorf("x-gateway path %q names {%s}, which is not a path parameter", tmpl, name)
		}
		parts = append(parts, rewritePart{param: name})
		s = s[i+j+1:]
	}
	return parts, nil
}

func (o *operation) serve(r *request) {
	for _, s := range o.steps {
		if !s(o, r) {
			return
		}
	}
	o.final(o, r)
}

// checkLength refuses a body whose declared length is over the limit before
// reading any of it; a chunked body is counted as it is read.
func (o *operation) checkLength(r *request) bool {
	req := &r.ctx.Request
	if cl := req.Header.ContentLength(); cl > 0 && int64(cl) > o.maxBody {
		r.fail(problem.BodyTooLarge, "the body is "+strconv.Itoa(cl)+" bytes; this operation accepts at most "+
			strconv.FormatInt(o.maxBody, 10), nil)
		r.ctx.SetConnectionClose() // the body is not read: do not try to find the next request after it
		return false
	} else if cl == -1 && !req.IsBodyStream() && int64(len(req.Body())) > o.maxBody {
		// A chunked body an engine read whole (the loop engine).
		r.fail(problem.BodyTooLarge, "the body is larger than this operation's limit of "+strconv.FormatInt(o.maxBody, 10)+" bytes", nil)
		return false
	}
	return true
}

func (o *operation) refuseUnauthenticated(r *request) bool {
	var why []string
	for _, name := range o.noAuth.Unchecked() {
		why = append(why, name+" ("+o.api.schemes.Unchecked[name]+")")
	}
	r.fail(problem.AuthUnavailable, "operation "+o.op.ID+" requires authentication that gwc cannot check: "+
		strings.Join(why, ", ")+"; it is refused rather than served unauthenticated", nil)
	return false
}

// authenticate checks the security requirement: 401 with the schemes'
// challenges when no alternative passes, 403 when a credential was good
// but short of a scope.
func (o *operation) authenticate(r *request) bool {
	if where := o.auth.Duplicate(&r.ctx.Request); where != "" {
		r.fail(problem.BadRequest, "the request gives the credential of "+where+" more than once", nil)
		return false
	}
	switch d, alt := o.auth.Check(r.ctx, &r.identity); d {
	case auth.Allow:
		r.authAlt = alt
		return true
	case auth.Insufficient:
		r.fail(problem.Forbidden, "the credential does not grant the scopes operation "+o.op.ID+" requires", nil)
		return false
	default:
		r.fail(problem.Unauthorized, "operation "+o.op.ID+" requires authentication; none given was accepted", nil)
		for _, c := range o.auth.Challenges() {
			r.ctx.Response.Header.Add("WWW-Authenticate", c)
		}
		return false
	}
}

func (o *operation) validateParams(r *request) bool {
	if err := o.v.Params(r); err != nil {
		r.failValidation(err)
		return false
	}
	return true
}

// validateBody reads the body (bounded by max_body, whatever Content-Length
// said) and validates it; the bytes read are what the upstream receives.
func (o *operation) validateBody(r *request) bool {
	data, err := r.readBody(o.maxBody)
	if err != nil {
		if errors.Is(err, proxy.ErrBodyTooLarge) {
			r.fail(problem.BodyTooLarge, "the body is larger than this operation's limit of "+strconv.FormatInt(o.maxBody, 10)+" bytes", nil)
			r.ctx.SetConnectionClose()
		} else {
			r.fail(problem.BadRequest, "reading the body: "+err.Error(), nil)
			r.ctx.SetConnectionClose()
		}
		return false
	}
	if verr := o.v.BodyBytes(b2s(r.ctx.Request.Header.ContentType()), data); verr != nil {
		r.failValidation(verr)
		return false
	}
	r.ctx.Request.SetBodyRaw(data)
	return true
}

// readBody reads the whole request body into the request's pooled buffer,
// failing with proxy.ErrBodyTooLarge past limit.
func (r *request) readBody(limit int64) ([]byte, error) {
	req := &r.ctx.Request
	cl := req.Header.ContentLength()
	if cl == 0 || cl == -2 { // -2: no body framing, hence no body
		return nil, nil
	}
	s := req.BodyStream()
	if s == nil {
		// The server buffered the body (it streams only with
		// StreamRequestBody): it is already bounded by the server's limit.
		b := req.Body()
		if int64(len(b)) > limit {
			return nil, proxy.ErrBodyTooLarge
		}
		return b, nil
	}
	buf := r.body[:0]
	if cl > 0 && cap(buf) < cl {
		buf = make([]byte, 0, cl)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := s.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			r.body = buf
			return nil, proxy.ErrBodyTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			r.body = buf
			return nil, err
		}
	}
	r.body = buf
	return buf, nil
}

// upstreamPath appends the path the upstream gets, before its target's own
// path: the x-gateway rewrite with the captured parameters, or the request
// path without the servers base path.
func (o *operation) upstreamPath(dst []byte, r *request) []byte {
	if o.rewrite != nil {
		for _, p := range o.rewrite {
			if p.param == "" {
				dst = append(dst, p.lit...)
			} else {
				v, _ := r.params.Get(p.param)
				dst = append(dst, v...)
			}
		}
		return dst
	}
	p := r.path
	if base := o.op.BasePath; base != "" && strings.HasPrefix(p, base) {
		p = p[len(base):]
	}
	if p == "" || p[0] != '/' {
		dst = append(dst, '/')
	}
	return append(dst, p...)
}

// serveUpstream forwards the request and passes the answer on, through the
// response cache for a GET or HEAD of a cached operation.
func (o *operation) serveUpstream(r *request) {
	if o.cache != nil {
		if m := r.ctx.Request.Header.Method(); string(m) == "GET" || string(m) == "HEAD" {
			o.serveCached(r)
			return
		}
	}
	o.forward(r)
}

// forward sends the request to the upstream and passes the answer on.
func (o *operation) forward(r *request) {
	ctx := r.ctx
	req := &ctx.Request
	if o.auth != nil {
		// The gateway's credentials stay at the gateway.
		o.auth.Strip(req, r.authAlt)
	}
	var hostBuf [256]byte
	host := append(hostBuf[:0], req.Header.Host()...)
	r.query = append(r.query[:0], ctx.URI().QueryString()...)
	// The upstream path is kept in the request: an engine sending
	// asynchronously uses it after forward returns.
	r.upPath = o.upstreamPath(r.upPath[:0], r)
	path := r.upPath

	proxy.StripRequestHop(&req.Header, r.hop)
	if r.expect {
		// gwc has answered any Expect: 100-continue itself, and sends the body.
		req.Header.Del("Expect")
	}
	proto := "http"
	if ctx.IsTLS() {
		proto = "https"
	}
	proxy.SetForwarded(&req.Header, proxy.Forwarded{Peer: r.peer, Trusted: r.trusted, Proto: proto}, host)
	req.Header.SetCanonical(header.XRequestID, r.id)
	if o.reqT != nil {
		o.reqT.apply(&req.Header, r)
	}

	replayable := true
	if req.IsBodyStream() {
		switch cl := req.Header.ContentLength(); {
		case cl == 0:
		case cl > 0 && cl <= maxReplayBody && o.up.Pool.Config.Retries != nil:
			// A small body is kept in memory when the upstream retries, so
			// that a retry can send it again.
			data, err := r.readBody(o.maxBody)
			if err != nil {
				r.fail(problem.BadRequest, "reading the body: "+err.Error(), nil)
				ctx.SetConnectionClose()
				return
			}
			req.SetBodyRaw(data)
		case cl > 0:
			// Streamed as it arrives; its length was checked against
			// max_body, and the stream ends there.
			replayable = false
		default:
			// A chunked body is streamed, and cut past max_body.
			req.SetBodyStream(&proxy.LimitReader{R: req.BodyStream(), N: o.maxBody}, -1)
			replayable = false
		}
	}
	deadline := r.now().Add(o.timeout)
	if r.sender != nil {
		// An engine sending without blocking: it calls Answered.
		x := &r.exchange
		o.up.Begin(&x.attempts, req, path, r.query, deadline, replayable)
		if x.next() {
			r.pending = true
			r.sender.Send(x)
		}
		return
	}
	failure, err := o.up.Forward(req, &ctx.Response, path, r.query, deadline, replayable, r.call)
	o.forwarded(r, failure, err)
}

// forwarded passes the upstream's answer on, or answers the failure.
func (o *operation) forwarded(r *request, failure proxy.Failure, err error) {
	ctx := r.ctx
	switch failure {
	case proxy.OK:
		proxy.StripResponseHop(&ctx.Response.Header)
		return
	case proxy.NoTarget:
		r.fail(problem.Unavailable, "upstream "+o.up.Pool.Name+" has no healthy target", nil)
	case proxy.Timeout:
		r.fail(problem.GatewayTimeout, "upstream "+o.up.Pool.Name+" did not answer within "+o.timeout.String(), nil)
	case proxy.BodyTooLarge:
		r.fail(problem.BodyTooLarge, "the body is larger than this operation's limit of "+strconv.FormatInt(o.maxBody, 10)+" bytes", nil)
		ctx.SetConnectionClose()
		return
	case proxy.ClientFailed:
		// The client's body could not be read: its fault, not the
		// upstream's, and where its next request starts is not known.
		detail := "the body could not be read"
		if ce := (*proxy.ClientError)(nil); errors.As(err, &ce) {
			detail = "reading the body: " + ce.Err.Error()
		}
		r.fail(problem.BadRequest, detail, nil)
		ctx.SetConnectionClose()
		return
	case proxy.Aborted:
		r.clientClosed()
		return
	default:
		r.fail(problem.BadGateway, "upstream "+o.up.Pool.Name+" failed", nil)
	}
	r.g.log.Warn("upstream call failed", "operation", o.op.ID, "upstream", o.up.Pool.Name, "error", err,
		"request_id", string(r.id))
}
