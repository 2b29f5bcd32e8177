// Package xgateway reads gwc's `x-gateway` OpenAPI extension: it validates
// every x-gateway of a document against the published JSON Schema
// (docs/x-gateway.schema.json), reporting problems as positioned diagnostics
// written for people, and decodes valid ones into the typed values the
// compiler merges into each operation's policy.
//
// Check comes first; the Decode functions assume what Check accepts and
// skip, without failing, whatever they cannot read.
package xgateway

import (
	"errors"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// Code is the diagnostic code of every problem Check reports.
const Code = "gwc-x-gateway"

// methods are the operations of a path item, in OpenAPI's order.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Check validates every x-gateway of doc: the root's, those of path items and
// their operations (under paths and webhooks), and those of
// components.securitySchemes. An x-gateway anywhere else gets a warning,
// since gwc does not read it.
func Check(doc *spec.Document) diag.Diagnostics {
	if doc == nil || doc.Root == nil {
		return nil
	}
	c := &checker{schema: compiledSchema(), doc: doc, read: map[*spec.Node]bool{}, checked: map[*spec.Node]bool{}}
	if c.schema.err != nil {
		c.ds.Errorf(doc.Root.Pos(), Code, "cannot check x-gateway: %v", c.schema.err)
		return c.ds
	}
	root := doc.Root
	c.check(levelRoot, root, "")
	for _, section := range []string{"paths", "webhooks"} {
		items, ptr := follow(root.Get(section), "/"+section)
		if items == nil || items.Kind != spec.Object {
			continue
		}
		for _, p := range items.Pairs {
			if strings.HasPrefix(p.Key.Value, "x-") {
				continue
			}
			item, iptr := follow(p.Value, ptr+"/"+spec.EscapePointerToken(p.Key.Value))
			c.checkPathItem(item, iptr)
		}
	}
	comps, ptr := follow(root.Get("components"), "/components")
	schemes, ptr := follow(comps.Get("securitySchemes"), ptr+"/securitySchemes")
	if schemes != nil && schemes.Kind == spec.Object {
		for _, p := range schemes.Pairs {
			s, sptr := follow(p.Value, ptr+"/"+spec.EscapePointerToken(p.Key.Value))
			c.check(levelScheme, s, sptr)
		}
	}
	c.warnUnread()
	c.ds.Sort()
	return c.ds
}

type checker struct {
	schema *schemaSet
	doc    *spec.Document
	ds     diag.Diagnostics
	// read holds the x-gateway values gwc reads (as written, before
	// following a `$ref`), so that the rest can be warned about.
	read map[*spec.Node]bool
	// checked holds the x-gateway values already validated: a path item
	// shared by `$ref` is checked once.
	checked map[*spec.Node]bool
}

func (c *checker) checkPathItem(item *spec.Node, ptr string) {
	if item == nil || item.Kind != spec.Object {
		return
	}
	c.check(levelPolicy, item, ptr)
	for _, m := range methods {
		op, optr := follow(item.Get(m), ptr+"/"+m)
		if op != nil && op.Kind == spec.Object {
			c.check(levelPolicy, op, optr)
		}
	}
}

// check validates the x-gateway of owner, whose JSON pointer is ptr.
func (c *checker) check(lv level, owner *spec.Node, ptr string) {
	raw := owner.Get("x-gateway")
	if raw == nil {
		return
	}
	c.read[raw] = true
	if c.checked[raw] {
		return
	}
	c.checked[raw] = true
	base := place{node: raw, ptr: ptr + "/x-gateway"}
	r := &reporter{schema: c.schema, base: base, level: lv, ds: &c.ds, skip: map[*spec.Node]bool{}, seen: map[string]bool{}}

	var conv converter
	v, err := conv.value(raw, 0)
	if err != nil {
		c.ds.Errorf(raw.Pos(), Code, "x-gateway is %v to check (a $ref or YAML alias cycle?)", err)
		return
	}
	for _, u := range conv.unresolved {
		ref, _ := u.RefString()
		c.ds.Errorf(u.Get("$ref").Pos(), Code, "x-gateway: $ref %q could not be resolved, so what it points to is not checked", ref)
		r.skip[u] = true
	}
	if err := c.schema.byLevel[lv].Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			r.report(ve)
		} else {
			c.ds.Errorf(raw.Pos(), Code, "x-gateway: %v", err)
		}
	}
	semanticChecks(r, lv)
}
