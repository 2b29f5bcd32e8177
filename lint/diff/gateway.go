package diff

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// defaultMaxBody is the runtime's body limit for an operation without
// max_body (runtime/gateway.DefaultMaxBody; a test keeps them equal).
const defaultMaxBody = 1 << 20

// security reports requirements clients must now meet: an operation that
// was public and no longer is, or an alternative of OLD that no alternative
// of NEW accepts (NEW must ask no more schemes and scopes than it).
func (c *comparer) security(name string, old, new *bundle.Operation) {
	at := c.new.nodePos(c.new.opNode(new).Key("security"), new)
	if !c.new.opNode(new).Has("security") && c.new.Doc != nil {
		at = c.new.nodePos(c.new.Doc.Root.Key("security"), new)
	}
	switch {
	case new.Public && !old.Public:
		c.add(KindSecurityRemoved, name, at, "operation is now public (it required %s)", reqText(old.Security))
		return
	case new.Public:
		return
	case old.Public:
		c.add(KindSecurityChanged, name, at, "operation now requires authentication: %s", reqText(new.Security))
		return
	}
	var dropped []bundle.Requirement
	for _, a := range old.Security {
		if !slices.ContainsFunc(new.Security, func(b bundle.Requirement) bool { return satisfies(a, b) }) {
			dropped = append(dropped, a)
		}
	}
	if len(dropped) > 0 {
		c.add(KindSecurityChanged, name, at, "clients authenticating with %s are no longer accepted: the operation requires %s", reqText(dropped), reqText(new.Security))
	}
}

// satisfies says whether a client that meets requirement a meets b: b asks
// for no scheme a does not, and no scope a does not grant.
func satisfies(a, b bundle.Requirement) bool {
	for _, bs := range b.Schemes {
		i := slices.IndexFunc(a.Schemes, func(x bundle.SchemeRequirement) bool { return x.Scheme == bs.Scheme })
		if i < 0 {
			return false
		}
		for _, sc := range bs.Scopes {
			if !slices.Contains(a.Schemes[i].Scopes, sc) {
				return false
			}
		}
	}
	return true
}

func reqText(reqs []bundle.Requirement) string {
	var alts []string
	for _, r := range reqs {
		var parts []string
		for _, s := range r.Schemes {
			p := s.Scheme
			if len(s.Scopes) > 0 {
				p += " [" + strings.Join(s.Scopes, " ") + "]"
			}
			parts = append(parts, p)
		}
		alts = append(alts, strings.Join(parts, " + "))
	}
	if len(alts) == 0 {
		return "nothing"
	}
	return strings.Join(alts, " or ")
}

// schemeNode is a security scheme's object in a spec.
func (s *Side) schemeNode(name string) *spec.Node {
	if s.Doc == nil || s.Doc.Root == nil {
		return nil
	}
	return s.Doc.Root.Get("components").Deref().Get("securitySchemes").Deref().Get(name).Deref()
}

func (s *Side) schemePos(name string) diag.Pos {
	if n := s.schemeNode(name); n != nil {
		return s.pos(n)
	}
	if s.bundleFile != "" {
		return diag.Pos{File: s.prefix + s.bundleFile}
	}
	return diag.Pos{}
}

// usedSchemes are the schemes some operation of s requires.
func usedSchemes(s *Side) map[string]bool {
	used := map[string]bool{}
	for _, op := range s.Ops {
		for _, r := range op.Security {
			for _, sr := range r.Schemes {
				used[sr.Scheme] = true
			}
		}
	}
	return used
}

