package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestPreCommitHooks reads .pre-commit-hooks.yaml as pre-commit does (the
// keys its manifest requires, a files pattern Python's re and Go's regexp
// both read) and runs the gwc-lint hook's entry the way pre-commit does, with
// the staged files that the pattern matches as arguments.
func TestPreCommitHooks(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID          string   `yaml:"id"`
		Name        string   `yaml:"name"`
		Description string   `yaml:"description"`
		Entry       string   `yaml:"entry"`
		Language    string   `yaml:"language"`
		Files       string   `yaml:"files"`
		TypesOr     []string `yaml:"types_or"`
	}
	if err := yaml.Load(data, &hooks, yaml.WithKnownFields()); err != nil {
		t.Fatalf(".pre-commit-hooks.yaml: %v", err)
	}
	if len(hooks) != 1 || hooks[0].ID != "gwc-lint" {
		t.Fatalf("want one hook, gwc-lint; got %+v", hooks)
	}
	h := hooks[0]
	if h.Name == "" || h.Language != "golang" || !slices.Equal(h.TypesOr, []string{"yaml", "json"}) {
		t.Errorf("hook %+v", h)
	}
	files := regexp.MustCompile(h.Files)
	for _, f := range []string{"openapi.yaml", "api.json", "specs/openapi.v2.yml", "swagger.json", "specs/API-public.yaml", "a/b/api_v1.yaml"} {
		if !files.MatchString(f) {
			t.Errorf("files does not match %s", f)
		}
	}
	for _, f := range []string{"capital.yaml", "package.json", ".github/workflows/ci.yml", "openapi.go", "apis/readme.md", "myapi.yaml"} {
		if files.MatchString(f) {
			t.Errorf("files matches %s", f)
		}
	}

	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("openapi.yaml", "openapi: 3.1.0\ninfo: {title: T, version: \"1\"}\npaths:\n  /a/{x}:\n    get: {operationId: a, parameters: [{name: x, in: path, required: true, schema: {type: string}}], responses: {\"200\": {description: ok}}}\n  /a/{y}:\n    get: {operationId: b, parameters: [{name: y, in: path, required: true, schema: {type: string}}], responses: {\"200\": {description: ok}}}\n")
	write("api.yaml", "openapi: 3.1.0\ninfo: {title: T, version: \"1\"}\npaths:\n  /ok:\n    get: {operationId: ok, responses: {\"200\": {description: ok}}}\n")
	run := func(files ...string) (string, int) {
		args := append(strings.Fields(h.Entry), files...)
		cmd := exec.Command(args[0], args[1:]...) // gwc is this test binary, on PATH (TestMain)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(out), exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := run("api.yaml"); code != 0 {
		t.Errorf("the hook on a clean spec: exit %d\n%s", code, out)
	}
	out, code := run("api.yaml", "openapi.yaml")
	if code != 1 || !regexp.MustCompile(`(?m)^openapi\.yaml:6:3 error gwc-route-conflict `).MatchString(out) {
		t.Errorf("the hook on a spec with a route conflict: exit %d\n%s", code, out)
	}
}

// TestActionYAML checks action.yml against scripts/action.sh, which tests
// run (lint_ci_action.txtar): a composite action whose every input used is
// declared, whose steps set every GWC_ variable the script reads, and whose
// outputs come from steps that exist.
func TestActionYAML(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "scripts", "action.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Name        string
		Description string
		Author      string
		Branding    map[string]string
		Inputs      map[string]struct {
			Description string
			Required    bool
			Default     *string
		}
		Outputs map[string]struct {
			Description string
			Value       string
		}
		Runs struct {
			Using string
			Steps []struct {
				Name  string
				ID    string
				If    string
				Uses  string
				With  map[string]string
				Env   map[string]string
				Run   string
				Shell string
			}
		}
	}
	if err := yaml.Load(data, &action, yaml.WithKnownFields()); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if action.Runs.Using != "composite" {
		t.Errorf("runs.using %q", action.Runs.Using)
	}
	for _, m := range regexp.MustCompile(`inputs\.([a-z-]+)`).FindAllStringSubmatch(string(data), -1) {
		if _, ok := action.Inputs[m[1]]; !ok {
			t.Errorf("action.yml uses inputs.%s, which it does not declare", m[1])
		}
	}
	for name, in := range action.Inputs {
		if in.Description == "" || (!in.Required && in.Default == nil) {
			t.Errorf("input %s: a description and a default (or required) are needed", name)
		}
	}
	set := map[string]bool{}
	ids := map[string]bool{}
	var calls []string
	for _, s := range action.Runs.Steps {
		for k := range s.Env {
			set[k] = true
		}
		ids[s.ID] = true
		if s.Run != "" && s.Shell != "bash" {
			t.Errorf("step %q: a run step of a composite action needs shell: bash", s.Name)
		}
		if m := regexp.MustCompile(`scripts/action\.sh" (\w+)`).FindStringSubmatch(s.Run); m != nil {
			calls = append(calls, m[1])
		}
	}
	if !slices.Equal(calls, []string{"lint", "diff", "finish"}) {
		t.Errorf("the steps call scripts/action.sh %v, want lint, diff, finish", calls)
	}
	for _, v := range regexp.MustCompile(`\$\{(GWC_[A-Z_]+|LINT_CODE|DIFF_CODE)`).FindAllStringSubmatch(string(script), -1) {
		if !set[v[1]] {
			t.Errorf("scripts/action.sh reads %s, which no step of action.yml sets", v[1])
		}
	}
	for name, o := range action.Outputs {
		m := regexp.MustCompile(`^\$\{\{ steps\.([a-z]+)\.outputs\.([a-z-]+) \}\}$`).FindStringSubmatch(o.Value)
		if m == nil || !ids[m[1]] {
			t.Errorf("output %s: value %q is not a step's output", name, o.Value)
		}
	}
}
