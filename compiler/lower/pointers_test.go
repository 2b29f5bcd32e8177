package lower

import (
	"testing"

	"github.com/gwcdev/gwc/compiler/spec"
)

// TestPointersOf: the one walk for chosen nodes gives each the pointer the
// whole-file index gives it, a node YAML shares (an alias, a merge key) its
// first path included.
func TestPointersOf(t *testing.T) {
	src := `openapi: 3.1.0
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Base: &base {type: object, properties: {"a/b": {type: string}, "c~d": {type: integer}}}
    Again: *base
    Merged: {<<: *base, description: m}
    List: {type: array, items: [{type: string}, {type: number}]}
`
	doc, ds := (&spec.Loader{}).LoadData("p.yaml", []byte(src))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	var nodes []*spec.Node
	var walk func(n *spec.Node)
	walk = func(n *spec.Node) {
		if n == nil {
			return
		}
		nodes = append(nodes, n)
		for _, e := range n.Elems {
			walk(e)
		}
		for _, p := range n.Pairs {
			walk(p.Value)
		}
	}
	walk(doc.Root)
	got := New(doc).PointersOf(nodes)
	whole := New(doc)
	for _, n := range nodes {
		if want := whole.PointerOf(n); got[n] != want {
			t.Errorf("node at %d:%d: PointersOf %q, PointerOf %q", n.Line, n.Col, got[n], want)
		}
	}
	if p := got[doc.Root.Get("components").Get("schemas").Get("Base").Get("properties").Get("a/b")]; p != "/components/schemas/Base/properties/a~1b" {
		t.Errorf("escaped pointer %q", p)
	}
}
