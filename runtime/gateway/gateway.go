// Package gateway is the request path of gwc serve, written once for every
// engine: one or more bundles made into what serves a parsed request (Serve
// for an engine that may block, ServeAsync for an event loop). New builds
// everything a request needs from the bundles, once: the routing table,
// each operation's validators, its upstream with warm connections, and its
// chain of steps (DESIGN §4), which holds only what the operation's policy
// asks for. A Gateway is immutable once built; a server swaps whole
// Gateways to reload.
//
// Per request: framing guards → path normalisation → CORS preflight → route
// lookup (404, 405 with Allow) → the operation's chain: IP rules → body
// limit → authentication → authorizer → rate limit → parameter validation →
// body validation → response cache → upstream (request header transforms)
// or mock; then X-Request-Id, the rate-limit and CORS fields and the
// response header transforms on the answer. Every answer
// gwc makes itself is application/problem+json (RFC 9457); every request is
// counted in the metrics by operation and status class, and rejections by
// reason.
package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/auth"
	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/cache"
	"github.com/gwcdev/gwc/runtime/header"
	"github.com/gwcdev/gwc/runtime/metrics"
	"github.com/gwcdev/gwc/runtime/problem"
	"github.com/gwcdev/gwc/runtime/proxy"
	"github.com/gwcdev/gwc/runtime/ratelimit"
	"github.com/gwcdev/gwc/runtime/router"
	"github.com/gwcdev/gwc/runtime/upstream"
	"github.com/gwcdev/gwc/runtime/validate"
)

// Config is what a Gateway shares with the server around it.
type Config struct {
	// Metrics receives every request's series; required.
	Metrics *metrics.Metrics
	// Clients holds the upstream connections, kept across reloads; required.
	Clients *proxy.Clients
	// Log receives operational events (health changes, upstream errors);
	// nil discards them.
	Log *slog.Logger
	// AccessLog receives one record per request; nil turns it off.
	AccessLog *slog.Logger
	// Secrets reads the secrets security schemes refer to; nil reads env:
	// and file: references (auth.ResolveSecret).
	Secrets auth.Resolver
	// SecretDirs, by bundle, are the directories a relative file: secret
	// reference is read from (the served file's); "" is the working
	// directory.
	SecretDirs []string
	// ClientCerts says the listener checks client certificates (TLS with a
	// client CA), which the mutualTLS scheme needs.
	ClientCerts bool
	// Limits holds rate-limit state across reloads; nil gives the gateway
	// stores of its own.
	Limits *ratelimit.Stores
	// Cache holds cached responses across reloads when no Redis is
	// configured; nil gives the gateway one of DefaultCacheBytes.
	Cache *cache.Memory
}

// authorizerClient calls external authorizers: no redirects, no proxy from
// the environment, keep-alive connections.
var authorizerClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext},
}

// Gateway serves the bundles it was built from.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	bundles []*bundle.Bundle
	router  *router.Router
	ops     []*operation
	// apis holds what is per bundle: validators, upstreams, trusted proxies.
	apis       []*api
	rejections map[string]metrics.Rejection
	// clients are the request counters of the clients the secrets name.
	clients map[string]*metrics.Client
	// maxBody is the largest max_body of ops (MaxBody).
	maxBody int64
	cancel  context.CancelFunc
	started atomic.Bool
}

// api is one bundle made live.
type api struct {
	b           *bundle.Bundle
	validators  *validate.Validators
	upstreams   map[string]*proxy.Upstream
	trusted     []netip.Prefix
	schemes     *auth.Schemes
	limits      *limitStore
	cache       *responseCache
	authorizers map[string]*authorizer
}

