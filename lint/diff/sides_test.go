package diff

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/gateway"
)

func TestDefaultMaxBodyIsTheRuntimes(t *testing.T) {
	if defaultMaxBody != gateway.DefaultMaxBody {
		t.Fatalf("defaultMaxBody = %d, runtime/gateway.DefaultMaxBody = %d", defaultMaxBody, gateway.DefaultMaxBody)
	}
}

// changeKeys are a result's changes as "KIND OPERATION", sorted, leaving out
// the kinds only a spec's response schemas show.
func changeKeys(r *Result) []string {
	var ks []string
	for _, c := range r.Changes {
		switch c.Kind {
		case KindResponsePropertyRemoved, KindResponsePropertyOptional, KindResponseEnumAdded:
			continue
		case KindTypeChanged:
			if strings.HasPrefix(c.Message, "response ") {
				continue
			}
		}
		ks = append(ks, c.Kind.ID+" "+c.Operation)
	}
	slices.Sort(ks)
	return ks
}

// TestBundlesSeeWhatSpecsSee builds every case's two specs into bundles and
// checks that comparing the bundles finds the same changes as comparing the
// specs (response schemas aside: bundles do not keep them).
func TestBundlesSeeWhatSpecsSee(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasSuffix(name, "_spec_only.txtar") {
			continue
		}
		t.Run(strings.TrimSuffix(name, ".txtar"), func(t *testing.T) {
			old, new, _ := loadCase(t, name)
			build := func(s *Side) *Side {
				spec := s.Doc.Files[0].Path
				enc, ds, err := compiler.Build(context.Background(), compiler.Options{Spec: spec, Encode: bundle.EncodeOptions{GWCVersion: "test"}})
				if err != nil || enc == nil {
					t.Fatalf("build %s: %v %v", spec, err, ds)
				}
				out := strings.TrimSuffix(spec, ".yaml") + ".gwb"
				if err := os.WriteFile(out, enc.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				b, err := Load(context.Background(), Source{Path: out})
				if err != nil {
					t.Fatal(err)
				}
				if b.Doc != nil || b.bundleFile != out {
					t.Fatalf("%s was not read as a bundle", out)
				}
				return b
			}
			fromSpecs := changeKeys(Compare(old, new, Options{}))
			bold, bnew := build(old), build(new)
			r := Compare(bold, bnew, Options{})
			fromBundles := changeKeys(r)
			if !slices.Equal(fromSpecs, fromBundles) {
				t.Errorf("specs:\n  %s\nbundles:\n  %s", strings.Join(fromSpecs, "\n  "), strings.Join(fromBundles, "\n  "))
			}
			for _, c := range r.Changes {
				if c.Pos.File == "" || c.Pos.Line == 0 && c.Operation != "" {
					t.Errorf("%s %s: no place: %v", c.Kind.ID, c.Message, c.Pos)
				}
			}
		})
	}
}

