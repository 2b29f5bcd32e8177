package lower

import (
	"slices"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// lowering is the state of lowering one root or one definition.
type lowering struct {
	l  *Lowerer
	ds *diag.Diagnostics
	// def is the name of the definition being lowered, "" for a root: the
	// target of `$recursiveRef: "#"`.
	def string
	// root is the schema lowered as a root: a `$recursiveRef: "#"` in it
	// refers to a definition of it.
	root         *spec.Node
	deepReported bool
}

// opts are what a schema's lowering depends on beyond its own node.
type opts struct {
	// base lowers a discriminator parent without its dispatch (see
	// discriminator.go). It applies to the top schema of a definition only.
	base bool
	// inheritedRO holds properties declared readOnly by the schemas this
	// inline allOf member is combined with; they are not required either.
	inheritedRO map[string]bool
}

// member is one keyword of a lowered schema object.
type member struct {
	key string
	val []byte
}

// schema appends the lowering of the schema n to dst.
func (c *lowering) schema(dst []byte, n *spec.Node, depth int, o opts) []byte {
	if n == nil {
		return append(dst, "true"...)
	}
	if depth > maxDepth {
		if !c.deepReported {
			c.deepReported = true
			c.ds.Errorf(n.Pos(), CodeSchema, "schema is nested more than %d levels deep; gwc accepts anything below", maxDepth)
		}
		return append(dst, "true"...)
	}
	// In 3.0 the members beside a $ref are ignored; in 3.1 they apply with it.
	if n.IsRef() && (!c.l.is31 || len(n.Pairs) == 1) {
		return append(dst, c.ref(n, false)...)
	}
	switch n.Kind {
	case spec.Object:
		return c.object(dst, n, depth, o)
	case spec.Bool:
		if !c.l.is31 {
			c.ds.Errorf(n.Pos(), CodeSchema, "a schema must be an object in OpenAPI 3.0, not %s", n.Value)
		}
		return append(dst, n.Value...)
	}
	if c.l.is31 {
		c.ds.Errorf(n.Pos(), CodeSchema, "a schema must be an object or a boolean, not %s", n.Describe())
	} else {
		c.ds.Errorf(n.Pos(), CodeSchema, "a schema must be an object, not %s", n.Describe())
	}
	return append(dst, "true"...)
}

// ref lowers the reference object n. A reference the loader could not resolve
// (it reported why) accepts anything.
func (c *lowering) ref(n *spec.Node, base bool) []byte {
	t := n.Deref()
	if n.Ref == nil || t == nil {
		return []byte("true")
	}
	return refJSON(c.l.ref(t, base))
}

// refJSON is the reference to definition name.
func refJSON(name string) []byte {
	out := append([]byte(`{"$ref":`), spec.AppendQuote(nil, "#/$defs/"+name)...)
	return append(out, '}')
}

// object lowers a schema object. The rules, for both dialects unless said:
//   - `x-` extensions, xml, externalDocs, $schema, $recursiveAnchor and nested
//     $defs/definitions are dropped (references into $defs were resolved by
//     the loader and become definitions of their own);
//   - nullable: true (3.0) accepts null: type [T, "null"] and null added to an
//     enum, or, beside allOf/anyOf/oneOf/not/$ref, {"anyOf":[{"type":"null"},S]},
//     since kin-openapi accepts null whenever nullable is true;
//   - boolean exclusiveMinimum/exclusiveMaximum become the 2020-12 numeric
//     form with the value of minimum/maximum;
//   - example becomes examples: [example];
//   - readOnly properties are handled as readOnlyProperty says;
//   - discriminators are lowered as discriminator.go says;
//   - $recursiveRef: "#" becomes a $ref to the enclosing definition;
//     $id, $anchor, $dynamicRef and $dynamicAnchor are dropped with a warning;
//   - 2020-12 keywords in a 3.0 document are kept with a warning; unknown
//     keywords and keywords with values of the wrong type are dropped with a
//     warning, so that the output always compiles.
func (c *lowering) object(dst []byte, n *spec.Node, depth int, o opts) []byte {
	is31 := c.l.is31
	var (
		ms                 []member
		typeAt, enumAt     = -1, -1
		minAt, maxAt       = -1, -1
		xofAt              = -1
		xofNode, disc      *spec.Node
		exclMin, exclMax   *spec.Node
		types              []string
		nullable, composed bool
		roSet              map[string]bool
		roDone             bool
		exampleDone        = n.Has("examples") && is31
		examplesSeen       bool
		discKey            *spec.Node
	)
	readOnly := func() map[string]bool {
		if !roDone {
			roDone = true
			roSet = readOnlyProps(n, o.inheritedRO, c.l.hidden)
		}
		return roSet
	}
	for _, p := range n.Pairs {
		k, v := p.Key.Value, p.Value
		if strings.HasPrefix(k, "x-") {
			continue
		}
		if !is31 && !isOAS30Keyword(k) && isJSONSchemaKeyword(k) {
			c.ds.Warnf(p.Key.Pos(), CodeSchema, "%q is not a keyword of OpenAPI 3.0 schemas; gwc keeps it as JSON Schema 2020-12", k)
		}
		vd := v.Deref()
		if vd == nil {
			vd = v
		}
		switch k {
		case "$ref":
			// Only 3.1 references with siblings get here.
			if t := n.Deref(); n.Ref != nil && t != nil {
				ms = append(ms, member{k, spec.AppendQuote(nil, "#/$defs/"+c.l.ref(t, false))})
				composed = true
			}
		case "nullable":
			if vd.Kind != spec.Bool {
				c.ds.Warnf(v.Pos(), CodeSchema, "nullable must be a boolean, not %s; gwc ignores it", vd.Describe())
				continue
			}
			if is31 && vd.True() {
				c.ds.Warnf(p.Key.Pos(), CodeSchema, "nullable is not a keyword of OpenAPI 3.1 schemas (use type: [T, \"null\"]); gwc applies it as in 3.0")
			}
			nullable = vd.True()
		case "type":
			types = c.typeNames(vd)
			if len(types) == 0 {
				continue
			}
			typeAt = len(ms)
			ms = append(ms, member{k, nil}) // written at the end: nullable may extend it
		case "enum":
			if vd.Kind != spec.Array {
				c.ds.Warnf(v.Pos(), CodeSchema, "enum must be an array, not %s; gwc ignores it", vd.Describe())
				continue
			}
			enumAt = len(ms)
			ms = append(ms, member{k, c.value(nil, vd)})
		case "minimum", "maximum":
			if !c.isKind(v, vd, spec.Number, "a number") {
				continue
			}
			if k == "minimum" {
				minAt = len(ms)
			} else {
				maxAt = len(ms)
			}
			ms = append(ms, member{k, c.value(nil, vd)})
		case "multipleOf":
			if f, ok := vd.Number(); !ok || f <= 0 {
				c.ds.Warnf(v.Pos(), CodeSchema, "multipleOf must be a number greater than 0, not %s; gwc ignores it", vd.Describe())
				continue
			}
			ms = append(ms, member{k, c.value(nil, vd)})
		case "exclusiveMinimum", "exclusiveMaximum":
			switch vd.Kind {
			case spec.Bool:
				if is31 {
					c.ds.Warnf(v.Pos(), CodeSchema, "%s must be a number in OpenAPI 3.1 (the boolean form is OpenAPI 3.0's); gwc lowers it as in 3.0", k)
				}
				if vd.True() {
					if k == "exclusiveMinimum" {
						exclMin = p.Key
					} else {
						exclMax = p.Key
					}
				}
			case spec.Number:
				if !is31 {
					c.ds.Warnf(v.Pos(), CodeSchema, "%s must be a boolean in OpenAPI 3.0 (the numeric form is 3.1's); gwc keeps the numeric form", k)
				}
				ms = append(ms, member{k, c.value(nil, vd)})
			default:
				c.ds.Warnf(v.Pos(), CodeSchema, "%s must be a boolean or a number, not %s; gwc ignores it", k, vd.Describe())
			}
		case "example":
			if exampleDone {
				continue // 3.1 examples win
			}
			exampleDone = true
			val := append([]byte{'['}, c.value(nil, vd)...)
			ms = append(ms, member{"examples", append(val, ']')})
		case "examples":
			if vd.Kind != spec.Array {
				c.ds.Warnf(v.Pos(), CodeSchema, "examples must be an array, not %s; gwc ignores it", vd.Describe())
				continue
			}
			if examplesSeen || (exampleDone && !is31) {
				continue
			}
			examplesSeen, exampleDone = true, true
			ms = append(ms, member{k, c.value(nil, vd)})
		case "discriminator":
			if vd.Kind != spec.Object {
				c.ds.Errorf(v.Pos(), CodeDiscriminator, "discriminator must be an object, not %s", vd.Describe())
				continue
			}
			disc, discKey = vd, p.Key
		case "xml", "externalDocs", "$schema", "$recursiveAnchor", "$defs", "definitions", "$vocabulary":
		case "$id", "$anchor", "$dynamicAnchor":
			c.ds.Warnf(p.Key.Pos(), CodeSchema, "gwc drops %s %s: lowered schemas are one resource whose definitions are named by gwc", k, vd.Describe())
		case "$dynamicRef":
			c.ds.Warnf(p.Key.Pos(), CodeSchema, "gwc does not support $dynamicRef; %s accepts anything here", vd.Describe())
		case "$recursiveRef":
			target := c.def
			s, _ := vd.Str()
			if s == "#" && target == "" && c.root != nil && !n.Has("$ref") {
				target = c.l.ref(c.root, false)
			}
			if s != "#" || target == "" || n.Has("$ref") {
				c.ds.Warnf(p.Key.Pos(), CodeSchema, "gwc only supports $recursiveRef \"#\" (not beside $ref); %s accepts anything here", vd.Describe())
				continue
			}
			composed = true
			ms = append(ms, member{"$ref", spec.AppendQuote(nil, "#/$defs/"+target)})
		case "additionalItems":
			c.ds.Warnf(p.Key.Pos(), CodeSchema, "additionalItems is not a JSON Schema 2020-12 keyword (use items with prefixItems); gwc ignores it")
		case "items":
			if vd.Kind == spec.Array {
				c.ds.Warnf(v.Pos(), CodeSchema, "items as an array is not JSON Schema 2020-12; gwc lowers it to prefixItems")
				ms = append(ms, member{"prefixItems", c.schemaArray(nil, vd, depth, nil, false)})
				continue
			}
			ms = append(ms, member{k, c.schema(nil, v, depth+1, opts{})})
		case "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
			"unevaluatedItems", "unevaluatedProperties", "contentSchema":
			if k == "not" || k == "if" {
				composed = true
			}
			if k == "additionalProperties" && vd.Kind == spec.Bool {
				// The one place OpenAPI 3.0 allows a boolean schema.
				ms = append(ms, member{k, c.value(nil, vd)})
				continue
			}
			ms = append(ms, member{k, c.schema(nil, v, depth+1, opts{})})
		case "allOf", "anyOf", "oneOf", "prefixItems":
			if vd.Kind != spec.Array || (k != "prefixItems" && len(vd.Elems) == 0) {
				c.ds.Errorf(v.Pos(), CodeSchema, "%s must be a non-empty array of schemas, not %s", k, vd.Describe())
				continue
			}
			var inherited map[string]bool
			if k == "allOf" {
				inherited = readOnly()
			}
			if k != "prefixItems" {
				composed = true
			}
			// A discriminator routes oneOf, or anyOf when there is no oneOf.
			if k == "oneOf" || (k == "anyOf" && xofAt < 0) {
				xofAt, xofNode = len(ms), vd
			}
			ms = append(ms, member{k, c.schemaArray(nil, vd, depth, inherited, k == "allOf")})
		case "properties", "patternProperties", "dependentSchemas":
			if vd.Kind != spec.Object {
				c.ds.Errorf(v.Pos(), CodeSchema, "%s must be an object of schemas, not %s", k, vd.Describe())
				continue
			}
			ms = append(ms, member{k, c.schemaMap(nil, vd, depth, k == "properties")})
		case "required":
			val, ok := c.required(v, vd, readOnly)
			if ok {
				ms = append(ms, member{k, val})
			}
		case "maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties", "minContains", "maxContains":
			if i, ok := vd.Int(); !ok || i < 0 {
				c.ds.Warnf(v.Pos(), CodeSchema, "%s must be a non-negative integer, not %s; gwc ignores it", k, vd.Describe())
				continue
			}
			ms = append(ms, member{k, c.value(nil, vd)})
		case "title", "description", "format", "pattern", "$comment", "contentEncoding", "contentMediaType":
			if !c.isKind(v, vd, spec.String, "a string") {
				continue
			}
			ms = append(ms, member{k, c.value(nil, vd)})
		case "uniqueItems", "deprecated", "readOnly", "writeOnly":
			if !c.isKind(v, vd, spec.Bool, "a boolean") {
				continue
			}
			ms = append(ms, member{k, c.value(nil, vd)})
		case "const", "default":
			ms = append(ms, member{k, c.value(nil, vd)})
		case "dependentRequired":
			if !c.isKind(v, vd, spec.Object, "an object") {
				continue
			}
			ms = append(ms, member{k, c.value(nil, vd)})
		default:
			msg := "unknown schema keyword %q; gwc ignores it"
			if s := spec.Suggest(k, keywords()); s != "" {
				c.ds.Warnf(p.Key.Pos(), CodeSchema, msg+" (did you mean %q?)", k, s)
			} else {
				c.ds.Warnf(p.Key.Pos(), CodeSchema, msg, k)
			}
		}
	}

	if exclMin != nil {
		if minAt >= 0 {
			ms[minAt].key = "exclusiveMinimum"
		} else {
			c.ds.Warnf(exclMin.Pos(), CodeSchema, "exclusiveMinimum: true has no minimum beside it; gwc ignores it")
		}
	}
	if exclMax != nil {
		if maxAt >= 0 {
			ms[maxAt].key = "exclusiveMaximum"
		} else {
			c.ds.Warnf(exclMax.Pos(), CodeSchema, "exclusiveMaximum: true has no maximum beside it; gwc ignores it")
		}
	}
	if disc != nil {
		var xof member
		if xofAt >= 0 {
			xof = ms[xofAt]
		}
		extra, routed := c.discriminator(n, disc, discKey, xof, xofNode, o.base)
		if routed {
			ms = slices.Delete(ms, xofAt, xofAt+1)
			if typeAt > xofAt {
				typeAt--
			}
			if enumAt > xofAt {
				enumAt--
			}
		}
		if len(extra) > 0 {
			composed = true
			ms = appendAllOf(ms, extra)
		}
	}
	wrap := false
	if nullable {
		switch {
		case composed:
			wrap = true
		default:
			if typeAt >= 0 && !slices.Contains(types, "null") {
				types = append(types, "null")
			}
			if enumAt >= 0 {
				ms[enumAt].val = addNull(ms[enumAt].val)
			}
		}
	}
	if typeAt >= 0 {
		ms[typeAt].val = typeJSON(types)
	}
	if wrap {
		dst = append(dst, `{"anyOf":[{"type":"null"},`...)
	}
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = spec.AppendQuote(dst, m.key)
		dst = append(dst, ':')
		dst = append(dst, m.val...)
	}
	dst = append(dst, '}')
	if wrap {
		dst = append(dst, "]}"...)
	}
	return dst
}

