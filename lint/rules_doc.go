package lint

import (
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// methods are the operations of a path item, in OpenAPI's order.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// eachOperation calls f for every operation under paths, with its method
// key (where findings about the operation as a whole point).
func eachOperation(doc *spec.Document, f func(method *spec.Node, op *spec.Node, path string)) {
	paths := doc.Root.Get("paths").Deref()
	if paths == nil || paths.Kind != spec.Object {
		return
	}
	for _, p := range paths.Pairs {
		if strings.HasPrefix(p.Key.Value, "x-") {
			continue
		}
		item := p.Value.Deref()
		if item == nil || item.Kind != spec.Object {
			continue
		}
		for _, m := range item.Pairs {
			if !isMethod(m.Key.Value) {
				continue
			}
			if op := m.Value.Deref(); op != nil && op.Kind == spec.Object {
				f(m.Key, op, p.Key.Value)
			}
		}
	}
}

// elems and pairs are n's elements and members, none for nil or another
// kind: specs hold anything where a rule expects an array or object.
func elems(n *spec.Node) []*spec.Node {
	if n == nil {
		return nil
	}
	return n.Elems
}

func pairs(n *spec.Node) []spec.Pair {
	if n == nil {
		return nil
	}
	return n.Pairs
}

func isMethod(k string) bool {
	for _, m := range methods {
		if k == m {
			return true
		}
	}
	return false
}

var operationID = &Rule{
	ID: "gwc-operation-id", Severity: diag.Warning, Category: Documentation,
	Title: "an operation without operationId",
	Description: "gwc names an operation without one \"METHOD /path\" in metrics, logs and policies, which changes " +
		"whenever the path does; generated clients invent method names. Give every operation a stable operationId.",
	Run: func(p *Pass) {
		eachOperation(p.Doc, func(method, op *spec.Node, path string) {
			if id, ok := op.Get("operationId").Str(); !ok || strings.TrimSpace(id) == "" {
				p.Reportf(method, "%s %s has no operationId", strings.ToUpper(method.Value), path)
			}
		})
	},
}

var responseDescription = &Rule{
	ID: "gwc-response-description", Severity: diag.Warning, Category: Documentation,
	Title: "a response without description",
	Description: "OpenAPI requires a `description` on every response object; documentation and most generators " +
		"show it. gwc serves the response without one, so this is a warning.",
	Run: func(p *Pass) {
		eachOperation(p.Doc, func(method, op *spec.Node, path string) {
			rs := op.Get("responses").Deref()
			if rs == nil || rs.Kind != spec.Object {
				return
			}
			for _, r := range rs.Pairs {
				if strings.HasPrefix(r.Key.Value, "x-") {
					continue
				}
				resp := r.Value.Deref()
				if resp == nil || resp.Kind != spec.Object {
					continue
				}
				if d, ok := resp.Get("description").Str(); !ok || strings.TrimSpace(d) == "" {
					p.Reportf(r.Key, "response %s of %s %s has no description", r.Key.Value, strings.ToUpper(method.Value), path)
				}
			}
		})
	},
}

// componentSections are the reusable parts of components.
var componentSections = []string{"schemas", "responses", "parameters", "examples", "requestBodies", "headers",
	"securitySchemes", "links", "callbacks", "pathItems"}

var unusedComponent = &Rule{
	ID: "gwc-unused-component", Severity: diag.Warning, Category: Hygiene,
	Title: "a component nothing refers to",
	Description: "A schema, response, parameter or other component of the entry file's `components` that no " +
		"`$ref` reaches, and (for security schemes) that no security requirement names. It is dead weight, or " +
		"a sign that a reference points at the wrong name.",
	Run: func(p *Pass) {
		comps := p.Doc.Root.Get("components").Deref()
		if comps == nil || comps.Kind != spec.Object {
			return
		}
		used := map[*spec.Node]bool{}
		seen := map[*spec.Node]bool{}
		var walk func(n *spec.Node)
		walk = func(n *spec.Node) {
			if n == nil || seen[n] {
				return
			}
			seen[n] = true
			if n.Ref != nil {
				used[n.Ref] = true
				walk(n.Ref)
			}
			for _, e := range n.Elems {
				walk(e)
			}
			for _, pr := range n.Pairs {
				walk(pr.Value)
			}
		}
		// Everything but components themselves: a component used only by an
		// unused component is unused too.
		for _, pr := range p.Doc.Root.Pairs {
			if pr.Key.Value != "components" {
				walk(pr.Value)
			}
		}
		schemes := usedSchemes(p.Doc)
		for _, section := range componentSections {
			sec := comps.Get(section).Deref()
			if sec == nil || sec.Kind != spec.Object {
				continue
			}
			for _, c := range sec.Pairs {
				if strings.HasPrefix(c.Key.Value, "x-") || used[c.Value] {
					continue
				}
				if section == "securitySchemes" {
					if schemes[c.Key.Value] {
						continue
					}
					p.Reportf(c.Key, "security scheme %q is not named by any security requirement", c.Key.Value)
					continue
				}
				p.Reportf(c.Key, "components.%s.%s is not referenced", section, c.Key.Value)
			}
		}
	},
}

// usedSchemes are the scheme names security requirements use (root and
// operations).
func usedSchemes(doc *spec.Document) map[string]bool {
	out := map[string]bool{}
	add := func(sec *spec.Node) {
		sec = sec.Deref()
		if sec == nil {
			return
		}
		for _, req := range sec.Elems {
			for _, s := range pairs(req.Deref()) {
				out[s.Key.Value] = true
			}
		}
	}
	add(doc.Root.Get("security"))
	eachOperation(doc, func(_, op *spec.Node, _ string) { add(op.Get("security")) })
	return out
}
