package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/cmd/internal/servecmd"
	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/server"
)

// ServeOptions is everything `gwc serve` needs.
type ServeOptions struct {
	IO *iostreams.IOStreams
	// Files are bundles (.gwb) or OpenAPI specs, which are compiled in
	// memory.
	Files []string
	// Root is the folder whose tree a spec's files must be in; "" means
	// each spec's own folder.
	Root string
	servecmd.Options
}

// NewCmdServe returns the serve command.
func NewCmdServe(ios *iostreams.IOStreams, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "serve BUNDLE|SPEC...",
		Short: "Serve bundles (or specs, compiled in memory) as an HTTP gateway",
		Long: `Serve one or more bundles as an HTTP gateway: routing, request validation,
mocks and proxying to the upstreams, with Prometheus metrics, health and
readiness on the admin listener.

A file that is not a bundle is compiled in memory as an OpenAPI spec, for
development; --watch rebuilds it on change. Several bundles are served side by
side, each under its servers base path.

SIGHUP reloads the files; a bundle that fails to load never replaces the one
being served. SIGTERM drains in-flight requests, then exits.`,
		Example: `  gwc serve api.gwb
  PETSTORE_API_KEYS=demo:pets-demo-key gwc serve examples/petstore.yaml --watch
  gwc serve v1.gwb v2.gwb --listen :8080 --admin 127.0.0.1:9090 --access-log json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if err := opts.Check(); err != nil {
				return UsageErrorf("%v", err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	servecmd.AddFlags(cmd.Flags(), &opts.Options)
	cmd.Flags().StringVar(&opts.Root, "root", "", "folder whose tree a spec's $ref'd files must be in (default: the spec's folder)")
	return cmd
}

func serveRun(ctx context.Context, opts *ServeOptions) error {
	key, err := opts.Key()
	if err != nil {
		return IOError(err)
	}
	l := &loader{opts: opts, key: key, stderr: opts.IO.ErrOut}
	err = servecmd.Run(ctx, &opts.Options, l.load, servecmd.Streams{Out: opts.IO.Out, Err: opts.IO.ErrOut})
	var ie *server.InputError
	var le *server.ListenError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrFindings):
		return err
	case errors.As(err, &le), servecmd.IsNotExist(err):
		// A file that is not there (a bundle, a certificate, a secret
		// file) is an I/O error, whatever step needed it.
		return IOError(err)
	case errors.As(err, &ie):
		fmt.Fprintln(opts.IO.ErrOut, err)
		return ErrFindings
	}
	return err
}

// loader loads each file as a bundle, or compiles it as a spec.
type loader struct {
	opts   *ServeOptions
	key    ed25519.PublicKey
	stderr io.Writer
	// started is set after the first load: later loads are reloads, whose
	// diagnostics go to the log rather than end the command.
	started bool
}

func (l *loader) load(ctx context.Context) ([]server.Loaded, error) {
	defer func() { l.started = true }()
	var out []server.Loaded
	for _, f := range l.opts.Files {
		// Bundles are read as gwc-serve reads them; a file that is not a
		// bundle is a spec.
		loaded, err := server.ReadBundle(f, l.key)
		if err == nil {
			out = append(out, loaded)
			continue
		}
		if !errors.Is(err, bundle.ErrNotBundle) {
			return nil, err
		}
		if l.key != nil {
			return nil, &server.InputError{Err: fmt.Errorf("%s is a spec, not a signed bundle, and --verify-key requires signed bundles", f)}
		}
		b, ds, err := compiler.Compile(ctx, compiler.Options{Spec: f, Root: l.opts.Root})
		if err != nil {
			return nil, err
		}
		if err := l.report(f, ds); err != nil {
			return nil, err
		}
		files := make([]string, len(b.API.Files))
		for i, rel := range b.API.Files {
			files[i] = filepath.Join(filepath.Dir(f), rel)
		}
		out = append(out, server.Loaded{Bundle: b, Name: f, Files: files})
	}
	return out, nil
}

// report prints a spec's diagnostics. At start any error stops the command
// (exit 1, as gwc build); on a reload the errors are returned to be logged,
// and the previous bundle keeps being served.
func (l *loader) report(spec string, ds diag.Diagnostics) error {
	if !l.started {
		return ReportDiagnostics(l.opts.IO, ds)
	}
	if ds.HasErrors() {
		return fmt.Errorf("%s has errors: %w", spec, ds.Err())
	}
	return nil
}
