package lower

import (
	"path"
	"strings"

	"github.com/gwcdev/gwc/compiler/spec"
)

// A discriminator is lowered to plain 2020-12 keywords added to the schema's
// allOf, so that the validator needs no OpenAPI knowledge.
//
// The routes are the explicit `mapping` (to "#/components/schemas/X", a bare
// name X, or a relative file reference) plus the implicit ones: for oneOf or
// anyOf, the component name of each member that is a $ref to a component
// schema; for a discriminator on an allOf parent (no oneOf/anyOf), the name of
// each component schema whose allOf refers to the parent, and the parent's own
// name. An explicit mapping entry wins over an implicit one of the same value.
//
// For an object instance (kin-openapi applies discriminators to objects only):
//   - the property must be present and a string, as in kin-openapi;
//   - when its value has a route, the instance is validated against that
//     schema only (not against the whole oneOf, so a value that also matches a
//     sibling schema is not rejected, as in kin-openapi);
//   - when there is an explicit mapping, other values are rejected, as in
//     kin-openapi; with implicit routes only, other values fall back to the
//     plain oneOf/anyOf (kin-openapi's behaviour without a mapping, which real
//     specs such as OpenAI's rely on: their values are not schema names).
//
// A parent's dispatch routes to children whose allOf refers back to it, so
// children refer to the parent's base variant, a definition without the
// dispatch: dispatching never loops.
type route struct {
	value  string
	target []byte // a lowered reference
}

// discriminator returns the allOf members that lower disc on schema n, and
// whether they replace the oneOf/anyOf member xof.
func (c *lowering) discriminator(n, disc, discKey *spec.Node, xof member, xofNode *spec.Node, base bool) ([][]byte, bool) {
	pnNode := disc.Get("propertyName").Deref()
	pn, ok := pnNode.Str()
	if !ok || pn == "" {
		c.ds.Errorf(discKey.Pos(), CodeDiscriminator, "discriminator needs a propertyName string")
		return nil, false
	}
	inheritance := xofNode == nil
	if inheritance && base {
		return nil, false
	}
	var routes []route
	has := func(v string) bool {
		for _, r := range routes {
			if r.value == v {
				return true
			}
		}
		return false
	}
	mapping := disc.Get("mapping").Deref()
	explicit := false
	if mapping != nil {
		if mapping.Kind != spec.Object {
			c.ds.Errorf(mapping.Pos(), CodeDiscriminator, "discriminator mapping must be an object, not %s", mapping.Describe())
		} else {
			for _, p := range mapping.Pairs {
				explicit = true
				ref, ok := p.Value.Deref().Str()
				if !ok {
					c.ds.Errorf(p.Value.Pos(), CodeDiscriminator, "discriminator mapping %q must name a schema, not %s", p.Key.Value, p.Value.Describe())
					continue
				}
				t := c.mappingTarget(disc, ref)
				if t == nil {
					c.ds.Errorf(p.Value.Pos(), CodeDiscriminator, "discriminator mapping %q: %q names no schema", p.Key.Value, ref)
					continue
				}
				if !has(p.Key.Value) {
					routes = append(routes, route{p.Key.Value, refJSON(c.l.ref(t, false))})
				}
			}
		}
	}
	if inheritance {
		for _, ch := range c.l.childrenOf(n) {
			if !has(ch.name) {
				routes = append(routes, route{ch.name, refJSON(c.l.ref(ch.n, false))})
			}
		}
		if name, ok := c.l.components[n]; ok && !has(name) && len(routes) > 0 {
			routes = append(routes, route{name, refJSON(c.l.ref(n, true))})
		}
	} else {
		for _, e := range xofNode.Elems {
			ref, ok := e.RefString()
			if !ok || e.Ref == nil {
				continue
			}
			if name := componentName(ref); name != "" && !has(name) {
				routes = append(routes, route{name, refJSON(c.l.ref(e.Deref(), false))})
			}
		}
	}

	q := spec.AppendQuote(nil, pn)
	values := []byte{'['}
	for i, r := range routes {
		if i > 0 {
			values = append(values, ',')
		}
		values = spec.AppendQuote(values, r.value)
	}
	values = append(values, ']')

	var extra [][]byte
	// The property is required and a string; with an explicit mapping, one of
	// the routed values.
	d := []byte(`{"if":{"type":"object"},"then":{"required":[`)
	d = append(d, q...)
	d = append(d, `],"properties":{`...)
	d = append(d, q...)
	d = append(d, `:{"type":"string"`...)
	if explicit {
		d = append(d, `,"enum":`...)
		d = append(d, values...)
	}
	extra = append(extra, append(d, "}}}}"...))
	for _, r := range routes {
		d := []byte(`{"if":{"type":"object","required":[`)
		d = append(d, q...)
		d = append(d, `],"properties":{`...)
		d = append(d, q...)
		d = append(d, `:{"const":`...)
		d = spec.AppendQuote(d, r.value)
		d = append(d, `}}},"then":`...)
		d = append(d, r.target...)
		extra = append(extra, append(d, '}'))
	}
	if inheritance || len(routes) == 0 {
		return extra, false
	}
	// The oneOf/anyOf applies to what no route takes: non-objects and, without
	// an explicit mapping, values no route names.
	d = []byte(`{"if":{"type":"object"`)
	if !explicit {
		d = append(d, `,"required":[`...)
		d = append(d, q...)
		d = append(d, `],"properties":{`...)
		d = append(d, q...)
		d = append(d, `:{"enum":`...)
		d = append(d, values...)
		d = append(d, "}}"...)
	}
	d = append(d, `},"else":{`...)
	d = spec.AppendQuote(d, xof.key)
	d = append(d, ':')
	d = append(d, xof.val...)
	extra = append(extra, append(d, "}}"...))
	return extra, true
}