// appendAllOf adds items to the allOf member of ms, creating it at the end
// when there is none.
func appendAllOf(ms []member, items [][]byte) []member {
	at := -1
	for i := range ms {
		if ms[i].key == "allOf" {
			at = i
		}
	}
	if at < 0 {
		ms = append(ms, member{"allOf", []byte("[]")})
		at = len(ms) - 1
	}
	val := ms[at].val
	out := append([]byte(nil), val[:len(val)-1]...)
	for _, it := range items {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, it...)
	}
	ms[at].val = append(out, ']')
	return ms
}

func (c *lowering) isKind(v, vd *spec.Node, k spec.Kind, what string) bool {
	if vd.Kind == k {
		return true
	}
	c.ds.Warnf(v.Pos(), CodeSchema, "expected %s here, not %s; gwc ignores it", what, vd.Describe())
	return false
}

// typeNames returns the valid, distinct type names of a type keyword.
func (c *lowering) typeNames(v *spec.Node) []string {
	var out []string
	typeNames := typeNameList()
	add := func(e *spec.Node) {
		s, ok := e.Str()
		switch {
		case !ok || !slices.Contains(typeNames, s):
			msg := "unknown type %s; gwc ignores it"
			if sug := spec.Suggest(s, typeNames); ok && sug != "" {
				c.ds.Warnf(e.Pos(), CodeSchema, msg+" (did you mean %q?)", e.Describe(), sug)
			} else {
				c.ds.Warnf(e.Pos(), CodeSchema, msg, e.Describe())
			}
		case s == "null" && !c.l.is31:
			c.ds.Warnf(e.Pos(), CodeSchema, "type \"null\" is not OpenAPI 3.0 (use nullable: true); gwc keeps it")
			fallthrough
		default:
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	switch v.Kind {
	case spec.Array:
		if !c.l.is31 {
			c.ds.Warnf(v.Pos(), CodeSchema, "type must be a string in OpenAPI 3.0, not an array; gwc keeps it as JSON Schema 2020-12")
		}
		for _, e := range v.Elems {
			add(e.Deref())
		}
	default:
		add(v)
	}
	return out
}

func typeJSON(types []string) []byte {
	if len(types) == 1 {
		return spec.AppendQuote(nil, types[0])
	}
	out := []byte{'['}
	for i, t := range types {
		if i > 0 {
			out = append(out, ',')
		}
		out = spec.AppendQuote(out, t)
	}
	return append(out, ']')
}

// addNull adds null to a lowered enum array unless it has it.
func addNull(enum []byte) []byte {
	s := string(enum)
	if strings.Contains(s, "null") && containsNullElem(enum) {
		return enum
	}
	out := append([]byte(nil), enum[:len(enum)-1]...)
	if len(out) > 1 {
		out = append(out, ',')
	}
	return append(out, "null]"...)
}

// containsNullElem reports whether a compact JSON array has a null element at
// its top level.
func containsNullElem(arr []byte) bool {
	depth, inStr, esc := 0, false, false
	start := 1
	for i := 1; i < len(arr); i++ {
		ch := arr[i]
		switch {
		case inStr:
			if esc {
				esc = false
			} else if ch == '\\' {
				esc = true
			} else if ch == '"' {
				inStr = false
			}
		case ch == '"':
			inStr = true
		case ch == '[' || ch == '{':
			depth++
		case ch == ']' || ch == '}':
			if depth == 0 {
				return string(arr[start:i]) == "null"
			}
			depth--
		case ch == ',' && depth == 0:
			if string(arr[start:i]) == "null" {
				return true
			}
			start = i + 1
		}
	}
	return false
}

// schemaArray lowers an array of schemas. Members of allOf that refer to a
// discriminator parent refer to its base variant; inline members inherit the
// readOnly properties of their combination.
func (c *lowering) schemaArray(dst []byte, a *spec.Node, depth int, inherited map[string]bool, allOf bool) []byte {
	dst = append(dst, '[')
	for i, e := range a.Elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		if allOf && e.IsRef() && (!c.l.is31 || len(e.Pairs) == 1) {
			dst = append(dst, c.ref(e, true)...)
			continue
		}
		dst = c.schema(dst, e, depth+1, opts{inheritedRO: inherited})
	}
	return append(dst, ']')
}

// schemaMap lowers an object whose values are schemas.
func (c *lowering) schemaMap(dst []byte, m *spec.Node, depth int, properties bool) []byte {
	dst = append(dst, '{')
	for i, p := range m.Pairs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = spec.AppendQuote(dst, p.Key.Value)
		dst = append(dst, ':')
		if properties && isHidden(p.Value.Deref(), c.l.hidden) {
			dst = append(dst, readOnlyProperty(p.Value.Deref())...)
			continue
		}
		dst = c.schema(dst, p.Value, depth+1, opts{})
	}
	return append(dst, '}')
}

