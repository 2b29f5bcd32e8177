package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/lint/policy"
	"github.com/gwcdev/gwc/policies"
)

// Policy is the category of the Rego policies' rules.
const Policy = "policy"

// LoadPolicies compiles the embedded pack (unless noBuiltin) and the .rego
// files of dirs (tests left out) into one set, ready for Options.Policies.
func LoadPolicies(ctx context.Context, noBuiltin bool, dirs []string) (*policy.Set, error) {
	var srcs []policy.Source
	if !noBuiltin {
		b, err := policy.ReadDir(policies.FS, ".", "policies", false)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, b...)
	} else {
		// The helpers stay: user policies may import data.gwc.lib.
		b, err := policy.ReadDir(policies.FS, "lib", "policies", false)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, b...)
	}
	user, err := policy.ReadDirs(dirs, false)
	if err != nil {
		return nil, err
	}
	return policy.Load(ctx, append(srcs, user...))
}

// PolicyRules describes a set's policies as rules, for `gwc rules`, SARIF
// and configuration.
func PolicyRules(s *policy.Set) []*Rule {
	if s == nil {
		return nil
	}
	var out []*Rule
	for _, p := range s.Packages {
		sev := diag.Warning
		if p.Deny {
			sev = diag.Error
		}
		if p.Severity != nil {
			sev = *p.Severity
		}
		desc := strings.TrimSpace(p.Description)
		if p.OWASP != "" {
			desc += " OWASP " + p.OWASP + "."
		}
		out = append(out, &Rule{ID: p.ID, Severity: sev, Category: Policy, Title: p.Title,
			Description: strings.TrimSpace(desc + " Rego policy " + strings.Join(p.Path, ".") + " (" + p.File + ")."),
			policy:      true})
	}
	return out
}

// CodePolicies is the id of the notes about the policy run itself: a spec
// the policies could not judge, or only in part, and a policy's result that
// names no node of the spec.
const CodePolicies = "gwc-policies"

// hasPolicies reports whether s has a policy to run (not only libraries).
func hasPolicies(s *policy.Set) bool {
	return s != nil && slices.ContainsFunc(s.Packages, func(p *policy.Package) bool { return p.Deny || p.Warn })
}

// skippedNote is the note of a spec the policies could not run on.
func skippedNote(specPath string) diag.Diagnostic {
	return diag.Diagnostic{Severity: diag.Info, Code: CodePolicies, Pos: diag.Pos{File: specPath},
		Message: "the policies were not run: the spec could not be loaded (the errors say why)"}
}

// leftOutNote names, in one note, the parts of the spec the Model could not
// build and the policies therefore did not judge.
func leftOutNote(a *compiler.Analysis) (diag.Diagnostic, bool) {
	sk := a.Model.Skipped
	if len(sk) == 0 {
		return diag.Diagnostic{}, false
	}
	const listed = 10
	var parts []string
	for i, s := range sk {
		if i == listed {
			parts = append(parts, fmt.Sprintf("and %d more", len(sk)-listed))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s, %s)", s.What, s.Pos, s.Why))
	}
	what := "1 part"
	if len(sk) > 1 {
		what = fmt.Sprintf("%d parts", len(sk))
	}
	return diag.Diagnostic{Severity: diag.Info, Code: CodePolicies, Pos: sk[0].Pos,
		Message: fmt.Sprintf("the policies ran without %s of the spec gwc could not build: %s", what, strings.Join(parts, "; "))}, true
}

