package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/internal/version"
)

// VersionOptions is everything `gwc version` needs: its flags, and its
// dependencies as fields so that tests can replace them.
type VersionOptions struct {
	IO *iostreams.IOStreams
	// Info describes the binary; version.Get outside tests.
	Info func() version.Info

	JSON bool
}

// NewCmdVersion returns the version command. runF, when not nil, is called
// with the parsed options instead of versionRun, so tests can check parsing.
func NewCmdVersion(ios *iostreams.IOStreams, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: ios, Info: version.Get}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print gwc's version",
		Long: `Print the version of this gwc binary, the commit it was built from when
known, and the Go version and platform it was built with.`,
		Example: `  gwc version
  gwc version --json | jq -r .version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON object with version, commit, go, os and arch")
	return cmd
}

// versionRun prints the version as one line, or as JSON with --json.
func versionRun(opts *VersionOptions) error {
	info := opts.Info()
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return IOError(enc.Encode(info))
	}
	_, err := fmt.Fprintln(opts.IO.Out, info.String())
	return IOError(err)
}