// schemes reports schemes both sides use whose definition changed: how
// clients present credentials (breaking), or what the gateway checks.
func (c *comparer) schemes() {
	oldUsed, newUsed := usedSchemes(c.old), usedSchemes(c.new)
	for _, name := range sortedKeys(newUsed) {
		o, ok1 := c.old.Schemes[name]
		n, ok2 := c.new.Schemes[name]
		if !oldUsed[name] || !ok1 || !ok2 {
			continue
		}
		at := c.new.schemePos(name)
		var diffs []string
		for _, f := range [][3]string{{"type", o.Type, n.Type}, {"in", o.In, n.In}, {"name", o.ParamName, n.ParamName}, {"scheme", o.Scheme, n.Scheme}} {
			if f[1] != f[2] {
				diffs = append(diffs, fmt.Sprintf("%s %q → %q", f[0], f[1], f[2]))
			}
		}
		if len(diffs) > 0 {
			c.add(KindSecuritySchemeChanged, "", at, "security scheme `%s` changed: %s", name, strings.Join(diffs, ", "))
		}
		diffs = nil
		for _, f := range [][3]string{{"keys", string(o.Keys), string(n.Keys)}, {"htpasswd", string(o.Htpasswd), string(n.Htpasswd)},
			{"jwks_url", o.JWKSURL, n.JWKSURL}, {"issuer", o.Issuer, n.Issuer},
			{"audiences", strings.Join(o.Audiences, ","), strings.Join(n.Audiences, ",")},
			{"algorithms", strings.Join(o.Algorithms, ","), strings.Join(n.Algorithms, ",")}} {
			if f[1] != f[2] {
				diffs = append(diffs, fmt.Sprintf("%s %q → %q", f[0], f[1], f[2]))
			}
		}
		if o.ClockSkew > n.ClockSkew {
			diffs = append(diffs, fmt.Sprintf("clock_skew lowered from %s to %s", o.ClockSkew, n.ClockSkew))
		}
		if len(diffs) > 0 {
			c.add(KindAuthChanged, "", at, "security scheme `%s`: the gateway now checks %s", name, strings.Join(diffs, ", "))
		}
	}
}

// policyPos is where an operation's x-gateway is, else the operation.
func (s *Side) policyPos(op *bundle.Operation, field string) diag.Pos {
	for _, holder := range []*spec.Node{s.opNode(op), s.pathItem(op)} {
		if x := holder.Get("x-gateway").Deref(); x != nil {
			if f := x.Get(field); f != nil {
				return s.pos(f)
			}
		}
	}
	if s.Doc != nil && s.Doc.Root != nil {
		root := s.Doc.Root.Get("x-gateway").Deref()
		if f := root.Get("defaults").Deref().Get(field); f != nil {
			return s.pos(f)
		}
		if f := root.Get(field); f != nil && field == "cors" {
			return s.pos(f) // CORS is also set on the root itself
		}
	}
	for _, holder := range []*spec.Node{s.opNode(op), s.pathItem(op)} {
		if x := holder.Get("x-gateway"); x != nil {
			return s.pos(x)
		}
	}
	return s.opPos(op)
}

