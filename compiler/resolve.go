package compiler

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/lower"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/compiler/xgateway"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// Model is the resolved spec: every routed operation with its parameters,
// bodies, security and effective gateway policy, and the named parts they
// use. It is what `gwc lint` policies and `gwc inspect` reason about; the
// bundle is planned from it.
type Model struct {
	Doc        *spec.Document
	API        bundle.API
	Operations []*operation // sorted by path, then method
	Gateway    *xgateway.Root
	// Schemes holds every security scheme of components.securitySchemes.
	Schemes  map[string]*bundle.SecurityScheme
	Webhooks int
	// Skipped are the parts of the spec that could not be built, so the
	// Model (and the policies' input) leaves them out: lint says so.
	Skipped []Skipped
	lowerer *lower.Lowerer
}

// Skipped is a part of the spec the Model leaves out, and why.
type Skipped struct {
	// What names it: "GET /pets", "path /pets/{id", "security scheme key".
	What string
	Why  string
	Pos  diag.Pos
}

// skip records a part left out of the Model.
func (m *Model) skip(at *spec.Node, why, format string, args ...any) {
	m.Skipped = append(m.Skipped, Skipped{What: fmt.Sprintf(format, args...), Why: why, Pos: at.Pos()})
}

// unbuilt says why a node that should be an object is not one.
func unbuilt(raw *spec.Node) string {
	if raw.IsRef() && raw.Deref() == raw {
		return "its $ref does not resolve"
	}
	return "it is not an object"
}

// operation is an operation being compiled: the bundle's view plus the spec
// nodes that diagnostics point at.
type operation struct {
	bundle.Operation
	node     *spec.Node // the operation object
	pathItem *spec.Node
	pathKey  *spec.Node // the key of the path in `paths`, where route errors point
	tmpl     *template
	levels   [3]*xgateway.Policy // defaults, path item, operation
}

