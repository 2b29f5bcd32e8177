package lint

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// lintText lints one spec held in memory, named api.yaml, with the default
// rules and no configuration.
func lintText(t *testing.T, text string) diag.Diagnostics {
	t.Helper()
	read := func(p string) ([]byte, error) {
		if p == "api.yaml" {
			return []byte(text), nil
		}
		return nil, fs.ErrNotExist
	}
	ds, err := Run(context.Background(), "api.yaml", Options{NoConfig: true, ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// only returns the findings of rule; the test fails unless there is one.
func only(t *testing.T, ds diag.Diagnostics, rule string) diag.Diagnostic {
	t.Helper()
	var out []diag.Diagnostic
	for _, d := range ds {
		if d.Code == rule {
			out = append(out, d)
		}
	}
	if len(out) != 1 {
		t.Fatalf("want one %s finding, got %d in %v", rule, len(out), ds)
	}
	return out[0]
}

const nullableSpec = `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a:
    post:
      operationId: a
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                s: {type: string, nullable: true}
      responses: {"200": {description: ok}}
`

func TestFingerprintSurvivesMovedLines(t *testing.T) {
	before := only(t, lintText(t, nullableSpec), "gwc-schema")
	moved := strings.Replace(nullableSpec, "paths:\n", "tags:\n  - name: one\n  - name: two\nservers: [{url: \"https://api.example.com\"}]\npaths:\n", 1)
	after := only(t, lintText(t, moved), "gwc-schema")
	if before.Pos.Line == after.Pos.Line {
		t.Fatalf("the finding did not move (line %d): the test proves nothing", before.Pos.Line)
	}
	if want := "/paths/~1a/post/requestBody/content/application~1json/schema/properties/s/nullable"; before.Pointer != want {
		t.Errorf("pointer = %q, want %q", before.Pointer, want)
	}
	if Fingerprint(before) != Fingerprint(after) {
		t.Errorf("moving the finding from line %d to %d changed its fingerprint", before.Pos.Line, after.Pos.Line)
	}
}

func TestFingerprintChangesWithRenamedProperty(t *testing.T) {
	before := only(t, lintText(t, nullableSpec), "gwc-schema")
	renamed := only(t, lintText(t, strings.Replace(nullableSpec, "s: {type", "t: {type", 1)), "gwc-schema")
	if before.Message != renamed.Message || before.Pos != renamed.Pos {
		t.Fatalf("only the pointer should differ: %v / %v", before, renamed)
	}
	if Fingerprint(before) == Fingerprint(renamed) {
		t.Errorf("renaming the property kept the fingerprint %s", Fingerprint(before))
	}
}

func TestFingerprintParts(t *testing.T) {
	d := diag.Diagnostic{Code: "gwc-syntax", Message: `duplicate key "a" (first at line 3)`, Pos: diag.Pos{File: "specs/api.yaml", Line: 9, Col: 3}, Pointer: "/a"}
	fp := Fingerprint(d)
	same := func(what string, e diag.Diagnostic) {
		t.Helper()
		if Fingerprint(e) != fp {
			t.Errorf("%s changed the fingerprint", what)
		}
	}
	differ := func(what string, e diag.Diagnostic) {
		t.Helper()
		if Fingerprint(e) == fp {
			t.Errorf("%s kept the fingerprint", what)
		}
	}
	e := d
	e.Pos = diag.Pos{File: "specs/api.yaml", Line: 40, Col: 7}
	e.Message = `duplicate key "a" (first at line 34)`
	same("moving the finding and the line it names", e)
	e = d
	e.Pos.File = "./specs//api.yaml"
	same("an uncleaned path", e)
	e = d
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	e.Pos.File = filepath.Join(wd, "specs", "api.yaml")
	same("an absolute path under the working directory", e)
	e = d
	e.Severity = diag.Warning
	same("the severity", e)
	e = d
	e.Message = `duplicate key "b" (first at line 3)`
	differ("another message", e)
	e = d
	e.Code = "gwc-schema"
	differ("another rule", e)
	e = d
	e.Pos.File = "specs/other.yaml"
	differ("another file", e)
	e = d
	e.Pointer = "/b"
	differ("another pointer", e)
}

func TestNormalizeMessage(t *testing.T) {
	for in, want := range map[string]string{
		`duplicate key "a" (first at line 12)`:           `duplicate key "a" (first at line #)`,
		"flow collection {; at line 3: did not find ','": "flow collection {; at line #: did not find ','",
		"declared at api.yaml:12:5 and paths.yaml:3":     "declared at api.yaml:# and paths.yaml:#",
		"lines 3 and 14 clash":                           "lines # and # clash",
		"GET /v1/users/{id} has no operationId":          "GET /v1/users/{id} has no operationId",
		"response 200 of GET /a has no description":      "response 200 of GET /a has no description",
	} {
		if got := NormalizeMessage(in); got != want {
			t.Errorf("NormalizeMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPointerAtKey checks the pointer Run gives a finding reported at a
// member's key: the member's, not its parent's, even where a block mapping
// starts at its first key.
func TestPointerAtKey(t *testing.T) {
	ds := lintText(t, `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a:
    get:
      responses: {"200": {description: ok}}
`)
	d := only(t, ds, "gwc-operation-id")
	if d.Pos.Line != 5 || d.Pointer != "/paths/~1a/get" {
		t.Errorf("finding at %v, pointer %q; want line 5, /paths/~1a/get", d.Pos, d.Pointer)
	}
}

func TestBaselineMatchesByCount(t *testing.T) {
	d := func(line int) diag.Diagnostic {
		return diag.Diagnostic{Code: "gwc-operation-id", Message: "GET /a has no operationId", Pos: diag.Pos{File: "api.yaml", Line: line}, Pointer: "/paths/~1a/get"}
	}
	other := diag.Diagnostic{Code: "gwc-operation-id", Message: "GET /b has no operationId", Pos: diag.Pos{File: "api.yaml", Line: 3}, Pointer: "/paths/~1b/get"}
	b := NewBaseline(diag.Diagnostics{d(1), d(2), other})
	if b.Len() != 3 {
		t.Fatalf("Len = %d, want 3", b.Len())
	}
	fresh, known := b.Filter(diag.Diagnostics{d(10), d(11), d(12)})
	if known != 2 || len(fresh) != 1 || fresh[0].Pos.Line != 12 {
		t.Errorf("2 old + 3 now: known %d, new %v; want 2 known and the one at line 12 new", known, fresh)
	}
	fresh, known = b.Filter(diag.Diagnostics{d(10)})
	if known != 1 || len(fresh) != 0 {
		t.Errorf("2 old + 1 now: known %d, new %v; want 1 known, none new", known, fresh)
	}
}

func TestParseBaseline(t *testing.T) {
	good := `{"version": 1, "diagnostics": [{"rule": "r", "fingerprint": "f1"}, {"rule": "r", "fingerprint": "f1"}], "summary": {}}`
	b, err := ParseBaseline("old.json", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 2 || b.counts["f1"] != 2 {
		t.Errorf("counts = %v, want f1 twice", b.counts)
	}
	if b, err := ParseBaseline("old.json", []byte(`{"version": 1, "diagnostics": []}`)); err != nil || b.Len() != 0 {
		t.Errorf("an empty baseline: %v, %v", b, err)
	}
	for in, want := range map[string]string{
		"{\n  \"version\": 1,\n  oops\n}":   `old.json:3:3: not JSON \(invalid character 'o'`,
		"":                                  `old.json:1:1: not JSON`,
		`[1, 2]`:                            `old.json: a JSON array, not an object`,
		`{"version": 2, "diagnostics": []}`: `old.json: "version" is 2, not 1`,
		`{"diagnostics": []}`:               `old.json: "version" is absent, not 1`,
		`{"version": 1}`:                    `old.json: "diagnostics" is absent, not an array`,
		`{"version": 1, "diagnostics": {"a": 1}}`:             `old.json: "diagnostics" is an object, not an array`,
		`{"version": 1, "diagnostics": [{"rule": "r"}]}`:      `old.json: diagnostics\[0\] has no "fingerprint"`,
		`{"version": 1, "diagnostics": [{"fingerprint": 7}]}`: `old.json: diagnostics\[0\] is an object, not a finding`,
		`{"version": 1, "diagnostics": [3]}`:                  `old.json: diagnostics\[0\] is 3, not a finding`,
		`{"version": "2.1.0", "runs": []}`:                    `old.json: a SARIF log, not gwc's JSON`,
		`{"version": 1, "diagnostics": [], "x": [` + "\x00]}": `old.json:1:41: not JSON`,
	} {
		_, err := ParseBaseline("old.json", []byte(in))
		if err == nil {
			t.Errorf("%q: no error, want %s", in, want)
			continue
		}
		if !matches(want, err.Error()) {
			t.Errorf("%q: error %q, want %s", in, err, want)
		}
	}
	if _, err := ReadBaseline(filepath.Join(t.TempDir(), "nosuch.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want a not-exist error", err)
	}
}

// TestGitTree reads a file as it was at a commit, through `git cat-file`.
func TestGitTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: --baseline-ref needs it")
	}
	dir := t.TempDir()
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitRun("init", "-q")
	write("specs/api.yaml", "old\n")
	write("specs/with space.yaml", "spaced")
	// Zeros over the limit for one file, a few kilobytes in the commit.
	write("specs/zeros.yaml", strings.Repeat("\x00", spec.DefaultMaxFileBytes+1))
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "one")
	write("specs/api.yaml", "new\n")
	write("specs/added.yaml", "added")

	ctx := context.Background()
	root, err := GitRoot(ctx, filepath.Join(dir, "specs"))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := OpenGitTree(ctx, root, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	// A blob over the limit is refused by its size, unread, and the reads
	// after it still answer.
	var refused *spec.RefusedError
	if _, err := tree.ReadFile(filepath.Join(dir, "specs/zeros.yaml")); !errors.As(err, &refused) || !refused.Limit {
		t.Errorf("a blob over the limit: %v, want a refusal by size", err)
	}
	for name, want := range map[string]string{"specs/api.yaml": "old\n", "specs/with space.yaml": "spaced"} {
		got, err := tree.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s at HEAD: %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"specs/added.yaml", "specs", "../outside.yaml", "specs/with\nnewline.yaml"} {
		if _, err := tree.ReadFile(filepath.Join(dir, name)); err == nil || (name != "specs" && !errors.Is(err, fs.ErrNotExist)) {
			t.Errorf("%s at HEAD: %v, want an error (not-exist for a missing file)", name, err)
		}
	}
	// Reads still work after misses: the batch protocol stayed in step.
	if got, err := tree.ReadFile(filepath.Join(dir, "specs/api.yaml")); err != nil || string(got) != "old\n" {
		t.Errorf("specs/api.yaml after misses: %q, %v", got, err)
	}

	for _, ref := range []string{"nosuch", "--output=x", "HEAD\nHEAD"} {
		if _, err := OpenGitTree(ctx, root, ref); err == nil || !strings.Contains(err.Error(), "ref") && !strings.Contains(err.Error(), "no commit") {
			t.Errorf("ref %q: %v, want an error naming it", ref, err)
		}
	}
	if _, err := GitRoot(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not in a git repository") {
		t.Errorf("outside a repository: %v", err)
	}
}

func matches(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestExampleMessageStable: an example that breaks its schema in several
// properties is reported with the same message every run (the first by
// instance location), or its fingerprint would change from run to run.
func TestExampleMessageStable(t *testing.T) {
	spec := `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a:
    post:
      operationId: a
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties: {h: {type: integer}, g: {type: integer}, f: {type: integer}, e: {type: integer}, d: {type: integer}, c: {type: integer}, b: {type: integer}, a: {type: integer}}
            example: {h: x, g: x, f: x, e: x, d: x, c: x, b: x, a: x}
      responses: {"200": {description: ok}}
`
	for range 20 {
		d := only(t, lintText(t, spec), "gwc-example-schema")
		if !strings.Contains(d.Message, "at /a: ") {
			t.Fatalf("message %q: want the first property by name, /a", d.Message)
		}
	}
}
