// Package version reports which gwc this binary is.
//
// Release builds set Version and Commit with the linker:
//
//	go build -ldflags "-X github.com/gwcdev/gwc/internal/version.Version=v1.2.3 \
//	    -X github.com/gwcdev/gwc/internal/version.Commit=abc1234" ./cmd/gwc
//
// Without them the module version recorded by the Go tool is used, so
// `go install github.com/gwcdev/gwc/cmd/gwc@v1.2.3` reports v1.2.3; a build
// from a work tree reports "dev". Nothing here depends on the time of the
// build, so identical inputs give identical binaries.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Version and Commit are set by the linker (-X); they are variables only
// because -X can set nothing else. Read them through Get.
var (
	Version string
	Commit  string
)

// Dev is the version of a binary built without a version.
const Dev = "dev"

// shortCommit is the length commits are shown with.
const shortCommit = 7

// Info describes the running binary.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// Get returns the running binary's Info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	info := resolve(Version, Commit, bi)
	info.OS = runtime.GOOS
	info.Arch = runtime.GOARCH
	if info.Go == "" {
		info.Go = runtime.Version()
	}
	return info
}

// String returns the one-line description of the running binary, such as
// "gwc v1.2.3 (abc1234, go1.26.8 linux/amd64)".
func String() string { return Get().String() }

// String returns the one-line form of i: "gwc VERSION (COMMIT, GO OS/ARCH)",
// without "COMMIT, " when the commit is unknown.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("gwc ")
	b.WriteString(i.Version)
	b.WriteString(" (")
	if i.Commit != "" {
		b.WriteString(i.Commit)
		b.WriteString(", ")
	}
	b.WriteString(i.Go)
	b.WriteString(" ")
	b.WriteString(i.OS)
	b.WriteString("/")
	b.WriteString(i.Arch)
	b.WriteString(")")
	return b.String()
}

// resolve picks the version and commit: the linker's values first, then the
// build information the Go tool recorded (bi may be nil).
func resolve(ldVersion, ldCommit string, bi *debug.BuildInfo) Info {
	var info Info
	info.Version = ldVersion
	info.Commit = ldCommit
	if bi != nil {
		info.Go = bi.GoVersion
		if info.Version == "" {
			info.Version = moduleVersion(bi.Main.Version)
		}
		if info.Commit == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					info.Commit = s.Value
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = Dev
	}
	info.Version = canonical(info.Version)
	if len(info.Commit) > shortCommit {
		info.Commit = info.Commit[:shortCommit]
	}
	return info
}

// moduleVersion turns the main module's recorded version into ours: "" and
// "(devel)" (a build from a work tree without VCS stamping) mean none.
func moduleVersion(v string) string {
	if v == "(devel)" {
		return ""
	}
	return v
}

// canonical spells a semantic version with its leading "v", as Go modules do:
// release tooling passes "1.2.3", `go install ...@v1.2.3` records "v1.2.3",
// and both must print the same.
func canonical(v string) string {
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		return "v" + v
	}
	return v
}
