package compiler

import (
	"cmp"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// Diagnostic codes of the compiler's own checks.
const (
	CodeTemplate      = "gwc-path-template"  // a path template that cannot be routed
	CodeRouteConflict = "gwc-route-conflict" // two templates matching the same requests
	CodeServers       = "gwc-servers"        // a servers entry whose base path cannot be read
	CodeOperation     = "gwc-operation"      // an operation OpenAPI or the gateway cannot use
	CodeParameter     = "gwc-parameter"      // a parameter that cannot be decoded
	CodeSecurity      = "gwc-security"       // a security requirement naming no scheme
	CodeReference     = "gwc-unknown-ref"    // x-gateway naming an upstream, limit or authorizer that does not exist
	CodeOperationID   = "gwc-duplicate-operation-id"
	// CodeNonStandardRef is a `$ref` where OpenAPI allows none, which gwc
	// resolves anyway (lint only).
	CodeNonStandardRef = "gwc-non-standard-ref"
)

// template is a parsed path template: its segments, each a list of literal
// and parameter parts.
type template struct {
	raw      string
	segments [][]part
	params   []string // parameter names in order
}

type part struct {
	literal string // set for literal text
	param   string // set for a {param}
}

// parseTemplate parses an OpenAPI path template. It refuses what a router
// cannot match unambiguously: unbalanced braces, empty or repeated names, and
// two parameters with nothing between them ({a}{b}).
func parseTemplate(raw string) (*template, error) {
	if !strings.HasPrefix(raw, "/") {
		return nil, fmt.Errorf("path %q must start with \"/\"", raw)
	}
	t := &template{raw: raw}
	seen := map[string]bool{}
	for _, seg := range strings.Split(raw[1:], "/") {
		var parts []part
		for rest := seg; rest != ""; {
			open := strings.IndexByte(rest, '{')
			closing := strings.IndexByte(rest, '}')
			switch {
			case open < 0 && closing < 0:
				parts = append(parts, part{literal: rest})
				rest = ""
				continue
			case closing >= 0 && (open < 0 || closing < open):
				return nil, fmt.Errorf("path %q has a \"}\" without its \"{\"", raw)
			case open > 0:
				parts = append(parts, part{literal: rest[:open]})
				rest = rest[open:]
				continue
			}
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return nil, fmt.Errorf("path %q has a \"{\" that is not closed", raw)
			}
			name := rest[1:end]
			switch {
			case name == "":
				return nil, fmt.Errorf("path %q has an empty parameter name \"{}\"", raw)
			case strings.ContainsAny(name, "{/"):
				return nil, fmt.Errorf("path %q has a \"{\" inside a parameter name", raw)
			case seen[name]:
				return nil, fmt.Errorf("path %q names parameter {%s} twice", raw, name)
			}
			if n := len(parts); n > 0 && parts[n-1].param != "" {
				return nil, fmt.Errorf("path %q has parameters {%s}{%s} with nothing between them: a router cannot tell where one ends", raw, parts[n-1].param, name)
			}
			seen[name] = true
			t.params = append(t.params, name)
			parts = append(parts, part{param: name})
			rest = rest[end+1:]
		}
		t.segments = append(t.segments, parts)
	}
	return t, nil
}

// shape is the template with parameter names erased: two templates with one
// shape match exactly the same requests.
func (t *template) shape() string {
	var b strings.Builder
	for _, seg := range t.segments {
		b.WriteByte('/')
		for _, p := range seg {
			if p.param != "" {
				b.WriteString("{}")
			} else {
				b.WriteString(p.literal)
			}
		}
	}
	return b.String()
}

var serverVarRE = regexp.MustCompile(`\{([^{}]*)\}`)

// basePath reads the base path of a servers list: the path of its first
// entry's URL with server variables set to their defaults ("" for none or
// "/"). OpenAPI's servers are alternatives (production, sandbox); they share
// a base path in practice, and the first is what gwc mounts routes under.
func basePath(servers *spec.Node, ds *diag.Diagnostics) string {
	servers = servers.Deref()
	if servers == nil || servers.Kind != spec.Array || len(servers.Elems) == 0 {
		return ""
	}
	s := servers.Elems[0].Deref()
	u := s.Get("url")
	raw, ok := u.Str()
	if !ok {
		return ""
	}
	vars := s.Get("variables").Deref()
	expanded := serverVarRE.ReplaceAllStringFunc(raw, func(m string) string {
		name := m[1 : len(m)-1]
		if def, ok := vars.Get(name).Deref().Get("default").Str(); ok {
			return def
		}
		ds.Errorf(u.Pos(), CodeServers, "server URL %q uses variable {%s}, which has no default in `variables`", raw, name)
		return ""
	})
	// Only the path matters for routing. The host may hold a variable whose
	// default is a placeholder ("https://{your-agent-url}"), so it is cut
	// off rather than parsed.
	p := expanded
	if i := strings.Index(p, "://"); i > 0 && schemeRE.MatchString(p[:i]) {
		p = p[i+3:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			p = p[j:]
		} else {
			p = ""
		}
	} else if strings.HasPrefix(p, "//") {
		p = strings.TrimPrefix(p, "//")
		if j := strings.IndexByte(p, '/'); j >= 0 {
			p = p[j:]
		} else {
			p = ""
		}
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if _, err := url.Parse(p); err != nil || strings.ContainsAny(p, " {}") {
		ds.Errorf(u.Pos(), CodeServers, "server URL %q does not have a usable path (%q)", raw, p)
		return ""
	}
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return strings.TrimRight(p, "/")
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// checkRoutes reports templates that match the same requests for the same
// method, naming both places.
func checkRoutes(ops []*operation, ds *diag.Diagnostics) {
	type key struct{ method, shape string }
	first := map[key]*operation{}
	// In declaration order, so that the error is on the later template and
	// points back at the earlier one.
	byPos := slices.Clone(ops)
	slices.SortStableFunc(byPos, func(a, b *operation) int {
		pa, pb := a.pathKey.Pos(), b.pathKey.Pos()
		return cmp.Or(cmp.Compare(pa.File, pb.File), cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Col, pb.Col))
	})
	for _, op := range byPos {
		k := key{op.Method, op.BasePath + op.tmpl.shape()}
		prev := first[k]
		if prev == nil {
			first[k] = op
			continue
		}
		what := "the same requests"
		if prev.Path == op.Path && prev.BasePath != op.BasePath {
			what = "the same requests once their servers base paths are added"
		}
		d := ds.Errorf(op.pathKey.Pos(), CodeRouteConflict, "%s %s conflicts with %s %s: both match %s",
			op.Method, op.BasePath+op.Path, prev.Method, prev.BasePath+prev.Path, what)
		d.Related = append(d.Related, diag.Related{Pos: prev.pathKey.Pos(), Message: fmt.Sprintf("%s %s is declared here", prev.Method, prev.BasePath+prev.Path)})
	}
}
