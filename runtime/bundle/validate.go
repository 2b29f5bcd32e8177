package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Validate checks that b is internally consistent, so that the runtime can
// index it without checks of its own: route operation indexes are in range;
// every upstream, authorizer, rate limit and security scheme an operation
// names exists; every schema `$ref` names a definition; methods are
// upper-case tokens, paths start with "/", no two routes share a method and
// path, names are unique, durations and sizes are not negative, and enumerated
// fields hold known values. It returns the first problem, with its location
// (`operations[3] "getPet": upstream "pets" is not defined`).
//
// Decode calls Validate, and Marshal refuses a bundle it rejects.
func (b *Bundle) Validate() error { return b.validate(false) }

// validate is Validate; decoded says that b was just decoded, so its raw
// JSON is known to be valid and need not be checked again (that check was
// an eighth of Decode's time).
func (b *Bundle) validate(decoded bool) error {
	upstreams, err := names("upstreams", len(b.Upstreams), func(i int) string { return b.Upstreams[i].Name })
	if err != nil {
		return err
	}
	schemes, err := names("securitySchemes", len(b.SecuritySchemes), func(i int) string { return b.SecuritySchemes[i].Name })
	if err != nil {
		return err
	}
	authorizers, err := names("authorizers", len(b.Authorizers), func(i int) string { return b.Authorizers[i].Name })
	if err != nil {
		return err
	}
	limits, err := names("rateLimits", len(b.RateLimits), func(i int) string { return b.RateLimits[i].Name })
	if err != nil {
		return err
	}

	for name, def := range sortedDefs(b.Defs) {
		if name == "" {
			return errors.New(`defs: a definition has an empty name`)
		}
		if err := b.checkSchema(def, decoded); err != nil {
			return fmt.Errorf("defs %q: %w", name, err)
		}
	}
	for i := range b.Upstreams {
		if err := checkUpstream(&b.Upstreams[i]); err != nil {
			return fmt.Errorf("upstreams[%d] %q: %w", i, b.Upstreams[i].Name, err)
		}
	}
	for i := range b.SecuritySchemes {
		if err := checkScheme(&b.SecuritySchemes[i]); err != nil {
			return fmt.Errorf("securitySchemes[%d] %q: %w", i, b.SecuritySchemes[i].Name, err)
		}
	}
	for i, a := range b.Authorizers {
		if err := checkAuthorizer(&a); err != nil {
			return fmt.Errorf("authorizers[%d] %q: %w", i, a.Name, err)
		}
	}
	for i := range b.RateLimits {
		if err := checkRateLimit(&b.RateLimits[i]); err != nil {
			return fmt.Errorf("rateLimits[%d] %q: %w", i, b.RateLimits[i].Name, err)
		}
	}
	if b.Store != nil && b.Store.Redis != nil {
		r := b.Store.Redis
		if err := checkSecret(r.URL, false); err != nil {
			return fmt.Errorf("store.redis: url: %w", err)
		}
		if err := oneOf(r.OnError, "", "open", "closed"); err != nil {
			return fmt.Errorf("store.redis: onError: %w", err)
		}
	}
	for i, p := range b.TrustedProxies {
		if err := checkNetwork(p); err != nil {
			return fmt.Errorf("trustedProxies[%d]: %w", i, err)
		}
	}

	for i := range b.Operations {
		op := &b.Operations[i]
		c := opChecker{b: b, decoded: decoded, upstreams: upstreams, schemes: schemes, authorizers: authorizers, limits: limits}
		if err := c.check(op); err != nil {
			return fmt.Errorf("operations[%d] %q: %w", i, op.ID, err)
		}
	}

	routes := make(map[string]int, len(b.Routes))
	for i, r := range b.Routes {
		if err := b.checkRoute(r); err != nil {
			return fmt.Errorf("routes[%d] %s %q: %w", i, r.Method, r.Path, err)
		}
		key := r.Method + " " + r.Path
		if j, dup := routes[key]; dup {
			return fmt.Errorf("routes[%d] %s %q: duplicates routes[%d]", i, r.Method, r.Path, j)
		}
		routes[key] = i
	}
	return nil
}

// sortedDefs iterates defs by name, so that the first error reported is
// always the same one.
func sortedDefs(defs map[string]json.RawMessage) func(func(string, json.RawMessage) bool) {
	return func(yield func(string, json.RawMessage) bool) {
		for _, k := range sortedKeys(defs) {
			if !yield(k, defs[k]) {
				return
			}
		}
	}
}

