package compiler

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// PolicyInput is the Model as Rego policies see it (`input`), documented in
// docs/policy-input.md with a JSON Schema: every operation with its
// effective gateway policy, security and request schemas, the upstreams,
// security schemes and rate limits as declared, the lowered schema
// definitions operations refer to, and the raw spec for anything else. It
// holds JSON values only (maps, slices, strings, float64, bool, nil).
func (m *Model) PolicyInput() map[string]any {
	in := m.PolicyInputWithoutSpec()
	in["spec"] = specValue(m.Doc.Root)
	return in
}

// PolicyInputWithoutSpec is PolicyInput without "spec", for a caller that
// converts the raw document to its own form directly (lint builds OPA's
// value from the loaded nodes, skipping a JSON round trip of the whole
// spec).
func (m *Model) PolicyInputWithoutSpec() map[string]any {
	in := map[string]any{
		"api": jsonValue(m.API),
	}
	rootSecurity := m.Doc.Root.Get("security") != nil
	var ops []any
	lowered, refs := m.lowerer.Defs(), map[string][]string{}
	// The definitions become values beside the operations (the two halves
	// of a large spec's input): only that goroutine uses the lowerer's
	// pointer index, which it builds as it goes.
	defs, defFields := map[string]any{}, map[string]any{}
	var defsPanic any
	defsDone := make(chan struct{})
	go func() {
		defer close(defsDone)
		defer func() { defsPanic = recover() }()
		sources := m.lowerer.Sources()
		roots := make([]*spec.Node, 0, len(sources))
		for _, src := range sources {
			roots = append(roots, src)
		}
		ptrs := m.lowerer.PointersOf(roots)
		for name, d := range lowered {
			var v any
			if json.Unmarshal(d, &v) == nil {
				defs[name] = v
				src := sources[name]
				defFields[name] = fieldsOf(v, "/$defs/"+spec.EscapePointerToken(name), src, m.filePointer(src, ptrs[src]), []any{})
			}
		}
	}()
	for _, op := range m.Operations {
		// Responses are for mocks; what a policy needs of them is in the
		// raw spec. Leaving them out keeps large specs' input small.
		bop := op.Operation
		bop.Responses = nil
		o := jsonValue(bop).(map[string]any)
		o["operationId"] = op.ID
		o["fullPath"] = op.BasePath + op.Path
		opPtr := spec.Pointer("paths", op.Path, strings.ToLower(op.Method))
		o["pointer"] = opPtr
		o["policySources"] = m.policySources(op, opPtr)
		o["location"] = o["source"]
		delete(o, "source")
		o["securityDeclared"] = rootSecurity || op.node.Get("security") != nil
		o["security"] = m.securityView(op.Security)
		o["defs"] = m.defsOf(op, lowered, refs)
		o["requestFields"] = requestFields(op, opPtr)
		if i := slices.IndexFunc(m.Gateway.Upstreams, func(u bundle.Upstream) bool { return u.Name == op.Policy.Upstream }); i >= 0 {
			o["upstream"] = m.upstreamValue(m.Gateway.Upstreams[i])
		}
		ops = append(ops, o)
	}
	if ops == nil {
		ops = []any{}
	}
	in["operations"] = ops

	gw := m.Gateway
	ups := map[string]any{}
	for _, u := range gw.Upstreams {
		ups[u.Name] = m.upstreamValue(u)
	}
	in["upstreams"] = ups
	limits := map[string]any{}
	for _, rl := range gw.RateLimits {
		limits[rl.Name] = jsonValue(rl)
	}
	in["rateLimits"] = limits
	auths := map[string]any{}
	for _, a := range gw.Authorizers {
		auths[a.Name] = jsonValue(a)
	}
	in["authorizers"] = auths
	schemes := map[string]any{}
	skipped := map[string]bool{}
	for _, sk := range m.Skipped {
		skipped[sk.What] = true
	}
	for name, s := range m.Schemes {
		if skipped["security scheme "+name] {
			continue // left out: lint names it
		}
		v, _ := jsonValue(s).(map[string]any)
		if v != nil {
			v["pointer"] = spec.Pointer("components", "securitySchemes", name)
		}
		schemes[name] = v
	}
	in["securitySchemes"] = schemes
	in["gateway"] = map[string]any{
		"cors": jsonValue(gw.CORS), "ip": jsonValue(gw.IP), "trustedProxies": jsonValue(gw.TrustedProxies),
		"store": jsonValue(gw.Store),
	}
	<-defsDone
	if defsPanic != nil {
		panic(defsPanic)
	}
	in["defs"] = defs
	in["defFields"] = defFields
	in["gatewayConfigured"] = gatewayConfigured(m)
	return in
}

