// Package proxy sends gateway requests to upstream targets and brings their
// answers back: what the request's hop to the upstream changes (hop-by-hop
// fields, X-Forwarded-*; headers.go), the attempts of one exchange with
// their retries (Attempts), and the client of the engines that may block
// (client.go). The event-loop engine sends its requests itself and drives
// the same Attempts.
//
// An Upstream is a bundle upstream made live: its target Pool (balancing,
// health, circuit breakers) and one client per target, taken from a Clients
// cache that outlives bundle reloads, so a reload that keeps a target keeps
// its warm connections. Forward sends one request, retrying as the
// upstream's policy allows, within one deadline.
//
// The request is the engine's own parsed request, rewritten in place (path,
// Host, forwarding headers, hop-by-hop headers removed) and streamed to the
// target; the response is streamed back the same way. Nothing here keeps a
// reference to a request or response after Forward returns.
package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/metrics"
	"github.com/gwcdev/gwc/runtime/upstream"
)

// Connection pool settings of every target.
const (
	// MaxConns bounds the connections to one target. A request that finds
	// them all busy waits up to MaxConnWait, then fails as a connect error.
	MaxConns    = 1024
	MaxConnWait = 2 * time.Second
	// IdleTimeout closes upstream connections idle this long. It is shorter
	// than the keep-alive timeout of common servers (Node.js 5 s, uvicorn
	// 5 s, nginx 60 s), so that gwc, not the upstream, closes an idle
	// connection, and a request is rarely written to a connection the
	// upstream is closing.
	IdleTimeout = 4 * time.Second
	// DefaultTimeout bounds an exchange when neither the operation nor the
	// upstream sets a timeout.
	DefaultTimeout = 30 * time.Second
)

// Failure says why Forward got no answer to pass on.
type Failure int

const (
	// OK: resp holds the answer to pass on (whatever its status).
	OK Failure = iota
	// NoTarget: every target is down or has its circuit breaker open (503).
	NoTarget
	// Connect: no connection could be made, or none was free (502).
	Connect
	// Timeout: the deadline passed before the answer (504).
	Timeout
	// Broken: the connection failed mid-exchange, or the answer was not
	// HTTP (502).
	Broken
	// BodyTooLarge: the request body grew past its limit while streamed
	// (413); see LimitReader.
	BodyTooLarge
	// ClientFailed: the client's request body could not be read while it
	// was sent (400; see ClientError). Never the upstream's failure.
	ClientFailed
	// Aborted: the client went away (Call.Abort); nothing is answered.
	Aborted
)

// Clients holds one client per target address and TLS settings, shared by
// every bundle a server loads: a reload that keeps a target reuses its
// pooled connections. It is safe for concurrent use.
type Clients struct {
	mu sync.Mutex
	m  map[clientKey]*client
}

type clientKey struct{ scheme, addr, caFile string }

// NewClients returns an empty cache.
func NewClients() *Clients { return &Clients{m: map[clientKey]*client{}} }

// client returns the client of t, creating it on first use.
func (c *Clients) client(t *upstream.Target, caFile string) (*client, error) {
	k := clientKey{t.URL.Scheme, t.Addr, caFile}
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc := c.m[k]; hc != nil {
		return hc, nil
	}
	var cfg *tls.Config
	if k.scheme == "https" {
		cfg = &tls.Config{ServerName: t.URL.Hostname(), MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pool, err := CertPool(caFile)
			if err != nil {
				return nil, fmt.Errorf("the CA file: %w", err)
			}
			cfg.RootCAs = pool
		}
	}
	hc := newClient(k.addr, cfg)
	c.m[k] = hc
	return hc, nil
}

// Repeatable reports whether req may be sent again after the connection it
// went out on failed before any answer (a pooled connection the upstream
// had just closed): an idempotent method, or an Idempotency-Key, as Go's
// http.Transport decides.
func Repeatable(req *fasthttp.Request) bool {
	return upstream.Idempotent(string(req.Header.Method())) || len(req.Header.Peek("Idempotency-Key")) > 0
}

// Upstream is a live bundle upstream.
type Upstream struct {
	Pool    *upstream.Pool
	Metrics *metrics.Upstream
	clients []*client // by Pool.Targets index
	timeout time.Duration
}

