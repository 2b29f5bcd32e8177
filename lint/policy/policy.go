// Package policy runs Rego policies over a spec's Model (compiler.Model's
// PolicyInput, documented in docs/policy-input.md), with OPA embedded.
//
// A policy is a Rego package under data.gwc that defines `deny` (errors) or
// `warn` (warnings) sets. Each element is an object with `msg` and a place:
// `operation` (an operationId) or `pointer` (a JSON pointer into the entry
// file); a bare string is a message about the spec as a whole. The package's
// `# METADATA` gives the rule's title, description and, under `custom`,
// `id` (else policy/ and the package path), `severity` (overriding deny and
// warn) and `owasp` (its OWASP API Security Top 10 category).
//
// Load parses and compiles every module once, with Capabilities (no
// built-in that reaches outside), and prepares each package's deny and warn
// queries; Eval evaluates them per spec with the input as an ast.Value,
// under a Budget, and reports a policy that fails as a Failure.
package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/gwcdev/gwc/compiler/diag"
)

// Root is the package every policy lives under.
const Root = "gwc"

// Source is one Rego file.
type Source struct {
	// Name is how findings and errors name the file.
	Name string
	Data []byte
}

// Package is one policy: a package with deny or warn rules, and its metadata.
type Package struct {
	// Path is the package path below data, e.g. ["gwc", "owasp", "api2_auth"].
	Path []string
	// ID is the rule id findings carry: custom.id, else "policy/" and the
	// path below gwc with "_" as "-".
	ID          string
	Title       string
	Description string
	// Severity, when set by custom.severity, overrides deny (error) and warn
	// (warning).
	Severity *diag.Severity
	// OWASP is custom.owasp, e.g. "API2:2023 Broken Authentication".
	OWASP string
	// File and Line locate the package clause.
	File string
	Line int
	// Deny and Warn say which of the sets the package defines.
	Deny, Warn bool
}

// Set is a compiled set of policies, ready to evaluate.
type Set struct {
	Packages []*Package
	// Budget bounds each Eval; its zero fields take the defaults.
	Budget Budget
	// queries are each package's deny and warn sets, prepared.
	queries map[*Package][2]*rego.PreparedEvalQuery
}

// LoadError is a Rego file that does not parse or compile, with the places
// OPA gives (FILE:LINE:COL: message, one a line).
type LoadError struct{ Errors []string }

func (e *LoadError) Error() string { return strings.Join(e.Errors, "\n") }

// ReadDir reads every .rego file below dir. Test files (_test.rego) are
// included only when tests is true.
func ReadDir(fsys fs.FS, dir, prefix string, tests bool) ([]Source, error) {
	var out []Source
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") || (!tests && strings.HasSuffix(p, "_test.rego")) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out = append(out, Source{Name: path.Join(prefix, p), Data: data})
		return nil
	})
	return out, err
}

// ReadDirs reads the .rego files of directories on disk.
func ReadDirs(dirs []string, tests bool) ([]Source, error) {
	var out []Source
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("policy directory: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("policy directory %s is not a directory", d)
		}
		srcs, err := ReadDir(os.DirFS(d), ".", filepath.ToSlash(d), tests)
		if err != nil {
			return nil, err
		}
		out = append(out, srcs...)
	}
	return out, nil
}

// Parse parses sources into modules, with their annotations.
func Parse(srcs []Source) (map[string]*ast.Module, error) {
	modules := map[string]*ast.Module{}
	var errs []string
	for _, s := range srcs {
		m, err := ast.ParseModuleWithOpts(s.Name, string(s.Data), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			errs = append(errs, astErrors(err)...)
			continue
		}
		modules[s.Name] = m
	}
	if len(errs) > 0 {
		return nil, &LoadError{errs}
	}
	return modules, nil
}

