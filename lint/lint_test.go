package lint

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wantRE finds the expectations of a case file: `# want "REGEXP"` at the end
// of a line (several on one line are several findings), the analysistest
// convention in YAML comments.
//
// A want may give the finding's column, and the end of its range, before
// its messages: `# want :7 "..."` (column 7 of that line), `# want
// :7-9:12 "..."` (from column 7 to line 9, column 12, just past the node).
var wantRE = regexp.MustCompile(`#\s*want(?:\s+:(\d+)(?:-(\d+):(\d+))?)?((?:\s+"(?:[^"\\]|\\.)*")+)\s*$`)

var quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// TestRules runs every rule's cases, testdata/RULE-ID/*.yaml: each finding
// of that rule must be on a line whose `# want "..."` matches its message,
// and every want must be matched. Findings of other rules are not this case's
// business. Every rule must have cases.
func TestRules(t *testing.T) {
	for _, r := range All() {
		t.Run(r.ID, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join("testdata", r.ID, "*.yaml"))
			if len(files) == 0 {
				t.Fatalf("rule %s has no cases in testdata/%s/", r.ID, r.ID)
			}
			for _, f := range files {
				if strings.Contains(filepath.Base(f), ".ref.") {
					continue // a file cases refer to, not a case
				}
				var opts Options
				if r.ID == CodePolicies {
					opts.Policies = builtinPolicies(t)
				}
				runCase(t, r.ID, f, opts, false)
			}
		})
	}
}

// runCase runs one case file for rule id. needCol requires every want to
// give the column.
func runCase(t *testing.T, id string, file string, opts Options, needCol bool) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		file            string
		line, col       int
		endLine, endCol int
		re              *regexp.Regexp
		hit             bool
	}
	var wants []*want
	files := map[string][]byte{file: data}
	refs, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "*.ref.yaml"))
	for _, ref := range refs {
		files[ref], _ = os.ReadFile(ref)
	}
	for name, content := range files {
		if name != file && !bytes.Contains(data, []byte(filepath.Base(name))) {
			continue
		}
		for i, line := range strings.Split(string(content), "\n") {
			m := wantRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			col, _ := strconv.Atoi(m[1])
			endLine, _ := strconv.Atoi(m[2])
			endCol, _ := strconv.Atoi(m[3])
			if needCol && col == 0 {
				t.Fatalf("%s:%d: a want here gives the column: # want :COL \"...\"", name, i+1)
			}
			for _, q := range quotedRE.FindAllString(m[4], -1) {
				s, err := strconv.Unquote(q)
				if err != nil {
					t.Fatalf("%s:%d: bad want %s: %v", name, i+1, q, err)
				}
				wants = append(wants, &want{file: filepath.Base(name), line: i + 1, col: col, endLine: endLine, endCol: endCol, re: regexp.MustCompile(s)})
			}
		}
	}
	opts.NoConfig = true
	ds, err := Run(context.Background(), file, opts)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, d := range ds {
		if d.Code != id {
			continue
		}
		i := slices.IndexFunc(wants, func(w *want) bool {
			return !w.hit && w.file == filepath.Base(d.Pos.File) && w.line == d.Pos.Line && w.re.MatchString(d.Message) &&
				(w.col == 0 || w.col == d.Pos.Col) &&
				(w.endLine == 0 || w.endLine == d.End.Line && w.endCol == d.End.Col)
		})
		if i < 0 {
			t.Errorf("%s: unexpected finding: %s (ends at %d:%d)", file, d, d.End.Line, d.End.Col)
			continue
		}
		wants[i].hit = true
	}
	for _, w := range wants {
		if !w.hit {
			t.Errorf("%s:%d:%d: no %s finding matching %q", w.file, w.line, w.col, id, w.re)
		}
	}
}

// TestRulesMetadata checks what docs/rules.md and SARIF rely on.
func TestRulesMetadata(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		if !regexp.MustCompile(`^gwc-[a-z0-9]+(-[a-z0-9]+)*$`).MatchString(r.ID) {
			t.Errorf("%s: ids are gwc- and kebab-case", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("%s: registered twice", r.ID)
		}
		seen[r.ID] = true
		if r.Title == "" || len(r.Title) > 60 || strings.ToLower(r.Title[:1]) != r.Title[:1] || strings.HasSuffix(r.Title, ".") {
			t.Errorf("%s: title %q: lower-case, at most 60 characters, no final period", r.ID, r.Title)
		}
		if r.Description == "" || r.Category == "" {
			t.Errorf("%s: description and category are required", r.ID)
		}
	}
}

// TestRulesDoc keeps docs/rules.md what the rules' metadata generates.
func TestRulesDoc(t *testing.T) {
	rules, err := Builtin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Markdown(&b, rules); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "docs", "rules.md")
	if os.Getenv("UPDATE_DOCS") != "" {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Errorf("docs/rules.md is out of date: run UPDATE_DOCS=1 go test ./lint -run TestRulesDoc")
	}
}

func ExampleMarkdown() {
	var b bytes.Buffer
	Markdown(&b, All())
	fmt.Println(strings.SplitN(b.String(), "\n", 2)[0])
	// Output: # gwc lint rules
}
