package xgateway

import (
	"strings"

	"github.com/gwcdev/gwc/compiler/spec"
)

// nameMaps are the members whose keys are names chosen by the user (schema
// properties, header names, component names...), where "x-gateway" is a
// name and not an extension.
var nameMaps = map[string]bool{
	"properties": true, "patternProperties": true, "$defs": true, "definitions": true,
	"dependentSchemas": true, "headers": true, "content": true, "encoding": true,
	"examples": true, "links": true, "callbacks": true, "scopes": true, "variables": true,
	"mapping": true, "schemas": true, "parameters": true, "requestBodies": true,
	"securitySchemes": true, "pathItems": true, "webhooks": true,
}

// literalKeys hold example data, not spec structure.
var literalKeys = map[string]bool{"example": true, "default": true, "enum": true, "const": true, "value": true}

// warnUnread warns about every x-gateway that Check did not read: on info, a
// response, a schema, a callback's operations... The walk reads each file's
// tree as written and never follows a `$ref` (every file is walked anyway),
// so reference cycles cannot trap it. YAML aliases can make the tree a DAG
// far larger than the file; the walk stops after as many values as the
// files have bytes, which no tree without aliases reaches.
func (c *checker) warnUnread() {
	budget := 0
	for _, f := range c.doc.Files {
		budget += len(f.Data) + 16
	}
	warned := map[*spec.Node]bool{}
	for _, f := range c.doc.Files {
		c.walkUnread(f.Root, false, 0, &budget, warned)
	}
}

func (c *checker) walkUnread(n *spec.Node, names bool, depth int, budget *int, warned map[*spec.Node]bool) {
	if n == nil || *budget <= 0 || depth > maxDepthWalk {
		return
	}
	*budget--
	switch n.Kind {
	case spec.Array:
		for _, e := range n.Elems {
			c.walkUnread(e, false, depth+1, budget, warned)
		}
	case spec.Object:
		for _, p := range n.Pairs {
			k := p.Key.Value
			if !names {
				switch {
				case k == "x-gateway":
					if !c.read[p.Value] && !warned[p.Key] {
						warned[p.Key] = true
						c.ds.Warnf(p.Key.Pos(), Code, "x-gateway is not read here: gwc reads it at the root, on path items, on operations and on security schemes")
					}
					continue
				case strings.HasPrefix(k, "x-"), literalKeys[k]:
					continue // another extension's data, or example data
				}
			}
			c.walkUnread(p.Value, !names && nameMaps[k], depth+1, budget, warned)
		}
	}
}

// maxDepthWalk bounds the walk's recursion; the parser bounds nesting too.
const maxDepthWalk = 10_000
