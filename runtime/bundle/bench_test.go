package bundle

import (
	"testing"
)

// The benchmarks use a bundle about the size of a large real API: 500
// operations and 1,000 definitions of about 1 KB. DESIGN §7 asks for a
// bundle load under 50 ms.

func BenchmarkDecode(b *testing.B) {
	data := mustMarshal(b, largeBundle(500, 1000), EncodeOptions{GWCVersion: "bench"})
	h, err := ReadHeader(data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(h.ContentSize)
	b.ReportMetric(float64(len(data)), "file-bytes")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	bundle := largeBundle(500, 1000)
	js, err := encodeJSON(bundle)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(js)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(bundle, EncodeOptions{GWCVersion: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSchemaDocument builds the documents of every schema root, as the
// runtime does once at load.
func BenchmarkSchemaDocument(b *testing.B) {
	bundle := largeBundle(500, 1000)
	b.ReportAllocs()
	for b.Loop() {
		for _, op := range bundle.Operations {
			if _, err := bundle.SchemaDocument(op.Body.Content[0].Schema); err != nil {
				b.Fatal(err)
			}
		}
	}
}
