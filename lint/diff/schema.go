package diff

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// schema is one JSON Schema as either side holds it: a spec's node (with
// its place), or a bundle's lowered JSON (placed at its operation).
type schema struct {
	n    *spec.Node
	v    any
	defs map[string]any
	at   diag.Pos // a bundle schema's place: its operation's
	side *Side
}

// nodeSchema wraps a spec node; nil for none.
func nodeSchema(side *Side, n *spec.Node) *schema {
	n = n.Deref()
	if n == nil {
		return nil
	}
	return &schema{n: n, side: side}
}

// jsonSchema wraps a bundle's lowered schema; nil for none.
func jsonSchema(side *Side, raw json.RawMessage, at diag.Pos) *schema {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	defs := map[string]any{}
	for name, d := range side.Defs {
		var dv any
		if json.Unmarshal(d, &dv) == nil {
			defs[name] = dv
		}
	}
	return (&schema{defs: defs, at: at, side: side}).wrap(v)
}

// wrap makes a JSON value a schema, following "#/$defs/NAME" references.
func (s *schema) wrap(v any) *schema {
	for i := 0; i < 100; i++ {
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		ref, ok := m["$ref"].(string)
		name, isDef := strings.CutPrefix(ref, "#/$defs/")
		if !ok || !isDef {
			break
		}
		v = s.defs[name]
	}
	if v == nil {
		return nil
	}
	return &schema{v: v, defs: s.defs, at: s.at, side: s.side}
}

// get returns member key, references followed; nil when absent.
func (s *schema) get(key string) *schema {
	if s == nil {
		return nil
	}
	if s.n != nil {
		c := s.n.Get(key).Deref()
		if c == nil {
			return nil
		}
		return &schema{n: c, side: s.side}
	}
	m, ok := s.v.(map[string]any)
	if !ok {
		return nil
	}
	c, ok := m[key]
	if !ok {
		return nil
	}
	return s.wrap(c)
}

func (s *schema) has(key string) bool { return s.get(key) != nil }

// str is a string value.
func (s *schema) str() (string, bool) {
	if s == nil {
		return "", false
	}
	if s.n != nil {
		return s.n.Str()
	}
	v, ok := s.v.(string)
	return v, ok
}

// num is a number value.
func (s *schema) num() (float64, bool) {
	if s == nil {
		return 0, false
	}
	if s.n != nil {
		return s.n.Number()
	}
	v, ok := s.v.(float64)
	return v, ok
}

// isTrue is the boolean true.
func (s *schema) isTrue() bool {
	if s == nil {
		return false
	}
	if s.n != nil {
		return s.n.True()
	}
	v, ok := s.v.(bool)
	return ok && v
}

// elems are an array's elements.
func (s *schema) elems() []*schema {
	if s == nil {
		return nil
	}
	var out []*schema
	if s.n != nil {
		if s.n.Kind != spec.Array {
			return nil
		}
		for _, e := range s.n.Elems {
			if e := e.Deref(); e != nil {
				out = append(out, &schema{n: e, side: s.side})
			}
		}
		return out
	}
	a, _ := s.v.([]any)
	for _, e := range a {
		if w := s.wrap(e); w != nil {
			out = append(out, w)
		} else {
			out = append(out, &schema{v: e, defs: s.defs, at: s.at, side: s.side})
		}
	}
	return out
}

// members are an object's members, in order (a bundle's sorted by name).
func (s *schema) members() []member {
	if s == nil {
		return nil
	}
	var out []member
	if s.n != nil {
		if s.n.Kind != spec.Object {
			return nil
		}
		for _, p := range s.n.Pairs {
			if v := p.Value.Deref(); v != nil {
				out = append(out, member{p.Key.Value, &schema{n: v, side: s.side}, s.side.pos(p.Key)})
			}
		}
		return out
	}
	m, _ := s.v.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if w := s.wrap(m[k]); w != nil {
			out = append(out, member{k, w, s.at})
		}
	}
	return out
}

type member struct {
	name string
	s    *schema
	pos  diag.Pos
}

// pos is the schema's place.
func (s *schema) pos() diag.Pos {
	if s == nil {
		return diag.Pos{}
	}
	if s.n != nil {
		return s.side.pos(s.n)
	}
	return s.at
}

