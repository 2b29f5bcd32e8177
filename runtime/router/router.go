package router

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// Result says how a lookup ended.
type Result uint8

const (
	// NotFound: no route's template matches the path (404).
	NotFound Result = iota
	// Found: a route matches the path and the method.
	Found
	// MethodNotAllowed: templates match the path, none for the method (405;
	// Allow lists the methods that would have matched).
	MethodNotAllowed
)

func (r Result) String() string {
	switch r {
	case Found:
		return "found"
	case MethodNotAllowed:
		return "method not allowed"
	}
	return "not found"
}

// MaxParams is the most path parameters one route may have.
const MaxParams = 16

// The standard methods have fixed bits; extension methods (QUERY aside) get
// the bits after them in the order they first appear.
var standardMethods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"}

const (
	bitGET  = 1 << 0
	bitHEAD = 1 << 1
	nStd    = len(standardMethods)
)

// Router is an immutable routing table, safe for concurrent use.
type Router struct {
	root    node
	methods []string // by bit: standardMethods, then extension methods
	allow   []string // Allow header values for masks of the standard bits
	skipped []Skipped
}

// Skipped is a route New left out of the table, and why.
type Skipped struct {
	Route  bundle.Route
	Reason string
}

type node struct {
	label   string  // static segment, canonical
	statics []*node // sorted by label
	tmpls   []*node // segments mixing literals and parameters, most specific first
	param   *node   // a whole-segment parameter
	parts   []part  // a templated segment's parts
	shape   string  // a templated segment with its parameters unnamed: "{}.json"
	nparams int     // parameters this node's segment captures
	leaves  []leaf
	mask    uint32 // methods routed at this node
	sub     uint32 // methods routed at this node or below
}

type part struct {
	lit   string // literal text, canonical; "" for a parameter
	param bool
}

type leaf struct {
	bit   uint32
	op    int
	route int
	names []string
}

// New builds the routing table. It fails on a template it cannot parse (no
// leading "/", unbalanced braces, an empty or unnamed parameter, two
// parameters with nothing between them, "." or ".." segments, "//"), on more
// than MaxParams parameters, and on two routes with one method and the same
// template up to parameter names. Routes whose template carries a query
// string ("/v1/responses?beta=true": a request path never contains "?") are
// left out and listed by Skipped.
func New(routes []bundle.Route) (*Router, error) {
	r := &Router{methods: standardMethods[:]}
	for i, rt := range routes {
		if strings.ContainsAny(rt.Path, "?#") {
			r.skipped = append(r.skipped, Skipped{Route: rt, Reason: "the template has a query string or fragment; request paths never do"})
			continue
		}
		bit, err := r.methodBitAdd(rt.Method)
		if err != nil {
			return nil, fmt.Errorf("routes[%d] %s %q: %w", i, rt.Method, rt.Path, err)
		}
		if err := r.add(rt, i, bit); err != nil {
			return nil, fmt.Errorf("routes[%d] %s %q: %w", i, rt.Method, rt.Path, err)
		}
	}
	r.root.finish()
	r.allow = make([]string, 1<<nStd)
	for m := range r.allow {
		r.allow[m] = r.allowString(uint32(m))
	}
	return r, nil
}

// Skipped lists the routes New left out.
func (r *Router) Skipped() []Skipped { return r.skipped }

func (r *Router) methodBitAdd(m string) (uint32, error) {
	if m == "" {
		return 0, fmt.Errorf("method is empty")
	}
	for i, s := range r.methods {
		if s == m {
			return 1 << i, nil
		}
	}
	if len(r.methods) == 32 {
		return 0, fmt.Errorf("more than 32 distinct methods")
	}
	if len(r.methods) == nStd {
		r.methods = append([]string(nil), standardMethods[:]...)
	}
	r.methods = append(r.methods, m)
	return 1 << (len(r.methods) - 1), nil
}

// methodBit returns m's bit, 0 when no route uses m. Methods are case
// sensitive (RFC 9110 §9.1).
func (r *Router) methodBit(m string) uint32 {
	switch m {
	case "GET":
		return bitGET
	case "HEAD":
		return bitHEAD
	case "POST":
		return 1 << 2
	case "PUT":
		return 1 << 3
	case "PATCH":
		return 1 << 4
	case "DELETE":
		return 1 << 5
	case "OPTIONS":
		return 1 << 6
	case "TRACE":
		return 1 << 7
	case "QUERY":
		return 1 << 8
	}
	for i := nStd; i < len(r.methods); i++ {
		if r.methods[i] == m {
			return 1 << i
		}
	}
	return 0
}

