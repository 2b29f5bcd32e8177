// Package cli is the gwc command line: the root command, one file per verb,
// and the mapping from what a command returns to the process's exit code.
//
// A verb follows the shape of version.go: an XOptions struct holding its
// flags and dependencies, NewCmdX(ios, runF) building the cobra command, and
// an unexported xRun(opts) that calls one library function and prints its
// result. Tests pass a runF to check flag parsing without running anything,
// and call xRun with iostreams.Test() to check the output.
//
// # Exit codes
//
// Exit codes are a contract with scripts and CI, kept here and nowhere else:
//
//	0  ExitOK        the command did its job and the input has no errors
//	1  ExitFindings  the input has errors; the diagnostics were printed
//	2  ExitUsage     the command line is wrong (unknown command or flag,
//	                 wrong number of arguments), or gwc could not read or write
//	                 a file (ExitIO, the same number)
//	130, 143         stopped by SIGINT (Ctrl-C) or SIGTERM: 128 + the signal's
//	                 number, as shells report it (see Interrupted)
//
// A command's RunE returns one of:
//
//   - nil, for exit 0;
//   - ErrFindings, after printing diagnostics (see ReportDiagnostics), for
//     exit 1 with nothing more printed;
//   - UsageErrorf(...), for a command line cobra cannot check itself (a bad
//     flag value, flags that exclude each other): exit 2, the message and a
//     "Run 'gwc CMD --help' for usage." hint;
//   - IOError(err) or any other error: exit 2 with the message. Errors that
//     are not an *ExitError are treated as IOError, since what remains after
//     findings and usage is gwc failing to read or write something.
//
// Errors found by cobra itself before a command runs (unknown command or
// flag, argument count) are usage errors.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/internal/version"
)

// The process exit codes; see the package documentation.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitUsage    = 2
	ExitIO       = 2
)

// ErrFindings is returned by a command that has printed diagnostics with at
// least one error among them. It exits 1 and prints nothing more.
var ErrFindings = errors.New("the input has errors")

// ExitError is an error that carries the exit code it ends the process with.
// A nil Err exits with Code silently.
type ExitError struct {
	Code int
	Err  error
	// Usage asks for a "Run 'gwc CMD --help' for usage." hint after Err.
	Usage bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// UsageErrorf reports a command line that is wrong in a way cobra cannot see,
// such as an unknown --format value: exit 2 with a help hint.
func UsageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...), Usage: true}
}

// IOError reports that gwc could not read or write something (a missing
// input file, an unwritable output): exit 2. A nil err gives nil.
func IOError(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: ExitIO, Err: err}
}

// StopGrace is how long a command has, after SIGINT or SIGTERM cancelled
// its context, to return by itself: every stage looks at the context, and
// one that does not (a parser busy with one large file) is cut short then.
// `gwc serve`, which drains its connections, is not.
const StopGrace = time.Second

// Interrupted is the cause of a command's context being cancelled by a
// signal. The command then exits with Code, saying so on stderr.
type Interrupted struct{ Signal os.Signal }

func (e *Interrupted) Error() string {
	name := e.Signal.String()
	switch e.Signal {
	case os.Interrupt:
		name = "SIGINT"
	case syscall.SIGTERM:
		name = "SIGTERM"
	}
	return "gwc: stopped by " + name
}

// Code is 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
func (e *Interrupted) Code() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// Main runs gwc with the process's arguments and streams and returns the exit
// code. SIGINT or SIGTERM cancels the command's context with an Interrupted
// cause; a command that has not returned StopGrace later (or at a second
// signal) is ended with Interrupted's code.
func Main() int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ios := iostreams.System()
	args := os.Args[1:]
	root := NewRootCmd(ios)
	cmd, _, err := root.Find(args)
	hard := err != nil || cmd.Name() != "serve"
	go watchSignals(sigs, cancel, hard, func(code int, msg string) {
		fmt.Fprintln(ios.ErrOut, msg)
		removeTemps()
		os.Exit(code)
	})
	return execute(ctx, root, args, ios)
}

// temps are the temporary files being written (a bundle before its rename),
// which a forced exit removes: it ends the process without running defers.
var temps struct {
	sync.Mutex
	paths map[string]bool
}

// holdTemp registers p until release is called.
func holdTemp(p string) (release func()) {
	temps.Lock()
	defer temps.Unlock()
	if temps.paths == nil {
		temps.paths = map[string]bool{}
	}
	temps.paths[p] = true
	return func() {
		temps.Lock()
		defer temps.Unlock()
		delete(temps.paths, p)
	}
}

