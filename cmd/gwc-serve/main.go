// Command gwc-serve is the runtime of gwc alone: it serves bundles built by
// `gwc build`, with the flags of `gwc serve`, and links none of the
// compiler, the linter, OPA or kin-openapi, so that a container ships only
// what runs traffic.
//
// Exit codes are gwc's: 0 after a clean shutdown, 1 when a bundle cannot be
// served (corrupt, refused, or not buildable into a gateway), 2 for a usage
// error or a file or address that cannot be used.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/internal/servecmd"
	"github.com/gwcdev/gwc/internal/version"
	"github.com/gwcdev/gwc/runtime/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks a command line error.
type errUsage struct{ error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var opts servecmd.Options
	cmd := &cobra.Command{
		Use:   "gwc-serve BUNDLE...",
		Short: "Serve gwc bundles as an HTTP gateway",
		Long: `Serve one or more bundles built by gwc build as an HTTP gateway. This is
gwc serve without the compiler: it takes bundles only. SIGHUP reloads them;
SIGTERM drains in-flight requests, then exits.`,
		Version: version.String(),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errUsage{errors.New("gwc-serve needs at least one bundle")}
			}
			return nil
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Check(); err != nil {
				return errUsage{err}
			}
			key, err := opts.Key()
			if err != nil {
				return err
			}
			return servecmd.Run(cmd.Context(), &opts, server.BundleFiles(args, key), servecmd.Streams{Out: stdout, Err: stderr})
		},
	}
	cmd.SetVersionTemplate("{{.Version}}\n")
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return errUsage{err} })
	servecmd.AddFlags(cmd.Flags(), &opts)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, err)
	var usage errUsage
	var input *server.InputError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "Run 'gwc-serve --help' for usage.")
		return 2
	case servecmd.IsNotExist(err):
		return 2 // a file that is not there, whatever step needed it
	case errors.As(err, &input):
		return 1
	}
	// A file or an address that cannot be used.
	return 2
}