func TestAllowAndMarkers(t *testing.T) {
	old, new, _ := loadCase(t, "operations.txtar")
	r := Compare(old, new, Options{})
	if !r.Fails(Breaking) {
		t.Fatal("operations.txtar has unacknowledged breaking changes")
	}
	r = Compare(old, new, Options{Allow: []string{KindOperationRemoved.ID}})
	if !r.Fails(Breaking) {
		t.Fatal("--allow diff/operation-removed must leave diff/path-removed failing")
	}
	r = Compare(old, new, Options{Allow: []string{KindOperationRemoved.ID, KindPathRemoved.ID}})
	if r.Fails(Breaking) {
		t.Fatalf("both kinds allowed, yet it fails: %+v", r.Changes)
	}
	if !r.Fails(Info) {
		t.Fatal("info changes must still fail --fail-on info")
	}
	for _, c := range r.Changes {
		if c.Kind.Level == Breaking && !strings.HasPrefix(c.Acknowledged, "--allow ") {
			t.Errorf("%s not acknowledged by --allow: %q", c.Kind.ID, c.Acknowledged)
		}
	}

	// A marker on the path item acknowledges the removed DELETE only.
	dir := t.TempDir()
	data, err := os.ReadFile(new.Doc.Files[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	marked := strings.Replace(string(data), "  /pets/{petId}:\n", "  /pets/{petId}:\n    x-gwc-breaking: [diff/operation-removed]\n", 1)
	p := filepath.Join(dir, "new.yaml")
	if err := os.WriteFile(p, []byte(marked), 0o644); err != nil {
		t.Fatal(err)
	}
	mnew, err := Load(context.Background(), Source{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	if ds := CheckMarkers(mnew); len(ds) > 0 {
		t.Fatalf("valid marker refused: %v", ds)
	}
	r = Compare(old, mnew, Options{})
	for _, c := range r.Changes {
		switch c.Kind {
		case KindOperationRemoved:
			if !strings.HasPrefix(c.Acknowledged, "x-gwc-breaking at ") || !strings.Contains(c.Acknowledged, "new.yaml:11:22") {
				t.Errorf("DELETE removal: acknowledged %q, want the marker's place", c.Acknowledged)
			}
		case KindPathRemoved:
			if c.Acknowledged != "" {
				t.Errorf("the path-item marker acknowledged %s elsewhere", c.Kind.ID)
			}
		}
	}

	// A root marker acknowledges everything; a typo in one is an error.
	for _, tc := range []struct {
		marker string
		ok     bool
	}{
		{"x-gwc-breaking: acknowledged", true},
		{"x-gwc-breaking: [diff/operation-removd]", false},
		{"x-gwc-breaking: [diff/operation-added]", false},
		{"x-gwc-breaking: yes", false},
	} {
		if err := os.WriteFile(p, []byte(tc.marker+"\n"+string(data)), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(context.Background(), Source{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		ds := CheckMarkers(s)
		if (len(ds) == 0) != tc.ok {
			t.Errorf("%s: CheckMarkers = %v", tc.marker, ds)
		}
		if tc.ok && Compare(old, s, Options{}).Fails(Breaking) {
			t.Errorf("%s: still fails", tc.marker)
		}
	}
}

// TestGitRef reads OLD from a commit: the entry file and the file it
// $refs, at that commit, while the work tree has moved on.
func TestGitRef(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	t.Chdir(dir)
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("init", "-q", "-b", "main")
	run("config", "user.name", "t")
	run("config", "user.email", "t@example.com")
	api := "openapi: 3.0.3\ninfo: {title: G, version: '1'}\npaths:\n  /a:\n    $ref: 'paths/a.yaml'\n"
	write("specs/api.yaml", api)
	write("specs/paths/a.yaml", "get:\n  responses: {'200': {description: ok}}\ndelete:\n  responses: {'204': {description: ok}}\n")
	run("add", ".")
	run("commit", "-q", "-m", "v1")
	write("specs/paths/a.yaml", "get:\n  responses: {'200': {description: ok}}\n")

	old, err := Load(context.Background(), Source{Path: "specs/api.yaml", Ref: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	new, err := Load(context.Background(), Source{Path: "specs/api.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	r := Compare(old, new, Options{})
	if len(r.Changes) != 1 || r.Changes[0].Kind != KindOperationRemoved {
		t.Fatalf("changes = %+v, want the DELETE removed", r.Changes)
	}
	if got := r.Changes[0].Pos.String(); got != "HEAD:specs/paths/a.yaml:3:1" {
		t.Errorf("removal placed at %s, want HEAD:specs/paths/a.yaml:3:1", got)
	}

	for _, src := range []Source{{Path: "specs/api.yaml", Ref: "nosuchref"}, {Path: "specs/none.yaml", Ref: "HEAD"}, {Path: "x.yaml", Ref: "--output=/tmp/x"}} {
		if _, err := Load(context.Background(), src); err == nil {
			t.Errorf("%s: no error", src)
		} else if _, ok := err.(*InputError); !ok {
			t.Errorf("%s: %T %v, want *InputError", src, err, err)
		}
	}
	// A subdirectory reads paths relative to itself, as git show ./ does.
	t.Chdir(filepath.Join(dir, "specs"))
	if _, err := Load(context.Background(), Source{Path: "api.yaml", Ref: "HEAD"}); err != nil {
		t.Fatalf("from a subdirectory: %v", err)
	}
}

func TestParseSource(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("a:b.yaml", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]Source{
		"api.yaml":                 {Path: "api.yaml"},
		"origin/main:api.yaml":     {Path: "api.yaml", Ref: "origin/main"},
		"HEAD~1:specs/api.yaml":    {Path: "specs/api.yaml", Ref: "HEAD~1"},
		"a:b.yaml":                 {Path: "a:b.yaml"}, // an existing file wins
		`C:\specs\api.yaml`:        {Path: `C:\specs\api.yaml`},
		"v1.2.0:api.yaml":          {Path: "api.yaml", Ref: "v1.2.0"},
		"bundle.gwb":               {Path: "bundle.gwb"},
		"https://x.example/a.yaml": {Path: "https://x.example/a.yaml"},
		"refs/tags/v1:bundle.gwb":  {Path: "bundle.gwb", Ref: "refs/tags/v1"},
	} {
		if got := ParseSource(arg); got != want {
			t.Errorf("ParseSource(%q) = %+v, want %+v", arg, got, want)
		}
	}
}

func TestSpecWithErrorsIsAnInputError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(p, []byte("openapi: 3.0.3\ninfo: {title: B, version: '1'}\npaths:\n  /a/{id:\n    get: {responses: {'200': {description: ok}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), Source{Path: p})
	ie, ok := err.(*InputError)
	if !ok || len(ie.Diagnostics) == 0 {
		t.Fatalf("err = %v, want an InputError with the spec's errors", err)
	}
	if _, err := Load(context.Background(), Source{Path: filepath.Join(dir, "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.gwb"), []byte("not a bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), Source{Path: filepath.Join(dir, "junk.gwb")}); err == nil {
		t.Fatal("junk bundle: no error")
	}
}

// TestHostileSchemas: schemas that refer to themselves, and allOf and
// oneOf fans whose expansion would be exponential, are compared in bounded
// time.
func TestHostileSchemas(t *testing.T) {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: H, version: '1'}\npaths:\n  /h:\n    post:\n      requestBody:\n        content:\n          application/json: {schema: {$ref: '#/components/schemas/S0'}}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json: {schema: {$ref: '#/components/schemas/S0'}}\ncomponents:\n  schemas:\n")
	const levels = 30
	for i := 0; i < levels; i++ {
		next := fmt.Sprintf("S%d", i+1)
		if i == levels-1 {
			next = "S0" // and back round
		}
		fmt.Fprintf(&b, "    S%d:\n      type: object\n      required: [a]\n      allOf: [{$ref: '#/components/schemas/%s'}, {$ref: '#/components/schemas/%s'}]\n      oneOf: [{$ref: '#/components/schemas/%s'}, {$ref: '#/components/schemas/%s'}]\n      properties:\n        a: {$ref: '#/components/schemas/%s'}\n        b: {$ref: '#/components/schemas/%s'}\n        c: {type: string, maxLength: %%d}\n", i, next, next, next, next, next, next)
	}
	dir := t.TempDir()
	write := func(name string, maxLen int) *Side {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(b.String(), "%d", strconv.Itoa(maxLen))), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(context.Background(), Source{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old, new := write("old.yaml", 10), write("new.yaml", 5)
	done := make(chan *Result)
	go func() { done <- Compare(old, new, Options{}) }()
	select {
	case r := <-done:
		n, _ := r.Count(Breaking)
		if n == 0 {
			t.Fatal("maxLength lowered in every schema, yet no breaking change")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Compare did not finish in 20s")
	}
}