// New builds the gateway of bundles. prev, when not nil, is the gateway
// being replaced: compiled schemas and upstream target health carry over
// from it. New starts nothing; call Start to run health checks.
func New(bundles []*bundle.Bundle, prev *Gateway, cfg Config) (*Gateway, error) {
	if len(bundles) == 0 {
		return nil, fmt.Errorf("no bundle to serve")
	}
	if cfg.Metrics == nil || cfg.Clients == nil {
		return nil, fmt.Errorf("gateway: Config.Metrics and Config.Clients are required")
	}
	if cfg.Limits == nil {
		cfg.Limits = ratelimit.NewStores()
	}
	if cfg.Cache == nil {
		cfg.Cache = cache.NewMemory(DefaultCacheBytes)
	}
	if cfg.Secrets == nil {
		cfg.Secrets = auth.ResolveSecret
	}
	g := &Gateway{cfg: cfg, log: cfg.Log, bundles: bundles, rejections: map[string]metrics.Rejection{},
		clients: map[string]*metrics.Client{}}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	for _, reason := range problem.Reasons {
		g.rejections[reason.Slug] = cfg.Metrics.Rejection(reason.Slug)
	}
	if err := checkOverlap(bundles); err != nil {
		return nil, err
	}
	var routes []bundle.Route
	for bi, b := range bundles {
		a, err := g.newAPI(b, bi, prev)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.API.Source, err)
		}
		g.apis = append(g.apis, a)
		base := len(g.ops)
		for i := range b.Operations {
			o, err := newOperation(g, a, i)
			if err != nil {
				return nil, fmt.Errorf("%s: operation %s: %w", b.API.Source, b.Operations[i].ID, err)
			}
			g.ops = append(g.ops, o)
		}
		for _, rt := range b.Routes {
			rt.Operation += base
			routes = append(routes, rt)
		}
	}
	r, err := router.New(routes)
	if err != nil {
		return nil, err
	}
	for _, s := range r.Skipped() {
		g.log.Warn("route not served", "route", s.Route.Method+" "+s.Route.Path, "reason", s.Reason)
	}
	var unchecked, refused []string
	why := map[string]bool{}
	for _, o := range g.ops {
		if o.noAuth == nil {
			continue
		}
		if o.unchecked {
			unchecked = append(unchecked, o.op.ID)
		} else {
			refused = append(refused, o.op.ID)
		}
		for _, name := range o.noAuth.Unchecked() {
			if reason := o.api.schemes.Unchecked[name]; reason != "" {
				why[name+": "+reason] = true
			}
		}
	}
	reasons := slices.Sorted(maps.Keys(why))
	if len(unchecked) > 0 {
		g.log.Warn("mocked operations whose security schemes gwc cannot check answer anyway (X-Gwc-Auth: not-checked)",
			"operations", strings.Join(unchecked, ","), "schemes", strings.Join(reasons, "; "))
	}
	if len(refused) > 0 {
		g.log.Warn("proxied operations whose security schemes gwc cannot check are refused (500 auth-unavailable)",
			"operations", strings.Join(refused, ","), "schemes", strings.Join(reasons, "; "))
	}
	g.router = r
	for _, o := range g.ops {
		g.maxBody = max(g.maxBody, o.maxBody)
	}
	if g.maxBody == 0 {
		g.maxBody = DefaultMaxBody
	}
	return g, nil
}

// checkOverlap refuses bundles that route the same method and template (up
// to parameter names) between them: each bundle's own routes were checked by
// its compiler, but only serving them together shows a clash, such as two
// versions of one API built with the same servers base path.
func checkOverlap(bs []*bundle.Bundle) error {
	if len(bs) < 2 {
		return nil
	}
	if err := checkMounts(bs); err != nil {
		return err
	}
	seen := map[string]int{} // route → index of its bundle
	for i, b := range bs {
		for _, rt := range b.Routes {
			k := rt.Method + " " + templateKey(rt.Path)
			if other, ok := seen[k]; ok && other != i {
				return fmt.Errorf("%s %s is routed by both %s (bundle %d) and %s (bundle %d): serve them on different base paths (servers) or separately",
					rt.Method, rt.Path, bs[other].API.Source, other+1, b.API.Source, i+1)
			}
			seen[k] = i
		}
	}
	return nil
}

