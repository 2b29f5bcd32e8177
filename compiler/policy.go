package compiler

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/compiler/xgateway"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// pick returns the most specific level's setting of one policy field: the
// operation's, else the path item's, else the root defaults'.
func pick[T any](levels [3]*xgateway.Policy, get func(*xgateway.Policy) *T) *T {
	for i := len(levels) - 1; i >= 0; i-- {
		if levels[i] == nil {
			continue
		}
		if v := get(levels[i]); v != nil {
			return v
		}
	}
	return nil
}

// policy computes op's effective policy (root defaults ⊕ path item ⊕
// operation, field by field: a field set at a more specific level replaces
// the whole value of a less specific one) and checks what it names.
func (m *Model) policy(op *operation, ds *diag.Diagnostics) {
	lv := op.levels
	gw := m.Gateway
	p := &op.Policy

	if r := pick(lv, func(p *xgateway.Policy) *xgateway.Ref { return p.Upstream }); r != nil {
		if m.checkName(r.Name, r.Node, "upstream", upstreamNames(gw), "upstreams", ds) {
			p.Upstream = r.Name
		}
	}
	if v := pick(lv, func(p *xgateway.Policy) *bool { return p.Mock }); v != nil {
		p.Mock = *v
	}
	if v := pick(lv, func(p *xgateway.Policy) *string { return p.Path }); v != nil {
		p.Path = *v
		m.checkRewrite(op, ds)
	}
	if v := pick(lv, func(p *xgateway.Policy) *bundle.Duration { return p.Timeout }); v != nil {
		p.Timeout = *v
	}
	if v := pick(lv, func(p *xgateway.Policy) *int64 { return p.MaxBody }); v != nil {
		p.MaxBody = *v
	}
	if r := pick(lv, func(p *xgateway.Policy) *xgateway.RateLimitRef { return p.RateLimit }); r != nil {
		switch {
		case r.Inline != nil:
			rl := *r.Inline
			rl.Name = "operation:" + op.ID
			p.RateLimit = &rl
		default:
			names := make([]string, len(gw.RateLimits))
			for i, rl := range gw.RateLimits {
				names[i] = rl.Name
			}
			if m.checkName(r.Name, r.Node, "rate limit", names, "rate_limits", ds) {
				i := slices.Index(names, r.Name)
				rl := gw.RateLimits[i]
				p.RateLimit = &rl
			}
		}
	}
	if v := pick(lv, func(p *xgateway.Policy) *bundle.Cache { return p.Cache }); v != nil {
		switch {
		case op.Method == "GET" || op.Method == "HEAD":
			c := *v
			p.Cache = &c
		case lv[2] != nil && lv[2].Cache != nil:
			// Set on the operation itself: say that it has no effect.
			ds.Warnf(lv[2].Node.Get("cache").Pos(), CodeOperation, "cache has no effect on %s: only GET and HEAD responses are cached", op.Method)
		}
	}
	if v := pick(lv, func(p *xgateway.Policy) *bundle.CORS { return p.CORS }); v != nil {
		p.CORS = v
	} else if gw.CORS != nil {
		p.CORS = gw.CORS
	}
	if v := pick(lv, func(p *xgateway.Policy) *bundle.IPRules { return p.IP }); v != nil {
		p.IP = v
	} else if gw.IP != nil {
		p.IP = gw.IP
	}
	if v := pick(lv, func(p *xgateway.Policy) *bundle.Headers { return p.Headers }); v != nil {
		p.Headers = v
	}
	if r := pick(lv, func(p *xgateway.Policy) *xgateway.Ref { return p.Authorizer }); r != nil {
		names := make([]string, len(gw.Authorizers))
		for i, a := range gw.Authorizers {
			names[i] = a.Name
		}
		if m.checkName(r.Name, r.Node, "authorizer", names, "authorizers", ds) {
			p.Authorizer = r.Name
		}
	}
	if v := pick(lv, func(p *xgateway.Policy) *bool { return p.WebSocket }); v != nil {
		p.WebSocket = *v
	}
	if calls := pick(lv, func(p *xgateway.Policy) *[]xgateway.Call {
		if p.Aggregate == nil {
			return nil
		}
		return &p.Aggregate
	}); calls != nil {
		for _, c := range *calls {
			if m.checkName(c.Upstream, c.UpstreamNode, "upstream", upstreamNames(gw), "upstreams", ds) {
				p.Aggregate = append(p.Aggregate, c.Call)
			}
		}
	}
	if p.Upstream == "" && len(p.Aggregate) == 0 {
		// Nowhere to send the request: answer from the spec's examples.
		p.Mock = true
	}
	if !p.Mock {
		// Only mocks answer from examples; the bundle need not carry them.
		op.Responses = nil
	}
}

func upstreamNames(gw *xgateway.Root) []string {
	names := make([]string, len(gw.Upstreams))
	for i, u := range gw.Upstreams {
		names[i] = u.Name
	}
	return names
}

// checkName reports a reference to a name that is not defined at the root.
func (m *Model) checkName(name string, at *spec.Node, what string, defined []string, section string, ds *diag.Diagnostics) bool {
	if slices.Contains(defined, name) {
		return true
	}
	msg := fmt.Sprintf("%s %q is not defined in x-gateway.%s", what, name, section)
	if s := spec.Suggest(name, defined); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if len(defined) == 0 {
		msg += fmt.Sprintf(" (the root x-gateway defines no %s)", section)
	}
	ds.Errorf(at.Pos(), CodeReference, "%s", msg)
	return false
}

var rewriteParamRE = regexp.MustCompile(`\{([^{}]*)\}`)

// checkRewrite reports `path` rewrites that use a parameter the route does
// not capture.
func (m *Model) checkRewrite(op *operation, ds *diag.Diagnostics) {
	var at *spec.Node
	for i := len(op.levels) - 1; i >= 0 && at == nil; i-- {
		if l := op.levels[i]; l != nil && l.Path != nil {
			at = l.Node.Get("path")
		}
	}
	for _, sub := range rewriteParamRE.FindAllStringSubmatch(op.Policy.Path, -1) {
		if !slices.Contains(op.tmpl.params, sub[1]) {
			ds.Errorf(at.Pos(), CodeReference, "path rewrite %q uses {%s}, which %s %s does not capture", op.Policy.Path, sub[1], op.Method, op.Path)
		}
	}
}

// maxExample bounds one example's JSON: 4 MiB is generous for a mock
// answer, and past it the value is almost certainly a YAML alias bomb.
const maxExample = 4 << 20

// toJSON returns a literal value (an example) as JSON, or nil with a warning
// when it is too large to carry in the bundle.
func toJSON(n *spec.Node, ds *diag.Diagnostics) json.RawMessage {
	b, err := n.AppendJSON(nil, maxExample)
	if err != nil {
		ds.Warnf(n.Pos(), CodeOperation, "example left out of the bundle: %v", err)
		return nil
	}
	return b
}
