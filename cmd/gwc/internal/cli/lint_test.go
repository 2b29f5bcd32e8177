package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
)

// TestLintColour checks that text findings are coloured when the streams
// say colour is on (a terminal without NO_COLOR), and plain otherwise.
func TestLintColour(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(spec, []byte("openapi: 3.1.0\ninfo: {title: t, version: \"1\"}\npaths:\n  /a:\n    get:\n      responses: {\"200\": {description: ok}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, colour := range []bool{false, true} {
		ios, _, out, _ := iostreams.Test()
		ios.SetColorEnabled(colour)
		err := lintRun(context.Background(), &LintOptions{IO: ios, Specs: []string{spec}, Format: "text", FailOn: "error", NoConfig: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(out.String(), "\x1b["); got != colour {
			t.Errorf("colour %v: ANSI escapes present: %v in %q", colour, got, out.String())
		}
		if !strings.Contains(out.String(), "gwc-operation-id") {
			t.Errorf("no finding in %q", out.String())
		}
	}
}

func TestNewCmdLintFlags(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
		want LintOptions
	}{
		{[]string{"a.yaml"}, true, LintOptions{Specs: []string{"a.yaml"}, Format: "text", FailOn: "error"}},
		{[]string{"-f", "sarif", "--fail-on", "warning", "a.yaml", "b.yaml"}, true,
			LintOptions{Specs: []string{"a.yaml", "b.yaml"}, Format: "sarif", FailOn: "warning"}},
		{[]string{"--config", "c.yaml", "--no-config", "a.yaml"}, false, LintOptions{}},
		{[]string{"--format", "html", "a.yaml"}, false, LintOptions{}},
		{[]string{}, false, LintOptions{}},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *LintOptions
		cmd := NewCmdLint(ios, func(_ context.Context, o *LintOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		err := cmd.Execute()
		if (err == nil) != tt.ok {
			t.Errorf("%v: err %v", tt.args, err)
			continue
		}
		if !tt.ok {
			continue
		}
		if strings.Join(got.Specs, " ") != strings.Join(tt.want.Specs, " ") || got.Format != tt.want.Format || got.FailOn != tt.want.FailOn {
			t.Errorf("%v: got %+v", tt.args, got)
		}
	}
}
