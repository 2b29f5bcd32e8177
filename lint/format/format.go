// Package format writes lint findings as text, JSON, SARIF 2.1.0, GitHub
// Actions workflow commands, JUnit XML, a GitLab code quality report or a
// markdown summary. Every format gets the same sorted
// findings; positions are 1-based lines and columns (columns in characters).
package format

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/lint"
)

// Names lists the formats, for flags and messages.
var Names = []string{"text", "json", "sarif", "github", "junit", "gitlab", "markdown"}

// Report is what a lint run found.
type Report struct {
	// Files are the specs linted, as named on the command line.
	Files []string
	// Diagnostics are every finding, sorted.
	Diagnostics diag.Diagnostics
	// Rules are the rules that ran (SARIF describes them).
	Rules []*lint.Rule
	// Version is gwc's version.
	Version string
	// Baselined is how many findings were left out as known to the baseline
	// (gwc lint --baseline): Diagnostics and the summary are the new ones.
	Baselined int
}

// Styler colours text output; the zero value adds none.
type Styler struct {
	Error, Warning, Note, Faint func(string) string
}

func (s Styler) apply(f func(string) string, v string) string {
	if f == nil {
		return v
	}
	return f(v)
}

// Write writes r in the named format.
func Write(w io.Writer, name string, r *Report, st Styler) error {
	switch name {
	case "text":
		return Text(w, r, st)
	case "json":
		return JSON(w, r)
	case "sarif":
		return SARIF(w, r)
	case "github":
		return GitHub(w, r)
	case "junit":
		return JUnit(w, r)
	case "gitlab":
		return GitLab(w, r)
	case "markdown":
		return Markdown(w, r)
	}
	return fmt.Errorf("unknown format %q (want %s)", name, strings.Join(Names, ", "))
}