// methodOrder is OpenAPI's order of operations in a path item.
var methodOrder = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// resolve builds the Model from a loaded document. It stops between path
// items when ctx is done (the caller returns ctx's error).
func resolve(ctx context.Context, doc *spec.Document) (*Model, diag.Diagnostics) {
	var ds diag.Diagnostics
	root := doc.Root
	m := &Model{Doc: doc, Schemes: map[string]*bundle.SecurityScheme{}, lowerer: lower.New(doc)}
	info := root.Get("info").Deref()
	m.API = bundle.API{
		Title:   info.GetString("title"),
		Version: info.GetString("version"),
		OpenAPI: doc.OpenAPI,
		Source:  doc.Files[0].Name,
	}
	for _, f := range doc.Files {
		m.API.Files = append(m.API.Files, f.Name)
	}
	slices.Sort(m.API.Files[1:])
	m.Gateway = xgateway.DecodeRoot(root.Get("x-gateway"))
	m.Webhooks = root.Get("webhooks").Deref().Len()

	schemes := root.Get("components").Deref().Get("securitySchemes").Deref()
	if schemes != nil && schemes.Kind == spec.Object {
		for _, p := range schemes.Pairs {
			m.Schemes[p.Key.Value] = securityScheme(p.Key.Value, p.Value.Deref(), &ds)
			if v := p.Value.Deref(); v == nil || v.Kind != spec.Object || v.IsRef() {
				m.skip(p.Key, unbuilt(p.Value), "security scheme %s", p.Key.Value)
			}
		}
	}

	rootBase := basePath(root.Get("servers"), &ds)
	rootSecurity := root.Get("security")
	paths := root.Get("paths").Deref()
	if paths != nil && paths.Kind == spec.Object {
		for _, pp := range paths.Pairs {
			if ctx.Err() != nil {
				break
			}
			if strings.HasPrefix(pp.Key.Value, "x-") {
				continue
			}
			item := pp.Value.Deref()
			if item == nil || item.Kind != spec.Object || item.IsRef() {
				// An unresolved $ref (reported) or a type error lint reports.
				m.skip(pp.Key, unbuilt(pp.Value), "path %s", pp.Key.Value)
				continue
			}
			if strings.ContainsAny(pp.Key.Value, "?#") {
				// Seen in real specs (OpenAI's "/v1/x?beta=true"): no request
				// path can match it, so the router leaves it out.
				ds.Warnf(pp.Key.Pos(), CodeTemplate, "path %q holds a query string or fragment, which no request path can match: gwc does not route it (declare the query as a parameter)", pp.Key.Value)
			}
			tmpl, err := parseTemplate(pp.Key.Value)
			if err != nil {
				ds.Errorf(pp.Key.Pos(), CodeTemplate, "%v", err)
				m.skip(pp.Key, "its path template is invalid", "path %s", pp.Key.Value)
				continue
			}
			base := rootBase
			if item.Has("servers") {
				base = basePath(item.Get("servers"), &ds)
			}
			itemPolicy := xgateway.DecodePolicy(item.Get("x-gateway"))
			for _, method := range methodOrder {
				raw := item.Get(method)
				opNode := raw.Deref()
				if opNode == nil || opNode.Kind != spec.Object || opNode.IsRef() {
					if raw != nil {
						m.skip(item.Key(method), unbuilt(raw), "%s %s", strings.ToUpper(method), pp.Key.Value)
					}
					continue
				}
				op := &operation{node: opNode, pathItem: item, pathKey: pp.Key, tmpl: tmpl}
				op.Method = strings.ToUpper(method)
				op.Path = pp.Key.Value
				op.BasePath = base
				if opNode.Has("servers") {
					op.BasePath = basePath(opNode.Get("servers"), &ds)
				}
				op.ID = opNode.GetString("operationId")
				if op.ID == "" {
					op.ID = op.Method + " " + op.Path
				}
				op.Deprecated = opNode.Get("deprecated").True()
				op.Source = source(opNode)
				op.levels = [3]*xgateway.Policy{m.Gateway.Defaults, itemPolicy, xgateway.DecodePolicy(opNode.Get("x-gateway"))}
				m.params(op, &ds)
				m.requestBody(op, &ds)
				m.security(op, rootSecurity, &ds)
				op.Responses = responses(opNode.Get("responses"), &ds)
				m.Operations = append(m.Operations, op)
			}
		}
	}
	slices.SortStableFunc(m.Operations, func(a, b *operation) int {
		return cmp.Or(cmp.Compare(a.BasePath+a.Path, b.BasePath+b.Path), cmp.Compare(a.Method, b.Method))
	})
	checkOperationIDs(m.Operations, &ds)
	checkRoutes(m.Operations, &ds)
	for _, op := range m.Operations {
		m.policy(op, &ds)
	}
	return m, ds
}

func source(n *spec.Node) bundle.Source {
	return bundle.Source{File: n.File.Name, Line: int(n.Line), Col: int(n.Col)}
}

func checkOperationIDs(ops []*operation, ds *diag.Diagnostics) {
	first := map[string]*operation{}
	for _, op := range ops {
		idNode := op.node.Get("operationId")
		if idNode == nil {
			continue
		}
		if prev := first[op.ID]; prev != nil {
			d := ds.Errorf(idNode.Pos(), CodeOperationID, "operationId %q is already used by %s %s", op.ID, prev.Method, prev.Path)
			d.Related = append(d.Related, diag.Related{Pos: prev.node.Get("operationId").Pos(), Message: "first used here"})
			continue
		}
		first[op.ID] = op
	}
}

// Parameter locations and the serialisation styles each allows, the first
// being the default (OpenAPI 3 §4.8.12.4).
var paramStyles = map[string][]string{
	"path":   {"simple", "label", "matrix"},
	"query":  {"form", "spaceDelimited", "pipeDelimited", "deepObject"},
	"header": {"simple"},
	"cookie": {"form"},
}