// NewUpstream makes u live, taking its targets' clients from cs.
func NewUpstream(u bundle.Upstream, cs *Clients, m *metrics.Upstream, opts upstream.Options) (*Upstream, error) {
	p, err := upstream.NewPool(u, opts)
	if err != nil {
		return nil, err
	}
	up := &Upstream{Pool: p, Metrics: m, timeout: u.Timeout.D()}
	for _, t := range p.Targets {
		hc, err := cs.client(t, u.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upstream %q target %s: %w", u.Name, t.URL, err)
		}
		up.clients = append(up.clients, hc)
	}
	return up, nil
}

// Timeout is the upstream's own timeout, DefaultTimeout when it sets none.
func (u *Upstream) Timeout() time.Duration {
	if u.timeout > 0 {
		return u.timeout
	}
	return DefaultTimeout
}

// Forward sends req to a target of u and leaves the answer in resp. path is
// the request path as the upstream should see it, before the target URL's
// own path (which Forward prefixes), and query the raw query string, both
// already encoded. Host is set to the target's. An attempt that fails is
// tried again, on another target when there is one, as the upstream's
// retries allow, while deadline has not passed; replayable says whether the
// body can be sent again (it is in memory, or there is none). A streamed
// body is only re-sent after a connect error, which never read from it.
// call, when not nil, lets another goroutine abort the exchange (the
// client went away): Forward then returns Aborted.
//
// On OK, resp holds the answer, whatever its status; otherwise resp is
// reset and err says what happened, for the log.
func (u *Upstream) Forward(req *fasthttp.Request, resp *fasthttp.Response, path, query []byte, deadline time.Time, replayable bool, call *Call) (Failure, error) {
	var a Attempts
	u.Begin(&a, req, path, query, deadline, replayable)
	for {
		t, err := a.Next()
		if err != nil {
			return NoTarget, err
		}
		err = u.clients[u.index(t)].Do(req, resp, deadline, call)
		if errors.Is(err, ErrAborted) {
			a.Abandon()
			resp.Reset()
			return Aborted, err
		}
		retry, failure := a.Done(err, resp)
		if !retry {
			if err != nil {
				resp.Reset()
				return failure, err
			}
			return OK, nil
		}
		if err == nil {
			resp.CloseBodyStream() //nolint:errcheck // the answer is dropped; closing drops its connection
		}
		resp.Reset()
	}
}

// Attempts is Forward's state from one attempt to the next, for an engine
// that sends requests itself, without blocking: Next picks the target of an
// attempt and points req at it, the engine sends req and reads the answer,
// and Done says whether to make another attempt. Forward is the same loop
// around the blocking client's Do.
type Attempts struct {
	u           *Upstream
	req         *fasthttp.Request
	path, query []byte
	deadline    time.Time
	replayable  bool
	attempt     int
	exclude, t  *upstream.Target
	start       time.Time
}

// Begin starts the attempts of sending req (see Forward for the arguments);
// path and query must stay unchanged until the last attempt is done.
func (u *Upstream) Begin(a *Attempts, req *fasthttp.Request, path, query []byte, deadline time.Time, replayable bool) {
	*a = Attempts{u: u, req: req, path: path, query: query, deadline: deadline, replayable: replayable}
}

// Deadline is when the attempts must have an answer.
func (a *Attempts) Deadline() time.Time { return a.deadline }

// Next picks the target of the next attempt, sets req's URI and Host for it
// and returns it; err is set when no target can take it (NoTarget).
func (a *Attempts) Next() (*upstream.Target, error) { return a.NextAt(time.Now()) }

// NextAt is Next at the time now: for an engine that reads the clock once
// per event, not at each step of a request.
func (a *Attempts) NextAt(now time.Time) (*upstream.Target, error) {
	a.attempt++
	t, err := a.u.Pool.PickAt(a.exclude, now)
	if err != nil {
		return nil, err
	}
	a.t = t
	req := a.req
	var uri [512]byte
	b := append(append(uri[:0], t.BasePath...), a.path...)
	if len(a.query) > 0 {
		b = append(append(b, '?'), a.query...)
	}
	// The request line and Host are set in the header, which Request.Write
	// writes as it stands: the URI is not parsed again.
	req.SetRequestURIBytes(b)
	req.Header.SetHost(t.Host)
	// HTTP/1.1 to the upstream whatever the client spoke, as nginx's
	// proxy_http_version 1.1: the connection is kept, and the client's
	// version string is not forwarded.
	req.Header.SetProtocolBytes(http11)
	a.start = now
	return t, nil
}

