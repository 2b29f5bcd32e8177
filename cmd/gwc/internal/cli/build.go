package cli

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/internal/version"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// BuildOptions is everything `gwc build` needs.
type BuildOptions struct {
	IO *iostreams.IOStreams
	// Spec is the entry file of the OpenAPI document.
	Spec string
	// Output is the bundle's path; empty means next to Spec, with the
	// extension .gwb.
	Output string
	// Root is the folder whose tree every file of the spec must be in; ""
	// means the spec's folder.
	Root string
	// SignKey is a PEM ed25519 private key file to sign the bundle with.
	SignKey string
	// Version is written into the bundle header; version.Get outside tests.
	Version func() version.Info
}

// NewCmdBuild returns the build command.
func NewCmdBuild(ios *iostreams.IOStreams, runF func(context.Context, *BuildOptions) error) *cobra.Command {
	opts := &BuildOptions{IO: ios, Version: version.Get}
	cmd := &cobra.Command{
		Use:   "build SPEC",
		Short: "Compile an OpenAPI spec into a gateway bundle",
		Long: `Compile an OpenAPI 3.0 or 3.1 spec and its x-gateway extension into one
bundle: the routing table, request validators with every $ref resolved, and the
effective gateway policy of every operation. The same input gives a
byte-identical bundle; set SOURCE_DATE_EPOCH to record a build time.

Problems are printed as FILE:LINE:COL: SEVERITY: MESSAGE (CODE). Warnings do not
stop the build; any error does, and no bundle is written.`,
		Example: `  gwc build api.yaml                 # writes api.gwb
  gwc build specs/api.yaml -o dist/api.gwb
  gwc build api.yaml --sign-key build-key.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return buildRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "bundle file to write (default: SPEC with the extension .gwb)")
	cmd.Flags().StringVar(&opts.Root, "root", "", "folder whose tree the spec's $ref'd files must be in (default: the spec's folder)")
	cmd.Flags().StringVar(&opts.SignKey, "sign-key", "", "sign the bundle with this ed25519 private key (PEM, PKCS#8)")
	return cmd
}

// defaultOutput is the bundle path next to spec: api.yaml → api.gwb.
func defaultOutput(spec string) string {
	return strings.TrimSuffix(spec, filepath.Ext(spec)) + ".gwb"
}

func buildRun(ctx context.Context, opts *BuildOptions) error {
	out := opts.Output
	if out == "" {
		out = defaultOutput(opts.Spec)
	}
	var key ed25519.PrivateKey
	if opts.SignKey != "" {
		k, err := bundle.LoadPrivateKey(opts.SignKey)
		if err != nil {
			return IOError(err)
		}
		key = k
	}
	enc, ds, err := compiler.Build(ctx, compiler.Options{Spec: opts.Spec, Root: opts.Root,
		Encode: bundle.EncodeOptions{GWCVersion: opts.Version().Version, SignKey: key}})
	if err != nil {
		return IOError(err)
	}
	if err := ReportDiagnostics(opts.IO, ds); err != nil {
		printSummary(opts.IO, ds)
		return err
	}
	if err := writeFileAtomic(out, enc.Data); err != nil {
		return IOError(err)
	}
	b := enc.Bundle
	_, err = fmt.Fprintf(opts.IO.ErrOut, "built %s: %s, %s, %s (sha256:%x)\n", out,
		plural(len(b.Operations), "operation"), plural(len(b.Upstreams), "upstream"), byteSize(len(enc.Data)), enc.Header.Digest[:6])
	return IOError(err)
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path, so a reader (a serving gwc watching the file) never sees a
// half-written bundle.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	// -o dist/api.gwb should not need a mkdir first.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPathError(err))
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPathError(err))
	}
	tmp := f.Name()
	defer os.Remove(tmp)  // a no-op after the rename
	defer holdTemp(tmp)() // removed by a forced exit too (SIGINT, SIGTERM)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", path, unwrapPathError(err))
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", path, unwrapPathError(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPathError(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPathError(err))
	}
	return nil
}

// unwrapPathError drops the temporary file's name from err: the user asked
// for path, not for the name gwc picked beside it.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	if le, ok := err.(*os.LinkError); ok {
		return le.Err
	}
	return err
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func byteSize(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}
