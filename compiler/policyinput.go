package compiler

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
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
	for _, op := range m.Operations {
		// Responses are for mocks; what a policy needs of them is in the
		// raw spec. Leaving them out keeps large specs' input small.
		bop := op.Operation
		bop.Responses = nil
		o := jsonValue(bop).(map[string]any)
		o["operationId"] = op.ID
		o["fullPath"] = op.BasePath + op.Path
		o["pointer"] = spec.Pointer("paths", op.Path, strings.ToLower(op.Method))
		o["location"] = o["source"]
		delete(o, "source")
		o["securityDeclared"] = rootSecurity || op.node.Get("security") != nil
		o["security"] = m.securityView(op.Security)
		o["defs"] = m.defsOf(op)
		o["requestFields"] = requestFields(op)
		if i := slices.IndexFunc(m.Gateway.Upstreams, func(u bundle.Upstream) bool { return u.Name == op.Policy.Upstream }); i >= 0 {
			o["upstream"] = jsonValue(m.Gateway.Upstreams[i])
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
		ups[u.Name] = jsonValue(u)
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
	for name, s := range m.Schemes {
		schemes[name] = jsonValue(s)
	}
	in["securitySchemes"] = schemes
	in["gateway"] = map[string]any{
		"cors": jsonValue(gw.CORS), "ip": jsonValue(gw.IP), "trustedProxies": jsonValue(gw.TrustedProxies),
		"store": jsonValue(gw.Store),
	}
	defs := map[string]any{}
	defFields := map[string]any{}
	for name, d := range m.lowerer.Defs() {
		var v any
		if json.Unmarshal(d, &v) == nil {
			defs[name] = v
			defFields[name] = fieldsOf(v, "/$defs/"+spec.EscapePointerToken(name), []any{})
		}
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

// OperationPos is where the operation with operationId id is declared: its
// method key in the path item (the line a finding about the whole operation
// belongs on), else the operation object.
func (m *Model) OperationPos(id string) (diag.Pos, bool) {
	for _, op := range m.Operations {
		if op.ID != id {
			continue
		}
		if item := op.pathItem.Deref(); item != nil {
			for _, p := range item.Pairs {
				if p.Value == op.node || p.Value.Deref() == op.node {
					return p.Key.Pos(), true
				}
			}
		}
		return op.node.Pos(), true
	}
	return diag.Pos{}, false
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
func (m *Model) defsOf(op *operation) []any {
	all := m.lowerer.Defs()
	seen := map[string]bool{}
	var visit func(raw json.RawMessage)
	visit = func(raw json.RawMessage) {
		for _, name := range refNames(raw) {
			if !seen[name] {
				seen[name] = true
				visit(all[name])
			}
		}
	}
	for _, p := range op.Params {
		visit(p.Schema)
	}
	if op.Body != nil {
		for _, c := range op.Body.Content {
			visit(c.Schema)
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
func requestFields(op *operation) []any {
	out := []any{}
	for _, p := range op.Params {
		out = schemaFields(p.Schema, "/"+p.In+"/"+spec.EscapePointerToken(p.Name), out)
	}
	if op.Body != nil {
		for _, c := range op.Body.Content {
			out = schemaFields(c.Schema, "/body("+c.Type+")", out)
		}
	}
	return out
}

// schemaFields appends every schema object below a lowered schema that
// declares a type, as {where, types, enum, const, and the fieldKeywords it
// has}: a flat view policies iterate instead of walking schemas (a walk over
// every definition costs a Rego evaluation hundreds of milliseconds on a
// large spec).
func schemaFields(raw json.RawMessage, where string, out []any) []any {
	if len(raw) == 0 {
		return out
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return out
	}
	return fieldsOf(v, where, out)
}

// fieldsOf is schemaFields of a decoded schema.
func fieldsOf(v any, where string, out []any) []any {
	var walk func(v any, where string)
	walk = func(v any, where string) {
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
					f := map[string]any{"where": where, "types": types, "enum": x["enum"] != nil}
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
				walk(x[k], where+"/"+spec.EscapePointerToken(k))
			}
		case []any:
			for i, e := range x {
				walk(e, where+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(v, where)
	return out
}