// Text writes one line a finding, FILE:LINE:COL severity rule message, its
// related places indented below it, then a summary line.
func Text(w io.Writer, r *Report, st Styler) error {
	var b strings.Builder
	for _, d := range r.Diagnostics {
		sev := d.Severity.String()
		switch d.Severity {
		case diag.Error:
			sev = st.apply(st.Error, sev)
		case diag.Warning:
			sev = st.apply(st.Warning, sev)
		default:
			sev = st.apply(st.Note, sev)
		}
		fmt.Fprintf(&b, "%s %s %s %s\n", place(d.Pos), sev, st.apply(st.Faint, d.Code), d.Message)
		for _, rel := range d.Related {
			fmt.Fprintf(&b, "    %s %s\n", place(rel.Pos), rel.Message)
		}
	}
	fmt.Fprintf(&b, "%s\n", Summary(r))
	if r.Baselined > 0 {
		fmt.Fprintf(&b, "%s in the baseline not shown\n", plural(r.Baselined, "finding"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is "N errors, M warnings in K files".
func Summary(r *Report) string {
	e, wn, other := counts(r.Diagnostics)
	s := plural(e, "error") + ", " + plural(wn, "warning")
	if other > 0 {
		s += ", " + plural(other, "note")
	}
	return s + " in " + plural(len(r.Files), "file")
}

func counts(ds diag.Diagnostics) (errors, warnings, other int) {
	for _, d := range ds {
		switch d.Severity {
		case diag.Error:
			errors++
		case diag.Warning:
			warnings++
		default:
			other++
		}
	}
	return
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// place is FILE:LINE:COL, with what is known of it.
func place(p diag.Pos) string {
	if p.File == "" && !p.IsValid() {
		return "-"
	}
	return p.String()
}

// jsonReport is the JSON format, documented in docs/lint-output.md.
type jsonReport struct {
	Version     int              `json:"version"`
	Tool        jsonTool         `json:"tool"`
	Files       []string         `json:"files"`
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
	Summary     jsonSummary      `json:"summary"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonDiagnostic struct {
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Column   int           `json:"column"`
	EndLine  int           `json:"endLine,omitempty"`
	EndCol   int           `json:"endColumn,omitempty"`
	Severity string        `json:"severity"`
	Rule     string        `json:"rule"`
	Message  string        `json:"message"`
	Pointer  string        `json:"pointer,omitempty"`
	Help     string        `json:"help,omitempty"`
	Related  []jsonRelated `json:"related,omitempty"`

	// Fingerprint is lint.Fingerprint: what --baseline matches findings by.
	Fingerprint string `json:"fingerprint"`
}

type jsonRelated struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type jsonSummary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Notes    int `json:"notes"`

	// Baselined is Report.Baselined.
	Baselined int `json:"baselined,omitempty"`
}

// JSON writes the report as one JSON document (docs/lint-output.md).
func JSON(w io.Writer, r *Report) error {
	out := jsonReport{Version: 1, Tool: jsonTool{"gwc", r.Version}, Files: r.Files, Diagnostics: []jsonDiagnostic{}}
	if out.Files == nil {
		out.Files = []string{}
	}
	for _, d := range r.Diagnostics {
		jd := jsonDiagnostic{File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Col, Severity: d.Severity.String(),
			Rule: d.Code, Message: d.Message, Pointer: d.Pointer, Fingerprint: lint.Fingerprint(d)}
		if d.End.IsValid() {
			jd.EndLine, jd.EndCol = d.End.Line, d.End.Col
		}
		if rule := lint.ByID(d.Code); rule != nil {
			jd.Help = rule.HelpURI()
		}
		for _, rel := range d.Related {
			jd.Related = append(jd.Related, jsonRelated{rel.Pos.File, rel.Pos.Line, rel.Pos.Col, rel.Message})
		}
		out.Diagnostics = append(out.Diagnostics, jd)
	}
	out.Summary.Errors, out.Summary.Warnings, out.Summary.Notes = counts(r.Diagnostics)
	out.Summary.Baselined = r.Baselined
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// GitHub writes GitHub Actions workflow commands, which the Actions runner
// turns into annotations on the pull request's files.
func GitHub(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, d := range r.Diagnostics {
		cmd := "notice"
		switch d.Severity {
		case diag.Error:
			cmd = "error"
		case diag.Warning:
			cmd = "warning"
		}
		b.WriteString("::" + cmd + " ")
		var props []string
		if d.Pos.File != "" {
			props = append(props, "file="+ghProperty(filepath.ToSlash(d.Pos.File)))
		}
		if d.Pos.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", d.Pos.Line))
			if d.End.IsValid() {
				props = append(props, fmt.Sprintf("endLine=%d", d.End.Line))
			}
		}
		// GitHub honours columns only within one line (and refuses them
		// across lines); endColumn is just past the node, as SARIF's is
		// (GitHub does not document which; github/docs#40038 found it
		// exclusive).
		if d.Pos.Col > 0 && (!d.End.IsValid() || d.End.Line == d.Pos.Line) {
			props = append(props, fmt.Sprintf("col=%d", d.Pos.Col))
			if d.End.IsValid() && d.End.Col > d.Pos.Col {
				props = append(props, fmt.Sprintf("endColumn=%d", d.End.Col))
			}
		}
		props = append(props, "title="+ghProperty(d.Code))
		b.WriteString(strings.Join(props, ","))
		b.WriteString("::" + ghData(d.Message) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes JUnit XML: a test suite per spec file with a failed test case
// per finding (its type the severity), and one passing case for a file with
// none, so that CI dashboards count the clean files too.
func JUnit(w io.Writer, r *Report) error {
	byFile := map[string][]diag.Diagnostic{}
	var order []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			order = append(order, f)
		}
	}
	for _, f := range r.Files {
		add(f)
	}
	for _, d := range r.Diagnostics {
		add(d.Pos.File)
		byFile[d.Pos.File] = append(byFile[d.Pos.File], d)
	}
	out := junitSuites{Name: "gwc lint"}
	for _, f := range order {
		s := junitSuite{Name: f}
		for _, d := range byFile[f] {
			s.Cases = append(s.Cases, junitCase{Name: d.Code + " " + place(d.Pos), Classname: f,
				Failure: &junitFailure{Message: d.Message, Type: d.Severity.String(), Text: place(d.Pos) + " " + d.Message}})
			s.Failures++
		}
		if len(s.Cases) == 0 {
			s.Cases = append(s.Cases, junitCase{Name: "gwc lint", Classname: f})
		}
		s.Tests = len(s.Cases)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
