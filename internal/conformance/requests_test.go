package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// testCase is one generated request for an operation.
type testCase struct {
	op    int    // the bundle operation it is for
	opID  string // its ID
	kind  string // "valid", or the constraint the request breaks (a mutant kind, "missing", ...)
	where string // what was changed, as a request pointer ("/query/limit", "/body/name"); "" when valid
	value string // the text of the value put at where
	media string // the declared media type the body was generated for; "" without a body
	// untyped lists the form or multipart fields of the body whose schema
	// has no type (see knownDifferences).
	untyped []string

	method string
	target string // the path and query, as sent
	header http.Header
	body   []byte
}

// String returns the exact request.
func (c *testCase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", c.method, c.target)
	for _, k := range slices.Sorted(maps.Keys(c.header)) {
		for _, v := range c.header[k] {
			fmt.Fprintf(&b, "\n%s: %s", k, v)
		}
	}
	if len(c.body) > 0 {
		fmt.Fprintf(&b, "\n\n%s", c.body)
	}
	return b.String()
}

// paramState is one parameter's value in a request being built.
type paramState struct {
	value   any
	present bool
}

// bodyState is the body of a request being built.
type bodyState struct {
	media       *bundle.MediaType // nil: no body
	schema      any
	value       any
	contentType string // overrides the media type's when set
}

// operationCases generates the requests of operation i, whose route
// template (base path included) is template: valid ones (required
// parameters only, then every parameter, with a body of each declared media
// type) and at most maxMutants invalid ones, sampled deterministically from
// every mutant of every parameter and body, each missing required
// parameter, a missing required body and an undeclared content type.
func (g *schemaGen) operationCases(b *bundle.Bundle, i int, template string, maxMutants int) []testCase {
	op := &b.Operations[i]
	base := make([]paramState, len(op.Params))
	schemas := make([]any, len(op.Params))
	for j, p := range op.Params {
		schemas[j] = parse(p.Schema)
		v, ok := g.valid(schemas[j], 0)
		if !ok {
			v = "x"
		}
		base[j] = paramState{value: v, present: true}
	}
	var bodies []bodyState
	if op.Body != nil {
		for k := range op.Body.Content {
			mt := &op.Body.Content[k]
			s := parse(mt.Schema)
			v, ok := g.valid(s, 0)
			if !ok {
				v = map[string]any{}
			}
			bodies = append(bodies, bodyState{media: mt, schema: s, value: v})
		}
	}
	noBody := bodyState{}
	firstBody := noBody
	if len(bodies) > 0 {
		firstBody = bodies[0]
	}
	build := func(kind, where string, leaf any, ps []paramState, body bodyState) testCase {
		c := g.request(b, i, template, ps, body)
		c.kind, c.where = kind, where
		if where != "" {
			c.value = text(leaf)
		}
		if body.media != nil && (body.media.Type == "application/x-www-form-urlencoded" || body.media.Type == "multipart/form-data") {
			c.untyped = g.untypedFields(body.schema, body.value)
		}
		return c
	}

	var valid []testCase
	required := slices.Clone(base)
	optional := false
	for j, p := range op.Params {
		if !p.Required {
			required[j].present = false
			optional = true
		}
	}
	if len(bodies) == 0 {
		valid = append(valid, build("valid", "", nil, required, noBody))
	}
	for _, body := range bodies {
		valid = append(valid, build("valid", "", nil, required, body))
	}
	if optional {
		valid = append(valid, build("valid", "", nil, base, firstBody))
	}

	var mutants []testCase
	for j, p := range op.Params {
		ms := g.mutants(schemas[j], base[j].value, 0)
		if p.Type != "array" && p.Type != "object" && p.ContentType == "" {
			ms = append(ms, lexicalMutants(base[j].value)...)
		}
		for _, m := range ms {
			if !paramValue(p, m.value) {
				continue
			}
			ps := slices.Clone(base)
			ps[j].value = m.value
			mutants = append(mutants, build(m.kind, "/"+p.In+"/"+p.Name+m.where, m.leaf, ps, firstBody))
		}
		if p.Required && p.In != "path" {
			ps := slices.Clone(base)
			ps[j].present = false
			mutants = append(mutants, build("missing", "/"+p.In+"/"+p.Name, nil, ps, firstBody))
		}
	}
	for _, body := range bodies {
		if body.media.Schema == nil {
			continue
		}
		// Mutants of a form or multipart body leave out its optional
		// untyped fields: kin-openapi rejects any request that has one (a
		// known difference, shown by the valid requests), which would hide
		// every other comparison on the operation.
		if obj, isObj := body.value.(map[string]any); isObj && len(g.untypedFields(body.schema, obj)) > 0 {
			required := g.requiredOf(body.schema)
			trimmed := maps.Clone(obj)
			for _, k := range g.untypedFields(body.schema, obj) {
				if !required[k] {
					delete(trimmed, k)
				}
			}
			body.value = trimmed
		}
		for _, m := range g.mutants(body.schema, body.value, 0) {
			mb := body
			mb.value = m.value
			mutants = append(mutants, build(m.kind, "/body"+m.where, m.leaf, required, mb))
		}
	}
	if op.Body != nil && op.Body.Required {
		mb := bodyState{contentType: concreteType(firstBody.media.Type)}
		mutants = append(mutants, build("body-missing", "/body", nil, required, mb))
	}
	if len(bodies) > 0 && !slices.ContainsFunc(op.Body.Content, func(mt bundle.MediaType) bool {
		return strings.HasPrefix(mt.Type, "*/") || strings.HasPrefix(mt.Type, "text/")
	}) {
		mb := firstBody
		mb.contentType = "text/x-undeclared"
		mutants = append(mutants, build("content-type", "/header/Content-Type", mb.contentType, required, mb))
	}
	g.rng.Shuffle(len(mutants), func(a, b int) { mutants[a], mutants[b] = mutants[b], mutants[a] })
	if len(mutants) > maxMutants {
		mutants = mutants[:maxMutants]
	}
	return append(valid, mutants...)
}

