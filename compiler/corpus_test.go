package compiler

import (
	"bytes"
	"context"
	"testing"

	"github.com/gwcdev/gwc/internal/testcorpus"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// TestBuildCorpus builds every real spec of ../shared/corpus twice: each must
// build without errors into a bundle that decodes and validates, and the two
// builds must be byte-identical.
func TestBuildCorpus(t *testing.T) {
	for _, name := range testcorpus.All {
		t.Run(name, func(t *testing.T) {
			path := testcorpus.Path(t, name)
			var first []byte
			for i := range 2 {
				data, ops := buildFile(t, path)
				if i == 0 {
					first = data
					t.Logf("%d operations, bundle %d bytes", ops, len(data))
					continue
				}
				if !bytes.Equal(first, data) {
					t.Fatalf("second build differs from the first (%d vs %d bytes)", len(first), len(data))
				}
			}
		})
	}
}

// buildFile compiles the spec at path and encodes the bundle, failing the
// test on any error diagnostic; it returns the encoded bundle and its number
// of operations after checking that it decodes.
func buildFile(tb testing.TB, path string) ([]byte, int) {
	tb.Helper()
	epoch := int64(1700000000)
	b, ds, err := Compile(context.Background(), Options{Spec: path, SourceDateEpoch: &epoch})
	if err != nil {
		tb.Fatal(err)
	}
	if err := ds.Err(); err != nil {
		tb.Fatalf("build reported %v", err)
	}
	data, err := bundle.Marshal(b, bundle.EncodeOptions{GWCVersion: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	got, _, err := bundle.Decode(data, bundle.DecodeOptions{})
	if err != nil {
		tb.Fatalf("bundle does not decode: %v", err)
	}
	if len(got.Operations) != len(b.Operations) || len(got.Operations) == 0 {
		tb.Fatalf("decoded %d operations, built %d", len(got.Operations), len(b.Operations))
	}
	return data, len(b.Operations)
}