// readOnlyProperty is the lowering of a readOnly property of a request
// schema. gwc does what kin-openapi's openapi3filter.ValidateRequest does by
// default (without ExcludeReadOnlyValidations): a readOnly property is not
// required (see readOnlyProps), and a request that sends it with a value other
// than null is rejected; null passes when the property's schema accepts null.
// So the property's schema is {"type":"null"} when it accepts null, else false.
func readOnlyProperty(s *spec.Node) []byte {
	if acceptsNull(s) {
		return []byte(`{"type":"null"}`)
	}
	return []byte("false")
}

// acceptsNull reports, conservatively, whether schema s accepts null.
func acceptsNull(s *spec.Node) bool {
	if s == nil {
		return true
	}
	if s.Kind == spec.Bool {
		return s.True()
	}
	if s.Get("nullable").Deref().True() {
		return true
	}
	if t := s.Get("type").Deref(); t != nil {
		if t.Kind == spec.Array {
			for _, e := range t.Elems {
				if e.Deref().Value == "null" {
					return true
				}
			}
			return false
		}
		return t.Value == "null"
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf", "$ref", "enum", "const", "not"} {
		if s.Has(k) {
			return false
		}
	}
	return true
}

// isHidden reports whether schema s is marked with keyword (readOnly, or
// writeOnly for a response lowering: see Lowerer.hidden).
func isHidden(s *spec.Node, keyword string) bool {
	return s != nil && s.Kind == spec.Object && s.Get(keyword).Deref().True()
}