// gatewayConfigured says whether the spec configures gwc at all (an
// x-gateway at the root, on a path item, an operation or a security
// scheme): policies about gateway settings only judge specs that have some.
func gatewayConfigured(m *Model) bool {
	if m.Gateway.Node != nil {
		return true
	}
	for _, op := range m.Operations {
		if op.node.Get("x-gateway") != nil || op.pathItem.Get("x-gateway") != nil {
			return true
		}
	}
	if schemes := m.Doc.Root.Get("components").Deref().Get("securitySchemes").Deref(); schemes != nil {
		for _, p := range schemes.Pairs {
			if p.Value.Deref().Get("x-gateway") != nil {
				return true
			}
		}
	}
	return false
}

// securityView lists an operation's security alternatives, each the schemes
// that must all pass, with their type beside their name.
func (m *Model) securityView(reqs []bundle.Requirement) []any {
	out := []any{}
	for _, r := range reqs {
		alt := []any{}
		for _, s := range r.Schemes {
			v := map[string]any{"scheme": s.Scheme, "scopes": stringsValue(s.Scopes)}
			if sc := m.Schemes[s.Scheme]; sc != nil {
				v["type"] = sc.Type
				if sc.Type == "apiKey" {
					v["in"] = sc.In
				}
				if sc.Type == "http" {
					v["httpScheme"] = sc.Scheme
				}
			}
			alt = append(alt, v)
		}
		out = append(out, alt)
	}
	return out
}

// defsOf names the schema definitions an operation's request schemas reach,
// so that a policy can walk them without following references itself.
// all is the lowerer's definitions (Defs copies them, so they are taken
// once); refs caches each definition's refNames, which defsOf reads once
// per operation that reaches the definition (a large spec's operations
// share most of theirs).
func (m *Model) defsOf(op *operation, all map[string]json.RawMessage, refs map[string][]string) []any {
	seen := map[string]bool{}
	var visit func(names []string)
	visit = func(names []string) {
		for _, name := range names {
			if !seen[name] {
				seen[name] = true
				r, ok := refs[name]
				if !ok {
					r = refNames(all[name])
					refs[name] = r
				}
				visit(r)
			}
		}
	}
	for _, p := range op.Params {
		visit(refNames(p.Schema))
	}
	if op.Body != nil {
		for _, c := range op.Body.Content {
			visit(refNames(c.Schema))
		}
	}
	names := slices.Sorted(maps.Keys(seen))
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// refNames are the definition names a lowered schema refers to; lowered
// references all have the form {"$ref":"#/$defs/NAME"}.
func refNames(raw json.RawMessage) []string {
	var out []string
	s := string(raw)
	const prefix = `"$ref":"#/$defs/`
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			return out
		}
		s = s[i+len(prefix):]
		j := strings.IndexByte(s, '"')
		if j < 0 {
			return out
		}
		out = append(out, spec.UnescapePointerToken(s[:j]))
		s = s[j:]
	}
}

// jsonValue is v as JSON values (through its JSON encoding, so that input
// field names are the bundle's, documented once).
func jsonValue(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(data, &out) != nil {
		return nil
	}
	return out
}

