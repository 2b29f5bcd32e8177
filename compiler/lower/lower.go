// Package lower turns the request schemas of an OpenAPI document into
// self-contained JSON Schema 2020-12, so that the runtime validates requests
// without knowing anything about OpenAPI.
//
// A Lowerer lowers one document. Each root it lowers (a parameter's or a
// request body's schema) is compact JSON in which every reference has the form
// {"$ref": "#/$defs/NAME"}; the definitions those references reach are
// collected once, by Defs, and a root with "$defs": Defs() beside it is a
// complete 2020-12 document.
//
// Every schema reached through a `$ref` becomes a definition and is never
// inlined, so recursive schemas stay finite. One target node gets one
// definition name, whatever path reaches it.
//
// What the lowering does to OpenAPI's own keywords, and why, is written where
// it is done: see object for the keyword rules, readOnlyProperty for readOnly,
// and discriminator.go for discriminators.
package lower

import (
	"encoding/json"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// Diagnostic codes of the lowering.
const (
	// CodeSchema marks a schema that is not valid in its dialect, or a keyword
	// gwc had to change or drop to express it in JSON Schema 2020-12.
	CodeSchema = "gwc-schema"
	// CodeDiscriminator marks a discriminator gwc cannot follow as written.
	CodeDiscriminator = "gwc-discriminator"
)

// Dialect2020 is the JSON Schema dialect of lowered schemas.
const Dialect2020 = "https://json-schema.org/draft/2020-12/schema"

// oasBaseDialect is OpenAPI 3.1's default dialect: 2020-12 plus OpenAPI's
// annotation vocabulary, which lowering removes.
const oasBaseDialect = "https://spec.openapis.org/oas/3.1/dialect/base"

// maxDepth bounds the nesting of inline schemas, so that a hostile document
// cannot exhaust the stack.
const maxDepth = 2000

// Lowerer lowers the schemas of one document; it remembers every definition
// the lowered roots reach.
type Lowerer struct {
	doc   *spec.Document
	is31  bool
	entry *spec.File

	// components maps each entry-file component schema (dereferenced) to its
	// name, so that definitions of components keep the names users know.
	components map[*spec.Node]string
	// reserved holds the component names, which no other node may take.
	reserved map[string]*spec.Node

	names   map[defKey]string
	taken   map[string]bool
	defs    map[string]json.RawMessage
	queue   []defKey
	pointer map[*spec.Node]string // JSON pointers of nodes in indexed files
	indexed map[*spec.File]bool
	// children caches, per discriminator parent, the component schemas that
	// extend it with allOf (the implicit mapping of the inheritance form).
	children map[*spec.Node][]namedSchema

	dialectChecked bool
	// hidden is the keyword whose properties the lowered direction neither
	// requires nor accepts: readOnly for requests (New), writeOnly for
	// responses (NewForResponses).
	hidden string
}

// defKey names one definition: a target node, and whether it is the base
// variant of a discriminator parent (the parent without its dispatch, which
// children's allOf refer to so that dispatching never loops).
type defKey struct {
	n    *spec.Node
	base bool
}

type namedSchema struct {
	name string
	n    *spec.Node
}

// New returns a Lowerer for doc's request schemas.
func New(doc *spec.Document) *Lowerer { return newLowerer(doc, "readOnly") }

// NewForResponses returns a Lowerer for doc's response schemas, in which
// writeOnly properties play the part readOnly ones play in requests: not
// required, and refused with a value. Lint checks response examples with it.
func NewForResponses(doc *spec.Document) *Lowerer { return newLowerer(doc, "writeOnly") }

func newLowerer(doc *spec.Document, hidden string) *Lowerer {
	l := &Lowerer{
		hidden:     hidden,
		doc:        doc,
		components: map[*spec.Node]string{},
		reserved:   map[string]*spec.Node{},
		names:      map[defKey]string{},
		taken:      map[string]bool{},
		defs:       map[string]json.RawMessage{},
		pointer:    map[*spec.Node]string{},
		indexed:    map[*spec.File]bool{},
		children:   map[*spec.Node][]namedSchema{},
	}
	if doc == nil {
		return l
	}
	l.is31 = doc.Is31()
	if len(doc.Files) > 0 {
		l.entry = doc.Files[0]
	}
	root := doc.Root
	if root == nil && l.entry != nil {
		root = l.entry.Root
	}
	schemas := root.Deref().Get("components").Deref().Get("schemas").Deref()
	if schemas != nil && schemas.Kind == spec.Object {
		// Components that are schemas name themselves first; an alias (a
		// component that is only a $ref) names its target when nothing does.
		for _, alias := range []bool{false, true} {
			for _, p := range schemas.Pairs {
				name := p.Key.Value
				if sanitize(name) != name || p.Value.IsRef() != alias {
					continue // such a name gets a sanitized, uniquified one later
				}
				t := p.Value.Deref()
				if t == nil {
					continue
				}
				if _, ok := l.components[t]; !ok {
					l.components[t] = name
					l.reserved[name] = t
				}
			}
		}
	}
	return l
}

// Schema lowers the schema at n (a Schema Object or a $ref to one) to a JSON
// Schema 2020-12 root (compact JSON). Every reference in it, and in the
// definitions it reaches, has the form {"$ref": "#/$defs/NAME"}, NAME being a
// key of Defs(). Diagnostics are positioned at the offending node; those of a
// definition are reported by the first call that reaches it.
func (l *Lowerer) Schema(n *spec.Node) (json.RawMessage, diag.Diagnostics) {
	var ds diag.Diagnostics
	l.checkDialect(&ds)
	c := &lowering{l: l, ds: &ds, root: n.Deref()}
	out := c.schema(nil, n, 0, opts{})
	for len(l.queue) > 0 {
		k := l.queue[0]
		l.queue = l.queue[1:]
		dc := &lowering{l: l, ds: &ds, def: l.names[k]}
		l.defs[dc.def] = dc.schema(nil, k.n, 0, opts{base: k.base})
	}
	return out, ds
}

// Defs returns every definition reached by the roots lowered so far, lowered
// the same way. The map is the caller's.
func (l *Lowerer) Defs() map[string]json.RawMessage {
	return maps.Clone(l.defs)
}

// Document returns root as a self-contained JSON Schema 2020-12 document: root
// with "$schema" and the definitions lowered so far as "$defs". A boolean
// root becomes its object equivalent.
func (l *Lowerer) Document(root json.RawMessage) json.RawMessage {
	return Assemble(root, l.defs)
}

// Assemble joins a lowered root and definitions into one 2020-12 document,
// definitions in name order so that the output is deterministic.
func Assemble(root json.RawMessage, defs map[string]json.RawMessage) json.RawMessage {
	var body []byte
	switch s := strings.TrimSpace(string(root)); s {
	case "", "true":
		body = []byte("{}")
	case "false":
		body = []byte(`{"not":{}}`)
	default:
		body = []byte(s)
	}
	out := []byte(`{"$schema":`)
	out = spec.AppendQuote(out, Dialect2020)
	if len(defs) > 0 {
		out = append(out, `,"$defs":{`...)
		keys := make([]string, 0, len(defs))
		for k := range defs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				out = append(out, ',')
			}
			out = spec.AppendQuote(out, k)
			out = append(out, ':')
			out = append(out, defs[k]...)
		}
		out = append(out, '}')
	}
	if len(body) > 2 {
		out = append(out, ',')
		out = append(out, body[1:]...)
	} else {
		out = append(out, '}')
	}
	return out
}