// names indexes a named list, refusing empty and duplicate names.
func names(list string, n int, name func(int) string) (map[string]bool, error) {
	seen := make(map[string]bool, n)
	for i := range n {
		s := name(i)
		if s == "" {
			return nil, fmt.Errorf("%s[%d]: name is empty", list, i)
		}
		if seen[s] {
			return nil, fmt.Errorf("%s[%d] %q: name is used twice", list, i, s)
		}
		seen[s] = true
	}
	return seen, nil
}

// checkMethod accepts upper-case HTTP method tokens (extension methods
// such as QUERY included).
func checkMethod(m string) error {
	ok := m != ""
	for i := 0; i < len(m) && ok; i++ {
		c := m[i]
		ok = c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_')
	}
	if !ok {
		return fmt.Errorf("method %q must be an upper-case HTTP method", m)
	}
	return nil
}

func checkPath(what, p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%s %q must start with \"/\"", what, p)
	}
	return nil
}

func (b *Bundle) checkRoute(r Route) error {
	if err := checkMethod(r.Method); err != nil {
		return err
	}
	if err := checkPath("path", r.Path); err != nil {
		return err
	}
	if r.Operation < 0 || r.Operation >= len(b.Operations) {
		return fmt.Errorf("operation %d is out of range (the bundle has %d operations)", r.Operation, len(b.Operations))
	}
	op := &b.Operations[r.Operation]
	if op.Method != r.Method || op.BasePath+op.Path != r.Path {
		return fmt.Errorf("does not match its operation %q (%s %q)", op.ID, op.Method, op.BasePath+op.Path)
	}
	return nil
}

type opChecker struct {
	decoded                                 bool
	b                                       *Bundle
	upstreams, schemes, authorizers, limits map[string]bool
}

func (c *opChecker) check(op *Operation) error {
	if op.ID == "" {
		return errors.New("id is empty")
	}
	if err := checkMethod(op.Method); err != nil {
		return err
	}
	if err := checkPath("path", op.Path); err != nil {
		return err
	}
	if op.BasePath != "" {
		if err := checkPath("basePath", op.BasePath); err != nil {
			return err
		}
	}
	params := map[string]bool{}
	for i := range op.Params {
		p := &op.Params[i]
		if err := c.checkParam(p); err != nil {
			return fmt.Errorf("params[%d] %q: %w", i, p.Name, err)
		}
		key := p.In + " " + p.Name
		if p.In == "header" {
			key = strings.ToLower(key) // header names are case-insensitive
		}
		if params[key] {
			return fmt.Errorf("params[%d]: %s parameter %q is declared twice", i, p.In, p.Name)
		}
		params[key] = true
	}
	if op.Body != nil {
		types := map[string]bool{}
		for i, mt := range op.Body.Content {
			if mt.Type == "" || types[mt.Type] {
				return fmt.Errorf("body.content[%d]: media type %q is empty or repeated", i, mt.Type)
			}
			types[mt.Type] = true
			if mt.Schema != nil {
				if err := c.b.checkSchema(mt.Schema, c.decoded); err != nil {
					return fmt.Errorf("body.content[%d] %q: %w", i, mt.Type, err)
				}
			}
			for j, e := range mt.Encoding {
				if e.Name == "" {
					return fmt.Errorf("body.content[%d] %q: encoding[%d]: name is empty", i, mt.Type, j)
				}
			}
		}
	}
	if op.Public && len(op.Security) > 0 {
		return errors.New("is public but has security requirements")
	}
	for i, req := range op.Security {
		if len(req.Schemes) == 0 {
			return fmt.Errorf("security[%d]: requirement names no scheme", i)
		}
		for _, s := range req.Schemes {
			if !c.schemes[s.Scheme] {
				return fmt.Errorf("security[%d]: security scheme %q is not defined", i, s.Scheme)
			}
		}
	}
	if err := c.checkPolicy(&op.Policy); err != nil {
		return err
	}
	for i, r := range op.Responses {
		if err := checkStatus(r.Status); err != nil {
			return fmt.Errorf("responses[%d]: %w", i, err)
		}
		for _, mc := range r.Content {
			for k, ex := range mc.Examples {
				if !c.decoded && !json.Valid(ex.Value) {
					return fmt.Errorf("responses[%d] %q: %q examples[%d]: value is not valid JSON", i, r.Status, mc.Type, k)
				}
			}
		}
		for _, h := range r.Headers {
			if !c.decoded && h.Example != nil && !json.Valid(h.Example) {
				return fmt.Errorf("responses[%d] %q: header %q: example is not valid JSON", i, r.Status, h.Name)
			}
		}
	}
	return nil
}

