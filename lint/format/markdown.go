package format

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/lint"
)

// Markdown limits: a GitHub job summary holds 1 MiB, a pull-request comment
// 65,536 characters. The table stops after markdownMaxRows findings, saying
// how many it left out, and a message is cut after markdownMaxMessage
// characters; the other formats carry every finding whole.
const (
	markdownMaxRows    = 500
	markdownMaxMessage = 500
)

// Markdown writes a summary fit for a pull-request comment or a GitHub job
// summary: a heading, the counts, and a table of the findings (severity,
// FILE:LINE:COL, rule, message, related places). Every text from a spec is
// escaped so that no message, file name or rule id can end a cell, a row or
// the table, open a code span, a link or an HTML tag.
func Markdown(w io.Writer, r *Report) error {
	var b strings.Builder
	e, wn, _ := counts(r.Diagnostics)
	b.WriteString("### gwc lint\n\n")
	switch {
	case len(r.Diagnostics) == 0:
		fmt.Fprintf(&b, "✅ No findings in %s.\n", plural(len(r.Files), "file"))
		_, err := io.WriteString(w, b.String())
		return err
	case e > 0:
		b.WriteString("❌ ")
	case wn > 0:
		b.WriteString("⚠️ ")
	default:
		b.WriteString("ℹ️ ")
	}
	fmt.Fprintf(&b, "**%s**\n\n", Summary(r))
	b.WriteString("| Severity | Where | Rule | Message |\n| --- | --- | --- | --- |\n")
	for i, d := range r.Diagnostics {
		if i == markdownMaxRows {
			fmt.Fprintf(&b, "\n%d more findings are not shown; the other formats (text, json, sarif) list them all.\n",
				len(r.Diagnostics)-i)
			break
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdSeverity(d.Severity), mdEscape(place(d.Pos)), mdRule(d.Code),
			mdMessage(d))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdSeverity(s diag.Severity) string {
	switch s {
	case diag.Error:
		return "❌ error"
	case diag.Warning:
		return "⚠️ warning"
	}
	return "ℹ️ " + s.String()
}

// mdRule is the rule id, a link to its documentation for gwc's own rules.
func mdRule(id string) string {
	if rule := lint.ByID(id); rule != nil {
		return "[" + mdEscape(id) + "](" + rule.HelpURI() + ")"
	}
	return mdEscape(id)
}

// mdMessage is the message, cut to markdownMaxMessage characters, with the
// related places on lines of their own within the cell.
func mdMessage(d diag.Diagnostic) string {
	s := mdEscape(truncate(d.Message, markdownMaxMessage))
	for _, rel := range d.Related {
		s += "<br>↳ " + mdEscape(place(rel.Pos)) + " " + mdEscape(truncate(rel.Message, markdownMaxMessage))
	}
	return s
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// mdEscape makes s plain text inside a GitHub-flavoured markdown table cell:
// HTML's &, < and > become entities; every other ASCII punctuation character
// that means something inside a cell (| ends it, ` opens a code span, [ a
// link or, after !, an image, * _ and ~ emphasis, $ math, \ an escape) gets
// a backslash; a line break becomes <br>,
// and other control and format characters (which could reorder or hide
// text) a space.
func mdEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteString("<br>")
		case r == '\n', r == '\u2028', r == '\u2029':
			b.WriteString("<br>")
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			b.WriteByte(' ')
		case r < utf8.RuneSelf && strings.ContainsRune("\\`*_[]|~$", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
