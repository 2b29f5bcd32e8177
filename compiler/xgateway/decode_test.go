package xgateway

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// parseXGateway parses a YAML snippet and returns its x-gateway member.
func parseXGateway(t *testing.T, src string) *spec.Node {
	t.Helper()
	f, ds := spec.Parse("x.yaml", []byte(src))
	if ds.HasErrors() {
		t.Fatalf("bad test input:\n%s", formatDiags(ds))
	}
	return f.Root.Get("x-gateway")
}

func dur(s string) bundle.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return bundle.Duration(d)
}

func ptr[T any](v T) *T { return &v }

// sameJSON compares values by their JSON, which leaves out the *spec.Node
// fields (they are compared separately) and prints readably.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	if string(g) != string(w) {
		t.Errorf("%s:\n--- got\n%s\n--- want\n%s", what, g, w)
	}
}

func TestDecodeRoot(t *testing.T) {
	x := parseXGateway(t, `
x-gateway:
  upstreams:
    zeta:
      targets: [http://z:1]
    alpha:
      targets: [http://a:1, {url: http://a:2, weight: 3}, {url: http://a:3, weight: 0}]
      balance: least-requests
      timeout: 5s
      retries: {attempts: 2, on: [timeout, 502]}
      health_check: {path: /healthz}
      circuit_breaker: {failures: 5, open_for: 30s}
      ca_file: /etc/ca.pem
    beta:
      targets: [http://b:1]
      retries: {attempts: 1, unsafe: true}
      health_check: {path: /h, interval: 2s, timeout: 1s, healthy: 2, unhealthy: 3}
  rate_limits:
    per-ip: {requests: 10, per: 1s, key: ip}
    burst: {requests: 100, per: 1m, burst: 20, key: "header:X-Key"}
  authorizers:
    opa: {url: http://opa:8181/v1/data/allow, timeout: 200ms, cache_ttl: 1m, forward_headers: [authorization, x-tenant]}
    lax: {url: http://lax:1, on_error: allow}
  cors: {allow_origins: [https://app.example.com], allow_methods: [GET], allow_headers: [x-tenant], expose_headers: [x-request-id], allow_credentials: true, max_age: 10m}
  ip: {allow: [10.0.0.0/8], deny: [10.0.0.1]}
  trusted_proxies: [192.168.0.0/16]
  store: {redis: {url: env:REDIS_URL}}
  defaults: {upstream: alpha, timeout: 10s, rate_limit: per-ip, max_body: 1MiB}
`)
	r := DecodeRoot(x)
	if r.Node != x {
		t.Error("Root.Node is not the x-gateway node")
	}
	sameJSON(t, "upstreams", r.Upstreams, []bundle.Upstream{
		{
			Name:           "alpha",
			Targets:        []bundle.Target{{URL: "http://a:1", Weight: 1}, {URL: "http://a:2", Weight: 3}, {URL: "http://a:3", Weight: 0}},
			Balance:        "least-requests",
			Timeout:        dur("5s"),
			Retries:        &bundle.Retries{Attempts: 2, On: []string{"timeout", "502"}},
			HealthCheck:    &bundle.HealthCheck{Path: "/healthz", Interval: dur("10s")},
			CircuitBreaker: &bundle.CircuitBreaker{Failures: 5, OpenFor: dur("30s")},
			CAFile:         "/etc/ca.pem",
		},
		{
			Name:        "beta",
			Targets:     []bundle.Target{{URL: "http://b:1", Weight: 1}},
			Balance:     "round-robin",
			Retries:     &bundle.Retries{Attempts: 1, On: []string{"connect-error"}, Unsafe: true},
			HealthCheck: &bundle.HealthCheck{Path: "/h", Interval: dur("2s"), Timeout: dur("1s"), Healthy: 2, Unhealthy: 3},
		},
		{Name: "zeta", Targets: []bundle.Target{{URL: "http://z:1", Weight: 1}}, Balance: "round-robin"},
	})
	for _, name := range []string{"alpha", "beta", "zeta"} {
		if n := r.UpstreamNodes[name]; n == nil || n != x.Get("upstreams").Get(name) {
			t.Errorf("UpstreamNodes[%q] is not the definition's node", name)
		}
	}
	sameJSON(t, "rate limits", r.RateLimits, []bundle.RateLimit{
		{Name: "burst", Requests: 100, Per: dur("1m"), Burst: 20, Key: "header:X-Key"},
		{Name: "per-ip", Requests: 10, Per: dur("1s"), Burst: 10, Key: "ip"},
	})
	sameJSON(t, "authorizers", r.Authorizers, []bundle.Authorizer{
		{Name: "lax", URL: "http://lax:1", OnError: "allow"},
		{Name: "opa", URL: "http://opa:8181/v1/data/allow", Timeout: dur("200ms"), CacheTTL: dur("1m"), ForwardHeaders: []string{"Authorization", "X-Tenant"}, OnError: "deny"},
	})
	sameJSON(t, "cors", r.CORS, &bundle.CORS{
		AllowOrigins: []string{"https://app.example.com"}, AllowMethods: []string{"GET"},
		AllowHeaders: []string{"X-Tenant"}, ExposeHeaders: []string{"X-Request-Id"},
		AllowCredentials: true, MaxAge: dur("10m"),
	})
	sameJSON(t, "ip", r.IP, &bundle.IPRules{Allow: []string{"10.0.0.0/8"}, Deny: []string{"10.0.0.1"}})
	sameJSON(t, "trusted proxies", r.TrustedProxies, []string{"192.168.0.0/16"})
	sameJSON(t, "store", r.Store, &bundle.Store{Redis: &bundle.Redis{URL: "env:REDIS_URL", OnError: "open"}})

	d := r.Defaults
	switch {
	case d == nil:
		t.Fatal("no defaults")
	case d.Upstream == nil || d.Upstream.Name != "alpha" || d.Upstream.Node != x.Get("defaults").Get("upstream"):
		t.Errorf("defaults.upstream = %+v", d.Upstream)
	case d.RateLimit == nil || d.RateLimit.Name != "per-ip" || d.RateLimit.Inline != nil:
		t.Errorf("defaults.rate_limit = %+v", d.RateLimit)
	case d.MaxBody == nil || *d.MaxBody != 1<<20:
		t.Errorf("defaults.max_body = %v", d.MaxBody)
	case d.Timeout == nil || *d.Timeout != dur("10s"):
		t.Errorf("defaults.timeout = %v", d.Timeout)
	}
}

