// Package conformance holds tests that check gwc's runtime against other
// implementations on real specs; it is test-only.
package conformance

import (
	"context"
	"testing"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/internal/testcorpus"
	"github.com/gwcdev/gwc/runtime/validate"
)

// TestFastPathAgreesOnCorpus compiles the request schemas of real specs and
// checks, on instances generated from each schema (valid-looking and
// mutated), that whatever the fast path decides santhosh decides too.
func TestFastPathAgreesOnCorpus(t *testing.T) {
	for _, name := range []string{testcorpus.PetstoreExp, testcorpus.TwilioAPI, testcorpus.OpenAI, testcorpus.APIExamples} {
		t.Run(name, func(t *testing.T) {
			b, ds, err := compiler.Compile(context.Background(), compiler.Options{Spec: testcorpus.Path(t, name)})
			if err != nil || ds.Err() != nil {
				t.Fatal(err, ds.Err())
			}
			v, err := validate.CompileOptions(b, validate.Options{Eager: true})
			if err != nil {
				t.Fatal(err)
			}
			fast, decided, total := 0, 0, 0
			for _, s := range v.Schemas() {
				if !s.Fast() {
					continue
				}
				fast++
				for _, inst := range s.Instances() {
					total++
					valid, ok := s.ValidFast(inst)
					slow, wellFormed := s.ValidSlow(inst)
					if ok {
						decided++
						if !wellFormed || valid != slow {
							t.Errorf("fast valid=%v, santhosh %v, on %s", valid, slow, inst)
						}
					}
				}
			}
			t.Logf("%d schemas, %d with a fast path; %d of %d instances decided by it", len(v.Schemas()), fast, decided, total)
		})
	}
}
