package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/compiler/diag"
)

// ReportDiagnostics prints ds to ios.ErrOut in the plain text form
// ("FILE:LINE:COL: SEVERITY: MESSAGE (CODE)"), sorted by position, with the
// severity coloured when ErrOut has colour, and then returns the error the
// command should return: ErrFindings (exit 1) when any diagnostic is an error,
// nil otherwise, so warnings alone do not fail a build. A failure to write is
// an I/O error (exit 2).
//
// Commands with a --format flag (json, sarif, ...) print those forms to Out
// themselves and still end with FindingsErr.
func ReportDiagnostics(ios *iostreams.IOStreams, ds diag.Diagnostics) error {
	sorted := slices.Clone(ds)
	sorted.Sort()
	cs := ios.ErrColorScheme()
	for _, d := range sorted {
		line := d.String()
		if cs.Enabled() {
			line = colorSeverity(cs, d)
		}
		if _, err := fmt.Fprintln(ios.ErrOut, line); err != nil {
			return IOError(err)
		}
	}
	return FindingsErr(ds)
}

// FindingsErr returns ErrFindings when ds has an error, and nil otherwise.
func FindingsErr(ds diag.Diagnostics) error {
	if ds.HasErrors() {
		return ErrFindings
	}
	return nil
}

// colorSeverity renders d like d.String, with its severity coloured: errors
// red, warnings yellow, anything else grey.
func colorSeverity(cs iostreams.ColorScheme, d diag.Diagnostic) string {
	sev := d.Severity.String()
	var colored string
	switch d.Severity {
	case diag.Error:
		colored = cs.Red(sev)
	case diag.Warning:
		colored = cs.Yellow(sev)
	default:
		colored = cs.Gray(sev)
	}
	// The plain form is "[POS: ]SEVERITY: ..."; colour that one word, and
	// leave the line alone should diag ever change its layout.
	plain := d.String()
	prefix := ""
	if d.Pos.File != "" || d.Pos.IsValid() {
		prefix = d.Pos.String() + ": "
	}
	if !strings.HasPrefix(plain, prefix+sev) {
		return plain
	}
	return prefix + colored + plain[len(prefix)+len(sev):]
}

// printSummary closes a list of diagnostics with their counts, so that a
// long list still ends with what matters.
func printSummary(ios *iostreams.IOStreams, ds diag.Diagnostics) {
	fmt.Fprintf(ios.ErrOut, "%s, %s\n", plural(ds.Count(diag.Error), "error"), plural(ds.Count(diag.Warning), "warning"))
}