func TestDecodeRootEmpty(t *testing.T) {
	for _, src := range []string{"a: 1", "x-gateway: null", "x-gateway: [1]", "x-gateway: {}"} {
		r := DecodeRoot(parseXGateway(t, src))
		if r == nil || r.UpstreamNodes == nil || r.Upstreams != nil || r.Defaults != nil || r.Store != nil {
			t.Errorf("%s: DecodeRoot = %+v, want an empty Root", src, r)
		}
	}
}

func TestDecodePolicy(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want Policy // compared without nodes
	}{
		{name: "absent", src: "a: 1"},
		{name: "not an object", src: "x-gateway: pets"},
		{name: "empty", src: "x-gateway: {}", want: Policy{}},
		{
			name: "named rate limit and scalars",
			src:  `x-gateway: {upstream: pets, path: "/v2/{id}", timeout: 1m30s, rate_limit: per-client, mock: false, websocket: true, authorizer: opa}`,
			want: Policy{
				Upstream: &Ref{Name: "pets"}, Path: ptr("/v2/{id}"), Timeout: ptr(dur("90s")),
				RateLimit: &RateLimitRef{Name: "per-client"}, Mock: ptr(false), WebSocket: ptr(true), Authorizer: &Ref{Name: "opa"},
			},
		},
		{
			name: "inline rate limit with defaults",
			src:  "x-gateway: {rate_limit: {requests: 10, per: 1s}}",
			want: Policy{RateLimit: &RateLimitRef{Inline: &bundle.RateLimit{Requests: 10, Per: dur("1s"), Burst: 10, Key: "client"}}},
		},
		{
			name: "inline rate limit set in full",
			src:  `x-gateway: {rate_limit: {requests: 10, per: 1s, burst: 3, key: "claim:sub"}}`,
			want: Policy{RateLimit: &RateLimitRef{Inline: &bundle.RateLimit{Requests: 10, Per: dur("1s"), Burst: 3, Key: "claim:sub"}}},
		},
		{name: "size in bytes", src: "x-gateway: {max_body: 2048}", want: Policy{MaxBody: ptr(int64(2048))}},
		{name: "size zero", src: "x-gateway: {max_body: 0}", want: Policy{MaxBody: ptr(int64(0))}},
		{name: "size KB", src: "x-gateway: {max_body: 512KB}", want: Policy{MaxBody: ptr(int64(512_000))}},
		{name: "size KiB", src: "x-gateway: {max_body: 512KiB}", want: Policy{MaxBody: ptr(int64(512 << 10))}},
		{name: "size MB", src: "x-gateway: {max_body: 10MB}", want: Policy{MaxBody: ptr(int64(10_000_000))}},
		{name: "size GiB", src: "x-gateway: {max_body: 1GiB}", want: Policy{MaxBody: ptr(int64(1 << 30))}},
		{name: "size GB", src: "x-gateway: {max_body: 2GB}", want: Policy{MaxBody: ptr(int64(2_000_000_000))}},
		{
			name: "cache",
			src:  "x-gateway: {cache: {ttl: 30s, vary: [accept-language], shared: true}}",
			want: Policy{Cache: &bundle.Cache{TTL: dur("30s"), Vary: []string{"Accept-Language"}, Shared: true}},
		},
		{
			name: "headers sorted and canonical",
			src: `x-gateway:
  headers:
    request:
      set: {x-tenant: "{claims.tenant}", Accept: "application/json", X-A: "1"}
      add: {via: gwc}
      remove: [cookie, X-Debug]
    response:
      set: {cache-control: no-store}`,
			want: Policy{Headers: &bundle.Headers{
				Request: &bundle.HeaderOps{
					Set:    []bundle.HeaderValue{{Name: "Accept", Value: "application/json"}, {Name: "X-A", Value: "1"}, {Name: "X-Tenant", Value: "{claims.tenant}"}},
					Add:    []bundle.HeaderValue{{Name: "Via", Value: "gwc"}},
					Remove: []string{"Cookie", "X-Debug"},
				},
				Response: &bundle.HeaderOps{Set: []bundle.HeaderValue{{Name: "Cache-Control", Value: "no-store"}}},
			}},
		},
		{
			name: "cors and ip",
			src:  `x-gateway: {cors: {allow_origins: ["*"]}, ip: {deny: [10.0.0.0/8]}}`,
			want: Policy{CORS: &bundle.CORS{AllowOrigins: []string{"*"}}, IP: &bundle.IPRules{Deny: []string{"10.0.0.0/8"}}},
		},
		{
			name: "aggregate with default method",
			src:  `x-gateway: {aggregate: [{upstream: users, path: "/u/{id}", as: user}, {upstream: orders, path: /o, method: POST}]}`,
			want: Policy{Aggregate: []Call{
				{Call: bundle.Call{Upstream: "users", Path: "/u/{id}", Method: "GET", As: "user"}},
				{Call: bundle.Call{Upstream: "orders", Path: "/o", Method: "POST"}},
			}},
		},
		{
			// Check reports all of these; decoding leaves them unset.
			name: "invalid values are skipped",
			src:  `x-gateway: {upstream: 5, timeout: "5 seconds", max_body: 1 mib, mock: "yes", rate_limit: 10, cache: {vary: [a]}, aggregate: [{upstream: u}, 3]}`,
			want: Policy{Aggregate: []Call{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := parseXGateway(t, tt.src)
			p := DecodePolicy(x)
			if object(x) == nil {
				if p != nil {
					t.Fatalf("DecodePolicy = %+v, want nil", p)
				}
				return
			}
			if p.Node != x {
				t.Error("Policy.Node is not the x-gateway node")
			}
			if p.Upstream != nil && p.Upstream.Node != x.Get("upstream") {
				t.Error("Upstream.Node is not the upstream value")
			}
			if p.RateLimit != nil && p.RateLimit.Node != x.Get("rate_limit") {
				t.Error("RateLimit.Node is not the rate_limit value")
			}
			for i, c := range p.Aggregate {
				if c.UpstreamNode == nil || c.UpstreamNode.Value != c.Upstream {
					t.Errorf("aggregate[%d].UpstreamNode = %v", i, c.UpstreamNode)
				}
			}
			clearNodes(p)
			if !reflect.DeepEqual(*p, tt.want) {
				sameJSON(t, "policy", p, tt.want)
				if !t.Failed() {
					t.Errorf("policy = %#v, want %#v", *p, tt.want)
				}
			}
		})
	}
}

