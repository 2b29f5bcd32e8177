package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/compiler/diag"
)

// LintOptions is everything `gwc lint` needs.
type LintOptions struct {
	IO    *iostreams.IOStreams
	Specs []string
}

// NewCmdLint returns the lint command.
func NewCmdLint(ios *iostreams.IOStreams, runF func(context.Context, *LintOptions) error) *cobra.Command {
	opts := &LintOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "lint SPEC...",
		Short: "Check OpenAPI specs and their x-gateway extension",
		Long: `Check each spec the way gwc build does — YAML/JSON syntax, $refs, the
x-gateway extension, routes, parameters, security and effective policies —
without writing a bundle, warning also about what gwc accepts but other
OpenAPI tools do not (Redocly-style $refs to whole operations or property
maps), and print every problem as
FILE:LINE:COL: SEVERITY: MESSAGE (CODE).

Exits 0 when no spec has errors (warnings allowed), 1 when one has, 2 when a
spec cannot be read.`,
		Example: `  gwc lint api.yaml
  gwc lint specs/*.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Specs = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return lintRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func lintRun(ctx context.Context, opts *LintOptions) error {
	var all diag.Diagnostics
	unreadable := false
	for _, spec := range opts.Specs {
		_, ds, err := compiler.Check(ctx, compiler.Options{Spec: spec, Lint: true})
		if err != nil {
			// One unreadable spec must not hide the others' findings:
			// report it as a diagnostic of that file and go on.
			all.Errorf(diag.Pos{File: spec}, "gwc-io", "%v", err)
			unreadable = true
			continue
		}
		all = append(all, ds...)
	}
	err := ReportDiagnostics(opts.IO, all)
	if len(all) > 0 {
		printSummary(opts.IO, all)
	}
	if unreadable && err == ErrFindings {
		// Printed already; a file gwc could not read is exit 2.
		return &ExitError{Code: ExitIO}
	}
	return err
}