// checkMounts refuses bundles mounted at the same base path, or one inside
// the other's (/v1 and /v1/beta; no servers base path contains every
// other): each version of an API gets its own servers base path, and a
// request's base path names the bundle that serves it.
func checkMounts(bs []*bundle.Bundle) error {
	mounts := make([][]string, len(bs))
	for i, b := range bs {
		seen := map[string]bool{}
		for _, op := range b.Operations {
			if !seen[op.BasePath] {
				seen[op.BasePath] = true
				mounts[i] = append(mounts[i], op.BasePath)
			}
		}
		slices.Sort(mounts[i])
	}
	nested := func(a, b string) bool {
		return a == b || a == "" || b == "" || strings.HasPrefix(b, a+"/") || strings.HasPrefix(a, b+"/")
	}
	show := func(p string) string {
		if p == "" {
			return "/ (no servers base path)"
		}
		return p
	}
	for i := range bs {
		for j := i + 1; j < len(bs); j++ {
			for _, a := range mounts[i] {
				for _, b := range mounts[j] {
					if nested(a, b) {
						return fmt.Errorf("%s (bundle %d) is mounted at %s and %s (bundle %d) at %s, which overlap: give each its own servers base path (/v1, /v2) or serve them separately",
							bs[i].API.Source, i+1, show(a), bs[j].API.Source, j+1, show(b))
					}
				}
			}
		}
	}
	return nil
}

// templateKey is a path template with its parameter names dropped:
// "/pets/{id}" and "/pets/{petId}" match the same requests.
func templateKey(t string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i+1])
		b.WriteByte('}')
		t = t[i+j+1:]
	}
}

func (g *Gateway) newAPI(b *bundle.Bundle, index int, prev *Gateway) (*api, error) {
	a := &api{b: b, upstreams: map[string]*proxy.Upstream{}}
	var err error
	if prev != nil && index < len(prev.apis) {
		a.validators, err = prev.apis[index].validators.Reload(b)
	} else {
		a.validators, err = validate.Compile(b)
	}
	if err != nil {
		return nil, fmt.Errorf("compiling the validators: %w", err)
	}
	secrets := g.cfg.Secrets
	if index < len(g.cfg.SecretDirs) && g.cfg.SecretDirs[index] != "" {
		secrets = relativeTo(g.cfg.SecretDirs[index], secrets)
	}
	if a.schemes, err = auth.Compile(b, auth.Options{Resolve: secrets, ClientCerts: g.cfg.ClientCerts}); err != nil {
		return nil, err
	}
	for _, c := range a.schemes.Clients() {
		if g.clients[c] == nil {
			g.clients[c] = g.cfg.Metrics.Client(c)
		}
	}
	a.authorizers = map[string]*authorizer{}
	for i := range b.Authorizers {
		a.authorizers[b.Authorizers[i].Name] = newAuthorizer(&b.Authorizers[i], authorizerClient)
	}
	a.limits = &limitStore{Store: g.cfg.Limits.Memory, failOpen: true}
	if b.Store != nil && b.Store.Redis != nil {
		url, err := secrets(b.Store.Redis.URL)
		if err != nil {
			return nil, fmt.Errorf("store.redis.url %s: %w", b.Store.Redis.URL, err)
		}
		rs, err := g.cfg.Limits.Redis(strings.TrimSpace(string(url)))
		if err != nil {
			return nil, err
		}
		a.limits = &limitStore{Store: rs, failOpen: b.Store.Redis.OnError != "closed"}
		a.cache = &responseCache{store: cache.NewRedis(rs.Client())}
	} else {
		a.cache = &responseCache{store: g.cfg.Cache}
	}
	m := g.cfg.Metrics
	a.cache.hit, a.cache.miss, a.cache.bypass = m.CacheResult("hit"), m.CacheResult("miss"), m.CacheResult("bypass")
	a.cache.errors = m.StoreError("cache", "bypassed")
	a.limits.allowed = g.cfg.Metrics.StoreError("rate_limit", "allowed")
	a.limits.denied = g.cfg.Metrics.StoreError("rate_limit", "refused")
	for _, u := range b.Upstreams {
		up, err := proxy.NewUpstream(u, g.cfg.Clients, g.cfg.Metrics.Upstream(u.Name), upstream.Options{})
		if err != nil {
			return nil, err
		}
		if prev != nil && index < len(prev.apis) {
			if old := prev.apis[index].upstreams[u.Name]; old != nil {
				up.Pool.InheritHealth(old.Pool)
			}
		}
		a.upstreams[u.Name] = up
	}
	for _, c := range b.TrustedProxies {
		p, err := parsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %w", err)
		}
		a.trusted = append(a.trusted, p)
	}
	return a, nil
}