// clearNodes drops the nodes of a decoded policy so that it can be compared
// with a literal.
func clearNodes(p *Policy) {
	p.Node = nil
	if p.Upstream != nil {
		p.Upstream.Node = nil
	}
	if p.Authorizer != nil {
		p.Authorizer.Node = nil
	}
	if p.RateLimit != nil {
		p.RateLimit.Node = nil
	}
	for i := range p.Aggregate {
		p.Aggregate[i].UpstreamNode = nil
	}
}

func TestDecodeScheme(t *testing.T) {
	tests := []struct {
		src  string
		want *Scheme
	}{
		{src: "a: 1"},
		{src: "x-gateway: {keys: env:API_KEYS}", want: &Scheme{Keys: "env:API_KEYS", ClockSkew: dur("30s")}},
		{src: "x-gateway: {htpasswd: file:/run/secrets/htpasswd}", want: &Scheme{Htpasswd: "file:/run/secrets/htpasswd", ClockSkew: dur("30s")}},
		{
			src: "x-gateway: {jwks_url: https://id.example.com/jwks.json, issuer: https://id.example.com, audiences: [pets], algorithms: [RS256, EdDSA], clock_skew: 1m}",
			want: &Scheme{
				JWKSURL: "https://id.example.com/jwks.json", Issuer: "https://id.example.com",
				Audiences: []string{"pets"}, Algorithms: []string{"RS256", "EdDSA"}, ClockSkew: dur("1m"),
			},
		},
	}
	for _, tt := range tests {
		x := parseXGateway(t, tt.src)
		s := DecodeScheme(x)
		if s != nil {
			if s.Node != x {
				t.Errorf("%s: Scheme.Node is not the x-gateway node", tt.src)
			}
			s.Node = nil
		}
		if !reflect.DeepEqual(s, tt.want) {
			t.Errorf("%s: DecodeScheme = %+v, want %+v", tt.src, s, tt.want)
		}
	}
}
