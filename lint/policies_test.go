package lint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/lint/policy"
)

func builtinPolicies(t *testing.T) *policy.Set {
	t.Helper()
	set, err := LoadPolicies(context.Background(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestPolicyCases runs every embedded policy's cases,
// testdata/policy/NAME/*.yaml (NAME the package's last name), as TestRules
// runs the rules': each of the policy's findings must be on a line whose
// `# want :COL "..."` matches it, at that column (and at the end the want
// gives), in the file the want is in ($ref'd *.ref.yaml files included).
func TestPolicyCases(t *testing.T) {
	set := builtinPolicies(t)
	for _, p := range set.Packages {
		name := p.Path[len(p.Path)-1]
		t.Run(name, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join("testdata", "policy", name, "*.yaml"))
			if len(files) == 0 {
				t.Fatalf("policy %s has no cases in testdata/policy/%s/", p.ID, name)
			}
			for _, f := range files {
				if strings.Contains(filepath.Base(f), ".ref.") {
					continue
				}
				runCase(t, p.ID, f, Options{Policies: set}, true)
			}
		})
	}
}

// TestPoliciesReadAliasedSpec: YAML aliases share one node, and input.spec
// shares one value for it, so a spec whose aliases expand it to a million
// values is linted with the pack in the time and memory of its few lines,
// and policies still read every copy.
func TestPoliciesReadAliasedSpec(t *testing.T) {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: aliases, version: \"1\"}\npaths: {}\nx-laughs:\n")
	b.WriteString("  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 6; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	path := filepath.Join(t.TempDir(), "aliases.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	counting := `package gwc.count
warn contains {"msg": sprintf("%d lols", [n])} if {
	n := count([x | walk(input.spec["x-laughs"].l3, [_, x]); x == "lol"])
}
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "count.rego"), []byte(counting), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := LoadPolicies(context.Background(), false, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Run(context.Background(), path, Options{NoConfig: true, Policies: set})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, d := range ds {
		if d.Code == "policy/count" {
			msgs = append(msgs, d.Message)
		}
	}
	if len(msgs) != 1 || msgs[0] != "10000 lols" {
		t.Errorf("policy/count findings %q, want [\"10000 lols\"]\nall: %s", msgs, ds)
	}
}

// TestPolicyPlaces: a policy names its node by pointer (into the entry file
// or, as FILE#POINTER, another file of the spec) or by operationId; one
// whose place names nothing gets its finding without a line and a warning
// that names the policy, never a default line.
func TestPolicyPlaces(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("api.yaml", `openapi: 3.1.0
info: {title: places, version: "1"}
paths:
  /pets:
    get:
      operationId: listPets
      responses: {"200": {$ref: 'common.yaml#/ok'}}
`)
	write("common.yaml", `ok:
  description: fine
`)
	write("places.rego", `package gwc.places
warn contains {"msg": "by pointer", "pointer": "/paths/~1pets/get/responses/200/description"}
warn contains {"msg": "by file", "pointer": "common.yaml#/ok"}
warn contains {"msg": "by operation", "operation": "listPets"}
warn contains {"msg": "no such node", "pointer": "/paths/~1pets/put"}
warn contains {"msg": "no such operation", "operation": "nothing"}
warn contains {"msg": "no such file", "pointer": "other.yaml#/ok"}
`)
	set, err := LoadPolicies(context.Background(), true, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Run(context.Background(), filepath.Join(dir, "api.yaml"), Options{NoConfig: true, Policies: set})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var notes []string
	for _, d := range ds {
		switch d.Code {
		case "policy/places":
			got[d.Message] = fmt.Sprintf("%s:%d:%d-%d:%d", filepath.Base(d.Pos.File), d.Pos.Line, d.Pos.Col, d.End.Line, d.End.Col)
		case CodePolicies:
			if d.Severity != diag.Warning || d.Pos.Line != 0 {
				t.Errorf("note %s: want a warning without a line", d)
			}
			notes = append(notes, d.Message)
		}
	}
	want := map[string]string{
		"by pointer":        "common.yaml:2:16-2:20",
		"by file":           "common.yaml:1:1-2:20",
		"by operation":      "api.yaml:5:5-7:52",
		"no such node":      "api.yaml:0:0-0:0",
		"no such operation": "api.yaml:0:0-0:0",
		"no such file":      "api.yaml:0:0-0:0",
	}
	for msg, w := range want {
		if got[msg] != w {
			t.Errorf("%q at %s, want %s", msg, got[msg], w)
		}
	}
	if len(notes) != 3 {
		t.Fatalf("notes %q, want one for each place that names nothing", notes)
	}
	for _, n := range notes {
		if !strings.Contains(n, "policy/places (") || !strings.Contains(n, "which is no node of this spec") {
			t.Errorf("note %q does not name the policy and its file", n)
		}
	}
}

// TestPoliciesOnBrokenSpecs: the policies run on specs with errors, whose
// Model is partial; on every case of every rule (most of them broken on
// purpose) they must neither fail nor name a node the spec lacks.
func TestPoliciesOnBrokenSpecs(t *testing.T) {
	set := builtinPolicies(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	for _, f := range files {
		ds, err := Run(context.Background(), f, Options{NoConfig: true, Policies: set})
		if err != nil {
			continue // an unreadable entry file: the caller's error
		}
		for _, d := range ds {
			if d.Code == CodeInternal || d.Code == CodePolicies && d.Severity == diag.Warning {
				t.Errorf("%s", d)
			}
		}
	}
}