// params merges the path item's and the operation's parameters (the
// operation's win for the same name and location) and checks them against
// the path template.
func (m *Model) params(op *operation, ds *diag.Diagnostics) {
	type key struct{ name, in string }
	var order []key
	byKey := map[key]*spec.Node{}
	for _, list := range []*spec.Node{op.pathItem.Get("parameters"), op.node.Get("parameters")} {
		list = list.Deref()
		if list == nil || list.Kind != spec.Array {
			continue
		}
		for _, pn := range list.Elems {
			p := pn.Deref()
			if p == nil || p.Kind != spec.Object {
				continue
			}
			k := key{p.GetString("name"), p.GetString("in")}
			if _, ok := byKey[k]; !ok {
				order = append(order, k)
			}
			byKey[k] = p
		}
	}
	declared := map[string]bool{}
	for _, k := range order {
		p := byKey[k]
		if k.name == "" {
			ds.Errorf(p.Pos(), CodeParameter, "parameter has no `name`")
			continue
		}
		styles, ok := paramStyles[k.in]
		if !ok {
			at := p.Get("in")
			if at == nil {
				ds.Errorf(p.Pos(), CodeParameter, "parameter %q has no `in` (path, query, header or cookie)", k.name)
			} else {
				ds.Errorf(at.Pos(), CodeParameter, "parameter %q: `in` must be path, query, header or cookie, not %s", k.name, at.Describe())
			}
			continue
		}
		// OpenAPI: header parameters named Accept, Content-Type or
		// Authorization are ignored (the media types and security say it).
		if k.in == "header" && slices.Contains([]string{"accept", "content-type", "authorization"}, strings.ToLower(k.name)) {
			continue
		}
		bp := bundle.Param{
			Name:            k.name,
			In:              k.in,
			Required:        p.Get("required").True(),
			Deprecated:      p.Get("deprecated").True(),
			AllowEmptyValue: p.Get("allowEmptyValue").True(),
			AllowReserved:   p.Get("allowReserved").True(),
			Style:           styles[0],
		}
		if s := p.Get("style"); s != nil {
			if !slices.Contains(styles, s.Value) || s.Kind != spec.String {
				ds.Errorf(s.Pos(), CodeParameter, "parameter %q in %s cannot have style %s (allowed: %s)", k.name, k.in, s.Describe(), strings.Join(styles, ", "))
				continue
			}
			bp.Style = s.Value
		}
		bp.Explode = bp.Style == "form"
		if e := p.Get("explode"); e != nil && e.Kind == spec.Bool {
			bp.Explode = e.True()
		}
		if k.in == "path" {
			declared[k.name] = true
			if !slices.Contains(op.tmpl.params, k.name) {
				ds.Warnf(p.Pos(), CodeParameter, "path parameter %q is declared but %s has no {%s}", k.name, op.Path, k.name)
				continue
			}
			if !bp.Required {
				ds.Warnf(p.Pos(), CodeParameter, "path parameter %q must be `required: true`; gwc treats it as required", k.name)
			}
			bp.Required = true
		}
		schema := p.Get("schema")
		if content := p.Get("content").Deref(); content != nil && content.Kind == spec.Object && len(content.Pairs) > 0 {
			if len(content.Pairs) > 1 {
				ds.Errorf(content.Pos(), CodeParameter, "parameter %q: `content` must hold exactly one media type", k.name)
			}
			bp.ContentType = content.Pairs[0].Key.Value
			schema = content.Pairs[0].Value.Deref().Get("schema")
		}
		if schema != nil {
			bp.Schema = m.lowerSchema(schema, ds)
			bp.Type = primaryType(schema)
		}
		op.Params = append(op.Params, bp)
	}
	for _, name := range op.tmpl.params {
		if !declared[name] {
			ds.Warnf(op.pathKey.Pos(), CodeParameter, "%s %s: path parameter {%s} is not declared; gwc routes it as a string", op.Method, op.Path, name)
			op.Params = append(op.Params, bundle.Param{Name: name, In: "path", Required: true, Style: "simple"})
		}
	}
}

func (m *Model) lowerSchema(n *spec.Node, ds *diag.Diagnostics) json.RawMessage {
	raw, d := m.lowerer.Schema(n)
	*ds = append(*ds, d...)
	return raw
}

// primaryType is the JSON type a parameter decoder converts to: the schema's
// `type` (the first non-null one of a 3.1 type list), or what its keywords
// imply; "" when the schema leaves it open.
func primaryType(n *spec.Node) string {
	n = n.Deref()
	t := n.Get("type")
	switch {
	case t == nil:
	case t.Kind == spec.String:
		return t.Value
	case t.Kind == spec.Array:
		for _, e := range t.Elems {
			if e.Value != "null" {
				return e.Value
			}
		}
	}
	switch {
	case n.Has("properties") || n.Has("additionalProperties"):
		return "object"
	case n.Has("items"):
		return "array"
	}
	return ""
}

