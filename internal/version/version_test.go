package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	built := func(mainVersion string, settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.26.8",
			Main:      debug.Module{Path: "github.com/gwcdev/gwc", Version: mainVersion},
			Settings:  settings,
		}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}

	tests := []struct {
		name                string
		ldVersion, ldCommit string
		bi                  *debug.BuildInfo
		want                Info
	}{
		{
			name:      "linker values win over build info",
			ldVersion: "v1.2.3", ldCommit: "abc1234",
			bi:   built("v0.9.0", rev),
			want: Info{Version: "v1.2.3", Commit: "abc1234", Go: "go1.26.8"},
		},
		{
			name:      "release tooling version without v gets one",
			ldVersion: "1.2.3-SNAPSHOT-abc1234", ldCommit: "abc1234",
			bi:   built("(devel)"),
			want: Info{Version: "v1.2.3-SNAPSHOT-abc1234", Commit: "abc1234", Go: "go1.26.8"},
		},
		{
			name: "go install at a tag reports the module version",
			bi:   built("v1.2.3"),
			want: Info{Version: "v1.2.3", Go: "go1.26.8"},
		},
		{
			name: "work tree build is dev with the VCS revision shortened",
			bi:   built("(devel)", rev),
			want: Info{Version: "dev", Commit: "0123456", Go: "go1.26.8"},
		},
		{
			name: "pseudo-version stamped by the go tool is kept",
			bi:   built("v0.0.0-20261125095400-0123456789ab+dirty", rev),
			want: Info{Version: "v0.0.0-20261125095400-0123456789ab+dirty", Commit: "0123456", Go: "go1.26.8"},
		},
		{
			name:     "long linker commit is shortened",
			ldCommit: "fedcba9876543210",
			bi:       built(""),
			want:     Info{Version: "dev", Commit: "fedcba9", Go: "go1.26.8"},
		},
		{
			name: "no build info at all",
			want: Info{Version: "dev"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolve(tt.ldVersion, tt.ldCommit, tt.bi); got != tt.want {
				t.Errorf("resolve() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestInfoString(t *testing.T) {
	tests := []struct {
		info Info
		want string
	}{
		{Info{Version: "v1.2.3", Commit: "abc1234", Go: "go1.26.8", OS: "linux", Arch: "amd64"},
			"gwc v1.2.3 (abc1234, go1.26.8 linux/amd64)"},
		{Info{Version: "dev", Go: "go1.26.8", OS: "windows", Arch: "arm64"},
			"gwc dev (go1.26.8 windows/arm64)"},
	}
	for _, tt := range tests {
		if got := tt.info.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestGetDescribesThisBinary(t *testing.T) {
	got := Get()
	if got.OS != runtime.GOOS || got.Arch != runtime.GOARCH {
		t.Errorf("Get() platform = %s/%s, want %s/%s", got.OS, got.Arch, runtime.GOOS, runtime.GOARCH)
	}
	if got.Go != runtime.Version() {
		t.Errorf("Get().Go = %q, want %q", got.Go, runtime.Version())
	}
	if got.Version == "" {
		t.Error("Get().Version is empty")
	}
	if String() != got.String() {
		t.Errorf("String() = %q, want %q", String(), got.String())
	}
}