// readOnlyProps returns the properties a request need not send: those that
// n, its allOf members (through references) or the schemas n is combined with
// (inherited) declare readOnly, as kin-openapi's readOnlyOrWriteOnlyInAllOf
// does for the parts that can be known without the instance.
func readOnlyProps(n *spec.Node, inherited map[string]bool, keyword string) map[string]bool {
	out := map[string]bool{}
	for k := range inherited {
		out[k] = true
	}
	var seen []*spec.Node
	var walk func(s *spec.Node, depth int)
	walk = func(s *spec.Node, depth int) {
		s = s.Deref()
		if s == nil || s.Kind != spec.Object || depth > 64 || slices.Contains(seen, s) {
			return
		}
		seen = append(seen, s)
		if props := s.Get("properties").Deref(); props != nil && props.Kind == spec.Object {
			for _, p := range props.Pairs {
				if isHidden(p.Value.Deref(), keyword) {
					out[p.Key.Value] = true
				}
			}
		}
		if all := s.Get("allOf").Deref(); all != nil && all.Kind == spec.Array {
			for _, e := range all.Elems {
				walk(e, depth+1)
			}
		}
	}
	walk(n, 0)
	return out
}

// required lowers a required list, leaving out readOnly properties.
func (c *lowering) required(v, vd *spec.Node, readOnly func() map[string]bool) ([]byte, bool) {
	if vd.Kind != spec.Array {
		c.ds.Warnf(v.Pos(), CodeSchema, "required must be an array of property names, not %s; gwc ignores it", vd.Describe())
		return nil, false
	}
	ro := readOnly()
	var names []string
	for _, e := range vd.Elems {
		e = e.Deref()
		s, ok := e.Str()
		if !ok {
			c.ds.Warnf(e.Pos(), CodeSchema, "required must list property names, not %s; gwc ignores it", e.Describe())
			continue
		}
		if ro[s] || slices.Contains(names, s) {
			continue
		}
		names = append(names, s)
	}
	if len(names) == 0 {
		return nil, false
	}
	out := []byte{'['}
	for i, s := range names {
		if i > 0 {
			out = append(out, ',')
		}
		out = spec.AppendQuote(out, s)
	}
	return append(out, ']'), true
}