func (l *Lowerer) checkDialect(ds *diag.Diagnostics) {
	if l.dialectChecked || l.doc == nil {
		return
	}
	l.dialectChecked = true
	if !l.is31 {
		return
	}
	d := l.doc.Root.Deref().Get("jsonSchemaDialect")
	if d == nil {
		return
	}
	if s, ok := d.Deref().Str(); ok && (s == Dialect2020 || s == oasBaseDialect) {
		return
	}
	s, _ := d.Deref().Str()
	ds.Warnf(d.Pos(), CodeSchema, "jsonSchemaDialect %q is not supported; gwc validates schemas as JSON Schema 2020-12", s)
}

// ref returns the name of the definition of target (dereferenced),
// creating the definition when it is new. base asks for the variant of a
// discriminator parent without its dispatch; it is ignored for other nodes.
func (l *Lowerer) ref(target *spec.Node, base bool) string {
	if base && !isInheritanceParent(target) {
		base = false
	}
	k := defKey{target, base}
	name, ok := l.names[k]
	if !ok {
		name = l.newName(target, base)
		l.names[k] = name
		l.taken[name] = true
		l.queue = append(l.queue, k)
	}
	return name
}

// newName derives a readable, unused definition name for target.
func (l *Lowerer) newName(target *spec.Node, base bool) string {
	name, own := l.components[target]
	if !own {
		name = l.derivedName(target)
	}
	if base {
		name += ".base"
		own = false
	}
	free := func(s string) bool {
		if l.taken[s] {
			return false
		}
		r, ok := l.reserved[s]
		return !ok || (own && r == target)
	}
	if free(name) {
		return name
	}
	for i := 2; ; i++ {
		if s := name + "_" + strconv.Itoa(i); free(s) {
			return s
		}
	}
}

