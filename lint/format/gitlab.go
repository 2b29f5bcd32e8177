package format

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/lint"
)

// GitLab's code quality report (docs/ci.md): a JSON array of issues, each
// with a description, the check's name, a fingerprint, a severity (info,
// minor, major, critical or blocker) and a location (a path relative to the
// repository and the lines). GitLab shows them in the merge request's widget
// and diff, and tells new findings from fixed ones by their fingerprints.

type gitlabIssue struct {
	Description string         `json:"description"`
	CheckName   string         `json:"check_name"`
	Fingerprint string         `json:"fingerprint"`
	Severity    string         `json:"severity"`
	Location    gitlabLocation `json:"location"`
}

type gitlabLocation struct {
	Path  string      `json:"path"`
	Lines gitlabLines `json:"lines"`
}

type gitlabLines struct {
	Begin int `json:"begin"`
	End   int `json:"end"`
}

// gitlabSeverity maps a severity to GitLab's scale the way ESLint's and
// Stylelint's GitLab formatters do: an error is major, a warning minor, the
// rest info. critical and blocker are left for what a team escalates itself.
func gitlabSeverity(s diag.Severity) string {
	switch s {
	case diag.Error:
		return "major"
	case diag.Warning:
		return "minor"
	}
	return "info"
}

// gitlabFingerprint identifies a finding across runs: lint.Fingerprint,
// what --baseline matches by, which survives lines moved by an edit above
// the finding.
func gitlabFingerprint(d diag.Diagnostic) string { return lint.Fingerprint(d) }

// gitlabPath is a file as GitLab wants it: relative, with forward slashes.
func gitlabPath(file string) string {
	if file == "" {
		return ""
	}
	p := path.Clean(filepath.ToSlash(file))
	return strings.TrimPrefix(p, "./")
}

// GitLab writes the findings as a GitLab code quality report. GitLab keeps
// one issue a fingerprint, so findings that would share one (the same rule
// and message at the same node) get the occurrence's number hashed in too:
// none is dropped.
func GitLab(w io.Writer, r *Report) error {
	out := []gitlabIssue{}
	seen := map[string]int{}
	for _, d := range r.Diagnostics {
		fp := gitlabFingerprint(d)
		if n := seen[fp]; n > 0 {
			seen[fp] = n + 1
			sum := sha256.Sum256([]byte(fp + "\x00" + strconv.Itoa(n)))
			fp = hex.EncodeToString(sum[:16]) // as long as lint.Fingerprint
		} else {
			seen[fp] = 1
		}
		line := max(d.Pos.Line, 1) // a finding about a whole file is at its first line
		out = append(out, gitlabIssue{
			Description: d.Message,
			CheckName:   d.Code,
			Fingerprint: fp,
			Severity:    gitlabSeverity(d.Severity),
			Location:    gitlabLocation{Path: gitlabPath(d.Pos.File), Lines: gitlabLines{Begin: line, End: line}},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
