package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

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
	// Outputs are more reports of the same run, FORMAT=FILE each (--output).
	Outputs []string
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
	// PolicyTimeout, when set, overrides .gwc.yaml's policy-timeout;
	// PolicyMemory is the heap growth policies may cause, in MiB.
	PolicyTimeout time.Duration
	PolicyMemory  uint64
	// Baseline is an earlier `gwc lint --format json` output; BaselineRef a
	// git ref whose specs are linted as the baseline. Either leaves out the
	// findings the baseline already had (lint.Baseline).
	Baseline    string
	BaselineRef string
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

Rego policies (the embedded pack, --policy and .gwc.yaml's policies) may not
call built-ins that reach the network, files, environment, a random source or
the clock, and run under a budget per spec (--policy-timeout, --policy-memory);
a policy that fails or runs out is an error finding at its Rego file.

--baseline FILE (an earlier --format json output) or --baseline-ref REF (the
specs as they are at a git ref, read with git) reports only the findings that
are new relative to it, matched by a fingerprint that survives moved lines.

Exits 0 when no finding reaches --fail-on (default: error), 1 when one does,
2 when a spec or the configuration cannot be read or the command line is wrong.`,
		Example: `  gwc lint api.yaml
  gwc lint specs/*.yaml --format sarif > gwc.sarif
  gwc lint api.yaml --format github --fail-on warning
  gwc lint api.yaml --baseline-ref origin/main`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Specs = args
			if !slices.Contains(format.Names, opts.Format) {
				return UsageErrorf("--format %q: want one of %s", opts.Format, strings.Join(format.Names, ", "))
			}
			for _, o := range opts.Outputs {
				name, file, ok := strings.Cut(o, "=")
				if !ok || file == "" {
					return UsageErrorf("--output %q: want FORMAT=FILE, e.g. sarif=gwc.sarif", o)
				}
				if !slices.Contains(format.Names, name) {
					return UsageErrorf("--output %q: format %q is not one of %s", o, name, strings.Join(format.Names, ", "))
				}
			}
			if _, ok := failSeverity(opts.FailOn); !ok {
				return UsageErrorf("--fail-on %q: want error, warning, info, hint or none", opts.FailOn)
			}
			if opts.Config != "" && opts.NoConfig {
				return UsageErrorf("--config and --no-config cannot be used together")
			}
			if opts.PolicyTimeout < 0 || opts.PolicyMemory == 0 {
				return UsageErrorf("--policy-timeout and --policy-memory must be more than 0")
			}
			if opts.Baseline != "" && opts.BaselineRef != "" {
				return UsageErrorf("--baseline and --baseline-ref cannot be used together")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return lintRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "output format: "+strings.Join(format.Names, ", "))
	cmd.Flags().StringArrayVarP(&opts.Outputs, "output", "o", nil, "also write the report in FORMAT to FILE, FORMAT=FILE (repeatable): one run, several reports")
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "error", "least severity that fails the run: error, warning, info, hint or none")
	cmd.Flags().StringVar(&opts.Config, "config", "", "configuration file (default: .gwc.yaml from each spec's directory upwards)")
	cmd.Flags().BoolVar(&opts.NoConfig, "no-config", false, "use no configuration file")
	cmd.Flags().StringArrayVar(&opts.Policies, "policy", nil, "directory of Rego policies to run too (repeatable)")
	cmd.Flags().StringVar(&opts.Root, "root", "", "folder whose tree a spec's $ref'd files must be in (default: the spec's folder)")
	cmd.Flags().BoolVar(&opts.NoBuiltinPolicies, "no-builtin-policies", false, "leave out gwc's embedded policy pack")
	cmd.Flags().DurationVar(&opts.PolicyTimeout, "policy-timeout", 0, "time the policies may take per spec (default: .gwc.yaml's policy-timeout, else 5s)")
	cmd.Flags().Uint64Var(&opts.PolicyMemory, "policy-memory", policy.DefaultMemory>>20, "MiB the heap may grow while the policies run, per spec")
	cmd.Flags().StringVar(&opts.Baseline, "baseline", "", "report only findings not in this earlier --format json output")
	cmd.Flags().StringVar(&opts.BaselineRef, "baseline-ref", "", "report only findings the specs did not have at this git ref")
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
	var base *lint.Baseline
	if opts.Baseline != "" {
		var err error
		if base, err = lint.ReadBaseline(opts.Baseline); err != nil {
			return IOError(fmt.Errorf("--baseline: %w", err))
		}
	}
	var refs *refTrees
	if opts.BaselineRef != "" {
		refs = &refTrees{ref: opts.BaselineRef, trees: map[string]*lint.GitTree{}}
		defer refs.close()
		base = lint.NewBaseline(nil)
	}
	rules := map[string]*lint.Rule{}
	for _, r := range lint.All() {
		rules[r.ID] = r
	}
	sets := map[string]func() (*policy.Set, error){} // by their directories, each compiled once
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
		load, ok := sets[key]
		if !ok {
			load = sync.OnceValues(func() (*policy.Set, error) {
				set, err := lint.LoadPolicies(ctx, opts.NoBuiltinPolicies, dirs)
				if err != nil {
					return nil, &policyLoadError{err}
				}
				return set, nil
			})
			sets[key] = load
		}
		// The policies compile while lint.Run loads the spec; a set serves
		// the specs that share its directories, with the budget of each
		// spec's configuration (the specs are linted one after another).
		policySet := func() (*policy.Set, error) {
			set, err := load()
			if set != nil {
				set.Budget = policy.Budget{Time: opts.PolicyTimeout, Memory: opts.PolicyMemory << 20}
				if set.Budget.Time == 0 && cfg != nil {
					set.Budget.Time = cfg.PolicyTimeout
				}
			}
			return set, err
		}
		ds, err := lint.Run(ctx, spec, lint.Options{Config: cfg, NoConfig: cfg == nil, PolicySet: policySet, Root: opts.Root})
		if set, _ := load(); set != nil {
			for _, r := range lint.PolicyRules(set) {
				rules[r.ID] = r
			}
		}
		var ple *policyLoadError
		if errors.As(err, &ple) {
			if cerr := cfg.Err(); cerr != nil {
				// The configuration's mistakes may be why (a misspelt
				// directory): both are said.
				return IOError(fmt.Errorf("%w\n%w", cerr, ple.err))
			}
			return IOError(ple.err)
		}
		if err != nil {
			var ce *lint.ConfigError
			if errors.As(err, &ce) {
				return IOError(ce) // FILE:LINE:COL: each mistake
			}
			if !isNotExist(err) {
				return IOError(fmt.Errorf("%s: %w", spec, err))
			}
			// One unreadable spec must not hide the others' findings: report
			// it as a finding of that file and go on; the exit code is 2.
			report.Diagnostics.Errorf(diag.Pos{File: spec}, "gwc-io", "%v", err)
			unreadable = true
			continue
		}
		report.Diagnostics = append(report.Diagnostics, ds...)
		if refs != nil {
			old, err := refs.lint(ctx, spec, lint.Options{Config: cfg, NoConfig: cfg == nil, PolicySet: policySet, Root: opts.Root})
			if err != nil {
				return IOError(err)
			}
			if old == nil {
				fmt.Fprintf(opts.IO.ErrOut, "%s is not in %s: all its findings are new\n", spec, opts.BaselineRef)
			}
			base.Add(old)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(rules)) {
		report.Rules = append(report.Rules, rules[id])
	}
	report.Diagnostics.Sort()
	if base != nil {
		report.Diagnostics, report.Baselined = base.Filter(report.Diagnostics)
	}
	if err := format.Write(opts.IO.Out, opts.Format, report, styler(opts.IO)); err != nil {
		return IOError(err)
	}
	for _, o := range opts.Outputs {
		name, file, _ := strings.Cut(o, "=")
		if err := writeReport(file, name, report); err != nil {
			return IOError(err)
		}
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
// writeReport writes report in the format name to file, whole or not at
// all (a temporary file renamed), uncoloured.
func writeReport(file, name string, report *format.Report) error {
	var b bytes.Buffer
	if err := format.Write(&b, name, report, format.Styler{}); err != nil {
		return err
	}
	return writeFileAtomic(file, b.Bytes())
}

// policyLoadError is a policy set that could not be compiled, told apart
// from lint.Run's own errors.
type policyLoadError struct{ err error }

func (e *policyLoadError) Error() string { return e.err.Error() }
func (e *policyLoadError) Unwrap() error { return e.err }

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

// refTrees are the git trees --baseline-ref reads, one per repository the
// specs are in.
type refTrees struct {
	ref   string
	trees map[string]*lint.GitTree // by top level
}

// lint lints spec as it is at the ref; nil findings and no error mean the
// spec is not there (so every finding of it is new).
func (r *refTrees) lint(ctx context.Context, spec string, opts lint.Options) (diag.Diagnostics, error) {
	root, err := lint.GitRoot(ctx, filepath.Dir(spec))
	if err != nil {
		return nil, fmt.Errorf("--baseline-ref %s: %w", r.ref, err)
	}
	tree, ok := r.trees[root]
	if !ok {
		if tree, err = lint.OpenGitTree(ctx, root, r.ref); err != nil {
			return nil, fmt.Errorf("--baseline-ref: %w", err)
		}
		r.trees[root] = tree
	}
	if _, err := tree.ReadFile(spec); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("--baseline-ref %s: %w", r.ref, err)
	}
	opts.ReadFile = tree.ReadFile
	ds, err := lint.Run(ctx, spec, opts)
	if err != nil {
		return nil, fmt.Errorf("--baseline-ref %s: %s: %w", r.ref, spec, err)
	}
	if ds == nil {
		ds = diag.Diagnostics{}
	}
	return ds, nil
}

func (r *refTrees) close() {
	for _, t := range r.trees {
		t.Close() //nolint:errcheck // a reader's exit status says nothing of what it read
	}
}