// canon is a scalar's JSON text, for comparing enum values.
func (s *schema) canon() string {
	if s == nil {
		return ""
	}
	if s.n != nil {
		switch s.n.Kind {
		case spec.String:
			return strconv.Quote(s.n.Value)
		case spec.Null:
			return "null"
		case spec.Number:
			if f, ok := s.n.Number(); ok {
				return strconv.FormatFloat(f, 'g', -1, 64)
			}
		}
		return s.n.Value
	}
	switch v := s.v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(s.v)
	return string(b)
}

// id is the schema's identity, for cutting recursion.
func (s *schema) id() uintptr {
	if s.n != nil {
		return reflect.ValueOf(s.n).Pointer()
	}
	if m, ok := s.v.(map[string]any); ok {
		return reflect.ValueOf(m).Pointer()
	}
	return 0
}

// types is the set of JSON types the schema allows, from `type` (a 3.1
// list, or a 3.0 string with `nullable`); nil when it leaves the type open.
// Integer counts as a number type of its own.
func (s *schema) types() []string {
	t := s.get("type")
	var out []string
	if v, ok := t.str(); ok {
		out = []string{v}
	} else {
		for _, e := range t.elems() {
			if v, ok := e.str(); ok {
				out = append(out, v)
			}
		}
	}
	if len(out) > 0 && s.get("nullable").isTrue() && !slices.Contains(out, "null") {
		out = append(out, "null")
	}
	return out
}

// allows says whether a schema of types ts accepts values of type t.
func allows(ts []string, t string) bool {
	return len(ts) == 0 || slices.Contains(ts, t) || t == "integer" && slices.Contains(ts, "number")
}

// properties merges `properties` of the schema and of its allOf members.
func (s *schema) properties() []member {
	var out []member
	seen := map[string]bool{}
	walked := map[uintptr]bool{} // a shared allOf member is read once
	var walk func(s *schema, depth int)
	walk = func(s *schema, depth int) {
		if s == nil || depth > 8 || walked[s.id()] && s.id() != 0 {
			return
		}
		walked[s.id()] = true
		for _, m := range s.get("properties").members() {
			if !seen[m.name] {
				seen[m.name] = true
				out = append(out, m)
			}
		}
		for _, e := range s.get("allOf").elems() {
			walk(e, depth+1)
		}
	}
	walk(s, 0)
	return out
}

// required merges `required` of the schema and of its allOf members.
func (s *schema) required() map[string]bool {
	out := map[string]bool{}
	walked := map[uintptr]bool{}
	var walk func(s *schema, depth int)
	walk = func(s *schema, depth int) {
		if s == nil || depth > 8 || walked[s.id()] && s.id() != 0 {
			return
		}
		walked[s.id()] = true
		for _, e := range s.get("required").elems() {
			if v, ok := e.str(); ok {
				out[v] = true
			}
		}
		for _, e := range s.get("allOf").elems() {
			walk(e, depth+1)
		}
	}
	walk(s, 0)
	return out
}

// direction is which way a schema's values travel.
type direction uint8

const (
	request  direction = iota // clients send them: narrowing breaks
	response                  // clients read them: removal and change break
)

// schemaCmp compares two schemas, reporting through report.
type schemaCmp struct {
	c       *comparer
	op      string
	dir     direction
	visited map[[2]uintptr]bool
}

// maxDepth bounds how deep nested schemas are compared.
const maxDepth = 32

// loc is where a schema is: the part of the operation (base) and the JSON
// path below it.
type loc struct{ base, path string }

func (l loc) String() string {
	if l.path == "" {
		return l.base
	}
	return l.base + " `" + l.path + "`"
}

func (l loc) child(name string) loc {
	if l.path == "" {
		return loc{l.base + " property", name}
	}
	return loc{l.base, l.path + "." + name}
}

func (l loc) branch(key, label string) loc {
	p := key + "[" + label + "]"
	if l.path != "" {
		p = l.path + "/" + p
	}
	return loc{l.base, p}
}

func (l loc) items() loc {
	if l.path == "" {
		return loc{l.base + " items", ""}
	}
	return loc{l.base, l.path + "[]"}
}

