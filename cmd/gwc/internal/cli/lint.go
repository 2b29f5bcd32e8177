package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/internal/version"
	"github.com/gwcdev/gwc/lint"
	"github.com/gwcdev/gwc/lint/format"
	"github.com/gwcdev/gwc/lint/policy"
)

// LintOptions is everything `gwc lint` needs.
type LintOptions struct {
	IO    *iostreams.IOStreams
	Specs []string
	// Format is one of format.Names.
	Format string
	// FailOn is the least severity that makes the command exit 1: error,
	// warning, info, hint, or none.
	FailOn string
	// Config is a .gwc.yaml to use instead of the one found from each spec's
	// directory upwards; NoConfig uses none.
	Config   string
	NoConfig bool
	// Policies are directories of user Rego policies; NoBuiltinPolicies
	// leaves the embedded pack out.
	Policies          []string
	NoBuiltinPolicies bool
	// Root is the folder whose tree every file of a spec must be in; ""
	// means each spec's own folder.
	Root string
}

// NewCmdLint returns the lint command.
func NewCmdLint(ios *iostreams.IOStreams, runF func(context.Context, *LintOptions) error) *cobra.Command {
	opts := &LintOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "lint SPEC...",
		Short: "Check OpenAPI specs and their x-gateway extension",
		Long: `Check each spec the way gwc build does — YAML/JSON syntax, $refs, the
x-gateway extension, routes, parameters, security and schemas — and run the
lint rules (gwc rules lists them all), without writing a bundle. Findings are
printed as FILE:LINE:COL SEVERITY RULE MESSAGE, or in another --format.

Configuration comes from .gwc.yaml, found from each spec's directory upwards
(rule severities or off, ignores by rule, JSON pointer or file glob);
x-gwc-ignore: [RULE...] on any object of a spec silences those rules there and
below.

Exits 0 when no finding reaches --fail-on (default: error), 1 when one does,
2 when a spec or the configuration cannot be read or the command line is wrong.`,
		Example: `  gwc lint api.yaml
  gwc lint specs/*.yaml --format sarif > gwc.sarif
  gwc lint api.yaml --format github --fail-on warning`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Specs = args
			if !slices.Contains(format.Names, opts.Format) {
				return UsageErrorf("--format %q: want one of %s", opts.Format, strings.Join(format.Names, ", "))
			}
			if _, ok := failSeverity(opts.FailOn); !ok {
				return UsageErrorf("--fail-on %q: want error, warning, info, hint or none", opts.FailOn)
			}
			if opts.Config != "" && opts.NoConfig {
				return UsageErrorf("--config and --no-config cannot be used together")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return lintRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "output format: "+strings.Join(format.Names, ", "))
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "error", "least severity that fails the run: error, warning, info, hint or none")
	cmd.Flags().StringVar(&opts.Config, "config", "", "configuration file (default: .gwc.yaml from each spec's directory upwards)")
	cmd.Flags().BoolVar(&opts.NoConfig, "no-config", false, "use no configuration file")
	cmd.Flags().StringArrayVar(&opts.Policies, "policy", nil, "directory of Rego policies to run too (repeatable)")
	cmd.Flags().StringVar(&opts.Root, "root", "", "folder whose tree a spec's $ref'd files must be in (default: the spec's folder)")
	cmd.Flags().BoolVar(&opts.NoBuiltinPolicies, "no-builtin-policies", false, "leave out gwc's embedded policy pack")
	return cmd
}

// failSeverity reads --fail-on; ok is false for an unknown value. none
// (nil) fails on nothing.
func failSeverity(s string) (*diag.Severity, bool) {
	if s == "none" {
		return nil, true
	}
	sev, ok := diag.ParseSeverity(s)
	return &sev, ok
}

func lintRun(ctx context.Context, opts *LintOptions) error {
	var explicit *lint.Config
	if opts.Config != "" {
		cfg, err := lint.LoadConfig(opts.Config)
		if err != nil {
			return IOError(err)
		}
		explicit = cfg
	}
	report := &format.Report{Files: opts.Specs, Version: version.Get().Version}
	rules := map[string]*lint.Rule{}
	for _, r := range lint.All() {
		rules[r.ID] = r
	}
	sets := map[string]*policy.Set{} // by their directories
	unreadable := false
	for _, spec := range opts.Specs {
		cfg := explicit
		if cfg == nil && !opts.NoConfig {
			var err error
			if cfg, err = lint.FindConfig(filepath.Dir(spec)); err != nil {
				return IOError(err)
			}
		}
		dirs := append(slices.Clone(opts.Policies), cfg.PolicyDirs()...)
		key := strings.Join(dirs, "\x00")
		set, ok := sets[key]
		if !ok {
			var err error
			if set, err = lint.LoadPolicies(ctx, opts.NoBuiltinPolicies, dirs); err != nil {
				return IOError(err)
			}
			sets[key] = set
			for _, r := range lint.PolicyRules(set) {
				rules[r.ID] = r
			}
		}
		ds, err := lint.Run(ctx, spec, lint.Options{Config: cfg, NoConfig: cfg == nil, Policies: set, Root: opts.Root})
		if err != nil {
			var ce *lint.ConfigError
			if errors.As(err, &ce) || !isNotExist(err) {
				return IOError(fmt.Errorf("%s: %w", spec, err))
			}
			// One unreadable spec must not hide the others' findings: report
			// it as a finding of that file and go on; the exit code is 2.
			report.Diagnostics.Errorf(diag.Pos{File: spec}, "gwc-io", "%v", err)
			unreadable = true
			continue
		}
		report.Diagnostics = append(report.Diagnostics, ds...)
	}
	for _, id := range slices.Sorted(maps.Keys(rules)) {
		report.Rules = append(report.Rules, rules[id])
	}
	report.Diagnostics.Sort()
	if err := format.Write(opts.IO.Out, opts.Format, report, styler(opts.IO)); err != nil {
		return IOError(err)
	}
	if unreadable {
		return &ExitError{Code: ExitIO}
	}
	fail, _ := failSeverity(opts.FailOn)
	if fail != nil {
		for _, d := range report.Diagnostics {
			if d.Severity <= *fail {
				return ErrFindings
			}
		}
	}
	return nil
}

// isNotExist is for a spec gwc cannot read: missing, not allowed, or
// refused by the loader (outside --root, not a regular file, too large).
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, spec.ErrRefused)
}

// styler colours text output with fatih/color when standard output is a
// terminal and NO_COLOR is not set (iostreams decides).
func styler(ios *iostreams.IOStreams) format.Styler {
	if !ios.ColorEnabled() {
		return format.Styler{}
	}
	paint := func(attrs ...color.Attribute) func(string) string {
		c := color.New(attrs...)
		c.EnableColor()
		return func(s string) string { return c.Sprint(s) }
	}
	return format.Styler{Error: paint(color.FgRed, color.Bold), Warning: paint(color.FgYellow, color.Bold),
		Note: paint(color.FgCyan), Faint: paint(color.FgHiBlack)}
}