// policy reports what the gateway now does differently to an operation's
// clients.
func (c *comparer) policy(name string, old, new *bundle.Operation) {
	op, np := old.Policy, new.Policy
	if np.Authorizer != op.Authorizer && np.Authorizer != "" {
		from := "none"
		if op.Authorizer != "" {
			from = "`" + op.Authorizer + "`"
		}
		c.add(KindAuthChanged, name, c.new.policyPos(new, "authorizer"), "authorizer changed from %s to `%s`", from, np.Authorizer)
	} else if np.Authorizer != "" {
		oa, na := c.old.Authorizers[op.Authorizer], c.new.Authorizers[np.Authorizer]
		if oa.URL != na.URL || oa.OnError != na.OnError || !slices.Equal(oa.ForwardHeaders, na.ForwardHeaders) {
			c.add(KindAuthChanged, name, c.new.policyPos(new, "authorizer"), "authorizer `%s` changed (url %s, on_error %s)", np.Authorizer, na.URL, na.OnError)
		}
	}
	if nr := np.RateLimit; nr != nil {
		at := c.new.policyPos(new, "rate_limit")
		if or := op.RateLimit; or == nil {
			c.add(KindRateLimitLowered, name, at, "now rate limited to %s", rateText(nr))
		} else if rate(nr) < rate(or) || nr.Burst < or.Burst {
			c.add(KindRateLimitLowered, name, at, "rate limit lowered from %s to %s", rateText(or), rateText(nr))
		}
	}
	if ob, nb := maxBody(op.MaxBody), maxBody(np.MaxBody); nb < ob {
		c.add(KindMaxBodyLowered, name, c.new.policyPos(new, "max_body"), "max_body lowered from %d to %d bytes", ob, nb)
	}
	if oc := op.CORS; oc != nil {
		var gone []string
		if np.CORS == nil {
			gone = oc.AllowOrigins
		} else if !slices.Contains(np.CORS.AllowOrigins, "*") {
			for _, o := range oc.AllowOrigins {
				if !slices.Contains(np.CORS.AllowOrigins, o) {
					gone = append(gone, o)
				}
			}
		}
		if len(gone) > 0 {
			c.add(KindCORSOriginRemoved, name, c.new.policyPos(new, "cors"), "CORS no longer allows origin %s", strings.Join(gone, ", "))
		}
	}
	oup, nup := upstreamText(op), upstreamText(np)
	if oup != nup {
		field := "upstream"
		if np.Mock && !op.Mock {
			field = "mock"
		}
		c.add(KindUpstreamChanged, name, c.new.policyPos(new, field), "now answered by %s (was %s)", nup, oup)
	}
	if np.Path != op.Path && !np.Mock && np.Upstream != "" {
		c.add(KindPathRewriteChanged, name, c.new.policyPos(new, "path"), "upstream path rewrite changed from %s to %s", orNone(op.Path), orNone(np.Path))
	}
	if ot, nt := c.timeout(c.old, op), c.timeout(c.new, np); nt > 0 && (ot == 0 || nt < ot) {
		from := "none"
		if ot > 0 {
			from = ot.String()
		}
		c.add(KindTimeoutLowered, name, c.new.policyPos(new, "timeout"), "timeout lowered from %s to %s", from, nt)
	}
}

