package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestInterrupted: a command that fails once a signal cancelled its context
// exits 128 + the signal's number, saying so, instead of "context canceled".
func TestInterrupted(t *testing.T) {
	for _, tt := range []struct {
		sig      os.Signal
		wantCode int
		wantOut  string
	}{
		{os.Interrupt, 130, "gwc: stopped by SIGINT\n"},
		{syscall.SIGTERM, 143, "gwc: stopped by SIGTERM\n"},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		root := &cobra.Command{Use: "gwc", SilenceErrors: true, SilenceUsage: true}
		root.AddCommand(&cobra.Command{Use: "slow", RunE: func(cmd *cobra.Command, args []string) error {
			cancel(&Interrupted{Signal: tt.sig})
			<-cmd.Context().Done()
			return IOError(cmd.Context().Err())
		}})
		ios, _, _, errOut := iostreams.Test()
		if code := execute(ctx, root, []string{"slow"}, ios); code != tt.wantCode || errOut.String() != tt.wantOut {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tt.sig, code, errOut, tt.wantCode, tt.wantOut)
		}
	}
}

// TestWatchSignals: the first signal cancels the context with its cause;
// the process is ended StopGrace later, or at once at a second signal, and
// never for `gwc serve` (hard false), which drains its connections.
func TestWatchSignals(t *testing.T) {
	type ended struct {
		code int
		msg  string
		at   time.Duration
	}
	run := func(hard bool, signals ...os.Signal) (context.Context, chan ended) {
		ctx, cancel := context.WithCancelCause(context.Background())
		sigs := make(chan os.Signal, len(signals))
		for _, s := range signals {
			sigs <- s
		}
		out := make(chan ended, 1)
		start := time.Now()
		go watchSignals(sigs, cancel, hard, func(code int, msg string) { out <- ended{code, msg, time.Since(start)} })
		return ctx, out
	}
	ctx, out := run(true, syscall.SIGTERM)
	e := <-out
	var intr *Interrupted
	if !errors.As(context.Cause(ctx), &intr) || intr.Signal != syscall.SIGTERM {
		t.Errorf("cause %v", context.Cause(ctx))
	}
	if e.code != 143 || e.msg != "gwc: stopped by SIGTERM" || e.at < StopGrace || e.at > StopGrace+time.Second {
		t.Errorf("ended %+v, want 143 after %v", e, StopGrace)
	}
	_, out = run(true, os.Interrupt, os.Interrupt)
	if e := <-out; e.code != 130 || e.at >= StopGrace {
		t.Errorf("a second signal: ended %+v, want 130 at once", e)
	}
	ctx, out = run(false, os.Interrupt)
	<-ctx.Done()
	select {
	case e := <-out:
		t.Errorf("serve was ended: %+v", e)
	case <-time.After(StopGrace + 200*time.Millisecond):
	}
}

// TestForcedExitRemovesTemps: a bundle being written when a second signal
// (or the grace period) ends the process is not left behind as a .tmp file.
func TestForcedExitRemovesTemps(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".api.gwb.123.tmp")
	if err := os.WriteFile(p, []byte("half a bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	release := holdTemp(p)
	removeTemps()
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the temporary file is still there: %v", err)
	}
	release()
	// A file released before the exit is the writer's to remove: left alone.
	q := filepath.Join(t.TempDir(), "kept")
	if err := os.WriteFile(q, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	holdTemp(q)()
	removeTemps()
	if _, err := os.Stat(q); err != nil {
		t.Fatalf("a released file was removed: %v", err)
	}
}
