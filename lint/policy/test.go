package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is one Rego test's outcome.
type TestResult struct {
	// Name is the package and rule, e.g. data.gwc.owasp.x_test.test_flags.
	Name string
	File string
	Line int
	Pass bool
	// Err says why a test that did not pass failed: "" for a false result,
	// else the evaluation error.
	Err      string
	Duration time.Duration
}

// Test runs the Rego tests (test_* rules) of sources with OPA's tester, in
// file and line order. Sources that do not parse or compile are a
// *LoadError naming FILE:LINE:COL.
// Each test has timeout to run (a minute when 0).
func Test(ctx context.Context, srcs []Source, timeout time.Duration) ([]TestResult, error) {
	if timeout <= 0 {
		timeout = time.Minute
	}
	modules, err := Parse(srcs)
	if err != nil {
		return nil, err
	}
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return nil, err
	}
	defer store.Abort(ctx, txn)
	// The tests compile with the policies' capabilities, and a built-in
	// that fails fails its test, as gwc lint reports it.
	c := ast.NewCompiler().WithEnablePrintStatements(false).WithCapabilities(Capabilities())
	ch, err := tester.NewRunner().SetCompiler(c).SetStore(store).SetModules(modules).SetTimeout(timeout).
		RaiseBuiltinErrors(true).RunTests(ctx, txn)
	if err != nil {
		return nil, &LoadError{astErrors(err)}
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{Name: r.Package + "." + r.Name, Pass: r.Pass(), Duration: r.Duration}
		if r.Location != nil {
			tr.File, tr.Line = r.Location.File, r.Location.Row
		}
		if r.Error != nil {
			tr.Err = r.Error.Error()
			if strings.Contains(tr.Err, "rego_") && tr.File == "" {
				return nil, &LoadError{astErrors(r.Error)}
			}
		}
		out = append(out, tr)
	}
	slices.SortFunc(out, func(a, b TestResult) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return out, nil
}

// String is "PASS name (duration)" or "FAIL FILE:LINE: name: why".
func (r TestResult) String() string {
	if r.Pass {
		return fmt.Sprintf("PASS %s (%s)", r.Name, r.Duration.Round(time.Microsecond))
	}
	why := "the test was false"
	if r.Err != "" {
		why = r.Err
	}
	return fmt.Sprintf("FAIL %s:%d: %s: %s", r.File, r.Line, r.Name, why)
}