// maxValueBytes bounds one lowered value (an example, a default, an enum):
// YAML aliases can make a small file denote an enormous value.
const maxValueBytes = 8 << 20

// value appends the JSON of a data value (enum, const, default, example),
// following the references a Redocly-style tree puts there.
func (c *lowering) value(dst []byte, n *spec.Node) []byte {
	start := len(dst)
	out, ok := appendValue(dst, n, 0, start)
	if !ok {
		c.ds.Errorf(n.Pos(), CodeSchema, "value is too large or too deeply nested once references and YAML aliases are expanded")
		return append(dst[:start], "null"...)
	}
	return out
}

func appendValue(dst []byte, n *spec.Node, depth, start int) ([]byte, bool) {
	n = n.Deref()
	if depth > 1000 || len(dst)-start > maxValueBytes {
		return dst, false
	}
	if n == nil {
		return append(dst, "null"...), true
	}
	ok := true
	switch n.Kind {
	case spec.Null:
		dst = append(dst, "null"...)
	case spec.Bool, spec.Number:
		dst = append(dst, n.Value...)
	case spec.String:
		dst = spec.AppendQuote(dst, n.Value)
	case spec.Array:
		dst = append(dst, '[')
		for i, e := range n.Elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = appendValue(dst, e, depth+1, start); !ok {
				return dst, false
			}
		}
		dst = append(dst, ']')
	case spec.Object:
		dst = append(dst, '{')
		for i, p := range n.Pairs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = spec.AppendQuote(dst, p.Key.Value)
			dst = append(dst, ':')
			if dst, ok = appendValue(dst, p.Value, depth+1, start); !ok {
				return dst, false
			}
		}
		dst = append(dst, '}')
	}
	return dst, true
}

