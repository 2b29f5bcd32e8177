package lower

import (
	"encoding/json"
	"testing"

	"github.com/gwcdev/gwc/compiler/spec"
)

// FuzzLower lowers every component schema of arbitrary spec text: it must not
// panic or hang, and every root must be JSON.
func FuzzLower(f *testing.F) {
	f.Add([]byte(head30 + "    A: {type: string, nullable: true}\n"))
	f.Add([]byte(head31 + "    A: {$recursiveAnchor: true, items: {$recursiveRef: '#'}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _ := (&spec.Loader{}).LoadData("fuzz.yaml", data)
		if doc == nil || doc.Root == nil {
			return
		}
		l := New(doc)
		for _, p := range pairs(doc.Root.At("/components/schemas")) {
			raw, _ := l.Schema(p.Value)
			if !json.Valid(raw) {
				t.Fatalf("root is not JSON: %s", raw)
			}
		}
		for name, d := range l.Defs() {
			if !json.Valid(d) {
				t.Fatalf("definition %s is not JSON: %s", name, d)
			}
		}
	})
}
