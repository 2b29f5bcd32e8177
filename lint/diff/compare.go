package diff

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// Options configures Compare.
type Options struct {
	// Allow lists kinds of breaking change that are acknowledged: they are
	// reported but do not fail the run.
	Allow []string
}

// comparer collects the changes between two sides.
type comparer struct {
	old, new *Side
	changes  []Change
}

func (c *comparer) add(k Kind, op string, pos diag.Pos, format string, args ...any) {
	c.changes = append(c.changes, Change{Kind: k, Operation: op, Message: fmt.Sprintf(format, args...), Pos: pos})
}

// Compare reports what changed from old to new.
func Compare(old, new *Side, opts Options) *Result {
	c := &comparer{old: old, new: new}
	oldOps, newOps := index(old), index(new)
	newPaths := map[string]bool{}
	for _, op := range new.Ops {
		newPaths[routeKey(op.BasePath+op.Path)] = true
	}
	removedPaths := map[string]bool{}
	for _, op := range old.Ops {
		key := opKey(op)
		nop, ok := newOps[key]
		name := op.Method + " " + op.BasePath + op.Path
		if !ok {
			path := routeKey(op.BasePath + op.Path)
			if !newPaths[path] {
				if !removedPaths[path] {
					removedPaths[path] = true
					c.add(KindPathRemoved, "", old.pathPos(op), "path %s removed, with its operations %s", op.BasePath+op.Path, strings.Join(methodsOf(old, path), ", "))
				}
				continue
			}
			if op.ID != op.Method+" "+op.Path {
				c.add(KindOperationRemoved, name, old.opPos(op), "operation removed (operationId %s)", op.ID)
			} else {
				c.add(KindOperationRemoved, name, old.opPos(op), "operation removed")
			}
			continue
		}
		c.operation(name, op, nop)
	}
	for _, op := range new.Ops {
		if _, ok := oldOps[opKey(op)]; !ok {
			c.add(KindOperationAdded, op.Method+" "+op.BasePath+op.Path, new.opPos(op), "operation added")
		}
	}
	c.schemes()
	c.upstreams()
	c.acknowledge(opts)
	sortChanges(c.changes)
	return &Result{Old: old.Label, New: new.Label, Changes: c.changes}
}

func methodsOf(s *Side, path string) []string {
	var ms []string
	for _, op := range s.Ops {
		if routeKey(op.BasePath+op.Path) == path {
			ms = append(ms, op.Method)
		}
	}
	return ms
}

var paramRE = regexp.MustCompile(`\{[^}]*\}`)

// routeKey is a path template with its parameter names left out: renaming
// {id} to {petId} is the same route to clients.
func routeKey(p string) string { return paramRE.ReplaceAllString(p, "{}") }

func opKey(op *bundle.Operation) string { return op.Method + " " + routeKey(op.BasePath+op.Path) }

func index(s *Side) map[string]*bundle.Operation {
	m := make(map[string]*bundle.Operation, len(s.Ops))
	for _, op := range s.Ops {
		m[opKey(op)] = op
	}
	return m
}

// pos is n's place, with the side's prefix.
func (s *Side) pos(n *spec.Node) diag.Pos {
	p := n.Pos()
	if p.File != "" {
		p.File = s.prefix + p.File
	}
	return p
}

// opNode is the operation's object in a spec; nil for a bundle.
func (s *Side) opNode(op *bundle.Operation) *spec.Node {
	if s.Doc == nil || s.Doc.Root == nil {
		return nil
	}
	return s.pathItem(op).Get(strings.ToLower(op.Method)).Deref()
}

func (s *Side) pathItem(op *bundle.Operation) *spec.Node {
	if s.Doc == nil || s.Doc.Root == nil {
		return nil
	}
	return s.Doc.Root.Get("paths").Deref().Get(op.Path).Deref()
}

// pathPos is where an operation's path is declared: its key in `paths`.
func (s *Side) pathPos(op *bundle.Operation) diag.Pos {
	if s.Doc != nil && s.Doc.Root != nil {
		if k := s.Doc.Root.Get("paths").Deref().Key(op.Path); k != nil {
			return s.pos(k)
		}
	}
	return s.opPos(op)
}

// opPos is where an operation is declared: its method key in the path item
// of a spec, or the source place a bundle records.
func (s *Side) opPos(op *bundle.Operation) diag.Pos {
	if item := s.pathItem(op); item != nil {
		if k := item.Key(strings.ToLower(op.Method)); k != nil {
			return s.pos(k)
		}
	}
	return s.sourcePos(op.Source)
}