// styles lists the serialisation styles OpenAPI allows in each location.
func styles(in string) []string {
	switch in {
	case "path":
		return []string{"simple", "label", "matrix"}
	case "query":
		return []string{"form", "spaceDelimited", "pipeDelimited", "deepObject"}
	case "header":
		return []string{"simple"}
	case "cookie":
		return []string{"form"}
	}
	return nil
}

func (c *opChecker) checkParam(p *Param) error {
	if p.Name == "" {
		return errors.New("name is empty")
	}
	allowed := styles(p.In)
	if allowed == nil {
		return fmt.Errorf("in %q must be path, query, header or cookie", p.In)
	}
	if p.In == "path" && !p.Required {
		return errors.New("path parameters must be required")
	}
	if err := oneOf(p.Style, allowed...); err != nil {
		return fmt.Errorf("style: %w", err)
	}
	if err := oneOf(p.Type, "", "string", "number", "integer", "boolean", "array", "object", "null"); err != nil {
		return fmt.Errorf("type: %w", err)
	}
	if p.Schema != nil {
		if err := c.b.checkSchema(p.Schema, c.decoded); err != nil {
			return err
		}
	}
	return nil
}

func (c *opChecker) checkPolicy(p *Policy) error {
	if p.Upstream != "" && !c.upstreams[p.Upstream] {
		return fmt.Errorf("upstream %q is not defined", p.Upstream)
	}
	if p.Path != "" {
		if err := checkPath("policy path", p.Path); err != nil {
			return err
		}
	}
	if err := nonNegative("timeout", p.Timeout); err != nil {
		return err
	}
	if p.MaxBody < 0 {
		return fmt.Errorf("maxBody %d is negative", p.MaxBody)
	}
	if rl := p.RateLimit; rl != nil {
		if err := checkRateLimit(rl); err != nil {
			return fmt.Errorf("rate limit %q: %w", rl.Name, err)
		}
		// Inline limits are named after their operation and need no entry.
		if !strings.HasPrefix(rl.Name, "operation:") && !c.limits[rl.Name] {
			return fmt.Errorf("rate limit %q is not defined", rl.Name)
		}
	}
	if ch := p.Cache; ch != nil {
		if err := nonNegative("cache ttl", ch.TTL); err != nil {
			return err
		}
	}
	if p.CORS != nil {
		if err := nonNegative("cors maxAge", p.CORS.MaxAge); err != nil {
			return err
		}
	}
	if p.Headers != nil {
		for _, ops := range []*HeaderOps{p.Headers.Request, p.Headers.Response} {
			if ops == nil {
				continue
			}
			for _, h := range append(ops.Set[:len(ops.Set):len(ops.Set)], ops.Add...) {
				if h.Name == "" {
					return errors.New("headers: a header name is empty")
				}
			}
		}
	}
	if p.Authorizer != "" && !c.authorizers[p.Authorizer] {
		return fmt.Errorf("authorizer %q is not defined", p.Authorizer)
	}
	if p.IP != nil {
		for _, n := range append(p.IP.Allow[:len(p.IP.Allow):len(p.IP.Allow)], p.IP.Deny...) {
			if err := checkNetwork(n); err != nil {
				return fmt.Errorf("ip: %w", err)
			}
		}
	}
	for i, call := range p.Aggregate {
		if !c.upstreams[call.Upstream] {
			return fmt.Errorf("aggregate[%d]: upstream %q is not defined", i, call.Upstream)
		}
		if err := checkPath("path", call.Path); err != nil {
			return fmt.Errorf("aggregate[%d]: %w", i, err)
		}
		if call.Method != "" {
			if err := checkMethod(call.Method); err != nil {
				return fmt.Errorf("aggregate[%d]: %w", i, err)
			}
		}
	}
	return nil
}