func (sc *schemaCmp) compare(old, new *schema, where loc, depth int) {
	if old == nil || new == nil || depth > maxDepth {
		return
	}
	key := [2]uintptr{old.id(), new.id()}
	if key[0] != 0 && key[1] != 0 {
		if sc.visited[key] {
			return
		}
		sc.visited[key] = true
	}
	sc.compareTypes(old, new, where)
	sc.compareEnum(old, new, where)
	if sc.dir == request {
		sc.compareBounds(old, new, where)
	}
	sc.compareProperties(old, new, where, depth)
	if oi, ni := old.get("items"), new.get("items"); oi != nil && ni != nil {
		sc.compare(oi, ni, where.items(), depth+1)
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		ob, nb := old.branches(key), new.branches(key)
		for i, o := range ob {
			for j, n := range nb {
				// Branches pair by the schema they $ref, else by position.
				if o.name != "" && o.name == n.name || o.name == "" && n.name == "" && i == j {
					label := n.name
					if label == "" {
						label = strconv.Itoa(j)
					}
					sc.compare(o.s, n.s, where.branch(key, label), depth+1)
					break
				}
			}
		}
	}
}

type branch struct {
	name string // the last segment of its $ref, "" when inline
	s    *schema
}

// branches are the members of a oneOf or anyOf.
func (s *schema) branches(key string) []branch {
	var out []branch
	if s == nil {
		return nil
	}
	if s.n != nil {
		list := s.n.Get(key).Deref()
		if list == nil || list.Kind != spec.Array {
			return nil
		}
		for _, e := range list.Elems {
			ref, _ := e.RefString()
			if d := e.Deref(); d != nil {
				out = append(out, branch{ref[strings.LastIndex(ref, "/")+1:], &schema{n: d, side: s.side}})
			}
		}
		return out
	}
	m, _ := s.v.(map[string]any)
	list, _ := m[key].([]any)
	for _, e := range list {
		ref := ""
		if em, ok := e.(map[string]any); ok {
			ref, _ = em["$ref"].(string)
		}
		if w := s.wrap(e); w != nil {
			out = append(out, branch{ref[strings.LastIndex(ref, "/")+1:], w})
		}
	}
	return out
}

func (sc *schemaCmp) compareTypes(old, new *schema, where loc) {
	ot, nt := old.types(), new.types()
	if len(nt) > 0 {
		var lost []string
		if sc.dir == request {
			// Clients may send any type OLD allowed.
			if len(ot) == 0 {
				lost = []string{"any type"}
			}
			for _, t := range ot {
				if !allows(nt, t) {
					lost = append(lost, t)
				}
			}
		} else {
			// Clients read only the types OLD promised.
			for _, t := range nt {
				if len(ot) > 0 && !allows(ot, t) {
					lost = append(lost, t)
				}
			}
		}
		if len(lost) > 0 {
			sc.c.add(KindTypeChanged, sc.op, new.get("type").pos(), "%s: type changed from %s to %s", where, typeText(ot), typeText(nt))
		}
	}
	of, _ := old.get("format").str()
	nf, _ := new.get("format").str()
	if nf != "" && of != nf && (of != "" || sc.dir == request) {
		from := "no format"
		if of != "" {
			from = "format " + of
		}
		sc.c.add(KindFormatChanged, sc.op, new.get("format").pos(), "%s: %s changed to format %s", where, from, nf)
	}
}

func typeText(ts []string) string {
	if len(ts) == 0 {
		return "any type"
	}
	return strings.Join(ts, " or ")
}

func enumValues(s *schema) ([]string, *schema) {
	e := s.get("enum")
	if e == nil {
		if c := s.get("const"); c != nil {
			return []string{c.canon()}, c
		}
		return nil, nil
	}
	var out []string
	for _, v := range e.elems() {
		out = append(out, v.canon())
	}
	return out, e
}

