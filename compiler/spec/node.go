// Package spec is gwc's view of an OpenAPI document as it was written: a tree
// of JSON values in which every node knows the file, line and column it came
// from, with the `$ref`s between nodes and files resolved.
//
// It is deliberately untyped. The compiler and the linter read OpenAPI's
// structure from it, so that every finding, wherever it is, can name the place
// in the source where the user must look, including nodes in `$ref`'d files.
package spec

import (
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
)

// Kind is the JSON type of a node.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"null", "boolean", "number", "string", "array", "object"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Node is one JSON value of a spec file.
type Node struct {
	Kind Kind
	// Shared is set on a node reached from more than one parent: the node a
	// YAML alias refers to (where its anchor is and through every alias),
	// and the keys and values a merge key (<<) copies into a mapping. Only
	// such nodes can be reached twice in a walk over Elems and Pairs (the
	// tree is a tree otherwise), so a walk needs to remember only these.
	Shared bool
	// Value is the scalar's text: the string itself, "true"/"false", or a
	// number in JSON syntax. It is empty for null, arrays and objects.
	Value string
	Elems []*Node // elements of an Array
	Pairs []Pair  // members of an Object, in source order
	File  *File
	Line  int32 // 1-based
	Col   int32 // 1-based, in characters
	// EndLine and EndCol are just past the node's last character (the
	// column after it, as SARIF's endColumn): a scalar's token (quotes and
	// block scalar lines included), a collection's last descendant, or its
	// closing bracket when it is written in flow style. They are zero for a
	// node the parser did not make (built by hand).
	EndLine int32
	EndCol  int32
	// Ref is set by the loader on a JSON Reference object ({"$ref": "..."})
	// to the node the reference points to. It is nil when the reference could
	// not be resolved (the loader reported why).
	Ref *Node
}

// Pair is an object member.
type Pair struct {
	Key   *Node // a String node, positioned at the key
	Value *Node
}

// Pos returns n's position.
func (n *Node) Pos() diag.Pos {
	if n == nil {
		return diag.Pos{}
	}
	p := diag.Pos{Line: int(n.Line), Col: int(n.Col)}
	if n.File != nil {
		p.File = n.File.Path
	}
	return p
}

// End returns the position just past n's last character, in n's file; the
// zero Pos when n has none.
func (n *Node) End() diag.Pos {
	if n == nil || n.EndLine == 0 {
		return diag.Pos{}
	}
	p := diag.Pos{Line: int(n.EndLine), Col: int(n.EndCol)}
	if n.File != nil {
		p.File = n.File.Path
	}
	return p
}

// Get returns the value of member key of an object, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	for i := range n.Pairs {
		if n.Pairs[i].Key.Value == key {
			return n.Pairs[i].Value
		}
	}
	return nil
}

// Key returns the key node of member key of an object, or nil.
func (n *Node) Key(key string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	for i := range n.Pairs {
		if n.Pairs[i].Key.Value == key {
			return n.Pairs[i].Key
		}
	}
	return nil
}

// Has reports whether an object has member key.
func (n *Node) Has(key string) bool { return n.Key(key) != nil }

// Str returns the value of a String node; ok is false for any other node.
func (n *Node) Str() (s string, ok bool) {
	if n == nil || n.Kind != String {
		return "", false
	}
	return n.Value, true
}

// GetString returns the string value of member key, or "".
func (n *Node) GetString(key string) string {
	s, _ := n.Get(key).Str()
	return s
}

// True reports whether n is the boolean true.
func (n *Node) True() bool { return n != nil && n.Kind == Bool && n.Value == "true" }

// Len returns the number of elements or members of n.
func (n *Node) Len() int {
	if n == nil {
		return 0
	}
	switch n.Kind {
	case Array:
		return len(n.Elems)
	case Object:
		return len(n.Pairs)
	}
	return 0
}

// RefString returns the `$ref` of a JSON Reference object.
func (n *Node) RefString() (string, bool) {
	if n == nil || n.Kind != Object {
		return "", false
	}
	return n.Get("$ref").Str()
}

// IsRef reports whether n is a JSON Reference object: an object with a
// string `$ref` member.
func (n *Node) IsRef() bool {
	_, ok := n.RefString()
	return ok
}

// Deref follows resolved references from n to the node they end at. It
// returns n itself when n is not a reference, and a reference that could not
// be resolved (the loader reported it).
func (n *Node) Deref() *Node {
	// The loader rejects reference cycles, so this ends; the bound is a guard
	// for trees built by hand.
	for i := 0; n != nil && n.Ref != nil && i < 1000; i++ {
		n = n.Ref
	}
	return n
}

// Number returns a Number node's value as a float64.
func (n *Node) Number() (float64, bool) {
	if n == nil || n.Kind != Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	return f, err == nil
}

// Int returns a Number node's value as an int64 when it is integral.
func (n *Node) Int() (int64, bool) {
	if n == nil || n.Kind != Number {
		return 0, false
	}
	if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// Describe is a short human description of n's value for messages:
// `"text"`, `42`, `an object`.
func (n *Node) Describe() string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == String && n.File != nil && n.File.Root == n:
		// A file that is one string is likely not YAML at all (a text
		// file, a key, /etc/passwd): what it holds is not repeated.
		return "a string (the whole file, which is not shown)"
	case n.Kind == String:
		s := n.Value
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[:i] + "..."
		}
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		return strconv.Quote(s)
	case n.Kind == Array:
		return "an array"
	case n.Kind == Object:
		return "an object"
	case n.Kind == Null:
		return "null"
	}
	return n.Value
}

// File is one parsed spec file.
type File struct {
	// Path is the file's path as gwc names it in messages: the entry file as
	// the user gave it, other files joined to it by their relative `$ref`s.
	Path string
	// Name is Path relative to the entry file's directory, with forward
	// slashes: the same on every machine, so it can go into bundles.
	Name string
	// Root is nil when the file did not parse, or passed a limit
	// (OverLimit).
	Root *Node
	Data []byte
	// OverLimit is set when the file was refused for passing one of the
	// loader's limits (size, YAML alias expansion): nothing of it is read.
	OverLimit bool
}

// EscapePointerToken escapes one JSON pointer reference token (RFC 6901).
func EscapePointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// UnescapePointerToken undoes EscapePointerToken.
func UnescapePointerToken(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// Visited is what a walk over Elems and Pairs must remember to reach each
// node once: only the Shared nodes, the ones that can be reached twice.
type Visited map[*Node]bool

// First reports whether the walk reaches n for the first time, remembering
// n when it is Shared.
func (v Visited) First(n *Node) bool {
	if !n.Shared {
		return true
	}
	if v[n] {
		return false
	}
	v[n] = true
	return true
}

// Pointer joins reference tokens into a JSON pointer.
func Pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(EscapePointerToken(t))
	}
	return b.String()
}

// At returns the node at JSON pointer ptr below n, following resolved
// references on the way (so that a pointer can go through a `$ref`'d map, as
// Redocly-style trees need). It returns nil when there is no such node.
func (n *Node) At(ptr string) *Node {
	if ptr == "" {
		return n
	}
	if ptr[0] != '/' {
		return nil
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		n = n.Deref()
		if n == nil {
			return nil
		}
		tok = UnescapePointerToken(tok)
		switch n.Kind {
		case Object:
			n = n.Get(tok)
		case Array:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Elems) || (len(tok) > 1 && tok[0] == '0') {
				return nil
			}
			n = n.Elems[i]
		default:
			return nil
		}
	}
	return n
}
