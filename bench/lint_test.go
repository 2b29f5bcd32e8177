package bench

import (
	"context"
	"testing"

	"github.com/gwcdev/gwc/internal/testcorpus"
	"github.com/gwcdev/gwc/lint"
)

// BenchmarkLint runs gwc lint's whole pass on the corpus specs, in process:
// load, the compiler's checks, the lint rules, and the Rego policies (the
// embedded pack, compiled once beforehand as the command does once per
// run). bench/lint.sh times the command itself beside Spectral, Redocly
// and vacuum.
func BenchmarkLint(b *testing.B) {
	set, err := lint.LoadPolicies(context.Background(), false, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, spec string }{
		{"OpenAI", testcorpus.OpenAI}, {"DigitalOcean", testcorpus.DigitalOcean}, {"Twilio", testcorpus.TwilioAPI},
	} {
		spec := testcorpus.Path(b, tc.spec)
		for _, withPolicies := range []bool{true, false} {
			name := tc.name
			opts := lint.Options{NoConfig: true}
			if withPolicies {
				opts.Policies = set
			} else {
				name += "NoPolicies"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := lint.Run(context.Background(), spec, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLoadPolicies is the cost of parsing and compiling the embedded
// pack, which every gwc lint run pays once.
func BenchmarkLoadPolicies(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lint.LoadPolicies(context.Background(), false, nil); err != nil {
			b.Fatal(err)
		}
	}
}
