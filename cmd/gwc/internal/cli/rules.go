package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/lint"
)

// RulesOptions is everything `gwc rules` needs.
type RulesOptions struct {
	IO *iostreams.IOStreams
	// Format is text, json or markdown (docs/rules.md).
	Format string
}

// NewCmdRules returns the rules command.
func NewCmdRules(ios *iostreams.IOStreams, runF func(context.Context, *RulesOptions) error) *cobra.Command {
	opts := &RulesOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List every lint rule with its default severity",
		Long: `List the rules gwc lint runs: their ids (for .gwc.yaml and x-gwc-ignore),
default severities, categories and what each finds. --format markdown prints
docs/rules.md, which is generated this way.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch opts.Format {
			case "text", "json", "markdown":
			default:
				return UsageErrorf("--format %q: want text, json or markdown", opts.Format)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rulesRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "output format: text, json or markdown")
	return cmd
}

func rulesRun(ctx context.Context, opts *RulesOptions) error {
	w := opts.IO.Out
	rules, err := lint.Builtin(ctx)
	if err != nil {
		return err
	}
	switch opts.Format {
	case "markdown":
		return IOError(lint.Markdown(w, rules))
	case "json":
		type rule struct {
			ID          string `json:"id"`
			Severity    string `json:"severity"`
			Category    string `json:"category"`
			Title       string `json:"title"`
			Description string `json:"description"`
			Help        string `json:"help"`
			Kind        string `json:"kind"`
		}
		var out []rule
		for _, r := range rules {
			out = append(out, rule{r.ID, r.Severity.String(), r.Category, r.Title, r.Description, r.HelpURI(), r.Kind()})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return IOError(enc.Encode(out))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tDEFAULT\tCATEGORY\tWHAT IT FINDS")
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Category, r.Title)
	}
	return IOError(tw.Flush())
}
