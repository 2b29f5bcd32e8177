package policy

import (
	"context"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/policies"
)

func builtin(t *testing.T, tests bool) []Source {
	t.Helper()
	srcs, err := ReadDir(policies.FS, ".", "policies", tests)
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

// TestBuiltinPackTests runs the embedded pack's Rego tests: every policy
// must have tests, and every test must pass.
func TestBuiltinPackTests(t *testing.T) {
	results, err := Test(context.Background(), builtin(t, true), 0)
	if err != nil {
		t.Fatal(err)
	}
	perPolicy := map[string]int{}
	for _, r := range results {
		if !r.Pass {
			t.Error(r)
		}
		perPolicy[strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(r.Name, "data.gwc.owasp."), ".", 2)[0], "_test")]++
	}
	set, err := Load(context.Background(), builtin(t, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range set.Packages {
		name := p.Path[len(p.Path)-1]
		if perPolicy[name] < 2 {
			t.Errorf("%s has %d tests: each policy needs one it flags and one it must not", p.ID, perPolicy[name])
		}
		if p.OWASP == "" || p.Description == "" {
			t.Errorf("%s: METADATA needs a description and custom.owasp", p.ID)
		}
	}
	if len(set.Packages) < 12 {
		t.Errorf("the pack has %d policies", len(set.Packages))
	}
}