// untypedFields returns the properties of a form or multipart body value
// whose schema has no type (nor an enum or const to take one from), sorted.
func (g *schemaGen) untypedFields(schema, v any) []string {
	obj, isObj := v.(map[string]any)
	m := g.resolve(schema, 0)
	if !isObj || m == nil {
		return nil
	}
	props, _ := m["properties"].(map[string]any)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		ps, declared := props[k]
		if !declared {
			continue
		}
		if p := g.resolve(ps, 0); p != nil && !hasKey(p, "type") && !hasKey(p, "enum") && !hasKey(p, "const") {
			out = append(out, k)
		}
	}
	return out
}

// requiredOf returns the required properties of an object schema.
func (g *schemaGen) requiredOf(schema any) map[string]bool {
	out := map[string]bool{}
	if m := g.resolve(schema, 0); m != nil {
		req, _ := m["required"].([]any)
		for _, r := range req {
			if s, isStr := r.(string); isStr {
				out[s] = true
			}
		}
	}
	return out
}

// lexicalMutants are spellings of a scalar parameter's value that decoders
// may read differently: numbers and booleans as strconv parses them but
// JSON does not write them, and empty values.
func lexicalMutants(v any) []mutant {
	var spellings []string
	switch v := v.(type) {
	case bool:
		spellings = []string{"1", "TRUE", "False", "t"}
	case json.Number:
		spellings = []string{"+" + string(v), "0" + string(v), string(v) + ".0", string(v) + "e0", " " + string(v), "0x10", "1_0", "Infinity", "1e400"}
	}
	spellings = append(spellings, "")
	out := make([]mutant, len(spellings))
	for i, s := range spellings {
		out[i] = mutant{kind: "lexical", value: s, leaf: s}
	}
	return out
}

// paramValue reports whether v can be sent as parameter p: scalars for
// scalar parameters, and no empty or "/"-holding path values, which would
// not route.
func paramValue(p bundle.Param, v any) bool {
	switch v.(type) {
	case []any:
		if p.Type != "array" {
			return false
		}
	case map[string]any:
		if p.Type != "object" {
			return false
		}
	}
	if p.In == "path" {
		s := text(v)
		return s != "" && !strings.Contains(s, "/")
	}
	return true
}

// request serialises one request of operation i.
func (g *schemaGen) request(b *bundle.Bundle, i int, template string, ps []paramState, body bodyState) testCase {
	op := &b.Operations[i]
	c := testCase{op: i, opID: op.ID, method: op.Method, header: http.Header{}}
	var query, cookies []string
	pathValues := map[string]string{}
	for j, p := range op.Params {
		if !ps[j].present {
			continue
		}
		v := ps[j].value
		switch p.In {
		case "path":
			pathValues[p.Name] = pathText(p, v)
		case "query":
			query = append(query, queryPairs(p, v)...)
		case "header":
			c.header.Set(p.Name, joined(p, v, ","))
		case "cookie":
			cookies = append(cookies, p.Name+"="+joined(p, v, ","))
		}
	}
	c.target = expand(template, pathValues)
	if len(query) > 0 {
		c.target += "?" + strings.Join(query, "&")
	}
	if len(cookies) > 0 {
		c.header.Set("Cookie", strings.Join(cookies, "; "))
	}
	if body.media != nil {
		c.media = body.media.Type
		ct, data := encodeBody(g, body)
		c.header.Set("Content-Type", ct)
		c.body = data
	} else if body.contentType != "" {
		c.header.Set("Content-Type", body.contentType)
	}
	return c
}

