package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/auth"
	"github.com/gwcdev/gwc/runtime/header"
	"github.com/gwcdev/gwc/runtime/problem"
	"github.com/gwcdev/gwc/runtime/proxy"
	"github.com/gwcdev/gwc/runtime/ratelimit"
	"github.com/gwcdev/gwc/runtime/router"
)

// request is the gateway's state for one request, pooled: nothing in it
// outlives the request, since the engine reuses the RequestCtx and every
// byte slice it hands out once the request is answered.
type request struct {
	ctx   *fasthttp.RequestCtx
	g     *Gateway
	op    *operation
	start time.Time

	// path is the normalised request path; params the router's captures.
	path    string
	pathBuf []byte
	params  router.Params
	// query holds the query string while the upstream request is built.
	query []byte
	// id is the request id: the client's X-Request-Id when acceptable, else
	// one gwc made (idBuf holds it).
	id    []byte
	idBuf [64]byte
	// peer is the connection's remote address; client the client's address
	// (the X-Forwarded-For entry a trusted proxy vouches for, else peer).
	peer    netip.Addr
	trusted bool
	// client is clientAddr's answer, once clientKnown.
	client      netip.Addr
	clientKnown bool
	// hop is the request's hop-by-hop headers, to strip; expect is set when
	// it has an Expect header.
	hop    proxy.HopSet
	expect bool
	// identity is who the request authenticated as; authAlt the index of
	// the security alternative that passed.
	identity auth.Identity
	authAlt  int
	// keyBuf holds the rate-limit key while the store decides; hdrBuf the
	// rendered header templates while they are set.
	keyBuf, hdrBuf []byte
	// problem is set when gwc answered with a problem.
	problem bool
	// limit is the rate limit's decision, when limited is set.
	limit   ratelimit.Result
	limited bool

	// reason is set when gwc answered itself (a problem, by slug); upstream
	// when an upstream answered.
	reason string
	// gone is set when the client went away before its answer.
	gone bool
	// body is the pooled buffer a validated body is read into.
	body []byte
	// hdrs backs the []string Header returns to the validator.
	hdrs [4]string
	// upPath is the path the upstream gets.
	upPath []byte

	// call lets the engine of a blocking Serve abort the upstream
	// exchange (the client went away).
	call *proxy.Call
	// sender, when set, sends the upstream request without blocking
	// (ServeAsync); pending is set once it has it, and exchange is what it
	// was handed.
	sender   Sender
	pending  bool
	exchange Exchange
}

var requests = sync.Pool{New: func() any { return new(request) }}

// maxPooledBody is the largest body buffer a pooled request keeps; larger
// ones are dropped after their request, so that one big upload does not pin
// its memory in the pool.
const maxPooledBody = 64 << 10

// now is the time: the Sender's clock on an event loop, time.Now otherwise.
func (r *request) now() time.Time {
	if r.sender != nil {
		return r.sender.Now()
	}
	return time.Now()
}

func (r *request) release() {
	body := r.body
	if cap(body) > maxPooledBody {
		body = nil
	}
	*r = request{body: body[:0], pathBuf: r.pathBuf[:0], query: r.query[:0], keyBuf: r.keyBuf[:0],
		hdrBuf: r.hdrBuf[:0], upPath: r.upPath[:0]}
	requests.Put(r)
}

// idPrefix starts the request ids this process makes: random, so that ids
// from replicas and restarts do not collide; a counter follows it.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() [8]byte {
	var raw [4]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read does not fail (Go 1.24+)
	var p [8]byte
	hex.Encode(p[:], raw[:])
	return p
}

// setID takes the client's X-Request-Id when it is a plausible id (1 to 64
// bytes of letters, digits, ".", "_", "-" and ":"), so that a request can be
// followed across services; otherwise gwc makes one.
func (r *request) setID() {
	if v := r.ctx.Request.Header.PeekCanonical(header.XRequestID); len(v) > 0 && len(v) <= 64 && plainID(v) {
		r.id = append(r.idBuf[:0], v...)
		return
	}
	r.id = AppendRequestID(r.idBuf[:0])
}

// AppendRequestID appends a new request id to dst: this process's random
// prefix and a counter, for a request gwc answers before it reaches the
// gateway (an engine's refusal).
func AppendRequestID(dst []byte) []byte {
	dst = append(append(dst, idPrefix[:]...), '-')
	return strconv.AppendUint(dst, idCounter.Add(1), 36)
}

func plainID(v []byte) bool {
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// clientAddr is the client's address: the peer's, or when the peer is a
// trusted proxy, the last X-Forwarded-For entry that is not one. It is
// worked out once per request, for IP rules, limits and authorizers alike.
func (r *request) clientAddr() netip.Addr {
	if r.clientKnown {
		return r.client
	}
	r.client, r.clientKnown = r.peer, true
	if !r.trusted {
		return r.client
	}
	xff := b2s(r.ctx.Request.Header.PeekCanonical(header.XForwardedFor))
	for xff != "" {
		i := strings.LastIndexByte(xff, ',')
		ip, err := netip.ParseAddr(strings.TrimSpace(xff[i+1:]))
		if err != nil {
			break
		}
		if ip = ip.Unmap(); !r.op.api.trustedPeer(ip) {
			r.client = ip
			break
		}
		xff = xff[:max(i, 0)]
	}
	return r.client
}

// b2s views b as a string without copying. The string is valid only while b
// is (for fasthttp's buffers: until the handler returns) and must not be
// kept beyond that.
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// The validate.Request methods, over the fasthttp request.

// PathValue returns the raw captured path parameter.
func (r *request) PathValue(name string) string {
	v, _ := r.params.Get(name)
	return v
}

// RawQuery returns the query string as received.
func (r *request) RawQuery() string { return b2s(r.ctx.URI().QueryString()) }

// Header returns the values of the named header.
func (r *request) Header(name string) []string {
	vs := r.ctx.Request.Header.PeekAll(name)
	if len(vs) <= len(r.hdrs) {
		out := r.hdrs[:len(vs)]
		for i, v := range vs {
			out[i] = b2s(v)
		}
		return out
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = b2s(v)
	}
	return out
}

// fail answers with a problem.
func (r *request) fail(reason problem.Reason, detail string, errs []problem.FieldError) {
	r.reason, r.problem = reason.Slug, true
	p := problem.Problem{Reason: reason, Detail: detail, Instance: r.instance(), RequestID: b2s(r.id), Errors: errs}
	writeProblem(r.ctx, &p)
	r.g.rejection(reason)
}

// clientClosed records that the client went away before its answer: no
// answer is written, and the request counts as a 499.
func (r *request) clientClosed() {
	r.reason, r.gone = problem.ClientClosed.Slug, true
	r.g.rejection(problem.ClientClosed)
}

// instance is the request path for a problem's "instance": the normalised
// path once there is one.
func (r *request) instance() string {
	if r.path != "" {
		return r.path
	}
	return ""
}
