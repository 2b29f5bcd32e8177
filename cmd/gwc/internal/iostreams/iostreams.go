// Package iostreams is the one door the CLI's commands use to reach the
// terminal: standard input, output and error, whether they are terminals, and
// whether to colour. Commands never touch os.Stdout or isatty themselves, so
// tests run them against buffers (Test) with everything decided.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-colorable"
	"github.com/mattn/go-isatty"
)

// IOStreams holds the streams a command reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY    bool
	stdoutTTY   bool
	stderrTTY   bool
	colorOut    bool
	colorErrOut bool
}

// System returns the process's streams. Colour is on for a stream that is a
// terminal, unless NO_COLOR is set (https://no-color.org) or TERM is "dumb";
// CLICOLOR_FORCE (not "0") turns it on for pipes too.
func System() *IOStreams {
	ios := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
	ios.colorOut = colorEnabled(ios.stdoutTTY, os.Getenv)
	ios.colorErrOut = colorEnabled(ios.stderrTTY, os.Getenv)
	// On Windows consoles escape sequences need translating; elsewhere
	// NewColorable returns the file itself.
	if ios.colorOut {
		ios.Out = colorable.NewColorable(os.Stdout)
	}
	if ios.colorErrOut {
		ios.ErrOut = colorable.NewColorable(os.Stderr)
	}
	return ios
}

// Test returns streams backed by buffers, with no terminal and no colour, and
// the buffers for the test to fill and read.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// IsStdinTTY reports whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// ColorEnabled reports whether Out may be written in colour.
func (s *IOStreams) ColorEnabled() bool { return s.colorOut }

// ErrColorEnabled reports whether ErrOut may be written in colour.
func (s *IOStreams) ErrColorEnabled() bool { return s.colorErrOut }

// SetStdinTTY, SetStdoutTTY and SetStderrTTY let tests pretend a stream is a
// terminal.
func (s *IOStreams) SetStdinTTY(v bool)  { s.stdinTTY = v }
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// SetColorEnabled turns colour on or off for both Out and ErrOut.
func (s *IOStreams) SetColorEnabled(v bool) { s.colorOut, s.colorErrOut = v, v }

// ColorScheme returns the colours to write Out with.
func (s *IOStreams) ColorScheme() ColorScheme { return ColorScheme{enabled: s.colorOut} }

// ErrColorScheme returns the colours to write ErrOut with.
func (s *IOStreams) ErrColorScheme() ColorScheme { return ColorScheme{enabled: s.colorErrOut} }

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// colorEnabled decides colour for a stream; getenv reads the environment.
func colorEnabled(isTTY bool, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return false
	}
	if f := getenv("CLICOLOR_FORCE"); f != "" && f != "0" {
		return true
	}
	return isTTY && getenv("TERM") != "dumb"
}