func (m *Model) requestBody(op *operation, ds *diag.Diagnostics) {
	rb := op.node.Get("requestBody").Deref()
	if rb == nil || rb.Kind != spec.Object {
		return
	}
	body := &bundle.RequestBody{Required: rb.Get("required").True()}
	content := rb.Get("content").Deref()
	if content == nil || content.Kind != spec.Object || len(content.Pairs) == 0 {
		ds.Errorf(rb.Pos(), CodeOperation, "%s %s: requestBody has no `content` media types", op.Method, op.Path)
		return
	}
	for _, p := range content.Pairs {
		mt := p.Value.Deref()
		bm := bundle.MediaType{Type: p.Key.Value}
		if s := mt.Get("schema"); s != nil {
			bm.Schema = m.lowerSchema(s, ds)
		}
		if enc := mt.Get("encoding").Deref(); enc != nil && enc.Kind == spec.Object {
			for _, ep := range enc.Pairs {
				e := ep.Value.Deref()
				be := bundle.Encoding{Name: ep.Key.Value, ContentType: e.GetString("contentType"), Style: e.GetString("style"), AllowReserved: e.Get("allowReserved").True()}
				if be.Style == "" {
					be.Style = "form"
				}
				be.Explode = be.Style == "form"
				if x := e.Get("explode"); x != nil && x.Kind == spec.Bool {
					be.Explode = x.True()
				}
				bm.Encoding = append(bm.Encoding, be)
			}
			slices.SortFunc(bm.Encoding, func(a, b bundle.Encoding) int { return cmp.Compare(a.Name, b.Name) })
		}
		body.Content = append(body.Content, bm)
	}
	slices.SortFunc(body.Content, func(a, b bundle.MediaType) int { return cmp.Compare(a.Type, b.Type) })
	op.Body = body
}

// security sets the operation's effective requirements: its own `security`,
// or the root's; `security: []` (or none anywhere) makes it public.
func (m *Model) security(op *operation, rootSecurity *spec.Node, ds *diag.Diagnostics) {
	sec := rootSecurity
	if op.node.Has("security") {
		sec = op.node.Get("security")
	}
	sec = sec.Deref()
	if sec == nil || sec.Kind != spec.Array || len(sec.Elems) == 0 {
		op.Public = true
		return
	}
	for _, alt := range sec.Elems {
		alt = alt.Deref()
		if alt == nil || alt.Kind != spec.Object {
			continue
		}
		var req bundle.Requirement
		for _, p := range alt.Pairs {
			if _, ok := m.Schemes[p.Key.Value]; !ok {
				msg := fmt.Sprintf("security scheme %q is not defined in components.securitySchemes", p.Key.Value)
				if s := spec.Suggest(p.Key.Value, sortedKeys(m.Schemes)); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				ds.Errorf(p.Key.Pos(), CodeSecurity, "%s", msg)
				continue
			}
			sr := bundle.SchemeRequirement{Scheme: p.Key.Value}
			if scopes := p.Value.Deref(); scopes != nil && scopes.Kind == spec.Array {
				for _, s := range scopes.Elems {
					if v, ok := s.Str(); ok {
						sr.Scopes = append(sr.Scopes, v)
					}
				}
			}
			req.Schemes = append(req.Schemes, sr)
		}
		op.Security = append(op.Security, req)
	}
}