func stringsValue(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// specValue is the raw entry document, references left as they are, with
// scalars as JSON gives them.
func specValue(n *spec.Node) any {
	if n == nil {
		return nil
	}
	// The parser bounds a document's expansion; this bound is above it
	// (quotes, commas), so a spec that loads is never cut here.
	data, err := n.AppendJSON(nil, spec.MaxExpandedBytes+8*spec.MaxExpandedValues)
	if err != nil {
		return nil
	}
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	return v
}

// fieldKeywords are the keywords a field of requestFields carries: what
// bounds or shapes a value.
var fieldKeywords = []string{"maxLength", "minLength", "pattern", "format", "maxItems", "minItems", "maximum",
	"minimum", "exclusiveMaximum", "exclusiveMinimum", "additionalProperties", "unevaluatedProperties", "readOnly", "writeOnly"}

// requestFields flattens an operation's own request schemas (parameters and
// body media types, not the definitions they refer to: those are
// input.defFields) into typed schema nodes.
func requestFields(op *operation, opPtr string) []any {
	out := []any{}
	for _, p := range op.Params {
		src, ptr := op.paramSchema(p, opPtr)
		out = schemaFields(p.Schema, "/"+p.In+"/"+spec.EscapePointerToken(p.Name), src, ptr, out)
	}
	if op.Body != nil {
		content := op.node.Get("requestBody").Deref().Get("content").Deref()
		for _, c := range op.Body.Content {
			src := content.Get(c.Type).Deref().Get("schema")
			ptr := opPtr + spec.Pointer("requestBody", "content", c.Type, "schema")
			if src == nil {
				src, ptr = nil, opPtr+"/requestBody"
			}
			out = schemaFields(c.Schema, "/body("+c.Type+")", src, ptr, out)
		}
	}
	return out
}

// paramSchema finds the schema node of parameter p as the spec declares it
// (the operation's own parameters first, then its path item's), and its
// pointer; the operation's when it is not found (an undeclared path
// parameter).
func (op *operation) paramSchema(p bundle.Param, opPtr string) (*spec.Node, string) {
	itemPtr := spec.Pointer("paths", op.Path)
	for _, lvl := range []struct {
		list *spec.Node
		ptr  string
	}{{op.node.Get("parameters"), opPtr + "/parameters"}, {op.pathItem.Get("parameters"), itemPtr + "/parameters"}} {
		list := lvl.list.Deref()
		if list == nil {
			continue
		}
		for i, e := range list.Elems {
			pn := e.Deref()
			if pn.GetString("name") != p.Name || pn.GetString("in") != p.In {
				continue
			}
			ptr := lvl.ptr + "/" + strconv.Itoa(i)
			if s := pn.Get("schema"); s != nil {
				return s, ptr + "/schema"
			}
			if c := pn.Get("content").Deref(); c != nil && len(c.Pairs) > 0 {
				return c.Pairs[0].Value.Deref().Get("schema"), ptr + spec.Pointer("content", c.Pairs[0].Key.Value, "schema")
			}
			return nil, ptr
		}
	}
	return nil, opPtr
}

// filePointer names n for a policy, ptr being its JSON pointer in its file:
// the pointer alone in the entry file, else its file's name (as
// input.api.files has it), "#" and the pointer.
func (m *Model) filePointer(n *spec.Node, ptr string) string {
	if n == nil || n.File == nil {
		return ""
	}
	if len(m.Doc.Files) > 0 && n.File == m.Doc.Files[0] {
		return ptr
	}
	return n.File.Name + "#" + ptr
}

// policySources says, for each field of an operation's effective policy,
// which x-gateway member set it: a pointer to the operation's, its path
// item's or the root defaults' member (the most specific one wins), keyed
// by the field's name in the input (maxBody for max_body).
func (m *Model) policySources(op *operation, opPtr string) map[string]any {
	out := map[string]any{}
	root := m.Doc.Root.Get("x-gateway").Deref()
	for _, lvl := range []struct {
		n   *spec.Node
		ptr string
	}{
		{op.node.Get("x-gateway").Deref(), opPtr + "/x-gateway"},
		{op.pathItem.Get("x-gateway").Deref(), spec.Pointer("paths", op.Path, "x-gateway")},
		{root.Get("defaults").Deref(), "/x-gateway/defaults"},
	} {
		if lvl.n == nil || lvl.n.Kind != spec.Object {
			continue
		}
		for _, p := range lvl.n.Pairs {
			name := camelCase(p.Key.Value)
			if _, ok := out[name]; !ok {
				out[name] = lvl.ptr + "/" + spec.EscapePointerToken(p.Key.Value)
			}
		}
	}
	return out
}

// camelCase turns an x-gateway key (max_body) into its input name (maxBody).
func camelCase(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// upstreamValue is an upstream for the input, with its pointer and each
// target's: the URL string where the spec writes it.
func (m *Model) upstreamValue(u bundle.Upstream) any {
	v, _ := jsonValue(u).(map[string]any)
	if v == nil {
		return nil
	}
	ptr := spec.Pointer("x-gateway", "upstreams", u.Name)
	v["pointer"] = ptr
	raw := m.Doc.Root.At(ptr).Deref()
	targets, _ := v["targets"].([]any)
	i := 0
	var elems []*spec.Node
	if t := raw.Get("targets").Deref(); t != nil {
		elems = t.Elems
	}
	for j, e := range elems {
		e = e.Deref()
		tptr := ptr + "/targets/" + strconv.Itoa(j)
		if _, ok := e.Str(); !ok {
			if e.GetString("url") == "" {
				continue // the decoder leaves it out
			}
			tptr += "/url"
		}
		if i < len(targets) {
			if t, ok := targets[i].(map[string]any); ok {
				t["pointer"] = tptr
			}
		}
		i++
	}
	return v
}

// schemaFields appends every schema object below a lowered schema that
// declares a type, as {where, types, enum, const, and the fieldKeywords it
// has}: a flat view policies iterate instead of walking schemas (a walk over
// every definition costs a Rego evaluation hundreds of milliseconds on a
// large spec).
func schemaFields(raw json.RawMessage, where string, src *spec.Node, ptr string, out []any) []any {
	if len(raw) == 0 {
		return out
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return out
	}
	return fieldsOf(v, where, src, ptr, out)
}

// fieldsOf is schemaFields of a decoded schema. src is the spec node it was
// lowered from, ptr its pointer for policies (nodePointer): each field gets
// the pointer of its own node, walked beside the lowered schema, or of the
// nearest node above it the spec has where lowering changed the shape.
// isContainer reports whether v, a decoded JSON value, is an object or an
// array: the only values below which fieldsOf can find a field.
func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func fieldsOf(v any, where string, src *spec.Node, ptr string, out []any) []any {
	var walk func(v any, where string, src *spec.Node, ptr string)
	child := func(src *spec.Node, ptr, tok string, i int) (*spec.Node, string) {
		s := src.Deref()
		var c *spec.Node
		switch {
		case s == nil:
		case s.Kind == spec.Object && i < 0:
			c = s.Get(tok)
		case s.Kind == spec.Array && i >= 0 && i < len(s.Elems):
			c = s.Elems[i]
		}
		if c == nil {
			return nil, ptr
		}
		return c, ptr + "/" + spec.EscapePointerToken(tok)
	}
	walk = func(v any, where string, src *spec.Node, ptr string) {
		switch x := v.(type) {
		case map[string]any:
			if t, ok := x["type"]; ok {
				var types []any
				switch tt := t.(type) {
				case string:
					types = []any{tt}
				case []any:
					types = tt
				}
				if len(types) > 0 {
					f := map[string]any{"where": where, "types": types, "enum": x["enum"] != nil, "pointer": ptr}
					if _, ok := x["const"]; ok {
						f["const"] = true
					} else {
						f["const"] = false
					}
					for _, k := range fieldKeywords {
						if kv, ok := x[k]; ok {
							f[k] = kv
						}
					}
					out = append(out, f)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				switch k {
				case "enum", "const", "examples", "default":
					continue // values, not schemas
				}
				if !isContainer(x[k]) {
					continue // a keyword's scalar: no field below it
				}
				cs, cp := child(src, ptr, k, -1)
				walk(x[k], where+"/"+spec.EscapePointerToken(k), cs, cp)
			}
		case []any:
			for i, e := range x {
				if !isContainer(e) {
					continue
				}
				cs, cp := child(src, ptr, strconv.Itoa(i), i)
				walk(e, where+"/"+strconv.Itoa(i), cs, cp)
			}
		}
	}
	walk(v, where, src, ptr)
	return out
}
