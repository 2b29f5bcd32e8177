package cli

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/internal/version"
)

func TestNewCmdVersion(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantJSON bool
		wantErr  bool
	}{
		{name: "no flags", args: []string{}},
		{name: "json", args: []string{"--json"}, wantJSON: true},
		{name: "json=false", args: []string{"--json=false"}},
		{name: "argument", args: []string{"extra"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *VersionOptions
			cmd := NewCmdVersion(ios, func(o *VersionOptions) error {
				got = o
				return nil
			})
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			_, err := cmd.ExecuteC()
			if (err != nil) != tt.wantErr {
				t.Fatalf("ExecuteC() error = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got == nil {
				t.Fatal("runF was not called")
			}
			if got.JSON != tt.wantJSON {
				t.Errorf("JSON = %v, want %v", got.JSON, tt.wantJSON)
			}
			if got.IO != ios || got.Info == nil {
				t.Errorf("options not filled: %+v", got)
			}
		})
	}
}

func TestVersionRun(t *testing.T) {
	info := version.Info{Version: "v1.2.3", Commit: "abc1234", Go: "go1.26.8", OS: "linux", Arch: "amd64"}

	t.Run("text", func(t *testing.T) {
		ios, _, out, _ := iostreams.Test()
		if err := versionRun(&VersionOptions{IO: ios, Info: func() version.Info { return info }}); err != nil {
			t.Fatal(err)
		}
		if want := "gwc v1.2.3 (abc1234, go1.26.8 linux/amd64)\n"; out.String() != want {
			t.Errorf("output = %q, want %q", out, want)
		}
	})

	t.Run("json", func(t *testing.T) {
		ios, _, out, _ := iostreams.Test()
		if err := versionRun(&VersionOptions{IO: ios, Info: func() version.Info { return info }, JSON: true}); err != nil {
			t.Fatal(err)
		}
		var got version.Info
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		if got != info {
			t.Errorf("decoded %+v, want %+v", got, info)
		}
	})

	t.Run("write failure is an io error", func(t *testing.T) {
		ios, _, _, _ := iostreams.Test()
		ios.Out = failingWriter{}
		err := versionRun(&VersionOptions{IO: ios, Info: func() version.Info { return info }})
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Code != ExitIO {
			t.Errorf("error = %v, want an ExitError with code %d", err, ExitIO)
		}
	})
}

// failingWriter fails every write, like a closed pipe or a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) {
	return 0, errors.New("write /dev/full: no space left on device")
}
