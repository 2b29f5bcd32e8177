package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		wantErrOut []string
	}{
		{
			name:     "no arguments prints help",
			args:     nil,
			wantCode: ExitOK,
			wantOut:  []string{"Usage:\n  gwc [command]", "version ", "completion ", "help "},
		},
		{
			name:       "unknown command",
			args:       []string{"nosuch"},
			wantCode:   ExitUsage,
			wantErrOut: []string{"unknown command \"nosuch\" for \"gwc\"\nRun 'gwc --help' for usage.\n"},
		},
		{
			name:       "unknown flag on a subcommand names the subcommand",
			args:       []string{"version", "--bogus"},
			wantCode:   ExitUsage,
			wantErrOut: []string{"unknown flag: --bogus\nRun 'gwc version --help' for usage.\n"},
		},
		{
			name:       "unknown root flag",
			args:       []string{"--bogus"},
			wantCode:   ExitUsage,
			wantErrOut: []string{"unknown flag: --bogus\nRun 'gwc --help' for usage.\n"},
		},
		{
			name:       "too many arguments",
			args:       []string{"version", "extra"},
			wantCode:   ExitUsage,
			wantErrOut: []string{"unknown command \"extra\" for \"gwc version\"\nRun 'gwc version --help' for usage.\n"},
		},
		{
			name:     "version flag",
			args:     []string{"--version"},
			wantCode: ExitOK,
			wantOut:  []string{"gwc "},
		},
		{
			name:     "help for a command",
			args:     []string{"help", "version"},
			wantCode: ExitOK,
			wantOut:  []string{"Usage:\n  gwc version [flags]", "--json"},
		},
		{
			name:     "bash completion",
			args:     []string{"completion", "bash"},
			wantCode: ExitOK,
			wantOut:  []string{"# bash completion V2 for gwc", "__start_gwc"},
		},
		{
			name:       "completion for an unknown shell",
			args:       []string{"completion", "tcsh"},
			wantCode:   ExitUsage,
			wantErrOut: []string{"unknown command \"tcsh\" for \"gwc completion\"\nRun 'gwc completion --help' for usage.\n"},
		},
		{
			name:     "shell completion request lists commands",
			args:     []string{"__complete", "ver"},
			wantCode: ExitOK,
			wantOut:  []string{"version\tPrint gwc's version"},
			// cobra reports the directive on stderr for debugging.
			wantErrOut: []string{"Completion ended with directive: ShellCompDirectiveNoFileComp"},
		},
		{
			name:     "completion alone prints its help",
			args:     []string{"completion"},
			wantCode: ExitOK,
			wantOut:  []string{"Usage:\n  gwc completion [flags]\n  gwc completion [command]", "bash "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			code := Run(context.Background(), tt.args, ios)
			if code != tt.wantCode {
				t.Errorf("Run(%q) = %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.wantCode, out, errOut)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout does not contain %q:\n%s", want, out)
				}
			}
			for _, want := range tt.wantErrOut {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr does not contain %q:\n%s", want, errOut)
				}
			}
			if tt.wantErrOut == nil && errOut.Len() > 0 {
				t.Errorf("unexpected stderr:\n%s", errOut)
			}
		})
	}
}

// TestExitCodes checks how what a command's RunE returns becomes the exit
// code and the error output.
func TestExitCodes(t *testing.T) {
	notFound := &fs.PathError{Op: "open", Path: "spec.yaml", Err: fs.ErrNotExist}
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantErrOut string
	}{
		{name: "success", err: nil, wantCode: ExitOK},
		{name: "findings are silent", err: ErrFindings, wantCode: ExitFindings},
		{name: "wrapped findings", err: fmt.Errorf("build: %w", ErrFindings), wantCode: ExitFindings},
		{name: "io error", err: IOError(notFound), wantCode: ExitIO,
			wantErrOut: "open spec.yaml: file does not exist\n"},
		{name: "plain error is io, without hint", err: errors.New("write petstore.gwb: disk full"), wantCode: ExitIO,
			wantErrOut: "write petstore.gwb: disk full\n"},
		{name: "usage error has a hint", err: UsageErrorf("unknown format %q", "xml"), wantCode: ExitUsage,
			wantErrOut: "unknown format \"xml\"\nRun 'gwc fail --help' for usage.\n"},
		{name: "IOError(nil) is success", err: IOError(nil), wantCode: ExitOK},
		{name: "silent exit error", err: &ExitError{Code: 1}, wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			root := NewRootCmd(ios)
			fail := &cobra.Command{
				Use:  "fail",
				RunE: func(*cobra.Command, []string) error { return tt.err },
			}
			root.AddCommand(fail)
			classifyRunErrors(fail)

			code := execute(context.Background(), root, []string{"fail"}, ios)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
			if errOut.String() != tt.wantErrOut {
				t.Errorf("stderr = %q, want %q", errOut, tt.wantErrOut)
			}
			if out.Len() > 0 {
				t.Errorf("unexpected stdout:\n%s", out)
			}
		})
	}
}

// TestCommandsAreWired guards the explicit command list: every command is
// reachable and has the help text users see in `gwc --help`.
func TestCommandsAreWired(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	root := NewRootCmd(ios)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" && !c.Hidden {
			t.Errorf("command %q has no Short description", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, name := range []string{"version", "completion", "help"} {
		if cmd, _, err := root.Find([]string{name}); err != nil || cmd.Name() != name {
			t.Errorf("root.Find(%q) = %v, %v", name, cmd.Name(), err)
		}
	}
}
