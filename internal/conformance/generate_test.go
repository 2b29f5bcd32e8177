package conformance

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// schemaGen generates JSON values from a bundle's lowered request schemas
// (JSON Schema 2020-12, definitions in Bundle.Defs): values meant to be
// valid, and mutants of them that each break one constraint. Values use the
// types encoding/json decodes to with UseNumber (json.Number for numbers), so
// that they serialise back to the same text. It is deterministic: every
// choice comes from rng, and maps are walked in key order.
//
// Generating from gwc's lowering rather than from kin-openapi's model does not
// bias the comparison: the generator only chooses which requests are sent;
// both validators judge each of them.
type schemaGen struct {
	defs    map[string]json.RawMessage
	decoded map[string]any
	rng     *rand.Rand
}

// newSchemaGen returns a generator for b's schemas whose choices follow seed.
func newSchemaGen(b *bundle.Bundle, seed uint64) *schemaGen {
	return &schemaGen{defs: b.Defs, decoded: map[string]any{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// maxDepth bounds how deep values are generated: recursive schemas (OpenAI's
// are) would otherwise never end.
const maxDepth = 8

// parse decodes a schema root.
func parse(raw json.RawMessage) any {
	if raw == nil {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return true
	}
	return v
}

// def returns the decoded definition name, or nil when there is none.
func (g *schemaGen) def(name string) any {
	if d, has := g.decoded[name]; has {
		return d
	}
	var d any
	if raw, has := g.defs[name]; has {
		d = parse(raw)
	}
	g.decoded[name] = d
	return d
}

// resolve returns schema s as one object, its $ref target and allOf members
// merged in (as far as a generator needs: see merge). It returns an empty
// map for a schema that accepts anything and nil for one that accepts
// nothing (false, which is what readOnly properties are lowered to).
func (g *schemaGen) resolve(s any, depth int) map[string]any {
	switch s := s.(type) {
	case bool:
		if !s {
			return nil
		}
		return map[string]any{}
	case map[string]any:
		out := make(map[string]any, len(s))
		for k, v := range s {
			if k != "$ref" && k != "allOf" {
				out[k] = v
			}
		}
		if depth > 2*maxDepth {
			return out
		}
		if ref, isStr := s["$ref"].(string); isStr {
			if name, cut := strings.CutPrefix(ref, "#/$defs/"); cut {
				t := g.resolve(g.def(name), depth+1)
				if t == nil {
					return nil
				}
				out = merge(out, t)
			}
		}
		if all, isArr := s["allOf"].([]any); isArr {
			for _, m := range all {
				r := g.resolve(m, depth+1)
				if r == nil {
					return nil
				}
				out = merge(out, r)
			}
		}
		return out
	}
	return map[string]any{}
}

// merge returns a combined with b's keywords: types intersected, required
// and properties united (a property in both is the allOf of both), bounds
// tightened, enums intersected; for any other keyword a's value wins.
func merge(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	for k, bv := range b {
		av, has := out[k]
		if !has {
			out[k] = bv
			continue
		}
		switch k {
		case "type":
			out[k] = intersectTypes(av, bv)
		case "required":
			seen := map[string]bool{}
			var req []any
			for _, list := range []any{av, bv} {
				l, _ := list.([]any)
				for _, r := range l {
					if s, isStr := r.(string); isStr && !seen[s] {
						seen[s] = true
						req = append(req, s)
					}
				}
			}
			out[k] = req
		case "properties":
			ap, _ := av.(map[string]any)
			bp, _ := bv.(map[string]any)
			props := maps.Clone(ap)
			if props == nil {
				props = map[string]any{}
			}
			for name, ps := range bp {
				if old, has := props[name]; has {
					props[name] = map[string]any{"allOf": []any{old, ps}}
				} else {
					props[name] = ps
				}
			}
			out[k] = props
		case "minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties":
			if num(bv) > num(av) {
				out[k] = bv
			}
		case "maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties":
			if num(bv) < num(av) {
				out[k] = bv
			}
		case "enum":
			ae, _ := av.([]any)
			be, _ := bv.([]any)
			var both []any
			for _, x := range ae {
				if slices.ContainsFunc(be, func(y any) bool { return sameJSON(x, y) }) {
					both = append(both, x)
				}
			}
			out[k] = both
		}
	}
	return out
}

// intersectTypes returns the types both type keywords allow ("integer" for
// "number" and "integer"), or a when they have none in common: the
// generator then makes a value for a, which both validators will reject.
func intersectTypes(a, b any) any {
	as, bs := typeList(a), typeList(b)
	var both []any
	for _, t := range as {
		switch {
		case slices.Contains(bs, t):
			both = append(both, t)
		case t == "number" && slices.Contains(bs, "integer"), t == "integer" && slices.Contains(bs, "number"):
			both = append(both, "integer")
		}
	}
	if len(both) == 0 {
		return a
	}
	return both
}

// typeList reads a type keyword, a name or a list of names.
func typeList(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, isStr := x.(string); isStr {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// sameJSON reports whether two values encode to the same JSON.
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// num reads a JSON number keyword; NaN when it is not one.
func num(v any) float64 {
	if n, isNum := v.(json.Number); isNum {
		if f, err := n.Float64(); err == nil {
			return f
		}
	}
	return math.NaN()
}

// hasKey reports whether schema m has keyword k.
func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// types returns the JSON types schema m allows, inferred from its keywords
// when it has no "type"; nil means any.
func types(m map[string]any) []string {
	if t := typeList(m["type"]); t != nil {
		return t
	}
	switch {
	case hasKey(m, "properties") || hasKey(m, "required") || hasKey(m, "additionalProperties"):
		return []string{"object"}
	case hasKey(m, "items") || hasKey(m, "prefixItems"):
		return []string{"array"}
	case hasKey(m, "pattern") || hasKey(m, "minLength") || hasKey(m, "maxLength") || hasKey(m, "format"):
		return []string{"string"}
	case hasKey(m, "minimum") || hasKey(m, "maximum"):
		return []string{"number"}
	}
	return nil
}

// jsonType names the JSON type of a generated value.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if !strings.ContainsAny(string(v), ".eE") {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	}
	return "object"
}

// allowsType reports whether types ts (nil: any) allow a value of type t.
func allowsType(ts []string, t string) bool {
	return ts == nil || slices.Contains(ts, t) || (t == "integer" && slices.Contains(ts, "number"))
}

// valid returns a value meant to be valid against s, and false when the
// generator cannot make one (a false schema, too deep).
func (g *schemaGen) valid(s any, depth int) (any, bool) {
	m := g.resolve(s, depth)
	if m == nil || depth > 2*maxDepth {
		return nil, false
	}
	if c, has := m["const"]; has {
		return c, true
	}
	if e, isArr := m["enum"].([]any); isArr && len(e) > 0 {
		// Prefer a value other than null: nullable enums list null last.
		choices := slices.DeleteFunc(slices.Clone(e), func(x any) bool { return x == nil })
		if len(choices) == 0 {
			choices = e
		}
		return choices[g.rng.IntN(len(choices))], true
	}
	if e := withElse(g, m, depth); e != nil {
		return g.valid(e, depth+1)
	}
	for _, kw := range []string{"oneOf", "anyOf"} {
		branches, isArr := m[kw].([]any)
		if !isArr || len(branches) == 0 {
			continue
		}
		rest := maps.Clone(m)
		delete(rest, kw)
		start := g.rng.IntN(len(branches))
		for i := range branches {
			b := g.resolve(branches[(start+i)%len(branches)], depth+1)
			if b == nil || slices.Equal(types(b), []string{"null"}) {
				continue
			}
			if v, ok := g.valid(merge(rest, b), depth+1); ok {
				return v, true
			}
		}
		return nil, false
	}
	t := "string"
	if ts := types(m); ts != nil {
		t = ts[0]
		for _, x := range ts {
			if x != "null" {
				t = x
				break
			}
		}
	}
	switch t {
	case "null":
		return nil, true
	case "boolean":
		return true, true
	case "integer":
		return json.Number(strconv.FormatInt(intIn(m), 10)), true
	case "number":
		return json.Number(strconv.FormatFloat(numberIn(m), 'f', -1, 64)), true
	case "array":
		return g.array(m, depth)
	case "object":
		return g.object(m, depth)
	}
	return g.str(m), true
}

// withElse returns m with its "else" schema merged in and its
// if/then/else removed, or nil when m has no "else". gwc lowers a
// discriminator to if/then/else members of allOf, the plain oneOf in the
// "else" of a condition on the discriminator's value; the values generated
// do not meet such conditions, so their "else" is what applies to them.
func withElse(g *schemaGen, m map[string]any, depth int) map[string]any {
	e, has := m["else"]
	if !has {
		return nil
	}
	rest := maps.Clone(m)
	delete(rest, "if")
	delete(rest, "then")
	delete(rest, "else")
	b := g.resolve(e, depth+1)
	if b == nil {
		return rest
	}
	return merge(rest, b)
}

// intIn returns an integer within m's bounds and a multiple of multipleOf.
func intIn(m map[string]any) int64 {
	v := int64(1)
	if lo := num(m["minimum"]); !math.IsNaN(lo) {
		v = int64(math.Ceil(lo))
	}
	if lo := num(m["exclusiveMinimum"]); !math.IsNaN(lo) && float64(v) <= lo {
		v = int64(math.Floor(lo)) + 1
	}
	if hi := num(m["maximum"]); !math.IsNaN(hi) && float64(v) > hi {
		v = int64(math.Floor(hi))
	}
	if hi := num(m["exclusiveMaximum"]); !math.IsNaN(hi) && float64(v) >= hi {
		v = int64(math.Ceil(hi)) - 1
	}
	if mul := num(m["multipleOf"]); mul >= 1 && mul == math.Trunc(mul) {
		v = int64(math.Ceil(float64(v)/mul) * mul)
	}
	return v
}

// numberIn returns a number within m's bounds: the middle of both when both
// are given.
func numberIn(m map[string]any) float64 {
	lo, hi := num(m["minimum"]), num(m["maximum"])
	if x := num(m["exclusiveMinimum"]); !math.IsNaN(x) {
		lo = x
	}
	if x := num(m["exclusiveMaximum"]); !math.IsNaN(x) {
		hi = x
	}
	v := 1.5
	switch {
	case !math.IsNaN(lo) && !math.IsNaN(hi):
		v = (lo + hi) / 2
	case !math.IsNaN(lo) && v <= lo:
		v = lo + 1
	case !math.IsNaN(hi) && v >= hi:
		v = hi - 1
	}
	if mul := num(m["multipleOf"]); mul > 0 {
		v = math.Ceil(v/mul) * mul
	}
	return v
}

// formatSamples are valid values of the formats specs use.
var formatSamples = map[string]string{
	"date": "2024-01-02", "date-time": "2024-01-02T03:04:05Z", "time": "03:04:05Z", "byte": "aGVsbG8=",
	"uuid": "123e4567-e89b-12d3-a456-426614174000", "email": "someone@example.com", "uri": "https://example.com/a",
	"url": "https://example.com/a", "uri-reference": "/a/b", "ipv4": "192.0.2.1", "ipv6": "2001:db8::1",
	"hostname": "example.com", "binary": "some file content", "duration": "P1D", "password": "hunter2",
}

// str returns a string for m: a sample of its format or pattern, padded or
// cut to its length bounds where the pattern still matches.
func (g *schemaGen) str(m map[string]any) string {
	format, _ := m["format"].(string)
	s, known := formatSamples[format]
	if !known {
		s = "text"
	}
	var re *regexp.Regexp
	if p, isStr := m["pattern"].(string); isStr {
		if r, err := regexp.Compile(p); err == nil {
			re = r
			if sample, ok := samplePattern(p); ok && re.MatchString(sample) {
				s = sample
			}
		}
	}
	if n := num(m["minLength"]); float64(len([]rune(s))) < n && n <= 4096 {
		padded := s + strings.Repeat("x", int(n)-len([]rune(s)))
		if re == nil || re.MatchString(padded) {
			s = padded
		}
	}
	if n := num(m["maxLength"]); float64(len([]rune(s))) > n {
		s = string([]rune(s)[:int(n)])
	}
	return s
}

// array returns minItems items (at least one, at most maxItems), from
// prefixItems then items; deep down, an empty array where that is allowed.
func (g *schemaGen) array(m map[string]any, depth int) (any, bool) {
	n := 1
	if x := num(m["minItems"]); x > 1 && x <= 64 {
		n = int(x)
	}
	if x := num(m["maxItems"]); x < float64(n) {
		n = int(x)
	}
	if depth > maxDepth && !(num(m["minItems"]) > 0) {
		return []any{}, true
	}
	prefix, _ := m["prefixItems"].([]any)
	out := make([]any, 0, n)
	for i := range n {
		var is any = m["items"]
		if i < len(prefix) {
			is = prefix[i]
		}
		if is == nil {
			is = true
		}
		v, ok := g.valid(is, depth+1)
		if !ok {
			if num(m["minItems"]) > 0 {
				return nil, false
			}
			return []any{}, true
		}
		out = append(out, v)
	}
	return out, true
}

// object returns an object with every required property and, near the top,
// most optional ones; readOnly properties (lowered to false) are left out.
func (g *schemaGen) object(m map[string]any, depth int) (any, bool) {
	props, _ := m["properties"].(map[string]any)
	required := map[string]bool{}
	if req, isArr := m["required"].([]any); isArr {
		for _, r := range req {
			if s, isStr := r.(string); isStr {
				required[s] = true
			}
		}
	}
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		// Optional properties are included three times in four near the
		// top, so that their constraints get exercised, and not at all deep
		// down, so that recursive schemas end.
		if !required[k] && (depth >= maxDepth/2 || g.rng.IntN(4) == 0) {
			continue
		}
		v, ok := g.valid(props[k], depth+1)
		if !ok {
			if required[k] {
				return nil, false
			}
			continue
		}
		out[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(required)) {
		if _, done := out[k]; !done && props[k] == nil {
			out[k] = "text" // required but not declared: any value goes
		}
	}
	return out, true
}

// samplePattern returns a string the regular expression p matches, built
// from its syntax tree: the first alternative, minimal repetitions (one for
// "+"), and a letter or digit from each character class when it has one.
func samplePattern(p string) (string, bool) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	var walk func(re *syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			b.WriteString(string(re.Rune))
		case syntax.OpCharClass:
			b.WriteRune(classRune(re.Rune))
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteByte('a')
		case syntax.OpCapture:
			walk(re.Sub[0])
		case syntax.OpPlus:
			walk(re.Sub[0])
		case syntax.OpRepeat:
			for range re.Min {
				walk(re.Sub[0])
			}
		case syntax.OpConcat:
			for _, s := range re.Sub {
				walk(s)
			}
		case syntax.OpAlternate:
			walk(re.Sub[0])
		}
	}
	walk(re)
	return b.String(), true
}

// classRune picks a rune of a character class given as [lo, hi] pairs:
// an ASCII letter or digit when the class has one, else its first rune.
func classRune(ranges []rune) rune {
	for _, want := range []rune{'a', 'A', '0', 'x', 'z', 'Z', '9'} {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= want && want <= ranges[i+1] {
				return want
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < ranges[i]+128; r++ {
			if r > ' ' && r < 0x7f {
				return r
			}
		}
	}
	if len(ranges) > 0 {
		return ranges[0]
	}
	return 'a'
}

// mutant is a value meant to break one constraint of a schema.
type mutant struct {
	kind  string // the constraint broken: "type", "enum", "required", ...
	where string // JSON pointer to what changed, relative to the value
	value any
	leaf  any // the value put at where (nil for a removed property)
}

// typeProbes are tried in order for a "type" mutant: the first whose type
// the schema does not allow is used.
var typeProbes = []any{json.Number("12345"), "not-a-number", true, []any{"x"}, map[string]any{"x": "y"}, nil}

// mutants returns values derived from v, valid against s, that each break
// one constraint of s or of a schema nested in it.
func (g *schemaGen) mutants(s any, v any, depth int) []mutant {
	m := g.resolve(s, depth)
	if m == nil || depth > maxDepth {
		return nil
	}
	m = g.branchFor(m, v, depth)
	var out []mutant
	add := func(kind string, x any) { out = append(out, mutant{kind: kind, value: x, leaf: x}) }
	if ts := types(m); ts != nil {
		for _, p := range typeProbes {
			if !allowsType(ts, jsonType(p)) {
				add("type", p)
				break
			}
		}
	}
	if _, isArr := m["enum"].([]any); isArr {
		add("enum", "zz-not-in-enum")
	}
	if _, has := m["const"]; has {
		add("const", "zz-not-the-const")
	}
	switch v := v.(type) {
	case string:
		if n := num(m["minLength"]); n > 0 {
			add("minLength", strings.Repeat("x", int(n)-1))
		}
		if n := num(m["maxLength"]); n >= 0 && n < 4096 {
			add("maxLength", strings.Repeat("x", int(n)+1))
		}
		if p, isStr := m["pattern"].(string); isStr {
			if re, err := regexp.Compile(p); err == nil {
				for _, c := range []string{"!", "zz not matching !", v + "!", "", "0"} {
					if !re.MatchString(c) {
						add("pattern", c)
						break
					}
				}
			}
		}
		if f, _ := m["format"].(string); badFormats[f] != "" {
			add("format", badFormats[f])
		}
	case json.Number:
		if lo := num(m["minimum"]); !math.IsNaN(lo) {
			add("minimum", numberText(lo-1))
		}
		if hi := num(m["maximum"]); !math.IsNaN(hi) {
			add("maximum", numberText(hi+1))
		}
		if lo := num(m["exclusiveMinimum"]); !math.IsNaN(lo) {
			add("exclusiveMinimum", numberText(lo))
		}
		if hi := num(m["exclusiveMaximum"]); !math.IsNaN(hi) {
			add("exclusiveMaximum", numberText(hi))
		}
		if mul := num(m["multipleOf"]); mul > 0 {
			add("multipleOf", numberText(num(v)+mul/2))
		}
		if ts := types(m); slices.Contains(ts, "integer") && !slices.Contains(ts, "number") {
			add("integer", json.Number("1.5"))
		}
		switch m["format"] {
		case "int32":
			add("format", json.Number("2147483648"))
		case "int64":
			add("format", json.Number("9223372036854775808"))
		case "float":
			add("format", json.Number("1e39"))
		}
	case []any:
		if n := num(m["maxItems"]); n >= 0 && n < 64 && len(v) > 0 {
			long := slices.Clone(v)
			for float64(len(long)) <= n {
				long = append(long, v[0])
			}
			add("maxItems", long)
		}
		if n := num(m["minItems"]); n > 0 && len(v) > 0 {
			add("minItems", v[:int(n)-1])
		}
		if len(v) > 0 {
			var is any = m["items"]
			if prefix, _ := m["prefixItems"].([]any); len(prefix) > 0 {
				is = prefix[0]
			}
			for _, sub := range g.mutants(is, v[0], depth+1) {
				arr := slices.Clone(v)
				arr[0] = sub.value
				out = append(out, mutant{kind: sub.kind, where: "/0" + sub.where, value: arr, leaf: sub.leaf})
			}
		}
	case map[string]any:
		props, _ := m["properties"].(map[string]any)
		if req, isArr := m["required"].([]any); isArr {
			for _, r := range req {
				if k, isStr := r.(string); isStr {
					if _, present := v[k]; present {
						obj := maps.Clone(v)
						delete(obj, k)
						out = append(out, mutant{kind: "required", where: "/" + k, value: obj})
					}
				}
			}
		}
		if ap, isBool := m["additionalProperties"].(bool); isBool && !ap {
			obj := maps.Clone(v)
			obj["zzExtra"] = "extra"
			out = append(out, mutant{kind: "additionalProperties", where: "/zzExtra", value: obj, leaf: "extra"})
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			ps, declared := props[k]
			if !declared {
				continue
			}
			for _, sub := range g.mutants(ps, v[k], depth+1) {
				obj := maps.Clone(v)
				obj[k] = sub.value
				out = append(out, mutant{kind: sub.kind, where: "/" + k + sub.where, value: obj, leaf: sub.leaf})
			}
		}
	}
	return out
}

// branchFor returns m with the oneOf or anyOf branch v was generated from
// merged in, so that mutants see that branch's properties and bounds: the
// first branch whose type allows v and, for an object, whose required
// properties v has.
func (g *schemaGen) branchFor(m map[string]any, v any, depth int) map[string]any {
	if e := withElse(g, m, depth); e != nil {
		m = e
	}
	for _, kw := range []string{"oneOf", "anyOf"} {
		branches, isArr := m[kw].([]any)
		if !isArr {
			continue
		}
		rest := maps.Clone(m)
		delete(rest, kw)
		for _, br := range branches {
			b := g.resolve(br, depth+1)
			if b == nil || !allowsType(types(b), jsonType(v)) {
				continue
			}
			if obj, isObj := v.(map[string]any); isObj {
				req, _ := b["required"].([]any)
				if slices.ContainsFunc(req, func(r any) bool { s, _ := r.(string); _, has := obj[s]; return !has }) {
					continue
				}
			}
			return merge(rest, b)
		}
	}
	return m
}

// badFormats are malformed values of the formats specs use; those gwc and
// kin-openapi treat as annotations (uuid, email, uri) must be accepted by
// both.
var badFormats = map[string]string{
	"date": "2024-13-45", "date-time": "yesterday at noon", "byte": "not base64!", "uuid": "not-a-uuid",
	"email": "not an email", "uri": "::not a uri", "ipv4": "999.1.1.1", "time": "25:00",
}

// numberText is f as a JSON number in decimal notation.
func numberText(f float64) json.Number {
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}