func checkUpstream(u *Upstream) error {
	if len(u.Targets) == 0 {
		return errors.New("has no targets")
	}
	for i, t := range u.Targets {
		p, err := url.Parse(t.URL)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("targets[%d]: url %q must be an absolute http or https URL", i, t.URL)
		}
		if t.Weight < 0 {
			return fmt.Errorf("targets[%d]: weight %d is negative", i, t.Weight)
		}
	}
	if err := oneOf(u.Balance, "", "round-robin", "least-requests", "random"); err != nil {
		return fmt.Errorf("balance: %w", err)
	}
	if err := nonNegative("timeout", u.Timeout); err != nil {
		return err
	}
	if r := u.Retries; r != nil && r.Attempts < 0 {
		return fmt.Errorf("retries: attempts %d is negative", r.Attempts)
	}
	if h := u.HealthCheck; h != nil {
		if err := checkPath("healthCheck path", h.Path); err != nil {
			return err
		}
		if h.Interval <= 0 {
			return fmt.Errorf("healthCheck: interval %s must be positive", h.Interval)
		}
		if err := nonNegative("healthCheck timeout", h.Timeout); err != nil {
			return err
		}
		if h.Healthy < 0 || h.Unhealthy < 0 {
			return errors.New("healthCheck: healthy and unhealthy counts must not be negative")
		}
	}
	if cb := u.CircuitBreaker; cb != nil {
		if cb.Failures < 0 {
			return fmt.Errorf("circuitBreaker: failures %d is negative", cb.Failures)
		}
		if err := nonNegative("circuitBreaker openFor", cb.OpenFor); err != nil {
			return err
		}
	}
	return nil
}

func checkScheme(s *SecurityScheme) error {
	switch s.Type {
	case "apiKey":
		if err := oneOf(s.In, "query", "header", "cookie"); err != nil {
			return fmt.Errorf("in: %w", err)
		}
		if s.ParamName == "" {
			return errors.New("apiKey scheme has no parameter name")
		}
	case "http":
		if s.Scheme == "" {
			return errors.New("http scheme has no scheme")
		}
	case "oauth2", "openIdConnect", "mutualTLS":
	default:
		return fmt.Errorf("type %q must be apiKey, http, oauth2, openIdConnect or mutualTLS", s.Type)
	}
	if err := checkSecret(s.Keys, true); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := checkSecret(s.Htpasswd, true); err != nil {
		return fmt.Errorf("htpasswd: %w", err)
	}
	return nonNegative("clockSkew", s.ClockSkew)
}

func checkAuthorizer(a *Authorizer) error {
	if u, err := url.Parse(a.URL); err != nil || u.Host == "" {
		return fmt.Errorf("url %q must be an absolute URL", a.URL)
	}
	if err := nonNegative("timeout", a.Timeout); err != nil {
		return err
	}
	if err := nonNegative("cacheTtl", a.CacheTTL); err != nil {
		return err
	}
	if err := oneOf(a.OnError, "", "deny", "allow"); err != nil {
		return fmt.Errorf("onError: %w", err)
	}
	return nil
}

func checkRateLimit(rl *RateLimit) error {
	if rl.Name == "" {
		return errors.New("name is empty")
	}
	if rl.Requests <= 0 {
		return fmt.Errorf("requests %d must be positive", rl.Requests)
	}
	if rl.Per <= 0 {
		return fmt.Errorf("per %s must be positive", rl.Per)
	}
	if rl.Burst < 0 {
		return fmt.Errorf("burst %d is negative", rl.Burst)
	}
	switch k, v, _ := strings.Cut(rl.Key, ":"); {
	case rl.Key == "ip" || rl.Key == "client":
	case (k == "header" || k == "claim") && v != "":
	default:
		return fmt.Errorf("key %q must be ip, client, header:NAME or claim:NAME", rl.Key)
	}
	return nil
}

// checkSecret checks a secret reference; empty is allowed when optional.
func checkSecret(s SecretRef, optional bool) error {
	if s == "" && optional {
		return nil
	}
	kind, v := s.Kind()
	if (kind != "env" && kind != "file") || v == "" {
		return fmt.Errorf("secret reference %q must be env:NAME or file:PATH", string(s))
	}
	return nil
}

// checkNetwork accepts a CIDR or a single address.
func checkNetwork(s string) error {
	if _, err := netip.ParsePrefix(s); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	return fmt.Errorf("%q is not a CIDR or IP address", s)
}

func checkStatus(s string) error {
	if s == "default" {
		return nil
	}
	if len(s) == 3 && s[0] >= '1' && s[0] <= '5' &&
		((s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9') || s[1:] == "XX" || s[1:] == "xx") {
		return nil
	}
	return fmt.Errorf("status %q must be a code such as 200, a range such as 2XX, or default", s)
}

func nonNegative(what string, d Duration) error {
	if d < 0 {
		return fmt.Errorf("%s %s is negative", what, d)
	}
	return nil
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(quoteAll(allowed), ", "))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
