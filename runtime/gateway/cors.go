package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/problem"
	"github.com/gwcdev/gwc/runtime/router"
)

// cors is an operation's CORS policy, compiled at load.
type cors struct {
	anyOrigin bool
	exact     map[string]bool
	// wild are "https://*.example.com" origins: the scheme and what the
	// host must end with (".example.com", with the port if one is given).
	wild        []wildOrigin
	methods     string // allow_methods, joined; "" means the path's methods
	anyHeader   bool
	headers     map[string]bool // lower-case names allowed in requests
	expose      string
	credentials bool
	maxAge      string
}

type wildOrigin struct{ scheme, suffix string }

func newCORS(c *bundle.CORS, op *bundle.Operation, schemes []bundle.SecurityScheme) *cors {
	p := &cors{exact: map[string]bool{}, headers: map[string]bool{}, credentials: c.AllowCredentials,
		expose: strings.Join(c.ExposeHeaders, ", ")}
	for _, o := range c.AllowOrigins {
		switch {
		case o == "*":
			p.anyOrigin = true
		case strings.Contains(o, "://*."):
			scheme, rest, _ := strings.Cut(o, "://*")
			p.wild = append(p.wild, wildOrigin{scheme: strings.ToLower(scheme) + "://", suffix: strings.ToLower(rest)})
		default:
			p.exact[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
		}
	}
	var methods []string
	for _, m := range c.AllowMethods {
		if m == "*" {
			methods = nil
			break
		}
		methods = append(methods, strings.ToUpper(m))
	}
	p.methods = strings.Join(methods, ", ")
	if len(c.AllowHeaders) == 0 {
		// What the spec declares the operation reads: its header
		// parameters, Content-Type when it takes a body, and the headers
		// its security schemes read.
		for _, prm := range op.Params {
			if prm.In == "header" {
				p.headers[strings.ToLower(prm.Name)] = true
			}
		}
		if op.Body != nil {
			p.headers["content-type"] = true
		}
		for _, req := range op.Security {
			for _, sr := range req.Schemes {
				for _, sc := range schemes {
					if sc.Name != sr.Scheme {
						continue
					}
					switch {
					case sc.Type == "apiKey" && sc.In == "header":
						p.headers[strings.ToLower(sc.ParamName)] = true
					case sc.Type != "apiKey":
						p.headers["authorization"] = true
					}
				}
			}
		}
	}
	for _, h := range c.AllowHeaders {
		if h == "*" {
			p.anyHeader = true
		}
		p.headers[strings.ToLower(h)] = true
	}
	if d := c.MaxAge.D(); d > 0 {
		p.maxAge = strconv.FormatInt(int64(d.Seconds()), 10)
	}
	return p
}

// allows reports whether origin may call the operation.
func (p *cors) allows(origin string) bool {
	if origin == "" {
		return false
	}
	if p.anyOrigin {
		return true
	}
	o := strings.ToLower(origin)
	if p.exact[o] {
		return true
	}
	for _, w := range p.wild {
		if host, ok := strings.CutPrefix(o, w.scheme); ok && len(host) > len(w.suffix) && strings.HasSuffix(host, w.suffix) &&
			!strings.ContainsAny(host[:len(host)-len(w.suffix)], "/:@") {
			return true
		}
	}
	return false
}

// allowOrigin is the Access-Control-Allow-Origin value for an allowed
// origin: "*" when any origin may call without credentials, else the origin.
func (p *cors) allowOrigin(origin string) string {
	if p.anyOrigin && !p.credentials {
		return "*"
	}
	return origin
}

// preflight answers a CORS preflight (OPTIONS with Origin and
// Access-Control-Request-Method) at the gateway, from the policy of the
// operation the request asks about. It reports false when that operation
// has no CORS policy, so that routing answers as it would otherwise.
func (g *Gateway) preflight(r *request) bool {
	h := &r.ctx.Request.Header
	want := strings.ToUpper(string(h.Peek("Access-Control-Request-Method")))
	i, res := g.router.Lookup(want, r.path, &r.params)
	if res != router.Found {
		return false
	}
	p := g.ops[i].cors
	if p == nil {
		return false
	}
	origin := b2s(h.Peek("Origin"))
	resp := &r.ctx.Response
	if !p.allows(origin) {
		r.fail(problem.Forbidden, "origin "+strconv.Quote(origin)+" may not call "+want+" "+r.path, nil)
		resp.Header.Set("Vary", "Origin")
		return true
	}
	resp.SetStatusCode(http.StatusNoContent)
	resp.Header.Set("Access-Control-Allow-Origin", p.allowOrigin(origin))
	if p.credentials {
		resp.Header.Set("Access-Control-Allow-Credentials", "true")
	}
	methods := p.methods
	if methods == "" {
		methods = g.router.Allow(r.path)
	}
	resp.Header.Set("Access-Control-Allow-Methods", methods)
	if asked := strings.TrimSpace(string(h.Peek("Access-Control-Request-Headers"))); asked != "" {
		var ok []string
		for _, name := range strings.Split(asked, ",") {
			name = strings.TrimSpace(name)
			if name != "" && (p.anyHeader || p.headers[strings.ToLower(name)]) {
				ok = append(ok, name)
			}
		}
		if len(ok) > 0 {
			resp.Header.Set("Access-Control-Allow-Headers", strings.Join(ok, ", "))
		}
	}
	if p.maxAge != "" {
		resp.Header.Set("Access-Control-Max-Age", p.maxAge)
	}
	resp.Header.Set("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	resp.Header.SetContentLength(0)
	r.reason = "preflight"
	return true
}

// setCORSHeaders adds the CORS fields to the answer of an operation with a
// CORS policy, whoever made it (upstream, mock or gwc's own problem).
func (r *request) setCORSHeaders() {
	p := r.op.cors
	h := &r.ctx.Response.Header
	h.Add("Vary", "Origin")
	origin := b2s(r.ctx.Request.Header.Peek("Origin"))
	if !p.allows(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", p.allowOrigin(origin))
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if p.expose != "" {
		h.Set("Access-Control-Expose-Headers", p.expose)
	}
}
