package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// evalPolicies runs the policies over a spec that compiles and turns their
// results into findings at the operation or pointer they name.
func evalPolicies(ctx context.Context, s *policy.Set, a *compiler.Analysis) (diag.Diagnostics, error) {
	if !slices.ContainsFunc(s.Packages, func(p *policy.Package) bool { return p.Deny || p.Warn }) {
		return nil, nil // libraries only (--no-builtin-policies): nothing to judge
	}
	input, err := policy.Input(a.Model.PolicyInputWithoutSpec())
	if err != nil {
		return nil, fmt.Errorf("building the policy input: %w", err)
	}
	if obj, ok := input.(ast.Object); ok {
		obj.Insert(ast.StringTerm("spec"), specTerm(a.Doc.Root, map[*spec.Node]*ast.Term{}))
	}
	results, failures := s.Eval(ctx, input)
	var ds diag.Diagnostics
	// A policy that fails is an error finding at its Rego file, under its
	// rule id: never silently no finding.
	for _, f := range failures {
		ds.Errorf(diag.Pos{File: f.File, Line: f.Line, Col: f.Col}, f.Package.ID, "%s", f.Msg)
	}
	entry := a.Doc.Root.Pos()
	for _, r := range results {
		pos := entry
		if r.Operation != "" {
			if p, ok := a.Model.OperationPos(r.Operation); ok {
				pos = p
			}
		}
		if r.Pointer != "" {
			// A member's key is where a finding about it reads best (the
			// line a block value starts under).
			if k := pointerKey(a.Doc.Root, r.Pointer); k != nil {
				pos = k.Pos()
			} else if n := a.Doc.Root.At(r.Pointer); n != nil {
				pos = n.Pos()
			}
		}
		sev := diag.Warning
		if r.Deny {
			sev = diag.Error
		}
		if r.Package.Severity != nil {
			sev = *r.Package.Severity
		}
		d := ds.Warnf(pos, r.Package.ID, "%s", r.Msg)
		d.Severity = sev
		d.Pointer = r.Pointer
	}
	return ds, nil
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
