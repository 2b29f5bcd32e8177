package xgateway

import (
	"cmp"
	"net/textproto"
	"slices"
	"time"

	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// Defaults the decoder fills in, as the schema documents them.
const (
	defaultBalance        = "round-robin"
	defaultHealthInterval = bundle.Duration(10 * time.Second)
	defaultRateLimitKey   = "client"
	defaultAuthzOnError   = "deny"
	defaultStoreOnError   = "open"
	defaultClockSkew      = bundle.Duration(30 * time.Second)
	defaultCallMethod     = "GET"
)

// defaultRetryOn is what retries.on means when it is absent.
func defaultRetryOn() []string { return []string{"connect-error"} }

// Ref is a reference by name to an entry of the root x-gateway (an upstream,
// an authorizer), with the node that names it so that the compiler can
// report an unknown name where it was written.
type Ref struct {
	Name string
	Node *spec.Node
}

// Root is the decoded root x-gateway: the named definitions and the
// API-wide settings. Names are not checked against each other here; the
// compiler resolves references with the nodes kept for diagnostics.
type Root struct {
	// Node is the root x-gateway value, nil when there is none.
	Node *spec.Node
	// Upstreams are sorted by name, with balance, target weights and the
	// health-check interval defaulted.
	Upstreams []bundle.Upstream
	// UpstreamNodes maps an upstream's name to its definition.
	UpstreamNodes map[string]*spec.Node
	// RateLimits are sorted by name, with burst and key defaulted.
	RateLimits []bundle.RateLimit
	// Authorizers are sorted by name, with on_error defaulted.
	Authorizers    []bundle.Authorizer
	CORS           *bundle.CORS
	IP             *bundle.IPRules
	TrustedProxies []string
	Store          *bundle.Store
	// Defaults is the policy every operation inherits, nil when unset.
	Defaults *Policy
}

// Policy is the x-gateway of one level (root defaults, path item or
// operation). A nil field is not set at this level, so that the compiler
// can merge levels field by field.
type Policy struct {
	Node       *spec.Node
	Upstream   *Ref
	Path       *string
	Timeout    *bundle.Duration
	RateLimit  *RateLimitRef
	Cache      *bundle.Cache
	CORS       *bundle.CORS
	Headers    *bundle.Headers
	MaxBody    *int64
	Mock       *bool
	Authorizer *Ref
	IP         *bundle.IPRules
	WebSocket  *bool
	// Aggregate is nil when not set at this level.
	Aggregate []Call
}

// RateLimitRef is a policy's rate limit: the name of an entry of the root
// rate_limits, or an inline limit.
type RateLimitRef struct {
	// Name is set when the limit is named.
	Name string
	// Inline is set when the limit is written in place; its Name is empty
	// (the compiler names it after the operation).
	Inline *bundle.RateLimit
	Node   *spec.Node
}

// Call is one call of an aggregate, with the node of its upstream's name.
type Call struct {
	bundle.Call
	UpstreamNode *spec.Node
}

// Scheme is the decoded x-gateway of a security scheme.
type Scheme struct {
	Node       *spec.Node
	Keys       bundle.SecretRef
	Htpasswd   bundle.SecretRef
	JWKSURL    string
	Issuer     string
	Audiences  []string
	Algorithms []string
	// ClockSkew is 30s unless set.
	ClockSkew bundle.Duration
}

// DecodeRoot decodes the root x-gateway n. It never returns nil: a nil n
// gives an empty Root. Values Check would reject are skipped.
func DecodeRoot(n *spec.Node) *Root {
	r := &Root{UpstreamNodes: map[string]*spec.Node{}}
	n = object(n)
	if n == nil {
		return r
	}
	r.Node = n
	for _, p := range pairs(n.Get("upstreams")) {
		def := object(p.Value)
		if def == nil {
			continue
		}
		r.Upstreams = append(r.Upstreams, decodeUpstream(p.Key.Value, def))
		r.UpstreamNodes[p.Key.Value] = def
	}
	slices.SortFunc(r.Upstreams, func(a, b bundle.Upstream) int { return cmp.Compare(a.Name, b.Name) })
	for _, p := range pairs(n.Get("rate_limits")) {
		if rl := decodeRateLimit(p.Value); rl != nil {
			rl.Name = p.Key.Value
			r.RateLimits = append(r.RateLimits, *rl)
		}
	}
	slices.SortFunc(r.RateLimits, func(a, b bundle.RateLimit) int { return cmp.Compare(a.Name, b.Name) })
	for _, p := range pairs(n.Get("authorizers")) {
		if a := decodeAuthorizer(p.Key.Value, p.Value); a != nil {
			r.Authorizers = append(r.Authorizers, *a)
		}
	}
	slices.SortFunc(r.Authorizers, func(a, b bundle.Authorizer) int { return cmp.Compare(a.Name, b.Name) })
	r.CORS = decodeCORS(n.Get("cors"))
	r.IP = decodeIP(n.Get("ip"))
	r.TrustedProxies = stringList(n.Get("trusted_proxies"))
	if s := object(n.Get("store")); s != nil {
		r.Store = &bundle.Store{}
		if rd := object(s.Get("redis")); rd != nil {
			r.Store.Redis = &bundle.Redis{
				URL:     bundle.SecretRef(str(rd.Get("url"))),
				OnError: cmp.Or(str(rd.Get("on_error")), defaultStoreOnError),
			}
		}
	}
	r.Defaults = DecodePolicy(n.Get("defaults"))
	return r
}

// DecodePolicy decodes the x-gateway of a path item, an operation or the
// root defaults. It returns nil when n is nil or not an object.
func DecodePolicy(n *spec.Node) *Policy {
	n = object(n)
	if n == nil {
		return nil
	}
	p := &Policy{Node: n}
	if v := n.Get("upstream"); v != nil {
		if s, ok := v.Deref().Str(); ok {
			p.Upstream = &Ref{Name: s, Node: v}
		}
	}
	if s, ok := n.Get("path").Deref().Str(); ok {
		p.Path = &s
	}
	p.Timeout = duration(n.Get("timeout"))
	p.RateLimit = decodeRateLimitRef(n.Get("rate_limit"))
	if c := object(n.Get("cache")); c != nil {
		if ttl := duration(c.Get("ttl")); ttl != nil {
			p.Cache = &bundle.Cache{TTL: *ttl, Vary: headerNames(c.Get("vary")), Shared: c.Get("shared").Deref().True()}
		}
	}
	p.CORS = decodeCORS(n.Get("cors"))
	p.Headers = decodeHeaders(n.Get("headers"))
	p.MaxBody = size(n.Get("max_body"))
	p.Mock = boolean(n.Get("mock"))
	if v := n.Get("authorizer"); v != nil {
		if s, ok := v.Deref().Str(); ok {
			p.Authorizer = &Ref{Name: s, Node: v}
		}
	}
	p.IP = decodeIP(n.Get("ip"))
	p.WebSocket = boolean(n.Get("websocket"))
	if a := array(n.Get("aggregate")); a != nil {
		p.Aggregate = []Call{}
		for _, e := range a.Elems {
			c := object(e)
			if c == nil {
				continue
			}
			up := c.Get("upstream")
			call := Call{UpstreamNode: up}
			call.Upstream = str(up)
			call.Path = str(c.Get("path"))
			call.Method = cmp.Or(str(c.Get("method")), defaultCallMethod)
			call.As = str(c.Get("as"))
			if call.Upstream == "" || call.Path == "" {
				continue
			}
			p.Aggregate = append(p.Aggregate, call)
		}
	}
	return p
}

// DecodeScheme decodes the x-gateway of a security scheme, or returns nil
// when n is nil or not an object.
func DecodeScheme(n *spec.Node) *Scheme {
	n = object(n)
	if n == nil {
		return nil
	}
	s := &Scheme{
		Node:       n,
		Keys:       bundle.SecretRef(str(n.Get("keys"))),
		Htpasswd:   bundle.SecretRef(str(n.Get("htpasswd"))),
		JWKSURL:    str(n.Get("jwks_url")),
		Issuer:     str(n.Get("issuer")),
		Audiences:  stringList(n.Get("audiences")),
		Algorithms: stringList(n.Get("algorithms")),
		ClockSkew:  defaultClockSkew,
	}
	if d := duration(n.Get("clock_skew")); d != nil {
		s.ClockSkew = *d
	}
	return s
}

func decodeUpstream(name string, n *spec.Node) bundle.Upstream {
	u := bundle.Upstream{Name: name, Balance: cmp.Or(str(n.Get("balance")), defaultBalance), CAFile: str(n.Get("ca_file"))}
	for _, e := range elems(n.Get("targets")) {
		e = e.Deref()
		if s, ok := e.Str(); ok {
			u.Targets = append(u.Targets, bundle.Target{URL: s, Weight: 1})
			continue
		}
		if o := object(e); o != nil {
			t := bundle.Target{URL: str(o.Get("url")), Weight: 1}
			if w, ok := integer(o.Get("weight")); ok && w >= 0 {
				t.Weight = int(w)
			}
			if t.URL != "" {
				u.Targets = append(u.Targets, t)
			}
		}
	}
	if d := duration(n.Get("timeout")); d != nil {
		u.Timeout = *d
	}
	if r := object(n.Get("retries")); r != nil {
		rt := &bundle.Retries{Unsafe: r.Get("unsafe").Deref().True()}
		if a, ok := integer(r.Get("attempts")); ok {
			rt.Attempts = int(a)
		}
		if on := array(r.Get("on")); on != nil {
			rt.On = []string{}
			for _, e := range on.Elems {
				e = e.Deref()
				switch e.Kind {
				case spec.String, spec.Number:
					rt.On = append(rt.On, e.Value)
				}
			}
		} else {
			rt.On = defaultRetryOn()
		}
		u.Retries = rt
	}
	if h := object(n.Get("health_check")); h != nil {
		hc := &bundle.HealthCheck{Path: str(h.Get("path")), Interval: defaultHealthInterval}
		if d := duration(h.Get("interval")); d != nil {
			hc.Interval = *d
		}
		if d := duration(h.Get("timeout")); d != nil {
			hc.Timeout = *d
		}
		if v, ok := integer(h.Get("healthy")); ok {
			hc.Healthy = int(v)
		}
		if v, ok := integer(h.Get("unhealthy")); ok {
			hc.Unhealthy = int(v)
		}
		u.HealthCheck = hc
	}
	if c := object(n.Get("circuit_breaker")); c != nil {
		cb := &bundle.CircuitBreaker{}
		if v, ok := integer(c.Get("failures")); ok {
			cb.Failures = int(v)
		}
		if d := duration(c.Get("open_for")); d != nil {
			cb.OpenFor = *d
		}
		u.CircuitBreaker = cb
	}
	return u
}

// decodeRateLimit decodes a rate limit's fields (not its name), or returns
// nil when n is not an object.
func decodeRateLimit(n *spec.Node) *bundle.RateLimit {
	n = object(n)
	if n == nil {
		return nil
	}
	rl := &bundle.RateLimit{Key: cmp.Or(str(n.Get("key")), defaultRateLimitKey)}
	if v, ok := integer(n.Get("requests")); ok {
		rl.Requests = v
	}
	if d := duration(n.Get("per")); d != nil {
		rl.Per = *d
	}
	rl.Burst = rl.Requests
	if v, ok := integer(n.Get("burst")); ok {
		rl.Burst = v
	}
	return rl
}

func decodeRateLimitRef(n *spec.Node) *RateLimitRef {
	if n == nil {
		return nil
	}
	v := n.Deref()
	if s, ok := v.Str(); ok {
		return &RateLimitRef{Name: s, Node: n}
	}
	if rl := decodeRateLimit(v); rl != nil {
		return &RateLimitRef{Inline: rl, Node: n}
	}
	return nil
}

func decodeAuthorizer(name string, n *spec.Node) *bundle.Authorizer {
	n = object(n)
	if n == nil {
		return nil
	}
	a := &bundle.Authorizer{
		Name:           name,
		URL:            str(n.Get("url")),
		ForwardHeaders: headerNames(n.Get("forward_headers")),
		OnError:        cmp.Or(str(n.Get("on_error")), defaultAuthzOnError),
	}
	if d := duration(n.Get("timeout")); d != nil {
		a.Timeout = *d
	}
	if d := duration(n.Get("cache_ttl")); d != nil {
		a.CacheTTL = *d
	}
	return a
}

func decodeCORS(n *spec.Node) *bundle.CORS {
	n = object(n)
	if n == nil {
		return nil
	}
	c := &bundle.CORS{
		AllowOrigins:     stringList(n.Get("allow_origins")),
		AllowMethods:     stringList(n.Get("allow_methods")),
		AllowHeaders:     headerNames(n.Get("allow_headers")),
		ExposeHeaders:    headerNames(n.Get("expose_headers")),
		AllowCredentials: n.Get("allow_credentials").Deref().True(),
	}
	if d := duration(n.Get("max_age")); d != nil {
		c.MaxAge = *d
	}
	return c
}

func decodeIP(n *spec.Node) *bundle.IPRules {
	n = object(n)
	if n == nil {
		return nil
	}
	return &bundle.IPRules{Allow: stringList(n.Get("allow")), Deny: stringList(n.Get("deny"))}
}

func decodeHeaders(n *spec.Node) *bundle.Headers {
	n = object(n)
	if n == nil {
		return nil
	}
	return &bundle.Headers{Request: decodeHeaderOps(n.Get("request")), Response: decodeHeaderOps(n.Get("response"))}
}

func decodeHeaderOps(n *spec.Node) *bundle.HeaderOps {
	n = object(n)
	if n == nil {
		return nil
	}
	return &bundle.HeaderOps{
		Set:    headerValues(n.Get("set")),
		Add:    headerValues(n.Get("add")),
		Remove: headerNames(n.Get("remove")),
	}
}

// headerValues decodes a map of header name to template, sorted by
// canonical name. The sort is stable so that two spellings of one name
// (Check reports them) keep their source order.
func headerValues(n *spec.Node) []bundle.HeaderValue {
	var hs []bundle.HeaderValue
	for _, p := range pairs(n) {
		if s, ok := p.Value.Deref().Str(); ok {
			hs = append(hs, bundle.HeaderValue{Name: textproto.CanonicalMIMEHeaderKey(p.Key.Value), Value: s})
		}
	}
	slices.SortStableFunc(hs, func(a, b bundle.HeaderValue) int { return cmp.Compare(a.Name, b.Name) })
	return hs
}

// headerNames decodes a list of header names, canonicalised. "*" (allowed
// in allow_headers) is kept as it is.
func headerNames(n *spec.Node) []string {
	names := stringList(n)
	for i, s := range names {
		names[i] = textproto.CanonicalMIMEHeaderKey(s)
	}
	return names
}

// The helpers below read one kind of value, following `$ref`s, and give
// the zero value for anything else: decoding skips what Check rejects.

func object(n *spec.Node) *spec.Node {
	n = n.Deref()
	if n == nil || n.Kind != spec.Object {
		return nil
	}
	return n
}

func array(n *spec.Node) *spec.Node {
	n = n.Deref()
	if n == nil || n.Kind != spec.Array {
		return nil
	}
	return n
}

// pairs returns the members of the object n, following `$ref`s; nil for
// anything else.
func pairs(n *spec.Node) []spec.Pair {
	if o := object(n); o != nil {
		return o.Pairs
	}
	return nil
}

// elems returns the elements of the array n, following `$ref`s; nil for
// anything else.
func elems(n *spec.Node) []*spec.Node {
	if a := array(n); a != nil {
		return a.Elems
	}
	return nil
}

func str(n *spec.Node) string {
	s, _ := n.Deref().Str()
	return s
}

// strings_ returns the string elements of an array, nil when n is not one.
func stringList(n *spec.Node) []string {
	a := array(n)
	if a == nil {
		return nil
	}
	out := make([]string, 0, len(a.Elems))
	for _, e := range a.Elems {
		if s, ok := e.Deref().Str(); ok {
			out = append(out, s)
		}
	}
	return out
}

func integer(n *spec.Node) (int64, bool) { return n.Deref().Int() }

func boolean(n *spec.Node) *bool {
	n = n.Deref()
	if n == nil || n.Kind != spec.Bool {
		return nil
	}
	b := n.Value == "true"
	return &b
}

func duration(n *spec.Node) *bundle.Duration {
	s, ok := n.Deref().Str()
	if !ok {
		return nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return nil
	}
	bd := bundle.Duration(d)
	return &bd
}

// size reads max_body: a non-negative integer of bytes, or a size string.
func size(n *spec.Node) *int64 {
	n = n.Deref()
	if n == nil {
		return nil
	}
	switch n.Kind {
	case spec.Number:
		if v, ok := n.Int(); ok && v >= 0 {
			return &v
		}
	case spec.String:
		if v, err := parseSize(n.Value); err == nil {
			return &v
		}
	}
	return nil
}