func (r *Router) add(rt bundle.Route, index int, bit uint32) error {
	if !strings.HasPrefix(rt.Path, "/") {
		return fmt.Errorf("template does not start with \"/\"")
	}
	n := &r.root
	var names []string
	for seg := range strings.SplitSeq(rt.Path[1:], "/") {
		parts, err := parseSegment(seg)
		if err != nil {
			return err
		}
		n, err = n.child(parts)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if p.param {
				names = append(names, p.lit)
			}
		}
	}
	if len(names) > MaxParams {
		return fmt.Errorf("%d path parameters, more than %d", len(names), MaxParams)
	}
	for i, a := range names {
		for _, b := range names[:i] {
			if a == b {
				return fmt.Errorf("parameter {%s} appears twice", a)
			}
		}
	}
	for _, l := range n.leaves {
		if l.bit == bit {
			return fmt.Errorf("same method and template (up to parameter names) as routes[%d]", l.route)
		}
	}
	n.leaves = append(n.leaves, leaf{bit: bit, op: rt.Operation, route: index, names: names})
	n.mask |= bit
	return nil
}

// parseSegment splits one template segment into literal and parameter
// parts; a parameter part holds its name in lit.
func parseSegment(seg string) ([]part, error) {
	var parts []part
	for seg != "" {
		open := strings.IndexByte(seg, '{')
		if close := strings.IndexByte(seg, '}'); close >= 0 && (open < 0 || close < open) {
			return nil, fmt.Errorf("unbalanced \"}\"")
		}
		if open < 0 {
			open = len(seg)
		}
		if open > 0 {
			lit, err := canonicalPart(seg[:open])
			if err != nil {
				return nil, err
			}
			parts = append(parts, part{lit: lit})
			seg = seg[open:]
			continue
		}
		end := strings.IndexByte(seg, '}')
		if end < 0 {
			return nil, fmt.Errorf("unbalanced \"{\"")
		}
		name := seg[1:end]
		if name == "" || strings.ContainsRune(name, '{') {
			return nil, fmt.Errorf("parameter %q has no valid name", seg[:end+1])
		}
		if len(parts) > 0 && parts[len(parts)-1].param {
			return nil, fmt.Errorf("parameters {%s} and {%s} have nothing between them", parts[len(parts)-1].lit, name)
		}
		parts = append(parts, part{lit: name, param: true})
		seg = seg[end+1:]
	}
	if len(parts) == 1 && !parts[0].param {
		if l := parts[0].lit; l == "." || l == ".." {
			return nil, ErrDotSegment
		}
	}
	return parts, nil
}

// child returns (adding it if needed) the node for the segment parts.
func (n *node) child(parts []part) (*node, error) {
	switch {
	case len(parts) == 0: // "" : a trailing slash, or "/" itself
		return n.static(""), nil
	case len(parts) == 1 && !parts[0].param:
		return n.static(parts[0].lit), nil
	case len(parts) == 1:
		if n.param == nil {
			n.param = &node{nparams: 1}
		}
		return n.param, nil
	}
	var shape strings.Builder
	np := 0
	for _, p := range parts {
		if p.param {
			shape.WriteString("{}")
			np++
		} else {
			shape.WriteString(strings.ReplaceAll(p.lit, "{", "%7B"))
		}
	}
	for _, c := range n.tmpls {
		if c.shape == shape.String() {
			return c, nil
		}
	}
	c := &node{shape: shape.String(), parts: parts, nparams: np}
	n.tmpls = append(n.tmpls, c)
	return c, nil
}

func (n *node) static(label string) *node {
	for _, c := range n.statics {
		if c.label == label {
			return c
		}
	}
	c := &node{label: label}
	n.statics = append(n.statics, c)
	return c
}

// finish sorts children and computes the subtree masks.
func (n *node) finish() uint32 {
	sort.Slice(n.statics, func(i, j int) bool { return n.statics[i].label < n.statics[j].label })
	sort.SliceStable(n.tmpls, func(i, j int) bool {
		a, b := n.tmpls[i], n.tmpls[j]
		if la, lb := litLen(a.parts), litLen(b.parts); la != lb {
			return la > lb // more literal text: more specific
		}
		if a.nparams != b.nparams {
			return a.nparams < b.nparams
		}
		return a.shape < b.shape
	})
	n.sub = n.mask
	for _, c := range n.statics {
		n.sub |= c.finish()
	}
	for _, c := range n.tmpls {
		n.sub |= c.finish()
	}
	if n.param != nil {
		n.sub |= n.param.finish()
	}
	return n.sub
}

func litLen(parts []part) int {
	l := 0
	for _, p := range parts {
		if !p.param {
			l += len(p.lit)
		}
	}
	return l
}

// Lookup finds the route for method and path, which should be Normalize's
// output. On Found it returns the route's operation index and fills ps;
// otherwise it returns -1 and ps is empty. HEAD falls back to GET when no
// HEAD route matches. Lookup does not allocate.
func (r *Router) Lookup(method, path string, ps *Params) (int, Result) {
	ps.reset()
	if path == "" || path[0] != '/' {
		return -1, NotFound
	}
	if bit := r.methodBit(method); bit != 0 {
		if l := r.root.find(path, 1, 0, bit, ps); l != nil {
			ps.set(l.names)
			return l.op, Found
		}
		if bit == bitHEAD {
			if l := r.root.find(path, 1, 0, bitGET, ps); l != nil {
				ps.set(l.names)
				return l.op, Found
			}
		}
	}
	found := r.root.find(path, 1, 0, ^uint32(0), ps) != nil
	ps.reset()
	if found {
		return -1, MethodNotAllowed
	}
	return -1, NotFound
}

