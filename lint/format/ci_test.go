package format

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/lint"
)

// hostile is a report whose messages, files and rule ids try to break every
// format: markdown table syntax, HTML, line breaks, control characters,
// right-to-left overrides, invalid UTF-8, and two findings that differ only
// in their line (one fingerprint, were it not for the occurrence number).
func hostile() *Report {
	ds := diag.Diagnostics{
		{Severity: diag.Error, Code: "gwc-route-conflict", Message: "a | b `code` <script>alert(1)</script>\nnext | row\r\n| --- |",
			Pos: diag.Pos{File: "specs/my api/a#b.yaml", Line: 3, Col: 5}, Pointer: "/paths/~1a",
			Related: []diag.Related{{Pos: diag.Pos{File: "specs/my api/a#b.yaml", Line: 1, Col: 1}, Message: "<img src=x onerror=alert(1)> [x](javascript:alert(1))"}}},
		{Severity: diag.Warning, Code: "policy/team/x|y", Message: "![img](http://x) **bold** _em_ ~~del~~ $x$ \\ \u202egnp.exe\x00\x1b[31m",
			Pos: diag.Pos{File: "./api.yaml", Line: 7, Col: 1}},
		{Severity: diag.Warning, Code: "policy/team/x|y", Message: "![img](http://x) **bold** _em_ ~~del~~ $x$ \\ \u202egnp.exe\x00\x1b[31m",
			Pos: diag.Pos{File: "./api.yaml", Line: 9, Col: 1}},
		{Severity: diag.Info, Code: "gwc-io", Message: "bad \xff\xfe bytes", Pos: diag.Pos{File: "gone.yaml"}},
		{Severity: diag.Hint, Code: "gwc-operation-id", Message: "ends with a backslash \\", Pos: diag.Pos{File: "api.yaml", Line: 2, Col: 1}},
	}
	return &Report{Files: []string{"specs/my api/a#b.yaml", "./api.yaml", "gone.yaml"}, Diagnostics: ds, Rules: lint.All(), Version: "test"}
}

// reports are what the schema and structure tests check each format with:
// the golden spec's real findings, the hostile ones, and none.
func reports(t *testing.T) map[string]*Report {
	return map[string]*Report{"golden": report(t), "hostile": hostile(), "empty": {Files: []string{"a.yaml"}, Rules: lint.All()}}
}

func render(t *testing.T, name string, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, name, r, Styler{}); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.Bytes()
}

// schemaFile is a published schema that scripts/fetch-schemas.sh put in the
// cache; without it the test skips, or fails when GWC_REQUIRE_SCHEMAS=1 (set
// by scripts/test.sh once the fetch succeeded).
func schemaFile(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("GWC_SCHEMA_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Skipf("no cache directory (%v) to find the schema %s in", err, name)
		}
		dir = filepath.Join(cache, "gwc", "schemas")
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("GWC_REQUIRE_SCHEMAS") == "1" {
			t.Fatalf("GWC_REQUIRE_SCHEMAS=1 but the schema %s is missing: %v", path, err)
		}
		t.Skipf("the schema %s is not in the cache: run scripts/fetch-schemas.sh (the output was not validated)", path)
	}
	return path
}

