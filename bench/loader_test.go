package bench

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/internal/testcorpus"
)

// The loader decides how fast build and lint can be, so both candidates are
// measured on the same files in one run: gwc's own loader (go.yaml.in/yaml/v4
// node tree with positions, references resolved in place) and kin-openapi's
// (which the baselines also time). kin-openapi cannot load the DigitalOcean
// tree as it is (Redocly-style references), so only gwc's is timed there.

func benchmarkLoadSpec(b *testing.B, name string) {
	path := testcorpus.Path(b, name)
	for b.Loop() {
		_, ds, err := spec.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := ds.Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkLoadKin(b *testing.B, name string) {
	path := testcorpus.Path(b, name)
	for b.Loop() {
		l := openapi3.NewLoader()
		l.IsExternalRefsAllowed = true
		if _, err := l.LoadFromFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoaderGWCOpenAI(b *testing.B)       { benchmarkLoadSpec(b, testcorpus.OpenAI) }
func BenchmarkLoaderKinOpenAI(b *testing.B)       { benchmarkLoadKin(b, testcorpus.OpenAI) }
func BenchmarkLoaderGWCTwilio(b *testing.B)       { benchmarkLoadSpec(b, testcorpus.TwilioAPI) }
func BenchmarkLoaderKinTwilio(b *testing.B)       { benchmarkLoadKin(b, testcorpus.TwilioAPI) }
func BenchmarkLoaderGWCDigitalOcean(b *testing.B) { benchmarkLoadSpec(b, testcorpus.DigitalOcean) }