// derivedName names a node that is not an entry-file component from its file
// and pointer: "droplet" for models/droplet.yml, "Error" for
// common.yaml#/components/schemas/Error, "Pet_properties_tags" for a pointer
// into a schema.
func (l *Lowerer) derivedName(n *spec.Node) string {
	f := n.File
	ptr := l.pointerOf(n)
	toks := []string{}
	if ptr != "" {
		for _, t := range strings.Split(ptr[1:], "/") {
			toks = append(toks, spec.UnescapePointerToken(t))
		}
	}
	switch {
	case len(toks) >= 2 && toks[0] == "components" && toks[1] == "schemas":
		toks = toks[2:]
	case len(toks) >= 1 && (toks[0] == "$defs" || toks[0] == "definitions"):
		toks = toks[1:]
	}
	var name string
	if len(toks) > 0 {
		name = sanitize(strings.Join(toks, "_"))
	}
	if name == "" && f != nil && f != l.entry {
		base := path.Base(f.Name)
		name = sanitize(strings.TrimSuffix(base, path.Ext(base)))
	}
	if name == "" {
		name = "schema"
	}
	return name
}

// pointerOf returns n's JSON pointer in its file, indexing the file the first
// time one of its nodes is asked for.
func (l *Lowerer) pointerOf(n *spec.Node) string {
	if n.File == nil {
		return ""
	}
	if !l.indexed[n.File] {
		l.indexed[n.File] = true
		l.index(n.File.Root, "", 0)
	}
	return l.pointer[n]
}

func (l *Lowerer) index(n *spec.Node, ptr string, depth int) {
	if n == nil || depth > 10000 {
		return
	}
	if _, ok := l.pointer[n]; ok {
		return // YAML aliases share nodes: keep the first path
	}
	l.pointer[n] = ptr
	switch n.Kind {
	case spec.Object:
		for _, p := range n.Pairs {
			l.index(p.Value, ptr+"/"+spec.EscapePointerToken(p.Key.Value), depth+1)
		}
	case spec.Array:
		for i, e := range n.Elems {
			l.index(e, ptr+"/"+strconv.Itoa(i), depth+1)
		}
	}
}

// sanitize keeps the characters that need no escaping in a JSON pointer or a
// URI fragment, so that "#/$defs/NAME" is always a plain reference.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Sources maps each definition's name to the node it was lowered from.
func (l *Lowerer) Sources() map[string]*spec.Node {
	out := make(map[string]*spec.Node, len(l.names))
	for k, name := range l.names {
		out[name] = k.n
	}
	return out
}

// PointerOf is n's JSON pointer in its own file ("" for its root, or when
// n is not in a loaded file).
func (l *Lowerer) PointerOf(n *spec.Node) string { return l.pointerOf(n) }

// PointersOf is PointerOf of each of nodes, found by one walk of each file
// that holds some, which makes a pointer only for them (where PointerOf
// indexes every node of a file, for the many lookups of lowering). A node
// reached twice (spec.Node.Shared) keeps its first path, as in PointerOf.
func (l *Lowerer) PointersOf(nodes []*spec.Node) map[*spec.Node]string {
	out := map[*spec.Node]string{}
	want := map[*spec.File]map[*spec.Node]bool{}
	for _, n := range nodes {
		if n == nil || n.File == nil {
			continue
		}
		if l.indexed[n.File] {
			out[n] = l.pointer[n]
			continue
		}
		if want[n.File] == nil {
			want[n.File] = map[*spec.Node]bool{}
		}
		want[n.File][n] = true
	}
	for f, w := range want {
		left := len(w)
		seen := spec.Visited{}
		var toks []string
		var walk func(n *spec.Node, depth int)
		walk = func(n *spec.Node, depth int) {
			if n == nil || depth > 10000 || left == 0 || !seen.First(n) {
				return
			}
			if w[n] {
				out[n] = spec.Pointer(toks...)
				left--
			}
			switch n.Kind {
			case spec.Object:
				for _, p := range n.Pairs {
					toks = append(toks, p.Key.Value)
					walk(p.Value, depth+1)
					toks = toks[:len(toks)-1]
				}
			case spec.Array:
				for i, e := range n.Elems {
					toks = append(toks, strconv.Itoa(i))
					walk(e, depth+1)
					toks = toks[:len(toks)-1]
				}
			}
		}
		walk(f.Root, 0)
	}
	return out
}