// timeout is an operation's effective timeout: its own, else its
// upstream's; 0 for none.
func (c *comparer) timeout(s *Side, p bundle.Policy) time.Duration {
	if p.Timeout > 0 {
		return p.Timeout.D()
	}
	return s.Upstreams[p.Upstream].Timeout.D()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func upstreamText(p bundle.Policy) string {
	if p.Upstream == "" || p.Mock {
		return "its mock"
	}
	return "upstream `" + p.Upstream + "`"
}

func maxBody(n int64) int64 {
	if n <= 0 {
		return defaultMaxBody
	}
	return n
}

func rate(r *bundle.RateLimit) float64 {
	if r.Per <= 0 {
		return float64(r.Requests)
	}
	return float64(r.Requests) / r.Per.D().Seconds()
}

func rateText(r *bundle.RateLimit) string {
	return fmt.Sprintf("%d per %s (burst %d)", r.Requests, r.Per, r.Burst)
}

// upstreams reports upstreams both sides use whose targets changed.
func (c *comparer) upstreams() {
	used := map[string]bool{}
	for _, op := range c.new.Ops {
		if op.Policy.Upstream != "" {
			used[op.Policy.Upstream] = true
		}
	}
	for _, name := range sortedKeys(used) {
		o, ok1 := c.old.Upstreams[name]
		n, ok2 := c.new.Upstreams[name]
		if !ok1 || !ok2 {
			continue
		}
		ot, nt := targets(o), targets(n)
		if !slices.Equal(ot, nt) {
			at := diag.Pos{}
			if c.new.Doc != nil {
				at = c.new.pos(c.new.Doc.Root.Get("x-gateway").Deref().Get("upstreams").Deref().Get(name))
			} else if c.new.bundleFile != "" {
				at = diag.Pos{File: c.new.prefix + c.new.bundleFile}
			}
			c.add(KindUpstreamChanged, "", at, "upstream `%s` targets changed from %s to %s", name, strings.Join(ot, ", "), strings.Join(nt, ", "))
		}
	}
}

func targets(u bundle.Upstream) []string {
	var ts []string
	for _, t := range u.Targets {
		ts = append(ts, t.URL)
	}
	slices.Sort(ts)
	return ts
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Marker is the extension that acknowledges breaking changes in NEW: on the
// root, a path item or an operation, either "acknowledged" (every breaking
// change there and below) or a list of kind ids.
const Marker = "x-gwc-breaking"

// acknowledge marks breaking changes that --allow or a marker accepts.
func (c *comparer) acknowledge(opts Options) {
	for i := range c.changes {
		ch := &c.changes[i]
		if ch.Kind.Level != Breaking {
			continue
		}
		if slices.Contains(opts.Allow, ch.Kind.ID) || slices.Contains(opts.Allow, "all") {
			ch.Acknowledged = "--allow " + ch.Kind.ID
			continue
		}
		if at := c.marker(ch); at != "" {
			ch.Acknowledged = at
		}
	}
}

// marker finds an x-gwc-breaking in NEW that covers ch: on its operation,
// its path item, or the root. It returns the marker's place, or "".
func (c *comparer) marker(ch *Change) string {
	doc := c.new.Doc
	if doc == nil || doc.Root == nil {
		return ""
	}
	holders := []*spec.Node{}
	if method, path, ok := strings.Cut(ch.Operation, " "); ok {
		for _, op := range c.new.Ops {
			if op.Method == method && op.BasePath+op.Path == path {
				holders = append(holders, c.new.opNode(op), c.new.pathItem(op))
			}
		}
		if len(holders) == 0 {
			// A removed operation: its path item, when NEW still has it.
			for _, op := range c.new.Ops {
				if routeKey(op.BasePath+op.Path) == routeKey(path) {
					holders = append(holders, c.new.pathItem(op))
					break
				}
			}
		}
	}
	holders = append(holders, doc.Root)
	for _, h := range holders {
		m := h.Get(Marker).Deref()
		if m == nil {
			continue
		}
		if s, ok := m.Str(); ok && s == "acknowledged" {
			return Marker + " at " + c.new.pos(m).String()
		}
		if m.Kind == spec.Array {
			for _, e := range m.Elems {
				if s, ok := e.Str(); ok && s == ch.Kind.ID {
					return Marker + " at " + c.new.pos(e).String()
				}
			}
		}
	}
	return ""
}

// CheckMarkers returns the x-gwc-breaking markers of a spec that are
// neither "acknowledged" nor a list of known kind ids: a typo there would
// silently acknowledge nothing.
func CheckMarkers(s *Side) diag.Diagnostics {
	var ds diag.Diagnostics
	if s.Doc == nil || s.Doc.Root == nil {
		return nil
	}
	seen := map[*spec.Node]bool{}
	check := func(h *spec.Node) {
		m := h.Get(Marker).Deref()
		if m == nil || seen[m] {
			return
		}
		seen[m] = true
		if v, ok := m.Str(); ok && v == "acknowledged" {
			return
		}
		if m.Kind != spec.Array {
			ds.Errorf(s.pos(m), "diff/bad-marker", "%s must be \"acknowledged\" or a list of breaking-change kinds, not %s", Marker, m.Describe())
			return
		}
		for _, e := range m.Elems {
			v, _ := e.Str()
			if k, ok := KindByID(v); !ok || k.Level != Breaking {
				ds.Errorf(s.pos(e), "diff/bad-marker", "%s: %s is not a kind of breaking change (gwc diff --help lists them)", Marker, e.Describe())
			}
		}
	}
	check(s.Doc.Root)
	for _, op := range s.Ops {
		check(s.opNode(op))
		check(s.pathItem(op))
	}
	return ds
}