// isOAS30Keyword reports whether k is a keyword of the OpenAPI 3.0 Schema
// Object.
func isOAS30Keyword(k string) bool {
	switch k {
	case "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
		"maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties",
		"required", "enum", "type", "allOf", "oneOf", "anyOf", "not", "items", "properties", "additionalProperties",
		"description", "format", "default", "nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs",
		"example", "deprecated", "$ref":
		return true
	}
	return false
}

// isJSONSchemaKeyword reports whether k is a JSON Schema keyword (2020-12,
// or 2019-09's that gwc recognises) beyond OpenAPI 3.0's.
func isJSONSchemaKeyword(k string) bool {
	switch k {
	case "const", "examples", "$defs", "definitions", "prefixItems", "contains", "minContains",
		"maxContains", "propertyNames", "patternProperties", "dependentSchemas", "dependentRequired", "if", "then", "else",
		"unevaluatedItems", "unevaluatedProperties", "contentEncoding", "contentMediaType", "contentSchema", "$comment",
		"$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$schema", "$vocabulary", "additionalItems", "$recursiveRef",
		"$recursiveAnchor":
		return true
	}
	return false
}

// keywords lists every keyword gwc knows, for "did you mean" hints.
func keywords() []string {
	return []string{"$anchor", "$comment", "$defs", "$dynamicAnchor", "$dynamicRef", "$id", "$recursiveAnchor",
		"$recursiveRef", "$ref", "$schema", "$vocabulary", "additionalItems", "additionalProperties", "allOf", "anyOf",
		"const", "contains", "contentEncoding", "contentMediaType", "contentSchema", "default", "definitions",
		"dependentRequired", "dependentSchemas", "deprecated", "description", "discriminator", "else", "enum", "example",
		"examples", "exclusiveMaximum", "exclusiveMinimum", "externalDocs", "format", "if", "items", "maxContains",
		"maxItems", "maxLength", "maxProperties", "maximum", "minContains", "minItems", "minLength", "minProperties",
		"minimum", "multipleOf", "not", "nullable", "oneOf", "pattern", "patternProperties", "prefixItems",
		"properties", "propertyNames", "readOnly", "required", "then", "title", "type", "unevaluatedItems",
		"unevaluatedProperties", "uniqueItems", "writeOnly", "xml"}
}

// typeNameList lists JSON Schema's type names.
func typeNameList() []string {
	return []string{"string", "number", "integer", "boolean", "array", "object", "null"}
}
