// Package bench holds gwc's benchmarks against real specs and the scripts
// that compare gwc side by side with the tools users would pick instead.
// See README.md in this directory for the figures and how to reproduce them.
package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/internal/testcorpus"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// build compiles and encodes the spec at path, as `gwc build` does.
func build(tb testing.TB, path string) []byte {
	tb.Helper()
	epoch := int64(1700000000)
	b, ds, err := compiler.Compile(context.Background(), compiler.Options{Spec: path, SourceDateEpoch: &epoch})
	if err != nil {
		tb.Fatal(err)
	}
	if err := ds.Err(); err != nil {
		tb.Fatal(err)
	}
	data, err := bundle.Marshal(b, bundle.EncodeOptions{GWCVersion: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func benchmarkBuild(b *testing.B, name string) {
	path := testcorpus.Path(b, name)
	var size int
	for b.Loop() {
		size = len(build(b, path))
	}
	b.ReportMetric(float64(size), "bundle-bytes")
}

// BenchmarkBuildOpenAI is `gwc build` on the OpenAI spec (3.1, one 2 MB
// file): load, check, resolve, lower, plan and encode. Target: ≤ 2 s.
func BenchmarkBuildOpenAI(b *testing.B) { benchmarkBuild(b, testcorpus.OpenAI) }

// BenchmarkBuildDigitalOcean is `gwc build` on the DigitalOcean tree (3.0,
// about 2,800 files of Redocly-style references). Target: ≤ 2 s.
func BenchmarkBuildDigitalOcean(b *testing.B) { benchmarkBuild(b, testcorpus.DigitalOcean) }

// BenchmarkBuildTwilio is `gwc build` on Twilio's api v2010 spec (3.0).
func BenchmarkBuildTwilio(b *testing.B) { benchmarkBuild(b, testcorpus.TwilioAPI) }

func benchmarkLoad(b *testing.B, name string) {
	data := build(b, testcorpus.Path(b, name))
	file := filepath.Join(b.TempDir(), "api.gwb")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := bundle.ReadFile(file, bundle.DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadOpenAI reads, verifies, decompresses, decodes and validates
// the OpenAI bundle, as `gwc serve` does at start and on reload.
// Target: ≤ 50 ms.
func BenchmarkLoadOpenAI(b *testing.B) { benchmarkLoad(b, testcorpus.OpenAI) }

// BenchmarkLoadDigitalOcean is the same for the DigitalOcean bundle.
func BenchmarkLoadDigitalOcean(b *testing.B) { benchmarkLoad(b, testcorpus.DigitalOcean) }