// evalPolicies runs the policies over the Model of a spec that loads (with
// errors or not) and turns their results into findings at the node each
// names: a pointer (Locate), an operation, or the spec's first line for a
// bare message. A result whose place names nothing is reported at the
// spec's file, with a warning about the policy.
func evalPolicies(ctx context.Context, s *policy.Set, a *compiler.Analysis) (diag.Diagnostics, error) {
	if !hasPolicies(s) {
		return nil, nil // libraries only (--no-builtin-policies): nothing to judge
	}
	// The two halves of the input, the Model and the spec as written, are
	// built side by side.
	var specT *ast.Term
	var specPanic any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { specPanic = recover() }()
		specT = specTerm(a.Doc.Root, map[*spec.Node]*ast.Term{})
	}()
	input, err := policy.Input(a.Model.PolicyInputWithoutSpec())
	<-done
	if specPanic != nil {
		panic(specPanic) // analyze reports it as gwc failing
	}
	if err != nil {
		return nil, fmt.Errorf("building the policy input: %w", err)
	}
	if obj, ok := input.(ast.Object); ok {
		obj.Insert(ast.StringTerm("spec"), specT)
	}
	results, failures := s.Eval(ctx, input)
	var ds diag.Diagnostics
	// A policy that fails is an error finding at its Rego file, under its
	// rule id: never silently no finding.
	for _, f := range failures {
		ds.Errorf(diag.Pos{File: f.File, Line: f.Line, Col: f.Col}, f.Package.ID, "%s", f.Msg)
	}
	if d, ok := leftOutNote(a); ok {
		ds = append(ds, d)
	}
	entry := a.Doc.Files[0].Path
	loc := &locator{doc: a.Doc}
	for _, r := range results {
		sev := diag.Warning
		if r.Deny {
			sev = diag.Error
		}
		if r.Package.Severity != nil {
			sev = *r.Package.Severity
		}
		d := diag.Diagnostic{Severity: sev, Code: r.Package.ID, Message: r.Msg, Pointer: r.Pointer}
		place, ptr := "", r.Pointer
		if ptr == "" && r.Operation != "" {
			place = fmt.Sprintf("operation %q", r.Operation)
			ptr = operationPointer(a.Model, r.Operation)
			if ptr == "" {
				ptr = "?" // no such operation: Locate fails
			}
			d.Pointer = ptr
		} else if ptr != "" {
			place = fmt.Sprintf("pointer %q", ptr)
		}
		switch {
		case ptr == "":
			d.Pos, d.End = a.Doc.Root.Pos(), a.Doc.Root.Pos()
		default:
			start, end, ok := loc.locate(ptr)
			if ok {
				d.Pos, d.End = start, end
				break
			}
			d.Pos, d.Pointer = diag.Pos{File: entry}, ""
			ds = append(ds, diag.Diagnostic{Severity: diag.Warning, Code: CodePolicies, Pos: diag.Pos{File: entry},
				Message: fmt.Sprintf("policy %s (%s:%d) names %s, which is no node of this spec: its finding %q has no line", r.Package.ID, r.Package.File, r.Package.Line, place, r.Msg)})
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// locator locates pointers in one document, with the member keys of its
// files indexed the first time a pointer ends at a node another file holds.
type locator struct {
	doc  *spec.Document
	keys map[*spec.File]map[*spec.Node]*spec.Node
}

// keyOf finds the key n is the value of in its file, nil for an array
// element or a file's root.
func (l *locator) keyOf(n *spec.Node) *spec.Node {
	if n.File == nil {
		return nil
	}
	if l.keys == nil {
		l.keys = map[*spec.File]map[*spec.Node]*spec.Node{}
	}
	idx, ok := l.keys[n.File]
	if !ok {
		idx = map[*spec.Node]*spec.Node{}
		seen := spec.Visited{}
		var walk func(m *spec.Node, depth int)
		walk = func(m *spec.Node, depth int) {
			// YAML aliases share nodes: each is walked once, and the
			// first key names it.
			if m == nil || depth > 10000 || m.File != n.File || !seen.First(m) {
				return
			}
			for _, p := range m.Pairs {
				if _, dup := idx[p.Value]; !dup {
					idx[p.Value] = p.Key
				}
				walk(p.Value, depth+1)
			}
			for _, e := range m.Elems {
				walk(e, depth+1)
			}
		}
		walk(n.File.Root, 0)
		l.keys[n.File] = idx
	}
	return idx[n]
}

// operationPointer is the pointer of the operation with operationId id
// (the first, when the spec gives two the same id), "" when there is none.
func operationPointer(m *compiler.Model, id string) string {
	for _, op := range m.Operations {
		if op.ID == id {
			return spec.Pointer("paths", op.Path, strings.ToLower(op.Method))
		}
	}
	return ""
}

// Locate turns a policy's pointer into the range of the node it names. The
// pointer is a JSON pointer into the entry file (/paths/~1pets/post), or a
// file of the spec as input.api.files names it, "#" and a pointer into that
// file (pets.yaml#/Pet); either follows `$ref`s on its way, so a node in a
// `$ref`'d file is named in that file. A member whose value is an object or
// an array ranges from its key to the value's end; anything else is the
// node itself (a scalar's token, an array element). ok is false when the
// pointer names no node. A pointer that ends at a resolved `$ref` names
// the node it refers to.
func Locate(doc *spec.Document, ptr string) (start, end diag.Pos, ok bool) {
	return (&locator{doc: doc}).locate(ptr)
}

func (l *locator) locate(ptr string) (start, end diag.Pos, ok bool) {
	doc := l.doc
	if doc == nil || len(doc.Files) == 0 {
		return start, end, false
	}
	root := doc.Root
	if i := strings.IndexByte(ptr, '#'); i >= 0 && !strings.HasPrefix(ptr, "/") {
		root = nil
		for _, f := range doc.Files {
			if f.Name == ptr[:i] || f.Path == ptr[:i] {
				root = f.Root
				break
			}
		}
		ptr = ptr[i+1:]
	}
	if root == nil || (ptr != "" && ptr[0] != '/') {
		return start, end, false
	}
	n, key := root, (*spec.Node)(nil)
	if ptr != "" {
		for _, tok := range strings.Split(ptr[1:], "/") {
			n = n.Deref()
			tok = spec.UnescapePointerToken(tok)
			switch {
			case n == nil:
				return start, end, false
			case n.Kind == spec.Object:
				key = n.Key(tok)
				n = n.Get(tok)
			case n.Kind == spec.Array:
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(n.Elems) || (len(tok) > 1 && tok[0] == '0') {
					return start, end, false
				}
				key, n = nil, n.Elems[i]
			default:
				return start, end, false
			}
			if n == nil {
				return start, end, false
			}
		}
	}
	// A reference names what it refers to: the node that is about, with
	// its key where it is a member.
	if t := n.Deref(); t != n && t != nil {
		key, n = l.keyOf(t), t
	}
	start, end = n.Pos(), n.End()
	if key != nil && (n.Kind == spec.Object || n.Kind == spec.Array) && key.File == n.File &&
		(key.Line < n.Line || key.Line == n.Line && key.Col < n.Col) {
		start = key.Pos()
	}
	return start, end, true
}

// specTerm converts a loaded spec node to OPA's form directly, the
// document's raw value (references as written): input.spec. A node YAML
// aliases share becomes one shared term (memo), so the value is as large as
// the tree, not as its expansion.
func specTerm(n *spec.Node, memo map[*spec.Node]*ast.Term) *ast.Term {
	if n == nil {
		return ast.NullTerm()
	}
	if t := memo[n]; t != nil {
		return t
	}
	var t *ast.Term
	switch n.Kind {
	case spec.Bool:
		return ast.BooleanTerm(n.Value == "true")
	case spec.Number:
		return ast.NumberTerm(json.Number(n.Value))
	case spec.String:
		return ast.StringTerm(n.Value)
	case spec.Array:
		terms := make([]*ast.Term, len(n.Elems))
		for i, e := range n.Elems {
			terms[i] = specTerm(e, memo)
		}
		t = ast.ArrayTerm(terms...)
	case spec.Object:
		kvs := make([][2]*ast.Term, len(n.Pairs))
		for i, p := range n.Pairs {
			kvs[i] = [2]*ast.Term{ast.StringTerm(p.Key.Value), specTerm(p.Value, memo)}
		}
		t = ast.ObjectTerm(kvs...)
	default:
		return ast.NullTerm()
	}
	memo[n] = t
	return t
}