// TestSARIFMatchesPublishedSchema validates the SARIF of real, hostile and
// empty reports against the SARIF 2.1.0 schema from Microsoft's SARIF SDK,
// and checks that the schema rejects a log without runs (so that it is not
// a schema that accepts anything).
func TestSARIFMatchesPublishedSchema(t *testing.T) {
	s, err := jsonschema.NewCompiler().Compile(schemaFile(t, "sarif-2.1.0.json"))
	if err != nil {
		t.Fatalf("compiling the SARIF schema: %v", err)
	}
	for name, r := range reports(t) {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(render(t, "sarif", r)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(doc); err != nil {
			t.Errorf("%s: the SARIF is not valid SARIF 2.1.0: %v", name, err)
		}
	}
	if err := s.Validate(map[string]any{"version": "2.1.0"}); err == nil {
		t.Error("the schema accepted a log without runs")
	}
}

// TestGitLabStructure checks the GitLab code quality report against what
// GitLab documents (it publishes no schema in a registry this project
// reaches, see docs/ci.md): an array of issues with exactly description,
// check_name, fingerprint, severity and location {path, lines {begin, end}};
// severity one of GitLab's five; fingerprints unique; paths relative.
func TestGitLabStructure(t *testing.T) {
	severities := map[string]bool{"info": true, "minor": true, "major": true, "critical": true, "blocker": true}
	hexRe := regexp.MustCompile(`^[0-9a-f]{32}$`) // lint.Fingerprint: 128 bits
	for name, r := range reports(t) {
		out := render(t, "gitlab", r)
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.DisallowUnknownFields()
		var issues []struct {
			Description *string `json:"description"`
			CheckName   *string `json:"check_name"`
			Fingerprint *string `json:"fingerprint"`
			Severity    *string `json:"severity"`
			Location    *struct {
				Path  *string `json:"path"`
				Lines *struct {
					Begin *int `json:"begin"`
					End   *int `json:"end"`
				} `json:"lines"`
			} `json:"location"`
		}
		if err := dec.Decode(&issues); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		if issues == nil {
			t.Fatalf("%s: the report is not a JSON array: %s", name, out)
		}
		if len(issues) != len(r.Diagnostics) {
			t.Errorf("%s: %d issues for %d findings", name, len(issues), len(r.Diagnostics))
		}
		seen := map[string]bool{}
		for i, is := range issues {
			if is.Description == nil || is.CheckName == nil || is.Fingerprint == nil || is.Severity == nil ||
				is.Location == nil || is.Location.Path == nil || is.Location.Lines == nil ||
				is.Location.Lines.Begin == nil || is.Location.Lines.End == nil {
				t.Fatalf("%s: issue %d lacks a field: %s", name, i, out)
			}
			d := r.Diagnostics[i]
			if *is.Description != viaJSON(d.Message) || *is.CheckName != d.Code {
				t.Errorf("%s: issue %d: description %q, check_name %q", name, i, *is.Description, *is.CheckName)
			}
			if !severities[*is.Severity] {
				t.Errorf("%s: issue %d: severity %q", name, i, *is.Severity)
			}
			if !hexRe.MatchString(*is.Fingerprint) || seen[*is.Fingerprint] {
				t.Errorf("%s: issue %d: fingerprint %q is not a fresh sha256", name, i, *is.Fingerprint)
			}
			seen[*is.Fingerprint] = true
			if p := *is.Location.Path; strings.HasPrefix(p, "./") || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) {
				t.Errorf("%s: issue %d: path %q", name, i, p)
			}
			if b, e := *is.Location.Lines.Begin, *is.Location.Lines.End; b < 1 || e < b {
				t.Errorf("%s: issue %d: lines %d-%d", name, i, b, e)
			}
		}
	}
}

// viaJSON is s as encoding/json writes it: invalid UTF-8 as U+FFFD.
func viaJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out) //nolint:errcheck
	return out
}

// TestGitLabFingerprintIgnoresLines: a finding moved by an edit above it
// keeps its fingerprint; another message or node changes it.
func TestGitLabFingerprintIgnoresLines(t *testing.T) {
	d := diag.Diagnostic{Code: "gwc-operation-id", Message: "GET /a has no operationId", Pos: diag.Pos{File: "api.yaml", Line: 3, Col: 5}, Pointer: "/paths/~1a/get"}
	moved := d
	moved.Pos.Line, moved.Pos.File = 40, "./api.yaml"
	if gitlabFingerprint(d) != gitlabFingerprint(moved) {
		t.Error("moving a finding changed its fingerprint")
	}
	other := d
	other.Pointer = "/paths/~1b/get"
	if gitlabFingerprint(d) == gitlabFingerprint(other) {
		t.Error("two nodes have one fingerprint")
	}
}

