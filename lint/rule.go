// Package lint checks OpenAPI specs for gwc: the compiler's own checks (load,
// $refs, x-gateway, routes, parameters, security, schemas), which every
// build runs too, and the rules only lint runs (documentation, unused
// components, examples), each a value with an id, a default severity and a
// description (Rule). Run loads a spec once, runs every rule over it,
// applies the configuration (.gwc.yaml: severities, ignores) and inline
// `x-gwc-ignore` markers, and returns positioned diagnostics; package
// lint/format prints them as text, JSON, SARIF, GitHub annotations or JUnit.
package lint

import (
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// DocsBase is where every rule's documentation anchor lives: docs/rules.md,
// generated from the rules' own metadata.
const DocsBase = "https://github.com/gwcdev/gwc/blob/main/docs/rules.md#"

// Rule is one check. Rules the compiler implements have no Run: their
// findings come from compiler.Check under their id; the others are run by
// lint over the loaded document.
type Rule struct {
	// ID is stable and kebab-case, gwc-...: it is what configuration,
	// x-gwc-ignore and every output format name.
	ID string
	// Severity is the default severity. A compiler rule's findings may carry
	// their own (a parameter problem gwc can work around is a warning); the
	// configuration overrides both.
	Severity diag.Severity
	// Title is a lower-case line of at most 60 characters.
	Title string
	// Description says what the rule finds, why it matters and what to do.
	Description string
	// Category groups rules in docs/rules.md and `gwc rules`.
	Category string
	// Run reports the rule's findings through the pass; nil for compiler
	// rules and policies.
	Run func(*Pass)
	// policy marks a Rego policy (PolicyRules).
	policy bool
}

// Kind says where the rule's findings come from: "compiler", "lint" or
// "policy".
func (r *Rule) Kind() string {
	switch {
	case r.policy:
		return "policy"
	case r.Run == nil:
		return "compiler"
	}
	return "lint"
}

// Anchor is the rule's anchor in docs/rules.md.
func (r *Rule) Anchor() string { return strings.ToLower(r.ID) }

// HelpURI is the rule's documentation URL.
func (r *Rule) HelpURI() string { return DocsBase + r.Anchor() }

// Pass is what a rule sees: one loaded document.
type Pass struct {
	Doc  *spec.Document
	rule *Rule
	ds   *diag.Diagnostics
}

// Reportf reports a finding of the running rule at node n.
func (p *Pass) Reportf(n *spec.Node, format string, args ...any) *diag.Diagnostic {
	var pos diag.Pos
	if n != nil {
		pos = n.Pos()
	}
	return p.report(p.rule.Severity, pos, format, args...)
}

func (p *Pass) report(sev diag.Severity, pos diag.Pos, format string, args ...any) *diag.Diagnostic {
	if sev == diag.Error {
		return p.ds.Errorf(pos, p.rule.ID, format, args...)
	}
	d := p.ds.Warnf(pos, p.rule.ID, format, args...)
	d.Severity = sev
	return d
}