// componentName returns X for a reference to ...#/components/schemas/X.
func componentName(ref string) string {
	const p = "#/components/schemas/"
	i := strings.LastIndex(ref, p)
	if i < 0 {
		return ""
	}
	name := ref[i+len(p):]
	if name == "" || strings.Contains(name, "/") {
		return ""
	}
	return spec.UnescapePointerToken(name)
}

// mappingTarget resolves a discriminator mapping value, relative to the file
// of the discriminator: a bare schema name, "#/pointer", or "file#/pointer".
func (c *lowering) mappingTarget(disc *spec.Node, ref string) *spec.Node {
	f := disc.File
	if f == nil {
		f = c.l.entry
	}
	if f == nil {
		return nil
	}
	if !strings.ContainsAny(ref, "/#") {
		for _, root := range []*spec.Node{f.Root, c.l.entryRoot()} {
			if t := root.At("/components/schemas/" + spec.EscapePointerToken(ref)).Deref(); t != nil {
				return t
			}
		}
		return nil
	}
	file, frag, _ := strings.Cut(ref, "#")
	root := f.Root
	if file != "" {
		root = nil
		name := path.Clean(path.Join(path.Dir(f.Name), file))
		for _, df := range c.l.doc.Files {
			if df.Name == name {
				root = df.Root
				break
			}
		}
	}
	if root == nil {
		return nil
	}
	return root.At(frag).Deref()
}

func (l *Lowerer) entryRoot() *spec.Node {
	if l.entry == nil {
		return nil
	}
	return l.entry.Root
}

// isInheritanceParent reports whether n carries a discriminator for the
// allOf-inheritance form (no oneOf or anyOf beside it).
func isInheritanceParent(n *spec.Node) bool {
	return n != nil && n.Kind == spec.Object && n.Has("discriminator") && !n.Has("oneOf") && !n.Has("anyOf")
}

// childrenOf returns the entry-file component schemas whose allOf refers to
// parent, in source order.
func (l *Lowerer) childrenOf(parent *spec.Node) []namedSchema {
	if ch, ok := l.children[parent]; ok {
		return ch
	}
	var out []namedSchema
	schemas := l.entryRoot().Deref().Get("components").Deref().Get("schemas").Deref()
	if schemas != nil && schemas.Kind == spec.Object {
		for _, p := range schemas.Pairs {
			s := p.Value.Deref()
			all := s.Get("allOf").Deref()
			if s == parent || all == nil || all.Kind != spec.Array {
				continue
			}
			for _, e := range all.Elems {
				if e.IsRef() && e.Ref != nil && e.Deref() == parent {
					out = append(out, namedSchema{p.Key.Value, s})
					break
				}
			}
		}
	}
	l.children[parent] = out
	return out
}