// sourcePos is a bundle's recorded place: the spec file it was built from,
// named relative to the bundle.
func (s *Side) sourcePos(src bundle.Source) diag.Pos {
	if s.Doc != nil {
		for _, f := range s.Doc.Files {
			if f.Name == src.File {
				return diag.Pos{File: s.prefix + f.Path, Line: src.Line, Col: src.Col}
			}
		}
	}
	file := src.File
	if s.bundleFile != "" {
		file = s.bundleFile + "(" + src.File + ")"
	}
	return diag.Pos{File: s.prefix + file, Line: src.Line, Col: src.Col}
}

// nodePos is n's place when n is set, else the operation's.
func (s *Side) nodePos(n *spec.Node, op *bundle.Operation) diag.Pos {
	if n != nil {
		return s.pos(n)
	}
	return s.opPos(op)
}

func (c *comparer) operation(name string, old, new *bundle.Operation) {
	if new.Deprecated && !old.Deprecated {
		c.add(KindOperationDeprecated, name, c.new.nodePos(c.new.opNode(new).Key("deprecated"), new), "operation deprecated")
	}
	c.params(name, old, new)
	c.body(name, old, new)
	c.responses(name, old, new)
	c.security(name, old, new)
	c.policy(name, old, new)
}

// paramNode finds a parameter's object in a spec: the operation's own
// parameters win over the path item's.
func (s *Side) paramNode(op *bundle.Operation, p bundle.Param) *spec.Node {
	for _, holder := range []*spec.Node{s.opNode(op), s.pathItem(op)} {
		list := holder.Get("parameters").Deref()
		if list == nil {
			continue
		}
		for _, pn := range list.Elems {
			pn = pn.Deref()
			if pn.GetString("name") == p.Name && pn.GetString("in") == p.In {
				return pn
			}
		}
	}
	return nil
}

// paramSchema is a parameter's schema: the spec's node, or a bundle's.
func (s *Side) paramSchema(op *bundle.Operation, p bundle.Param) *schema {
	if s.Doc != nil {
		pn := s.paramNode(op, p)
		if sch := pn.Get("schema"); sch != nil {
			return nodeSchema(s, sch)
		}
		if content := pn.Get("content").Deref(); content != nil && len(content.Pairs) > 0 {
			return nodeSchema(s, content.Pairs[0].Value.Deref().Get("schema"))
		}
		return nil
	}
	return jsonSchema(s, p.Schema, s.opPos(op))
}

func paramKey(p bundle.Param) string {
	if p.In == "header" {
		return p.In + ":" + strings.ToLower(p.Name)
	}
	return p.In + ":" + p.Name
}

func (c *comparer) params(name string, old, new *bundle.Operation) {
	oldParams := map[string]bundle.Param{}
	for _, p := range old.Params {
		oldParams[paramKey(p)] = p
	}
	newParams := map[string]bool{}
	for _, p := range new.Params {
		newParams[paramKey(p)] = true
		pos := c.new.nodePos(c.new.paramNode(new, p), new)
		what := fmt.Sprintf("%s parameter `%s`", p.In, p.Name)
		op, ok := oldParams[paramKey(p)]
		if !ok {
			if p.Required && p.In != "path" {
				c.add(KindParameterAddedRequired, name, pos, "new required %s", what)
			}
			continue
		}
		if p.Required && !op.Required {
			at := pos
			if n := c.new.paramNode(new, p).Get("required"); n != nil {
				at = c.new.pos(n)
			}
			c.add(KindParameterMadeRequired, name, at, "%s is now required", what)
		}
		sc := &schemaCmp{c: c, op: name, dir: request, visited: map[[2]uintptr]bool{}}
		sc.compare(c.old.paramSchema(old, op), c.new.paramSchema(new, p), loc{base: what}, 0)
	}
	for _, p := range old.Params {
		if !newParams[paramKey(p)] && p.In != "path" {
			c.add(KindParameterRemoved, name, c.old.nodePos(c.old.paramNode(old, p), old), "%s parameter `%s` removed", p.In, p.Name)
		}
	}
}

// bodyNode is the operation's requestBody object in a spec.
func (s *Side) bodyNode(op *bundle.Operation) *spec.Node {
	return s.opNode(op).Get("requestBody").Deref()
}

