package xgateway

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/compiler/spec"
)

// Bounds of one x-gateway's value. Real ones are a few levels deep and a few
// hundred values large; past these a `$ref` or YAML alias cycle is at work.
const (
	maxDepth  = 64
	maxValues = 200_000
)

var errTooLarge = errors.New("too large or too deeply nested")

// converter turns a spec.Node into the value the validator reads: nil, bool,
// json.Number, string, []any and map[string]any, following resolved
// `$ref`s. Unresolved references become nil and are recorded.
type converter struct {
	values     int
	unresolved []*spec.Node
}

func (c *converter) value(n *spec.Node, depth int) (any, error) {
	if c.values++; c.values > maxValues || depth > maxDepth {
		return nil, errTooLarge
	}
	if n.IsRef() && n.Ref == nil {
		c.unresolved = append(c.unresolved, n)
		return nil, nil
	}
	n = n.Deref()
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case spec.Bool:
		return n.Value == "true", nil
	case spec.Number:
		return json.Number(n.Value), nil
	case spec.String:
		return n.Value, nil
	case spec.Array:
		a := make([]any, len(n.Elems))
		for i, e := range n.Elems {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			a[i] = v
		}
		return a, nil
	case spec.Object:
		m := make(map[string]any, len(n.Pairs))
		for _, p := range n.Pairs {
			v, err := c.value(p.Value, depth+1)
			if err != nil {
				return nil, err
			}
			m[p.Key.Value] = v
		}
		return m, nil
	}
	return nil, nil
}

// place is a value inside an x-gateway: its node, its JSON pointer in its
// file, and the dotted name messages call it by.
type place struct {
	node  *spec.Node
	ptr   string
	label string
}

// follow resolves references from n, tracking the JSON pointer: a reference
// target's pointer is its `$ref`'s fragment.
func follow(n *spec.Node, ptr string) (*spec.Node, string) {
	for i := 0; n != nil && n.Ref != nil && i < maxDepth; i++ {
		if ref, ok := n.RefString(); ok {
			ptr = refPointer(ref)
		}
		n = n.Ref
	}
	return n, ptr
}

// refPointer returns the JSON pointer part of a `$ref`.
func refPointer(ref string) string {
	_, frag, _ := strings.Cut(ref, "#")
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	return frag
}

// locate finds the value at instance location tokens below base.
func locate(base place, tokens []string) place {
	p := base
	p.node, p.ptr = follow(p.node, p.ptr)
	for _, tok := range tokens {
		n := p.node
		var next *spec.Node
		switch {
		case n == nil:
		case n.Kind == spec.Object:
			next = n.Get(tok)
			p.label = joinLabel(p.label, tok)
		case n.Kind == spec.Array:
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(n.Elems) {
				next = n.Elems[i]
			}
			p.label += "[" + tok + "]"
		}
		p.ptr += "/" + spec.EscapePointerToken(tok)
		if next == nil {
			// Keep the deepest node found so that the diagnostic still
			// points near the problem.
			return p
		}
		p.node, p.ptr = follow(next, p.ptr)
	}
	return p
}

// keyPlace is the place of the key of member key of the object at p.
func keyPlace(p place, key string) place {
	k := p.node.Key(key)
	if k == nil {
		k = p.node
	}
	return place{node: k, ptr: p.ptr + "/" + spec.EscapePointerToken(key), label: joinLabel(p.label, key)}
}

// plainToken reports whether tok can be written bare in a dotted label.
// It is a loop, not a regexp, since every located value builds a label.
func plainToken(tok string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// joinLabel appends a member name to a dotted label, quoting names that
// would be ambiguous (an upstream named "api.v1").
func joinLabel(label, tok string) string {
	if !plainToken(tok) {
		return label + "[" + strconv.Quote(tok) + "]"
	}
	if label == "" {
		return tok
	}
	return label + "." + tok
}

// labelOr returns label, or "x-gateway" for the x-gateway itself.
func labelOr(label string) string {
	if label == "" {
		return "x-gateway"
	}
	return label
}