// expand fills a path template's {name} parts; a parameter the operation
// does not declare gets "x".
func expand(template string, values map[string]string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(template, '{')
		if open < 0 {
			b.WriteString(template)
			return b.String()
		}
		end := strings.IndexByte(template[open:], '}')
		if end < 0 {
			b.WriteString(template)
			return b.String()
		}
		b.WriteString(template[:open])
		v, has := values[template[open+1:open+end]]
		if !has {
			v = "x"
		}
		b.WriteString(v)
		template = template[open+end+1:]
	}
}

// text is the string form of a scalar value; other values are given as JSON.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return string(v)
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// items returns the parts of an array or object parameter value before
// they are joined: the items of an array; an object's keys and values
// alternating ("k", "v", ...), or as "k=v" when exploded.
func items(v any, explode bool, esc func(string) string) []string {
	switch v := v.(type) {
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = esc(text(x))
		}
		return out
	case map[string]any:
		var out []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if explode {
				out = append(out, esc(k)+"="+esc(text(v[k])))
			} else {
				out = append(out, esc(k), esc(text(v[k])))
			}
		}
		return out
	}
	return []string{esc(text(v))}
}

// pathText serialises a path parameter per its style (RFC 6570 simple,
// label or matrix expansion).
func pathText(p bundle.Param, v any) string {
	switch p.Style {
	case "label":
		sep := ","
		if p.Explode {
			sep = "."
		}
		return "." + strings.Join(items(v, p.Explode, url.PathEscape), sep)
	case "matrix":
		if _, isArr := v.([]any); isArr && p.Explode {
			parts := items(v, false, url.PathEscape)
			return ";" + p.Name + "=" + strings.Join(parts, ";"+p.Name+"=")
		}
		if _, isObj := v.(map[string]any); isObj && p.Explode {
			return ";" + strings.Join(items(v, true, url.PathEscape), ";")
		}
		return ";" + p.Name + "=" + strings.Join(items(v, false, url.PathEscape), ",")
	}
	return strings.Join(items(v, p.Explode, url.PathEscape), ",")
}

// queryPairs serialises a query parameter per its style.
func queryPairs(p bundle.Param, v any) []string {
	name := url.QueryEscape(p.Name)
	if p.ContentType != "" {
		data, _ := json.Marshal(v)
		return []string{name + "=" + url.QueryEscape(string(data))}
	}
	switch v := v.(type) {
	case []any:
		if p.Explode && p.Style == "form" {
			var out []string
			for _, x := range v {
				out = append(out, name+"="+url.QueryEscape(text(x)))
			}
			return out
		}
		sep := map[string]string{"spaceDelimited": "%20", "pipeDelimited": "|"}[p.Style]
		if sep == "" {
			sep = ","
		}
		return []string{name + "=" + strings.Join(items(v, false, url.QueryEscape), sep)}
	case map[string]any:
		var out []string
		switch {
		case p.Style == "deepObject":
			for _, k := range slices.Sorted(maps.Keys(v)) {
				out = append(out, name+"["+url.QueryEscape(k)+"]="+url.QueryEscape(text(v[k])))
			}
		case p.Explode:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				out = append(out, url.QueryEscape(k)+"="+url.QueryEscape(text(v[k])))
			}
		default:
			out = append(out, name+"="+strings.Join(items(v, false, url.QueryEscape), ","))
		}
		return out
	}
	return []string{name + "=" + url.QueryEscape(text(v))}
}

// joined serialises a header or cookie parameter: items joined by sep.
func joined(p bundle.Param, v any, sep string) string {
	if p.ContentType != "" {
		data, _ := json.Marshal(v)
		return string(data)
	}
	return strings.Join(items(v, p.Explode, func(s string) string { return s }), sep)
}

// concreteType turns a declared media type, possibly a range, into one a
// request can carry.
func concreteType(t string) string {
	switch {
	case t == "*/*":
		return "application/octet-stream"
	case strings.HasSuffix(t, "/*"):
		return strings.TrimSuffix(t, "*") + "x-test"
	}
	return strings.Replace(t, "*", "x-test", 1)
}

// isJSONMedia reports whether a media type is JSON, as runtime/validate
// decides it: application/json or a "+json" suffix.
func isJSONMedia(t string) bool {
	return t == "application/json" || strings.HasSuffix(t, "+json")
}

