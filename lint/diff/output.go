package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gwcdev/gwc/lint/format"
)

// Formats lists the output formats of Write.
var Formats = []string{"text", "json", "sarif", "github", "markdown"}

// Write writes r in the named format: text, json and markdown are diff's
// own; sarif and github are lint/format's, with each change a finding
// (breaking an error, gateway a warning, info a note).
func Write(w io.Writer, name string, r *Result, version string) error {
	switch name {
	case "text":
		return Text(w, r)
	case "json":
		return JSON(w, r, version)
	case "markdown":
		return Markdown(w, r)
	case "sarif", "github":
		return format.Write(w, name, &format.Report{Files: []string{r.Old, r.New}, Diagnostics: r.Diagnostics(), Version: version}, format.Styler{})
	}
	return fmt.Errorf("unknown format %q (want %s)", name, strings.Join(Formats, ", "))
}

// Summary is "2 breaking (1 acknowledged), 1 gateway, 0 info changes".
func Summary(r *Result) string {
	var parts []string
	for _, l := range []Level{Breaking, Gateway, Info} {
		n, ack := r.Count(l)
		p := fmt.Sprintf("%d %s", n, l)
		if ack > 0 {
			p += fmt.Sprintf(" (%d acknowledged)", ack)
		}
		parts = append(parts, p)
	}
	total := len(r.Changes)
	noun := "changes"
	if total == 1 {
		noun = "change"
	}
	return strings.Join(parts, ", ") + " " + noun + " from " + r.Old + " to " + r.New
}

// Text writes one line a change, FILE:LINE:COL LEVEL KIND MESSAGE, then the
// summary.
func Text(w io.Writer, r *Result) error {
	var b strings.Builder
	for _, c := range r.Changes {
		d := c.Diagnostic()
		place := "-"
		if c.Pos.File != "" || c.Pos.IsValid() {
			place = c.Pos.String()
		}
		level := c.Kind.Level.String()
		if c.Kind.Level == Breaking && c.Acknowledged != "" {
			level = "acknowledged"
		}
		fmt.Fprintf(&b, "%s %s %s %s\n", place, level, c.Kind.ID, d.Message)
	}
	fmt.Fprintln(&b, Summary(r))
	_, err := io.WriteString(w, b.String())
	return err
}

type jsonResult struct {
	Version int          `json:"version"`
	Tool    jsonTool     `json:"tool"`
	Old     string       `json:"old"`
	New     string       `json:"new"`
	Changes []jsonChange `json:"changes"`
	Summary jsonSummary  `json:"summary"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonChange struct {
	Kind         string `json:"kind"`
	Level        string `json:"level"`
	Operation    string `json:"operation,omitempty"`
	Message      string `json:"message"`
	File         string `json:"file"`
	Line         int    `json:"line"`
	Column       int    `json:"column"`
	Acknowledged string `json:"acknowledged,omitempty"`
}

type jsonSummary struct {
	Breaking     int `json:"breaking"`
	Acknowledged int `json:"acknowledged"`
	Gateway      int `json:"gateway"`
	Info         int `json:"info"`
}

// JSON writes r as one JSON document (docs/diff.md).
func JSON(w io.Writer, r *Result, version string) error {
	out := jsonResult{Version: 1, Tool: jsonTool{"gwc", version}, Old: r.Old, New: r.New, Changes: []jsonChange{}}
	for _, c := range r.Changes {
		out.Changes = append(out.Changes, jsonChange{Kind: c.Kind.ID, Level: c.Kind.Level.String(), Operation: c.Operation,
			Message: c.Message, File: c.Pos.File, Line: c.Pos.Line, Column: c.Pos.Col, Acknowledged: c.Acknowledged})
	}
	out.Summary.Breaking, out.Summary.Acknowledged = r.Count(Breaking)
	out.Summary.Gateway, _ = r.Count(Gateway)
	out.Summary.Info, _ = r.Count(Info)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// Markdown writes a summary fit for a pull-request comment: a headline, then
// a table a level, breaking first; info changes folded away.
func Markdown(w io.Writer, r *Result) error {
	var b strings.Builder
	n, ack := r.Count(Breaking)
	switch {
	case n-ack > 0:
		fmt.Fprintf(&b, "### :x: gwc diff: %s\n\n", plural(n-ack, "breaking change"))
	case len(r.Changes) == 0:
		b.WriteString("### :white_check_mark: gwc diff: no changes to the API\n\n")
	default:
		b.WriteString("### :white_check_mark: gwc diff: no unacknowledged breaking change\n\n")
	}
	fmt.Fprintf(&b, "%s.\n", mdEscape(Summary(r)))
	sections := []struct {
		level Level
		title string
		fold  bool
	}{
		{Breaking, "Breaking changes", false},
		{Gateway, "Gateway changes", false},
		{Info, "Other changes", true},
	}
	for _, s := range sections {
		var rows []Change
		for _, c := range r.Changes {
			if c.Kind.Level == s.level {
				rows = append(rows, c)
			}
		}
		if len(rows) == 0 {
			continue
		}
		if s.fold {
			fmt.Fprintf(&b, "\n<details><summary>%s (%d)</summary>\n\n", s.title, len(rows))
		} else {
			fmt.Fprintf(&b, "\n#### %s (%d)\n\n", s.title, len(rows))
		}
		b.WriteString("| | change | operation | where |\n| --- | --- | --- | --- |\n")
		for _, c := range rows {
			mark := ":warning:"
			switch {
			case c.Kind.Level == Breaking && c.Acknowledged == "":
				mark = ":x:"
			case c.Kind.Level == Breaking:
				mark = ":ok:"
			case c.Kind.Level == Info:
				mark = ":information_source:"
			}
			msg := mdEscape(c.Message)
			if c.Acknowledged != "" {
				msg += " _(acknowledged by " + mdEscape(c.Acknowledged) + ")_"
			}
			op := "—"
			if c.Operation != "" {
				op = "`" + strings.ReplaceAll(c.Operation, "`", "'") + "`"
			}
			fmt.Fprintf(&b, "| %s | %s<br>`%s` | %s | %s |\n", mark, msg, c.Kind.ID, op, mdEscape(c.Pos.String()))
		}
		if s.fold {
			b.WriteString("\n</details>\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps text inside a table cell: pipes and newlines would break
// the row, and HTML in a spec's names must not render.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
