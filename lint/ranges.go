package lint

import (
	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// addRanges gives every finding that has a start but no end the end of the
// node it starts at: a member (from its key to its value's end), a
// collection or a scalar. Where a block mapping and its first key start at
// the same place, the key wins: findings name members far more often than
// whole mappings.
func addRanges(ds diag.Diagnostics, doc *spec.Document) {
	type at struct {
		file      string
		line, col int32
	}
	want := map[at]diag.Pos{}
	for _, d := range ds {
		if d.Pos.IsValid() && !d.End.IsValid() {
			want[at{d.Pos.File, int32(d.Pos.Line), int32(d.Pos.Col)}] = diag.Pos{}
		}
	}
	if len(want) == 0 || doc == nil {
		return
	}
	set := func(n *spec.Node, end diag.Pos) {
		k := at{n.File.Path, n.Line, n.Col}
		if e, ok := want[k]; ok && !e.IsValid() && end.IsValid() {
			want[k] = end
		}
	}
	seen := spec.Visited{}
	var walk func(n *spec.Node)
	walk = func(n *spec.Node) {
		if n == nil || n.File == nil || !seen.First(n) {
			return
		}
		for _, p := range n.Pairs {
			if p.Key.File == nil {
				continue
			}
			end := p.Key.End()
			if v := p.Value; v != nil && v.File == p.Key.File && v.EndLine > 0 {
				end = v.End()
			}
			set(p.Key, end)
		}
		set(n, n.End())
		for _, e := range n.Elems {
			walk(e)
		}
		for _, p := range n.Pairs {
			walk(p.Value)
		}
	}
	for _, f := range doc.Files {
		walk(f.Root)
	}
	for i := range ds {
		d := &ds[i]
		if d.Pos.IsValid() && !d.End.IsValid() {
			if e := want[at{d.Pos.File, int32(d.Pos.Line), int32(d.Pos.Col)}]; e.IsValid() {
				d.End = e
			}
		}
	}
}