func (s *Side) bodySchema(op *bundle.Operation, mt bundle.MediaType) *schema {
	if s.Doc != nil {
		return nodeSchema(s, s.bodyNode(op).Get("content").Deref().Get(mt.Type).Deref().Get("schema"))
	}
	return jsonSchema(s, mt.Schema, s.opPos(op))
}

func (c *comparer) body(name string, old, new *bundle.Operation) {
	if new.Body == nil {
		return
	}
	bn := c.new.bodyNode(new)
	if new.Body.Required && (old.Body == nil || !old.Body.Required) {
		at := c.new.nodePos(bn, new)
		if r := bn.Get("required"); r != nil {
			at = c.new.pos(r)
		}
		if old.Body == nil {
			c.add(KindRequestBodyRequired, name, at, "request body added, and required")
		} else {
			c.add(KindRequestBodyRequired, name, at, "request body is now required")
		}
	}
	if old.Body == nil {
		return
	}
	for _, omt := range old.Body.Content {
		i := slices.IndexFunc(new.Body.Content, func(m bundle.MediaType) bool { return m.Type == omt.Type })
		if i < 0 {
			at := c.new.nodePos(bn.Get("content"), new)
			c.add(KindMediaTypeRemoved, name, at, "request body no longer accepts %s (it accepts %s)", omt.Type, mediaTypes(new.Body.Content))
			continue
		}
		nmt := new.Body.Content[i]
		sc := &schemaCmp{c: c, op: name, dir: request, visited: map[[2]uintptr]bool{}}
		sc.compare(c.old.bodySchema(old, omt), c.new.bodySchema(new, nmt), loc{base: "request body (" + omt.Type + ")"}, 0)
	}
}

func mediaTypes(ms []bundle.MediaType) string {
	var ts []string
	for _, m := range ms {
		ts = append(ts, m.Type)
	}
	return strings.Join(ts, ", ")
}

// isSuccess says whether a response status is a success: 2XX, 2xx, or 200
// to 299.
func isSuccess(status string) bool { return strings.HasPrefix(status, "2") }

// statuses are an operation's declared response statuses. A spec declares
// them all; a bundle keeps them only for operations it mocks, and ok is
// false for the others.
func (s *Side) statuses(op *bundle.Operation) (statuses []string, ok bool) {
	if s.Doc == nil {
		if op.Policy.Upstream != "" && !op.Policy.Mock {
			return nil, false
		}
		for _, r := range op.Responses {
			statuses = append(statuses, r.Status)
		}
		return statuses, true
	}
	resps := s.opNode(op).Get("responses").Deref()
	if resps == nil || resps.Kind != spec.Object {
		return nil, true
	}
	for _, p := range resps.Pairs {
		if !strings.HasPrefix(p.Key.Value, "x-") {
			statuses = append(statuses, p.Key.Value)
		}
	}
	return statuses, true
}

func (c *comparer) responses(name string, old, new *bundle.Operation) {
	oldStatuses, ok1 := c.old.statuses(old)
	newStatuses, ok2 := c.new.statuses(new)
	if !ok1 || !ok2 {
		return
	}
	newResp := map[string]string{}
	for _, st := range newStatuses {
		newResp[strings.ToUpper(st)] = st
	}
	oldResps := c.old.opNode(old).Get("responses").Deref()
	newResps := c.new.opNode(new).Get("responses").Deref()
	for _, status := range oldStatuses {
		nstatus, ok := newResp[strings.ToUpper(status)]
		if !ok {
			at := c.new.nodePos(c.new.opNode(new).Key("responses"), new)
			k := KindResponseRemovedInfo
			if isSuccess(status) {
				k = KindResponseRemoved
			}
			c.add(k, name, at, "response %s removed", status)
			continue
		}
		if c.old.Doc == nil || c.new.Doc == nil {
			continue // bundles keep no response schemas
		}
		ocontent := oldResps.Get(status).Deref().Get("content").Deref()
		ncontent := newResps.Get(nstatus).Deref().Get("content").Deref()
		if ocontent == nil || ncontent == nil {
			continue
		}
		for _, p := range ocontent.Pairs {
			nmt := ncontent.Get(p.Key.Value).Deref()
			if nmt == nil {
				continue
			}
			sc := &schemaCmp{c: c, op: name, dir: response, visited: map[[2]uintptr]bool{}}
			sc.compare(nodeSchema(c.old, p.Value.Deref().Get("schema")), nodeSchema(c.new, nmt.Get("schema")),
				loc{base: "response " + status + " (" + p.Key.Value + ")"}, 0)
		}
	}
}
