package lint

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gwcdev/gwc/compiler/diag"
)

// TestConfigProblems: every mistake of a configuration is reported at once,
// at its line and column, in words rather than Go types, with a suggestion
// for a misspelt key, severity or rule id.
func TestConfigProblems(t *testing.T) {
	src := `rules:
  gwc-operation-id: fatal
  gwc-operation-ids: off
  gwc-unused-component: [a]
  gwc-example-schema: warnings
ignores: []
ignore:
  - rule: gwc-operation-id
    pointr: /paths
  - pointer: paths
  - {}
  - files: "*.yaml"
  - rule: gwc-unused-componnt
policies: policies/
policy-timeout: forever
`
	c, err := ParseConfig(".gwc.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckRules(All())
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("%v", err)
	}
	want := []string{
		`.gwc.yaml:2:21: rules: gwc-operation-id: the severity must be one of error, warning, info, hint, off, not "fatal"`,
		`.gwc.yaml:3:3: rules: no rule "gwc-operation-ids" (did you mean "gwc-operation-id"?) (gwc rules lists them)`,
		`.gwc.yaml:4:25: rules: gwc-unused-component: the severity must be one of error, warning, info, hint, off, not a list`,
		`.gwc.yaml:5:23: rules: gwc-example-schema: the severity must be one of error, warning, info, hint, off, not "warnings" (did you mean "warning"?)`,
		`.gwc.yaml:6:1: unknown key "ignores" (did you mean "ignore"?) (known: rules, ignore, policies, policy-timeout)`,
		`.gwc.yaml:9:5: ignore[0]: unknown key "pointr" (did you mean "pointer"?) (known: rule, pointer, files)`,
		`.gwc.yaml:10:14: ignore[1]: pointer "paths" is not a JSON pointer (it starts with /)`,
		`.gwc.yaml:11:5: ignore[2]: give a rule, a pointer or files`,
		`.gwc.yaml:12:12: ignore[3]: files must be a list of globs, not "*.yaml"`,
		`.gwc.yaml:13:11: ignore[4]: no rule "gwc-unused-componnt" (did you mean "gwc-unused-component"?) (gwc rules lists them)`,
		`.gwc.yaml:14:11: policies must be a list of directories, not "policies/"`,
		`.gwc.yaml:15:17: policy-timeout must be a duration such as 10s or 1m, not "forever"`,
	}
	got := strings.Split(err.Error(), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), "lint.") || strings.Contains(err.Error(), "!!") {
		t.Errorf("a Go type or YAML tag in %q", err)
	}
	// What is right still applies; an ignore entry with a mistake does not
	// (without its misspelt pointer, the first would ignore every
	// gwc-operation-id finding).
	if len(c.Ignore) != 1 || c.Ignore[0].Rule != "gwc-unused-componnt" {
		t.Errorf("ignore %+v", c.Ignore)
	}
}

func TestConfigGood(t *testing.T) {
	c, err := ParseConfig("x/.gwc.yaml", []byte(`
base: &base {rule: gwc-operation-id}
`[1:]))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckRules(All()); err == nil || !strings.Contains(err.Error(), `x/.gwc.yaml:1:1: unknown key "base"`) {
		t.Errorf("%v", err)
	}
	c, err = ParseConfig("x/.gwc.yaml", []byte(`
rules: {gwc-operation-id: error, gwc-unused-component: off}
ignore:
  - files: ["vendor/**"]
policies: [p]
policy-timeout: 30s
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckRules(All()); err != nil {
		t.Fatal(err)
	}
	if sev, ok := c.severity("gwc-operation-id", diag.Warning); !ok || sev != diag.Error {
		t.Errorf("severity %v %v", sev, ok)
	}
	if _, ok := c.severity("gwc-unused-component", diag.Warning); ok {
		t.Error("off rule reported")
	}
	if c.PolicyTimeout != 30*time.Second || c.PolicyDirs()[0] != "x/p" {
		t.Errorf("%v %v", c.PolicyTimeout, c.PolicyDirs())
	}
	for _, empty := range []string{"", "# nothing\n", "rules:\n"} {
		c, err := ParseConfig(".gwc.yaml", []byte(empty))
		if err != nil || c.CheckRules(All()) != nil {
			t.Errorf("%q: %v", empty, err)
		}
	}
}

// TestConfigNotYAML: a file that is not YAML is one problem at its place.
func TestConfigNotYAML(t *testing.T) {
	_, err := ParseConfig(".gwc.yaml", []byte("rules:\n  a: b\n   c: [\n"))
	if err == nil || !strings.HasPrefix(err.Error(), ".gwc.yaml:3:5: not YAML: ") {
		t.Errorf("%v", err)
	}
	c, err := ParseConfig(".gwc.yaml", []byte("rules: {}\nrules:\n  ? [a]\n  : error\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckRules(All()); err == nil || err.Error() != ".gwc.yaml:2:1: rules is given twice" {
		t.Errorf("%v", err)
	}
	for _, src := range []string{"- a\n- b\n", "just text\n"} {
		c, err := ParseConfig(".gwc.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckRules(All()); err == nil || !strings.HasPrefix(err.Error(), ".gwc.yaml:1:1: a configuration is a mapping of rules, ignore, policies, policy-timeout") {
			t.Errorf("%q: %v", src, err)
		}
	}
}