func (sc *schemaCmp) compareEnum(old, new *schema, where loc) {
	ov, _ := enumValues(old)
	nv, nn := enumValues(new)
	if nn == nil {
		return
	}
	if sc.dir == request {
		if ov == nil {
			sc.c.add(KindEnumNarrowed, sc.op, nn.pos(), "%s: now accepts only %s", where, strings.Join(nv, ", "))
			return
		}
		var gone []string
		for _, v := range ov {
			if !slices.Contains(nv, v) {
				gone = append(gone, v)
			}
		}
		if len(gone) > 0 {
			sc.c.add(KindEnumNarrowed, sc.op, nn.pos(), "%s: enum value %s removed", where, strings.Join(gone, ", "))
		}
		return
	}
	if ov == nil {
		return
	}
	var added []string
	for _, v := range nv {
		if !slices.Contains(ov, v) {
			added = append(added, v)
		}
	}
	if len(added) > 0 {
		sc.c.add(KindResponseEnumAdded, sc.op, nn.pos(), "%s: enum value %s added", where, strings.Join(added, ", "))
	}
}

// bounds are the keywords whose tightening refuses requests that passed:
// an upper bound lowered or a lower bound raised (or either added).
var bounds = []struct {
	key   string
	upper bool
}{
	{"maxLength", true}, {"minLength", false}, {"maximum", true}, {"minimum", false},
	{"exclusiveMaximum", true}, {"exclusiveMinimum", false}, {"maxItems", true}, {"minItems", false},
	{"maxProperties", true}, {"minProperties", false},
}

func (sc *schemaCmp) compareBounds(old, new *schema, where loc) {
	for _, b := range bounds {
		nb := new.get(b.key)
		nv, ok := nb.num()
		if !ok {
			continue // 3.0's boolean exclusive bounds go with maximum and minimum
		}
		ov, had := old.get(b.key).num()
		switch {
		case !had:
			sc.c.add(KindConstraintNarrowed, sc.op, nb.pos(), "%s: %s %s added", where, b.key, fmtNum(nv))
		case b.upper && nv < ov, !b.upper && nv > ov:
			verb := "raised"
			if b.upper {
				verb = "lowered"
			}
			sc.c.add(KindConstraintNarrowed, sc.op, nb.pos(), "%s: %s %s from %s to %s", where, b.key, verb, fmtNum(ov), fmtNum(nv))
		}
	}
	np, _ := new.get("pattern").str()
	op, _ := old.get("pattern").str()
	if np != "" && np != op {
		sc.c.add(KindConstraintNarrowed, sc.op, new.get("pattern").pos(), "%s: pattern changed to %q", where, np)
	}
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (sc *schemaCmp) compareProperties(old, new *schema, where loc, depth int) {
	op, np := old.properties(), new.properties()
	if len(op) == 0 && len(np) == 0 {
		return
	}
	oldByName := map[string]member{}
	for _, m := range op {
		oldByName[m.name] = m
	}
	newByName := map[string]member{}
	for _, m := range np {
		newByName[m.name] = m
	}
	if sc.dir == request {
		oreq, nreq := old.required(), new.required()
		for _, m := range np {
			if !nreq[m.name] || oreq[m.name] {
				continue
			}
			if _, existed := oldByName[m.name]; existed {
				sc.c.add(KindPropertyMadeRequired, sc.op, m.pos, "%s is now required", where.child(m.name))
			} else {
				sc.c.add(KindPropertyAddedRequired, sc.op, m.pos, "%s is new and required", where.child(m.name))
			}
		}
	} else {
		oreq, nreq := old.required(), new.required()
		for _, m := range np {
			if _, ok := oldByName[m.name]; ok && oreq[m.name] && !nreq[m.name] {
				sc.c.add(KindResponsePropertyOptional, sc.op, m.pos, "%s is no longer required: answers may leave it out", where.child(m.name))
			}
		}
		for _, m := range op {
			if _, ok := newByName[m.name]; !ok {
				at := new.get("properties").pos()
				if !at.IsValid() {
					at = new.pos()
				}
				sc.c.add(KindResponsePropertyRemoved, sc.op, at, "%s removed (it was at %s)", where.child(m.name), m.pos)
			}
		}
	}
	for _, m := range np {
		if o, ok := oldByName[m.name]; ok {
			sc.compare(o.s, m.s, where.child(m.name), depth+1)
		}
	}
}