// relativeTo reads a relative file: reference from dir.
func relativeTo(dir string, resolve auth.Resolver) auth.Resolver {
	return func(ref bundle.SecretRef) ([]byte, error) {
		if kind, path := ref.Kind(); kind == "file" && !filepath.IsAbs(path) {
			ref = bundle.SecretRef("file:" + filepath.Join(dir, path))
		}
		return resolve(ref)
	}
}

// parsePrefix reads a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Start runs what the gateway does in the background until Close: active
// health checks of its upstreams, and compiling the full validators that the
// fast path defers. It returns at once.
func (g *Gateway) Start() {
	if !g.started.CompareAndSwap(false, true) {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	probe := upstream.HTTPProbe(&http.Client{
		// A redirect (to a login page, say) is not health.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
	})
	for _, a := range g.apis {
		for name, up := range a.upstreams {
			for _, t := range up.Pool.Targets {
				up.Metrics.TargetHealth(t.URL.String(), t.Healthy())
			}
			if up.Pool.Config.HealthCheck == nil {
				continue
			}
			go up.Pool.CheckHealth(ctx, probe, func(t *upstream.Target, healthy bool, err error) {
				up.Metrics.TargetHealth(t.URL.String(), healthy)
				if healthy {
					g.log.Info("upstream target is healthy again", "upstream", name, "target", t.URL.String())
				} else {
					g.log.Warn("upstream target is down", "upstream", name, "target", t.URL.String(), "error", err)
				}
			})
		}
		go func(v *validate.Validators) {
			if err := v.Warm(ctx); err != nil && ctx.Err() == nil {
				g.log.Error("compiling request validators", "error", err)
			}
		}(a.validators)
	}
}

// Close stops the background work Start began. Requests still being served
// finish normally: nothing they use is closed.
func (g *Gateway) Close() {
	if g.cancel != nil {
		g.cancel()
	}
}

// Bundles returns the bundles served.
func (g *Gateway) Bundles() []*bundle.Bundle { return g.bundles }

// rejection counts a request gwc answered itself.
func (g *Gateway) rejection(r problem.Reason) {
	// Every reason of problem.Reasons was resolved in New; the map is read
	// only while serving.
	if c, ok := g.rejections[r.Slug]; ok {
		c.Inc()
	}
}

// Serve serves the request of ctx to its end on the calling goroutine,
// which may wait: on the upstream, Redis, an authorizer, a key set. call,
// when not nil, lets the engine abort the upstream exchange from another
// goroutine when the client goes away; the request is then recorded as a
// 499, Serve returns gone, and its answer must not be written. Event loops,
// which cannot wait, call ServeAsync: the same steps, with the upstream
// exchange left to the engine.
func (g *Gateway) Serve(ctx *fasthttp.RequestCtx, call *proxy.Call) (gone bool) {
	r := requests.Get().(*request)
	r.ctx, r.g, r.start, r.call = ctx, g, time.Now(), call
	defer r.release()
	g.serve(r)
	g.finish(r, time.Now())
	return r.gone
}

func (g *Gateway) serve(r *request) {
	if o := g.route(r); o != nil {
		o.serve(r)
	}
}

// route finds the request's operation, after the checks every request
// gets; nil when it answered the request itself (a problem, a preflight).
func (g *Gateway) route(r *request) *operation {
	ctx := r.ctx
	h := &ctx.Request.Header
	r.setID()
	check := proxy.CheckRequest(h)
	if check.Problem != "" {
		r.fail(problem.BadRequest, check.Problem, nil)
		ctx.SetConnectionClose() // after fail, which resets the response
		return nil
	}
	r.hop, r.expect = check.Hop, check.Expect
	if p := h.Protocol(); string(p) != "HTTP/1.1" && string(p) != "HTTP/1.0" {
		// fasthttp reads any HTTP/d.d; gwc speaks 1.0 and 1.1 (HTTP/2 is
		// ALPN's, not a request line's).
		r.fail(problem.VersionNotSupported, "HTTP/1.1 and HTTP/1.0 are served; this request line says "+string(p), nil)
		ctx.SetConnectionClose()
		return nil
	}
	if bytes.IndexByte(h.RequestURI(), '#') >= 0 {
		// A fragment is the client's own; no client sends one.
		r.fail(problem.BadPath, "the request target has a fragment (#)", nil)
		return nil
	}
	if check.Authorizations > 1 {
		r.fail(problem.BadRequest, "the request has the Authorization field more than once", nil)
		return nil
	}
	if ip, ok := netip.AddrFromSlice(ctx.RemoteIP()); ok {
		r.peer = ip.Unmap()
	}
	norm, err := router.Normalize(b2s(ctx.Request.URI().PathOriginal()))
	if err != nil {
		r.fail(problem.BadPath, err.Error(), nil)
		return nil
	}
	// The path is copied out of fasthttp's URI buffer, which the upstream
	// request's URI overwrites; the router's captures are substrings of it.
	r.pathBuf = append(r.pathBuf[:0], norm...)
	r.path = b2s(r.pathBuf)
	method := b2s(h.Method())
	if method == http.MethodOptions && len(h.Peek("Origin")) > 0 && len(h.Peek("Access-Control-Request-Method")) > 0 &&
		g.preflight(r) {
		return nil
	}
	i, res := g.router.Lookup(method, r.path, &r.params)
	switch res {
	case router.NotFound:
		r.fail(problem.NotFound, "no operation matches "+method+" "+r.path, nil)
		return nil
	case router.MethodNotAllowed:
		allow := g.router.Allow(r.path)
		r.fail(problem.MethodNotAllowed, method+" is not allowed on "+r.path+"; allowed: "+allow, nil)
		ctx.Response.Header.Set("Allow", allow)
		return nil
	}
	o := g.ops[i]
	r.op = o
	r.trusted = o.api.trustedPeer(r.peer)
	return o
}

func (a *api) trustedPeer(ip netip.Addr) bool {
	for _, p := range a.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// finish records the request in the metrics and the access log; now is
// when it was answered.
func (g *Gateway) finish(r *request, now time.Time) {
	r.ctx.Response.Header.SetCanonical(header.XRequestID, r.id)
	if r.limited {
		r.setLimitHeaders()
	}
	if r.op != nil && r.op.cors != nil {
		r.setCORSHeaders()
	}
	if r.op != nil && r.op.respT != nil && !r.problem {
		r.op.respT.apply(&r.ctx.Response.Header, r)
	}
	status := r.ctx.Response.StatusCode()
	if r.gone {
		status = problem.ClientClosed.Status
	}
	elapsed := now.Sub(r.start)
	if r.op != nil {
		r.op.metrics.Observe(status, elapsed)
	}
	if r.identity.Client != "" {
		if c := g.clients[r.identity.Client]; c != nil {
			c.Observe(status)
		}
	}
	if g.cfg.AccessLog != nil {
		g.accessLog(r, status, elapsed)
	}
}

func (g *Gateway) accessLog(r *request, status int, elapsed time.Duration) {
	ctx := r.ctx
	attrs := []slog.Attr{
		slog.String("request_id", string(r.id)),
		slog.String("remote_addr", r.peer.String()),
		slog.String("method", string(ctx.Request.Header.Method())),
		slog.String("path", r.logPath()),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if r.identity.Client != "" {
		attrs = append(attrs, slog.String("client", r.identity.Client))
	}
	if r.op != nil {
		attrs = append(attrs, slog.String("operation", r.op.op.ID))
		if r.op.up != nil && r.reason == "" {
			attrs = append(attrs, slog.String("upstream", r.op.up.Pool.Name))
		}
	}
	if r.reason != "" {
		attrs = append(attrs, slog.String("answered_by", "gwc"), slog.String("reason", r.reason))
	}
	if ua := ctx.Request.Header.UserAgent(); len(ua) > 0 {
		attrs = append(attrs, slog.String("user_agent", string(ua)))
	}
	g.cfg.AccessLog.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

// logPath is the path for the access log: the normalised one when the
// request got that far, else the raw one as received.
func (r *request) logPath() string {
	if r.path != "" {
		return r.path
	}
	return string(r.ctx.Request.URI().PathOriginal())
}
