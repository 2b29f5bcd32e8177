package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/lint/policy"
	"github.com/gwcdev/gwc/policies"
)

// PolicyOptions is everything `gwc policy test` and `gwc policy eval` need.
type PolicyOptions struct {
	IO *iostreams.IOStreams
	// Dirs are the policy directories to test; none tests the embedded pack.
	Dirs []string
	// Spec is the spec whose policy input eval prints; Root the folder
	// whose tree its files must be in ("": its own folder).
	Spec, Root string
	// Verbose lists passing tests too.
	Verbose bool
	// Timeout bounds each test.
	Timeout time.Duration
}

// NewCmdPolicy returns the policy command and its subcommands.
func NewCmdPolicy(ios *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Test Rego policies and show the input they see",
		Long: `gwc lint runs Rego policies over each spec's Model: gwc's embedded pack (an
OWASP API Security Top 10 set) and the directories given with --policy or in
.gwc.yaml. These commands help write them: test runs their Rego tests, eval
prints the input a spec gives them (docs/policy-input.md).`,
	}
	cmd.AddCommand(newCmdPolicyTest(ios, nil), newCmdPolicyEval(ios, nil))
	return cmd
}

func newCmdPolicyTest(ios *iostreams.IOStreams, runF func(context.Context, *PolicyOptions) error) *cobra.Command {
	opts := &PolicyOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the Rego tests of policy directories (default: gwc's embedded pack)",
		Long: `Run the test_* rules of every .rego file below each DIR (with gwc's helpers,
package gwc.lib, available to import) with OPA's tester, and report each
failing test as FILE:LINE: NAME: why; -v lists the passing ones too. Without
DIR, the embedded pack's own tests run. Tests compile and run as gwc lint runs
policies: a call to a built-in that reaches outside (http.send, opa.runtime,
time.now_ns...) does not compile, a built-in that fails fails the test, and
each test has --timeout to finish.

Exits 0 when every test passes, 1 when one fails, 2 when a file does not parse
or compile (FILE:LINE:COL: message) or a directory cannot be read.`,
		Example: `  gwc policy test
  gwc policy test policies/ -v`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dirs = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return policyTestRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "list passing tests too")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", policy.DefaultTime, "time each test may take")
	return cmd
}

func policyTestRun(ctx context.Context, opts *PolicyOptions) error {
	// gwc's helpers are always there to import; the pack's policies and
	// tests only when no directory is given.
	dir := "lib"
	if len(opts.Dirs) == 0 {
		dir = "."
	}
	srcs, err := policy.ReadDir(policies.FS, dir, "policies", true)
	if err != nil {
		return err
	}
	user, err := policy.ReadDirs(opts.Dirs, true)
	if err != nil {
		return IOError(err)
	}
	results, err := policy.Test(ctx, append(srcs, user...), opts.Timeout)
	if err != nil {
		var le *policy.LoadError
		if errors.As(err, &le) {
			return IOError(err)
		}
		return err
	}
	failed := 0
	for _, r := range results {
		if !r.Pass {
			failed++
		}
		if !r.Pass || opts.Verbose {
			fmt.Fprintln(opts.IO.Out, r)
		}
	}
	fmt.Fprintf(opts.IO.Out, "%s, %d failed\n", plural(len(results), "test"), failed)
	switch {
	case failed > 0:
		return ErrFindings
	case len(results) == 0:
		fmt.Fprintln(opts.IO.ErrOut, "no test_* rule found")
	}
	return nil
}

func newCmdPolicyEval(ios *iostreams.IOStreams, runF func(context.Context, *PolicyOptions) error) *cobra.Command {
	opts := &PolicyOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "eval --spec SPEC",
		Short: "Print the policy input a spec gives (the Model, as JSON)",
		Long: `Print, as JSON, the input gwc lint gives Rego policies for SPEC: operations
with their effective gateway policy, security and request schemas, upstreams,
security schemes, rate limits, the lowered schema definitions, and the raw spec
(docs/policy-input.md), so that policies can be written against real input.

Exits 1 when the spec has errors (printed as gwc build prints them).`,
		Example: `  gwc policy eval --spec api.yaml | jq '.operations[0]'`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Spec == "" {
				return UsageErrorf("--spec is required")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return policyEvalRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Spec, "spec", "", "the OpenAPI spec")
	cmd.Flags().StringVar(&opts.Root, "root", "", "folder whose tree the spec's $ref'd files must be in (default: the spec's folder)")
	return cmd
}

func policyEvalRun(ctx context.Context, opts *PolicyOptions) error {
	a, ds, err := compiler.Analyze(ctx, compiler.Options{Spec: opts.Spec, Root: opts.Root})
	if err != nil {
		return IOError(err)
	}
	if ds.HasErrors() || a.Model == nil {
		return ReportDiagnostics(opts.IO, ds)
	}
	enc := json.NewEncoder(opts.IO.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return IOError(enc.Encode(a.Model.PolicyInput()))
}
