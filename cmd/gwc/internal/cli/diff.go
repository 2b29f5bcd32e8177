package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/internal/version"
	"github.com/gwcdev/gwc/lint/diff"
)

// DiffOptions is everything `gwc diff` needs.
type DiffOptions struct {
	IO       *iostreams.IOStreams
	Old, New diff.Source
	// Format is one of diff.Formats.
	Format string
	// Allow lists the breaking-change kinds acknowledged (or "all").
	Allow []string
	// FailOn is the least level that fails the run: breaking, gateway,
	// info or none.
	FailOn string
	// Root is the folder whose tree each side's files must be in; "" means
	// each spec's own folder.
	Root string
}

// NewCmdDiff returns the diff command.
func NewCmdDiff(ios *iostreams.IOStreams, runF func(context.Context, *DiffOptions) error) *cobra.Command {
	opts := &DiffOptions{IO: ios}
	var baseRef string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW | diff --base-ref REF NEW",
		Short: "Report the breaking and gateway changes between two versions of an API",
		Long: `Compare two versions of an API as gwc compiles them and report what the
change does to existing clients: breaking changes (operations removed, new
required parameters or properties, narrowed types, formats, enums and bounds,
success responses or response properties removed, security clients must now
meet), gateway changes (authentication, rate limits, max_body, CORS origins,
upstreams, path rewrites, timeouts) and other changes, each at FILE:LINE:COL
in NEW (in OLD for what NEW no longer has).

OLD and NEW are spec files, REF:PATH for a spec at a git commit, branch or
tag (its $refs read at the same commit), or bundles (.gwb). --base-ref REF
compares NEW with the same path at REF.

A breaking change is acknowledged, reported without failing the run, by
--allow KIND (repeatable; all for every kind) or by an x-gwc-breaking marker
in NEW on the root, the path item or the operation: "acknowledged", or a
list of kinds.

Exits 0 when no unacknowledged change reaches --fail-on (default: breaking),
1 when one does, 2 when a side cannot be read or has errors, or the command
line is wrong.

Kinds of change:
` + kindList(),
		Example: `  gwc diff old/api.yaml api.yaml
  gwc diff --base-ref origin/main api.yaml --format markdown > comment.md
  gwc diff v1.2.0:api.yaml api.yaml --allow diff/operation-removed
  gwc diff prod.gwb api.yaml --format github`,
		Args: func(cmd *cobra.Command, args []string) error {
			if baseRef != "" {
				return cobra.ExactArgs(1)(cmd, args)
			}
			return cobra.ExactArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if baseRef != "" {
				if strings.HasPrefix(baseRef, "-") {
					return UsageErrorf("--base-ref %q: a git ref cannot start with '-'", baseRef)
				}
				opts.Old = diff.Source{Path: args[0], Ref: baseRef}
				opts.New = diff.ParseSource(args[0])
			} else {
				opts.Old, opts.New = diff.ParseSource(args[0]), diff.ParseSource(args[1])
			}
			opts.Old.Root, opts.New.Root = opts.Root, opts.Root
			if !slices.Contains(diff.Formats, opts.Format) {
				return UsageErrorf("--format %q: want one of %s", opts.Format, strings.Join(diff.Formats, ", "))
			}
			if _, ok := diffFailLevel(opts.FailOn); !ok {
				return UsageErrorf("--fail-on %q: want breaking, gateway, info or none", opts.FailOn)
			}
			for _, a := range opts.Allow {
				if k, ok := diff.KindByID(a); a != "all" && (!ok || k.Level != diff.Breaking) {
					return UsageErrorf("--allow %q: not a kind of breaking change (gwc diff --help lists them)", a)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return diffRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&baseRef, "base-ref", "", "compare NEW with the same path at this git commit, branch or tag")
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "output format: "+strings.Join(diff.Formats, ", "))
	cmd.Flags().StringArrayVar(&opts.Allow, "allow", nil, "acknowledge a kind of breaking change (repeatable; all for every kind)")
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "breaking", "least level that fails the run: breaking, gateway, info or none")
	cmd.Flags().StringVar(&opts.Root, "root", "", "folder whose tree the spec's $ref'd files must be in (default: the spec's folder)")
	return cmd
}

func kindList() string {
	var b strings.Builder
	for _, k := range diff.Kinds {
		fmt.Fprintf(&b, "  %-38s %-8s %s\n", k.ID, k.Level, k.Title)
	}
	return strings.TrimRight(b.String(), "\n")
}

// diffFailLevel reads --fail-on; nil fails on nothing.
func diffFailLevel(s string) (*diff.Level, bool) {
	if s == "none" {
		return nil, true
	}
	l, ok := diff.ParseLevel(s)
	return &l, ok
}

func diffRun(ctx context.Context, opts *DiffOptions) error {
	// The two sides load at once: on a large spec, loading is most of the
	// time.
	var old *diff.Side
	var oldErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		old, oldErr = diff.Load(ctx, opts.Old)
	}()
	new, newErr := diff.Load(ctx, opts.New)
	<-done
	for _, err := range []error{oldErr, newErr} {
		if err != nil {
			return inputError(opts.IO, err)
		}
	}
	if ds := diff.CheckMarkers(new); len(ds) > 0 {
		return ReportDiagnostics(opts.IO, ds)
	}
	r := diff.Compare(old, new, diff.Options{Allow: opts.Allow})
	if err := diff.Write(opts.IO.Out, opts.Format, r, version.Get().Version); err != nil {
		return IOError(err)
	}
	if l, _ := diffFailLevel(opts.FailOn); l != nil && r.Fails(*l) {
		return ErrFindings
	}
	return nil
}

// inputError reports a side that could not be read, with a spec's errors,
// for exit 2.
func inputError(ios *iostreams.IOStreams, err error) error {
	var ie *diff.InputError
	if errors.As(err, &ie) && len(ie.Diagnostics) > 0 {
		ReportDiagnostics(ios, ie.Diagnostics)
	}
	return IOError(err)
}
