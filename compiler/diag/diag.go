// Package diag holds the diagnostics every stage of gwc reports: a finding about
// the input, with the place in the spec it is about.
//
// A diagnostic is not an error. An error means gwc itself could not do its job
// (a file could not be read); a diagnostic means the input has a problem. The
// two never mix: stages return (result, Diagnostics), and only the CLI turns
// diagnostics into an exit code.
package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity orders findings; the zero value is Error so that a diagnostic built
// without one is never silently downgraded.
type Severity uint8

const (
	Error Severity = iota
	Warning
	Info
	Hint
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	case Info:
		return "info"
	case Hint:
		return "hint"
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity accepts the names String returns.
func ParseSeverity(s string) (Severity, bool) {
	switch s {
	case "error":
		return Error, true
	case "warning", "warn":
		return Warning, true
	case "info":
		return Info, true
	case "hint":
		return Hint, true
	}
	return 0, false
}

// Pos is a place in a source file. Line and Col are 1-based; Col counts
// characters (runes). The zero Pos means "no position".
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// IsValid reports whether p names a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string {
	switch {
	case p.File == "":
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Related is a secondary place a diagnostic refers to, such as the other
// operation of a route conflict.
type Related struct {
	Pos     Pos    `json:"pos"`
	Message string `json:"message"`
}

// Diagnostic is one finding.
type Diagnostic struct {
	Severity Severity
	// Code is the stable id of what was found: a rule id (gwc-...) for rules,
	// or the id of the compiler check that found it.
	Code    string
	Message string
	Pos     Pos
	// End is just past the last character of the node the finding is about
	// (Line and Col of the character after it, as SARIF's endColumn), in
	// Pos's file; the zero Pos when only the start is known.
	End Pos
	// Pointer is the JSON pointer of the node in its file, when known.
	Pointer string
	Related []Related
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Pos.File != "" || d.Pos.IsValid() {
		b.WriteString(d.Pos.String())
		b.WriteString(": ")
	}
	b.WriteString(d.Severity.String())
	b.WriteString(": ")
	b.WriteString(d.Message)
	if d.Code != "" {
		b.WriteString(" (")
		b.WriteString(d.Code)
		b.WriteString(")")
	}
	for _, r := range d.Related {
		b.WriteString("\n\t")
		b.WriteString(r.Pos.String())
		b.WriteString(": ")
		b.WriteString(r.Message)
	}
	return b.String()
}

// Diagnostics is used where a Go error would normally be: stages return it
// beside their result.
type Diagnostics []Diagnostic

// Errorf appends an error at pos.
func (ds *Diagnostics) Errorf(pos Pos, code, format string, args ...any) *Diagnostic {
	return ds.add(Error, pos, code, format, args...)
}

// Warnf appends a warning at pos.
func (ds *Diagnostics) Warnf(pos Pos, code, format string, args ...any) *Diagnostic {
	return ds.add(Warning, pos, code, format, args...)
}

func (ds *Diagnostics) add(sev Severity, pos Pos, code, format string, args ...any) *Diagnostic {
	*ds = append(*ds, Diagnostic{Severity: sev, Code: code, Message: fmt.Sprintf(format, args...), Pos: pos})
	return &(*ds)[len(*ds)-1]
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Count returns how many diagnostics have severity sev.
func (ds Diagnostics) Count(sev Severity) int {
	n := 0
	for _, d := range ds {
		if d.Severity == sev {
			n++
		}
	}
	return n
}

// Sort orders diagnostics by file, line, column, then severity and message, so
// that output is stable whatever order the stages found them in.
func (ds Diagnostics) Sort() {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Code, b.Code),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Err returns nil unless there are errors; then an error listing them. It is
// for callers that only need a Go error (tests, library users).
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	var errs []string
	for _, d := range ds {
		if d.Severity == Error {
			errs = append(errs, d.String())
		}
	}
	if len(errs) == 1 {
		return fmt.Errorf("%s", errs[0])
	}
	return fmt.Errorf("%d errors:\n%s", len(errs), strings.Join(errs, "\n"))
}