// removeTemps removes every registered temporary file.
func removeTemps() {
	temps.Lock()
	defer temps.Unlock()
	for p := range temps.paths {
		os.Remove(p)
		delete(temps.paths, p)
	}
}

// watchSignals cancels the context at the first signal and, when hard, ends
// the process StopGrace later or at a second signal.
func watchSignals(sigs <-chan os.Signal, cancel context.CancelCauseFunc, hard bool, exit func(int, string)) {
	sig := <-sigs
	intr := &Interrupted{Signal: sig}
	cancel(intr)
	if !hard {
		return
	}
	select {
	case <-sigs:
	case <-time.After(StopGrace):
	}
	exit(intr.Code(), intr.Error())
}

// Run runs gwc with args (without the program name) on ios and returns the
// exit code, having printed any error to ios.ErrOut.
func Run(ctx context.Context, args []string, ios *iostreams.IOStreams) int {
	return execute(ctx, NewRootCmd(ios), args, ios)
}

// execute runs root with args and maps its outcome to an exit code.
func execute(ctx context.Context, root *cobra.Command, args []string, ios *iostreams.IOStreams) int {
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	// A command that failed once a signal cancelled it failed because of
	// the signal: say that, not "context canceled".
	var intr *Interrupted
	if errors.As(context.Cause(ctx), &intr) {
		fmt.Fprintln(ios.ErrOut, intr.Error())
		return intr.Code()
	}
	if errors.Is(err, ErrFindings) {
		return ExitFindings
	}
	var exit *ExitError
	if !errors.As(err, &exit) {
		// Run errors were all made *ExitError by classifyRunErrors, so this
		// one comes from cobra: an unknown command or flag, or an argument
		// count.
		exit = &ExitError{Code: ExitUsage, Err: err, Usage: true}
	}
	if exit.Err != nil {
		fmt.Fprintln(ios.ErrOut, exit.Err)
	}
	if exit.Usage {
		fmt.Fprintf(ios.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return exit.Code
}

// NewRootCmd returns the gwc command with every subcommand added.
func NewRootCmd(ios *iostreams.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "gwc",
		Short: "Compile, lint and serve OpenAPI gateways",
		Long: `gwc compiles an OpenAPI 3.0 or 3.1 spec, with its x-gateway extension, into a
deterministic gateway bundle, lints specs against built-in rules and policies,
and serves bundles.`,
		Version: version.String(),
		// Run prints errors and the help hint itself, once, in gwc's words.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: err, Usage: true}
	})

	// Commands, each in its own file shaped like version.go; help lists
	// them sorted.
	root.AddCommand(
		NewCmdBuild(ios, nil),
		NewCmdDiff(ios, nil),
		NewCmdInspect(ios, nil),
		NewCmdLint(ios, nil),
		NewCmdRules(ios, nil),
		NewCmdPolicy(ios),
		NewCmdServe(ios, nil),
		NewCmdVersion(ios, nil),
	)
	// cobra adds these lazily on Execute; adding them here makes the command
	// tree complete for classifyRunErrors and for tests that walk it.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()

	for _, sub := range root.Commands() {
		rejectUnknownSubcommands(sub)
	}
	classifyRunErrors(root)
	return root
}

// rejectUnknownSubcommands makes each command below the root that only groups
// subcommands (such as completion) print its help when called alone and fail
// with a usage error when given an unknown subcommand; cobra would print the
// help and exit 0 for `gwc completion tcsh`.
func rejectUnknownSubcommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = cobra.NoArgs
		cmd.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
	for _, sub := range cmd.Commands() {
		rejectUnknownSubcommands(sub)
	}
}

// classifyRunErrors wraps every command's RunE so that an error it returns
// without an exit code becomes an I/O error (exit 2, no help hint). That
// leaves Run able to tell a command's own failures from cobra's usage errors,
// which reach it unwrapped.
func classifyRunErrors(cmd *cobra.Command) {
	if runE := cmd.RunE; runE != nil {
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			err := runE(cmd, args)
			var exit *ExitError
			if err == nil || errors.Is(err, ErrFindings) || errors.As(err, &exit) {
				return err
			}
			return IOError(err)
		}
	}
	for _, sub := range cmd.Commands() {
		classifyRunErrors(sub)
	}
}