// find walks the segment of path that starts at i, below n, trying static,
// then templated, then parameter children and backtracking when a branch
// fails deeper. k counts the parameters captured so far.
func (n *node) find(path string, i, k int, want uint32, ps *Params) *leaf {
	seg, last, next := path[i:], true, 0
	if j := strings.IndexByte(seg, '/'); j >= 0 {
		seg, last, next = seg[:j], false, i+j+1
	}
	if c := n.staticChild(seg); c != nil && c.sub&want != 0 {
		if l := c.descend(path, next, last, k, want, ps); l != nil {
			return l
		}
	}
	for _, c := range n.tmpls {
		if c.sub&want != 0 && matchParts(c.parts, seg, ps.values[k:k+c.nparams]) {
			if l := c.descend(path, next, last, k+c.nparams, want, ps); l != nil {
				return l
			}
		}
	}
	if c := n.param; c != nil && seg != "" && c.sub&want != 0 {
		ps.values[k] = seg
		if l := c.descend(path, next, last, k+1, want, ps); l != nil {
			return l
		}
	}
	return nil
}

func (n *node) descend(path string, next int, last bool, k int, want uint32, ps *Params) *leaf {
	if !last {
		return n.find(path, next, k, want, ps)
	}
	if n.mask&want == 0 {
		return nil
	}
	for i := range n.leaves {
		if n.leaves[i].bit&want != 0 {
			return &n.leaves[i]
		}
	}
	return nil
}

func (n *node) staticChild(seg string) *node {
	s := n.statics
	if len(s) <= 8 {
		for _, c := range s {
			if c.label == seg {
				return c
			}
		}
		return nil
	}
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m].label < seg {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s) && s[lo].label == seg {
		return s[lo]
	}
	return nil
}

// matchParts matches one path segment against a templated segment's parts,
// which alternate literals and parameters. Each parameter takes as much as
// it can, as the regular expressions of gorilla/mux (kin-openapi) and Spring
// do: "{name}.{ext}" splits "a.tar.gz" at the last ".". That is found
// without backtracking, from the right: each literal between two parameters
// is placed at its last occurrence that leaves the parameter after it
// non-empty (a later placement never makes the rest fail where an earlier
// one would succeed), so matching is linear in the segment's length. A
// parameter never matches "".
func matchParts(parts []part, s string, vals []string) bool {
	if len(parts) == 0 {
		return s == ""
	}
	if p := parts[len(parts)-1]; !p.param {
		if !strings.HasSuffix(s, p.lit) {
			return false
		}
		s, parts = s[:len(s)-len(p.lit)], parts[:len(parts)-1]
	}
	if len(parts) > 0 && !parts[0].param {
		if !strings.HasPrefix(s, parts[0].lit) {
			return false
		}
		s, parts = s[len(parts[0].lit):], parts[1:]
	}
	if len(parts) == 0 {
		return s == ""
	}
	// parts is now {p} (lit {p})*.
	end, v := len(s), len(parts)/2
	if v >= len(vals) {
		return false
	}
	for j := len(parts) - 1; j >= 2; j -= 2 {
		lit := parts[j-1].lit
		if end < 1 {
			return false
		}
		e := strings.LastIndex(s[:end-1], lit)
		if e < 1 {
			return false
		}
		vals[v] = s[e+len(lit) : end]
		v--
		end = e
	}
	if end < 1 {
		return false
	}
	vals[0] = s[:end]
	return true
}

// Allow returns the Allow header value for path: every method some route
// matching path is routed for, HEAD included wherever GET is, in a fixed
// order; "" when no route matches. It does not allocate unless routes use
// extension methods other than QUERY.
func (r *Router) Allow(path string) string {
	if path == "" || path[0] != '/' {
		return ""
	}
	var ps Params
	m := r.root.methodsFor(path, 1, 0, &ps)
	if m < 1<<nStd {
		return r.allow[m]
	}
	return r.allowString(m)
}

// methodsFor ORs the masks of every route matching path (no early exit).
func (n *node) methodsFor(path string, i, k int, ps *Params) uint32 {
	seg, last, next := path[i:], true, 0
	if j := strings.IndexByte(seg, '/'); j >= 0 {
		seg, last, next = seg[:j], false, i+j+1
	}
	var m uint32
	at := func(c *node, k int) {
		if last {
			m |= c.mask
		} else {
			m |= c.methodsFor(path, next, k, ps)
		}
	}
	if c := n.staticChild(seg); c != nil {
		at(c, k)
	}
	for _, c := range n.tmpls {
		if matchParts(c.parts, seg, ps.values[k:k+c.nparams]) {
			at(c, k+c.nparams)
		}
	}
	if n.param != nil && seg != "" {
		at(n.param, k+1)
	}
	return m
}

func (r *Router) allowString(m uint32) string {
	if m&bitGET != 0 {
		m |= bitHEAD
	}
	var b strings.Builder
	for i, name := range r.methods {
		if m&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(name)
		}
	}
	return b.String()
}