// astErrors formats OPA's errors as FILE:LINE:COL: message.
func astErrors(err error) []string {
	var es ast.Errors
	if !errors.As(err, &es) {
		return []string{err.Error()}
	}
	explainRefused(es)
	var out []string
	for _, e := range es {
		if e.Location != nil {
			out = append(out, fmt.Sprintf("%s:%d:%d: %s", e.Location.File, e.Location.Row, e.Location.Col, e.Message))
		} else {
			out = append(out, e.Message)
		}
	}
	return out
}

// Load parses and compiles sources and prepares their evaluation.
func Load(ctx context.Context, srcs []Source) (*Set, error) {
	modules, err := Parse(srcs)
	if err != nil {
		return nil, err
	}
	c := ast.NewCompiler().WithEnablePrintStatements(false).WithCapabilities(Capabilities())
	c.Compile(modules)
	if c.Failed() {
		return nil, &LoadError{astErrors(c.Errors)}
	}
	s := &Set{queries: map[*Package][2]*rego.PreparedEvalQuery{}}
	anns := c.GetAnnotationSet()
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range modules {
			if !yield(n) {
				return
			}
		}
	})
	seen := map[string]bool{}
	for _, name := range names {
		m := modules[name]
		pkgPath := refPath(m.Package.Path)
		if len(pkgPath) < 2 || pkgPath[0] != Root {
			continue
		}
		deny := slices.ContainsFunc(m.Rules, func(r *ast.Rule) bool { return r.Head.Name.String() == "deny" })
		warn := slices.ContainsFunc(m.Rules, func(r *ast.Rule) bool { return r.Head.Name.String() == "warn" })
		if !deny && !warn {
			continue
		}
		key := strings.Join(pkgPath, ".")
		if seen[key] {
			continue // one package split over several files
		}
		seen[key] = true
		p := &Package{Path: pkgPath, ID: "policy/" + strings.ReplaceAll(strings.Join(pkgPath[1:], "/"), "_", "-"),
			File: name, Line: m.Package.Location.Row, Deny: deny, Warn: warn}
		if a := anns.GetPackageScope(m.Package); a != nil {
			p.Title, p.Description = a.Title, a.Description
			if id, ok := a.Custom["id"].(string); ok && id != "" {
				p.ID = id
			}
			if o, ok := a.Custom["owasp"].(string); ok {
				p.OWASP = o
			}
			if sv, ok := a.Custom["severity"].(string); ok {
				sev, ok := diag.ParseSeverity(sv)
				if !ok {
					return nil, &LoadError{[]string{fmt.Sprintf("%s:%d: custom.severity %q is not error, warning, info or hint", name, a.Location.Row, sv)}}
				}
				p.Severity = &sev
			}
		}
		if p.Title == "" {
			p.Title = "policy " + strings.Join(pkgPath, ".")
		}
		s.Packages = append(s.Packages, p)
	}
	for _, p := range s.Packages {
		var qs [2]*rego.PreparedEvalQuery
		for i, set := range []string{"deny", "warn"} {
			if (i == 0 && !p.Deny) || (i == 1 && !p.Warn) {
				continue
			}
			ref := ast.Ref{ast.DefaultRootDocument}
			for _, k := range p.Path {
				ref = append(ref, ast.StringTerm(k))
			}
			ref = append(ref, ast.StringTerm(set))
			q, err := rego.New(rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(ref)))), rego.Compiler(c),
				rego.Capabilities(Capabilities()), rego.EnablePrintStatements(false)).PrepareForEval(ctx)
			if err != nil {
				return nil, &LoadError{astErrors(err)}
			}
			qs[i] = &q
		}
		s.queries[p] = qs
	}
	return s, nil
}

// refPath is a package path (data.gwc.x) as its names below data.
func refPath(r ast.Ref) []string {
	var out []string
	for i, t := range r {
		if i == 0 {
			continue // data
		}
		if s, ok := t.Value.(ast.String); ok {
			out = append(out, string(s))
		} else {
			out = append(out, t.Value.String())
		}
	}
	return out
}

// Input converts a JSON-valued input to OPA's value once per spec.
func Input(v map[string]any) (ast.Value, error) { return ast.InterfaceToValue(v) }
