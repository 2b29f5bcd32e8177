package cli

import (
	"errors"
	"testing"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/compiler/diag"
)

func TestReportDiagnostics(t *testing.T) {
	warnLater := diag.Diagnostic{Severity: diag.Warning, Code: "gwc-b", Message: "later warning",
		Pos: diag.Pos{File: "spec.yaml", Line: 9, Col: 3}}
	errEarlier := diag.Diagnostic{Severity: diag.Error, Code: "gwc-a", Message: "earlier error",
		Pos: diag.Pos{File: "spec.yaml", Line: 4, Col: 5}}
	noPos := diag.Diagnostic{Severity: diag.Info, Message: "no position"}

	tests := []struct {
		name    string
		ds      diag.Diagnostics
		color   bool
		wantErr error
		want    string
	}{
		{name: "none", ds: nil, want: ""},
		{name: "warnings alone succeed", ds: diag.Diagnostics{warnLater},
			want: "spec.yaml:9:3: warning: later warning (gwc-b)\n"},
		{name: "errors fail, sorted by position", ds: diag.Diagnostics{warnLater, errEarlier}, wantErr: ErrFindings,
			want: "spec.yaml:4:5: error: earlier error (gwc-a)\nspec.yaml:9:3: warning: later warning (gwc-b)\n"},
		{name: "colour marks the severity only", ds: diag.Diagnostics{errEarlier, noPos}, color: true, wantErr: ErrFindings,
			want: "\x1b[90minfo\x1b[0m: no position\n" +
				"spec.yaml:4:5: \x1b[31merror\x1b[0m: earlier error (gwc-a)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			ios.SetColorEnabled(tt.color)
			in := append(diag.Diagnostics(nil), tt.ds...)
			err := ReportDiagnostics(ios, in)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if got := errOut.String(); got != tt.want {
				t.Errorf("stderr =\n%q\nwant\n%q", got, tt.want)
			}
			if out.Len() > 0 {
				t.Errorf("diagnostics written to stdout: %q", out)
			}
			for i := range in {
				if in[i].Message != tt.ds[i].Message {
					t.Fatal("ReportDiagnostics reordered its argument")
				}
			}
		})
	}
}

func TestReportDiagnosticsWriteFailure(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	ios.ErrOut = failingWriter{}
	err := ReportDiagnostics(ios, diag.Diagnostics{{Message: "x"}})
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != ExitIO {
		t.Errorf("error = %v, want an ExitError with code %d", err, ExitIO)
	}
}