// multipartBoundary is fixed, so that generated bodies are deterministic.
const multipartBoundary = "gwc-differential-boundary"

// encodeBody serialises a body value for its media type and returns the
// Content-Type to send with it.
func encodeBody(g *schemaGen, body bodyState) (string, []byte) {
	ct := concreteType(body.media.Type)
	var data []byte
	switch {
	case isJSONMedia(ct):
		data, _ = json.Marshal(body.value)
	case ct == "application/x-www-form-urlencoded":
		data = []byte(formEncode(body.media, body.value))
	case ct == "multipart/form-data":
		ct += "; boundary=" + multipartBoundary
		data = multipartEncode(g, body)
	default:
		data = []byte(text(body.value))
	}
	if body.contentType != "" {
		ct = body.contentType
	}
	return ct, data
}

// encodingOf returns a form field's declared encoding, or the default one
// (form, exploded).
func encodingOf(mt *bundle.MediaType, name string) bundle.Encoding {
	for _, e := range mt.Encoding {
		if e.Name == name {
			return e
		}
	}
	return bundle.Encoding{Style: "form", Explode: true}
}

// formEncode serialises an object as application/x-www-form-urlencoded:
// arrays as repeated fields, or one field joined per a non-exploded
// encoding; objects as name[key] fields for deepObject encodings, else as
// JSON. A value that is not an object is sent as it is.
func formEncode(mt *bundle.MediaType, v any) string {
	obj, isObj := v.(map[string]any)
	if !isObj {
		return url.QueryEscape(text(v))
	}
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		e := encodingOf(mt, k)
		name := url.QueryEscape(k)
		switch x := obj[k].(type) {
		case []any:
			if e.Style == "" || (e.Style == "form" && e.Explode) {
				for _, it := range x {
					pairs = append(pairs, name+"="+url.QueryEscape(text(it)))
				}
				continue
			}
			sep := map[string]string{"spaceDelimited": " ", "pipeDelimited": "|"}[e.Style]
			if sep == "" {
				sep = ","
			}
			parts := items(x, false, func(s string) string { return s })
			pairs = append(pairs, name+"="+url.QueryEscape(strings.Join(parts, sep)))
		case map[string]any:
			if e.Style == "deepObject" {
				for _, sub := range slices.Sorted(maps.Keys(x)) {
					pairs = append(pairs, name+"["+url.QueryEscape(sub)+"]="+url.QueryEscape(text(x[sub])))
				}
				continue
			}
			pairs = append(pairs, name+"="+url.QueryEscape(text(x)))
		default:
			pairs = append(pairs, name+"="+url.QueryEscape(text(x)))
		}
	}
	return strings.Join(pairs, "&")
}

// multipartEncode serialises an object as multipart/form-data: a part per
// property (per item for arrays), a file part for binary strings, a JSON
// part for objects.
func multipartEncode(g *schemaGen, body bodyState) []byte {
	obj, isObj := body.value.(map[string]any)
	if !isObj {
		return []byte(text(body.value))
	}
	var props map[string]any
	if m := g.resolve(body.schema, 0); m != nil {
		props, _ = m["properties"].(map[string]any)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.SetBoundary(multipartBoundary)
	part := func(name string, v any, prop any) {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name=%q`, name)
		switch e := encodingOf(body.media, name); {
		case e.ContentType != "":
			// An encoding may list several types ("image/png, image/jpeg").
			ct, _, _ := strings.Cut(e.ContentType, ",")
			h.Set("Content-Type", concreteType(strings.TrimSpace(ct)))
			if isBinary(g, prop) {
				disp += `; filename="upload.bin"`
			}
		case isBinary(g, prop):
			disp += `; filename="upload.bin"`
			h.Set("Content-Type", "application/octet-stream")
		case jsonType(v) == "object":
			h.Set("Content-Type", "application/json")
		}
		h.Set("Content-Disposition", disp)
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write([]byte(text(v)))
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if arr, isArr := obj[k].([]any); isArr {
			var itemSchema any
			if m := g.resolve(props[k], 0); m != nil {
				itemSchema = m["items"]
			}
			for _, it := range arr {
				part(k, it, itemSchema)
			}
			continue
		}
		part(k, obj[k], props[k])
	}
	_ = w.Close()
	return buf.Bytes()
}

// isBinary reports whether a property is a file: a binary string.
func isBinary(g *schemaGen, prop any) bool {
	m := g.resolve(prop, 0)
	return m != nil && (m["format"] == "binary" || hasKey(m, "contentMediaType"))
}