// TestJUnitStructure checks the JUnit XML against the structure Jenkins'
// and Ant's XSDs require (no XSD is in a registry this project reaches, see
// docs/ci.md): well-formed XML whose root is testsuites, suites and cases
// named, and the tests and failures counts matching the cases.
func TestJUnitStructure(t *testing.T) {
	for name, r := range reports(t) {
		out := render(t, "junit", r)
		dec := xml.NewDecoder(bytes.NewReader(out))
		for {
			if _, err := dec.Token(); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: not well-formed XML: %v\n%s", name, err, out)
			}
		}
		var doc struct {
			XMLName  xml.Name `xml:"testsuites"`
			Tests    *int     `xml:"tests,attr"`
			Failures *int     `xml:"failures,attr"`
			Suites   []struct {
				Name     *string `xml:"name,attr"`
				Tests    *int    `xml:"tests,attr"`
				Failures *int    `xml:"failures,attr"`
				Cases    []struct {
					Name      *string `xml:"name,attr"`
					Classname *string `xml:"classname,attr"`
					Failure   *struct {
						Message *string `xml:"message,attr"`
						Type    *string `xml:"type,attr"`
					} `xml:"failure"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc.Tests == nil || doc.Failures == nil {
			t.Fatalf("%s: testsuites lacks tests or failures", name)
		}
		tests, failures := 0, 0
		for _, s := range doc.Suites {
			if s.Name == nil || s.Tests == nil || s.Failures == nil || *s.Tests != len(s.Cases) {
				t.Errorf("%s: suite %v: name, tests or failures wrong", name, s.Name)
				continue
			}
			f := 0
			for _, c := range s.Cases {
				if c.Name == nil || c.Classname == nil {
					t.Errorf("%s: a case of %s has no name or classname", name, *s.Name)
				}
				if c.Failure != nil {
					f++
					if c.Failure.Message == nil || c.Failure.Type == nil {
						t.Errorf("%s: a failure of %s has no message or type", name, *s.Name)
					}
				}
			}
			if f != *s.Failures {
				t.Errorf("%s: suite %s says %d failures, has %d", name, *s.Name, *s.Failures, f)
			}
			tests += len(s.Cases)
			failures += f
		}
		if tests != *doc.Tests || failures != *doc.Failures || failures != len(r.Diagnostics) {
			t.Errorf("%s: testsuites says %d tests, %d failures; has %d, %d for %d findings", name, *doc.Tests,
				*doc.Failures, tests, failures, len(r.Diagnostics))
		}
	}
}

// TestMarkdownTable renders the markdown with GitHub-flavoured markdown
// (goldmark's GFM tables, HTML allowed as GitHub allows it) and checks that
// each finding is one row of four cells whose text is the finding's, and
// that no message made an element of its own: no script, image, link (other
// than the rule's documentation), emphasis or code.
func TestMarkdownTable(t *testing.T) {
	r := hostile()
	md := render(t, "markdown", r)
	var out bytes.Buffer
	gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := gm.Convert(md, &out); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&out)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]*html.Node
	var walk func(n *html.Node, inTBody bool)
	walk = func(n *html.Node, inTBody bool) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "img", "em", "strong", "del", "code", "pre":
				if !inTBody {
					break // the heading's counts are bold
				}
				t.Errorf("the markdown made a <%s> element:\n%s\n%s", n.Data, md, out.String())
			case "a":
				for _, a := range n.Attr {
					if a.Key == "href" && !strings.HasPrefix(a.Val, lint.DocsBase) {
						t.Errorf("the markdown made a link to %q", a.Val)
					}
				}
			case "tbody":
				inTBody = true
			case "tr":
				if inTBody {
					var cells []*html.Node
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						if c.Type == html.ElementNode && c.Data == "td" {
							cells = append(cells, c)
						}
					}
					rows = append(rows, cells)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inTBody)
		}
	}
	walk(doc, false)
	if len(rows) != len(r.Diagnostics) {
		t.Fatalf("%d rows for %d findings:\n%s", len(rows), len(r.Diagnostics), md)
	}
	for i, cells := range rows {
		if len(cells) != 4 {
			t.Errorf("row %d has %d cells:\n%s", i, len(cells), md)
			continue
		}
		d := r.Diagnostics[i]
		if got, want := text(cells[1]), place(d.Pos); got != want {
			t.Errorf("row %d: where %q, want %q", i, got, want)
		}
		if got := text(cells[2]); got != d.Code {
			t.Errorf("row %d: rule %q, want %q", i, got, d.Code)
		}
		// The message's text survives, its line breaks as <br>, control
		// characters as spaces.
		want := strings.Map(func(c rune) rune {
			if c == '\n' || c == '\r' || c < 0x20 || c == 0x7f || c == '\u202e' {
				return -1
			}
			return c
		}, strings.ToValidUTF8(d.Message, "\uFFFD"))
		got := strings.NewReplacer(" ", "", "\uFFFD\uFFFD", "\uFFFD").Replace(text(cells[3]))
		want = strings.NewReplacer(" ", "", "\uFFFD\uFFFD", "\uFFFD").Replace(want)
		if !strings.HasPrefix(got, want) {
			t.Errorf("row %d: message\n%q, want it to start with\n%q", i, got, want)
		}
	}
}

// text is the text of n and its descendants.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func TestMarkdownSummary(t *testing.T) {
	r := report(t)
	md := string(render(t, "markdown", r))
	if !strings.HasPrefix(md, "### gwc lint\n\n❌ **"+Summary(r)+"**\n\n| Severity | Where | Rule | Message |\n") {
		t.Errorf("heading and counts:\n%s", md)
	}
	clean := string(render(t, "markdown", &Report{Files: []string{"a.yaml", "b.yaml"}}))
	if clean != "### gwc lint\n\n✅ No findings in 2 files.\n" {
		t.Errorf("no findings: %q", clean)
	}
	many := &Report{Files: []string{"a.yaml"}}
	for i := range markdownMaxRows + 3 {
		many.Diagnostics.Warnf(diag.Pos{File: "a.yaml", Line: i + 1, Col: 1}, "gwc-operation-id", "%s", strings.Repeat("x", markdownMaxMessage+10))
	}
	md = string(render(t, "markdown", many))
	if got := strings.Count(md, "\n| ⚠️ warning |"); got != markdownMaxRows {
		t.Errorf("%d rows, want %d", got, markdownMaxRows)
	}
	if !strings.Contains(md, "\n3 more findings are not shown;") || !strings.Contains(md, strings.Repeat("x", markdownMaxMessage)+"… |") {
		t.Errorf("the cut is not said:\n%s", md[len(md)-300:])
	}
}