// Done records the outcome of the attempt Next started: err is the
// sending's error (nil when resp holds an answer). retry says to make
// another attempt (call Next again, after dropping the answer); otherwise
// failure classifies err (OK when there is none).
func (a *Attempts) Done(err error, resp *fasthttp.Response) (retry bool, failure Failure) {
	return a.DoneAt(err, resp, time.Now())
}

// DoneAt is Done at the time now (see NextAt).
func (a *Attempts) DoneAt(err error, resp *fasthttp.Response, now time.Time) (retry bool, failure Failure) {
	elapsed := now.Sub(a.start)
	kind, failure := classify(err)
	status := resp.StatusCode()
	failed := err != nil || a.u.Pool.Failed(status)
	method := string(a.req.Header.Method()) // does not allocate: compared, never kept
	if failure == BodyTooLarge || failure == ClientFailed {
		// The client's doing: the target is neither blamed nor credited,
		// and nothing is tried again.
		a.Abandon()
		return false, failure
	}
	retry = (a.replayable || failure == Connect) &&
		a.u.Pool.RetryOn(method, a.attempt, kind, status) && a.deadline.After(now)
	a.u.Metrics.Attempt(elapsed, failed, retry)
	if failed {
		a.u.Pool.Done(a.t, upstream.Failure)
	} else {
		a.u.Pool.Done(a.t, upstream.Success)
	}
	if retry {
		a.exclude = a.t // the next attempt goes elsewhere when it can
	}
	a.t = nil
	return retry, failure
}

// Abandon ends the attempt Next started without an outcome: the client
// went away, and the engine dropped the attempt's connection. The target is
// neither credited nor blamed.
func (a *Attempts) Abandon() {
	if a.t != nil {
		a.u.Pool.Done(a.t, upstream.Canceled)
		a.t = nil
	}
}

func (u *Upstream) index(t *upstream.Target) int {
	for i, x := range u.Pool.Targets {
		if x == t {
			return i
		}
	}
	return 0
}

// classify maps an exchange's error to the retry policy's kind and a
// Failure.
func classify(err error) (kind string, f Failure) {
	if err == nil {
		return "", OK
	}
	var op *net.OpError
	var ce *ClientError
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return "", BodyTooLarge
	case errors.As(err, &ce):
		return "", ClientFailed
	case errors.Is(err, ErrAborted):
		return "", Aborted
	case errors.Is(err, ErrNoFreeConns), errors.As(err, &op) && op.Op == "dial":
		return upstream.ConnectError, Connect
	case errors.Is(err, ErrTimeout):
		return upstream.Timeout, Timeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return upstream.Timeout, Timeout
	}
	return "", Broken
}

var http11 = []byte("HTTP/1.1")

// ErrTimeout is an exchange past its deadline, as an engine that keeps its
// own time reports it.
var ErrTimeout = errors.New("the upstream did not answer in time")

// ErrBodyTooLarge is returned by a LimitReader past its limit.
var ErrBodyTooLarge = errors.New("the request body is larger than the limit")

// LimitReader passes on at most N bytes of R and fails with ErrBodyTooLarge
// past them: a body streamed to an upstream without being read first is cut
// when it exceeds max_body, and Forward reports BodyTooLarge.
type LimitReader struct {
	R io.Reader
	N int64
}

func (l *LimitReader) Read(p []byte) (int, error) {
	if l.N < 0 {
		return 0, ErrBodyTooLarge
	}
	if int64(len(p)) > l.N+1 {
		p = p[:l.N+1]
	}
	n, err := l.R.Read(p)
	l.N -= int64(n)
	if l.N < 0 {
		return 0, ErrBodyTooLarge
	}
	return n, err
}

// Targets lists the target URLs, for logs.
func (u *Upstream) Targets() string {
	s := make([]string, len(u.Pool.Targets))
	for i, t := range u.Pool.Targets {
		s[i] = t.URL.String()
	}
	return strings.Join(s, ", ")
}

// CertPool reads the PEM certificates of file into a pool; a file with none
// is an error.
func CertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
