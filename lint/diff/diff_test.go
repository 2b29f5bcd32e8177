package diff

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// want is one expected change: `# want KIND FILE:LINE:COL "REGEXP"` in a
// case's comment, FILE being old.yaml or new.yaml.
type want struct {
	kind, at string
	re       *regexp.Regexp
	line     int
}

func parseWants(t *testing.T, comment []byte) []want {
	t.Helper()
	var ws []want
	sc := bufio.NewScanner(strings.NewReader(string(comment)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "# want ")
		if !ok {
			continue
		}
		f := strings.SplitN(rest, " ", 3)
		if len(f) != 3 {
			t.Fatalf("line %d: want KIND FILE:LINE:COL \"REGEXP\"", n)
		}
		pat, ok := strings.CutPrefix(f[2], `"`)
		if pat, ok = strings.CutSuffix(pat, `"`); !ok {
			t.Fatalf("line %d: the regexp must be in double quotes (no escapes)", n)
		}
		ws = append(ws, want{kind: f[0], at: f[1], re: regexp.MustCompile(pat), line: n})
	}
	return ws
}

// loadCase writes a case's files to a temporary directory and loads OLD
// and NEW (old.yaml/new.yaml, or old.gwb/new.gwb when built by the test).
func loadCase(t *testing.T, name string) (*Side, *Side, *txtar.Archive) {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range ar.Files {
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	load := func(file string) *Side {
		s, err := Load(context.Background(), Source{Path: filepath.Join(dir, file)})
		if err != nil {
			if ie, ok := err.(*InputError); ok {
				t.Fatalf("%s: %v\n%v", file, err, ie.Diagnostics)
			}
			t.Fatalf("%s: %v", file, err)
		}
		return s
	}
	return load("old.yaml"), load("new.yaml"), ar
}

// TestCases runs testdata/*.txtar: every change Compare reports must be
// wanted, at its place, and every want reported.
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".txtar"), func(t *testing.T) {
			old, new, ar := loadCase(t, name)
			wants := parseWants(t, ar.Comment)
			if len(wants) == 0 && !strings.HasPrefix(name, "none") {
				t.Fatal("case has no # want lines")
			}
			r := Compare(old, new, Options{})
			matched := make([]bool, len(wants))
		changes:
			for _, c := range r.Changes {
				at := filepath.Base(c.Pos.File) + ":" + strconv.Itoa(c.Pos.Line) + ":" + strconv.Itoa(c.Pos.Col)
				text := c.Diagnostic().Message
				for i, w := range wants {
					if !matched[i] && w.kind == c.Kind.ID && w.at == at && w.re.MatchString(text) {
						matched[i] = true
						continue changes
					}
				}
				t.Errorf("unexpected change: %s %s %s", at, c.Kind.ID, text)
			}
			for i, w := range wants {
				if !matched[i] {
					t.Errorf("comment line %d: no change %s at %s matching %q", w.line, w.kind, w.at, w.re)
				}
			}
		})
	}
}

// TestEveryKindHasACase keeps the cases complete: each kind is wanted by
// some case in testdata.
func TestEveryKindHasACase(t *testing.T) {
	all := readGlob(t, "testdata/*.txtar")
	for _, k := range Kinds {
		if !strings.Contains(all, "# want "+k.ID+" ") {
			t.Errorf("no case wants %s", k.ID)
		}
	}
}

// TestDocsListEveryKind keeps docs/diff.md's table in step with Kinds: each
// kind is a row with its level, and the page names no kind that is not one.
func TestDocsListEveryKind(t *testing.T) {
	data, err := os.ReadFile("../../docs/diff.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, k := range Kinds {
		if !strings.Contains(doc, "| `"+k.ID+"` | "+k.Level.String()+" |") {
			t.Errorf("docs/diff.md has no row for %s (%s)", k.ID, k.Level)
		}
	}
	for _, id := range regexp.MustCompile("`(diff/[a-z-]+)`").FindAllStringSubmatch(doc, -1) {
		if _, ok := KindByID(id[1]); !ok {
			t.Errorf("docs/diff.md names %s, which is not a kind", id[1])
		}
	}
}

// TestEveryKindHasAScript keeps the CLI's script tests complete: each kind
// shows in the output some cmd/gwc/testdata/script/diff*.txtar checks.
func TestEveryKindHasAScript(t *testing.T) {
	all := readGlob(t, "../../cmd/gwc/testdata/script/diff*.txtar")
	for _, k := range Kinds {
		if !strings.Contains(all, " "+k.ID+" ") {
			t.Errorf("no diff script shows %s", k.ID)
		}
	}
}

// readGlob is the files pattern matches, one after another; a pattern that
// matches nothing fails the test (the checks above would pass on nothing).
func readGlob(t *testing.T, pattern string) string {
	t.Helper()
	files, _ := filepath.Glob(pattern)
	if len(files) == 0 {
		t.Fatalf("no file matches %s", pattern)
	}
	var all strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
	}
	return all.String()
}