func securityScheme(name string, n *spec.Node, ds *diag.Diagnostics) *bundle.SecurityScheme {
	s := &bundle.SecurityScheme{Name: name}
	if n == nil || n.Kind != spec.Object {
		return s
	}
	s.Type = n.GetString("type")
	switch s.Type {
	case "apiKey":
		s.In, s.ParamName = n.GetString("in"), n.GetString("name")
		if !slices.Contains([]string{"header", "query", "cookie"}, s.In) {
			at := n.Get("in") // the value at fault, when there is one
			if at == nil {
				at = n
			}
			ds.Errorf(at.Pos(), CodeSecurity, "apiKey scheme %q: `in` must be header, query or cookie", name)
		}
		if s.ParamName == "" {
			ds.Errorf(n.Pos(), CodeSecurity, "apiKey scheme %q has no `name`", name)
		}
	case "http":
		s.Scheme = strings.ToLower(n.GetString("scheme"))
		s.BearerFormat = n.GetString("bearerFormat")
	case "openIdConnect":
		s.OpenIDConnectURL = n.GetString("openIdConnectUrl")
	case "oauth2", "mutualTLS":
	default:
		at := n.Get("type")
		if at == nil {
			at = n
		}
		ds.Errorf(at.Pos(), CodeSecurity, "security scheme %q: type must be apiKey, http, oauth2, openIdConnect or mutualTLS, not %s", name, at.Describe())
	}
	if x := xgateway.DecodeScheme(n.Get("x-gateway")); x != nil {
		s.Keys, s.Htpasswd = x.Keys, x.Htpasswd
		s.JWKSURL, s.Issuer = x.JWKSURL, x.Issuer
		s.Audiences, s.Algorithms = x.Audiences, x.Algorithms
		if s.JWKSURL != "" || s.Type == "oauth2" || s.Type == "openIdConnect" || s.Scheme == "bearer" {
			// Only tokens have times to be lenient about.
			s.ClockSkew = x.ClockSkew
		}
	}
	return s
}

// responses keeps what mocks need: each declared status with its media
// types' examples.
func responses(n *spec.Node, ds *diag.Diagnostics) []bundle.Response {
	n = n.Deref()
	if n == nil || n.Kind != spec.Object {
		return nil
	}
	var out []bundle.Response
	for _, p := range n.Pairs {
		if strings.HasPrefix(p.Key.Value, "x-") {
			continue
		}
		r := p.Value.Deref()
		if r == nil || r.Kind != spec.Object {
			continue
		}
		br := bundle.Response{Status: p.Key.Value, Description: r.GetString("description")}
		if content := r.Get("content").Deref(); content != nil && content.Kind == spec.Object {
			for _, cp := range content.Pairs {
				br.Content = append(br.Content, bundle.MockContent{Type: cp.Key.Value, Examples: examples(cp.Value.Deref(), ds)})
			}
		}
		if headers := r.Get("headers").Deref(); headers != nil && headers.Kind == spec.Object {
			for _, hp := range headers.Pairs {
				h := hp.Value.Deref()
				ex := h.Get("example")
				if ex == nil {
					ex = schemaExample(h.Get("schema"))
				}
				mh := bundle.MockHeader{Name: hp.Key.Value}
				if ex != nil {
					mh.Example = toJSON(ex, ds)
				}
				br.Headers = append(br.Headers, mh)
			}
		}
		out = append(out, br)
	}
	return out
}

// examples collects a media type's examples: `example`, then `examples` in
// source order, else its schema's own example.
func examples(mt *spec.Node, ds *diag.Diagnostics) []bundle.Example {
	if mt == nil {
		return nil
	}
	var out []bundle.Example
	if ex := mt.Get("example"); ex != nil {
		out = append(out, bundle.Example{Value: toJSON(ex, ds)})
	}
	if exs := mt.Get("examples").Deref(); exs != nil && exs.Kind == spec.Object {
		for _, p := range exs.Pairs {
			e := p.Value.Deref()
			if v := e.Get("value"); v != nil {
				out = append(out, bundle.Example{Name: p.Key.Value, Value: toJSON(v, ds)})
			}
		}
	}
	if len(out) == 0 {
		if ex := schemaExample(mt.Get("schema")); ex != nil {
			out = append(out, bundle.Example{Value: toJSON(ex, ds)})
		}
	}
	return out
}

func schemaExample(s *spec.Node) *spec.Node {
	s = s.Deref()
	if ex := s.Get("example"); ex != nil {
		return ex
	}
	if exs := s.Get("examples"); exs != nil && exs.Kind == spec.Array && len(exs.Elems) > 0 {
		return exs.Elems[0]
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
