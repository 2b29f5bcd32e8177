package iostreams

import (
	"fmt"
	"io"
	"testing"
)

func TestColorEnabled(t *testing.T) {
	tests := []struct {
		name string
		tty  bool
		env  map[string]string
		want bool
	}{
		{name: "terminal", tty: true, want: true},
		{name: "pipe", tty: false, want: false},
		{name: "NO_COLOR on a terminal", tty: true, env: map[string]string{"NO_COLOR": "1"}, want: false},
		{name: "empty NO_COLOR is unset", tty: true, env: map[string]string{"NO_COLOR": ""}, want: true},
		{name: "dumb terminal", tty: true, env: map[string]string{"TERM": "dumb"}, want: false},
		{name: "CLICOLOR_FORCE on a pipe", tty: false, env: map[string]string{"CLICOLOR_FORCE": "1"}, want: true},
		{name: "CLICOLOR_FORCE=0 changes nothing", tty: false, env: map[string]string{"CLICOLOR_FORCE": "0"}, want: false},
		{name: "NO_COLOR beats CLICOLOR_FORCE", tty: true, env: map[string]string{"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			if got := colorEnabled(tt.tty, getenv); got != tt.want {
				t.Errorf("colorEnabled(%v, %v) = %v, want %v", tt.tty, tt.env, got, tt.want)
			}
		})
	}
}

func TestTest(t *testing.T) {
	ios, in, out, errOut := Test()
	if ios.IsStdinTTY() || ios.IsStdoutTTY() || ios.IsStderrTTY() {
		t.Error("Test() streams claim to be terminals")
	}
	if ios.ColorEnabled() || ios.ErrColorEnabled() {
		t.Error("Test() streams have colour on")
	}

	in.WriteString("input")
	got, err := io.ReadAll(ios.In)
	if err != nil || string(got) != "input" {
		t.Errorf("reading In = %q, %v; want %q", got, err, "input")
	}
	fmt.Fprint(ios.Out, "to out")
	fmt.Fprint(ios.ErrOut, "to err")
	if out.String() != "to out" || errOut.String() != "to err" {
		t.Errorf("Out, ErrOut buffers = %q, %q", out.String(), errOut.String())
	}

	ios.SetStdoutTTY(true)
	ios.SetColorEnabled(true)
	if !ios.IsStdoutTTY() || !ios.ColorEnabled() || !ios.ErrColorEnabled() {
		t.Error("setters did not take effect")
	}
}

func TestColorScheme(t *testing.T) {
	ios, _, _, _ := Test()
	if got := ios.ColorScheme().Red("error"); got != "error" {
		t.Errorf("Red without colour = %q, want plain text", got)
	}
	ios.SetColorEnabled(true)
	cs := ios.ErrColorScheme()
	if got, want := cs.Red("error"), "\x1b[31merror\x1b[0m"; got != want {
		t.Errorf("Red = %q, want %q", got, want)
	}
	if got, want := cs.Bold("x"), "\x1b[1mx\x1b[0m"; got != want {
		t.Errorf("Bold = %q, want %q", got, want)
	}
	if got := cs.Yellow(""); got != "" {
		t.Errorf("Yellow(\"\") = %q, want empty", got)
	}
}
