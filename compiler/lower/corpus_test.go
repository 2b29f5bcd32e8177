package lower

import (
	"bytes"
	"encoding/json"
	"maps"
	"strconv"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/internal/testcorpus"
)

// corpusRoots returns the schemas of a corpus spec the tests lower: every
// component schema, or, with requests, every parameter and request body
// schema of every operation.
func corpusRoots(doc *spec.Document, requests bool) []*spec.Node {
	var out []*spec.Node
	if !requests {
		for _, p := range pairs(doc.Root.At("/components/schemas")) {
			out = append(out, p.Value)
		}
		return out
	}
	params := func(list *spec.Node) {
		if list = list.Deref(); list == nil {
			return
		}
		for _, p := range list.Elems {
			p = p.Deref()
			if s := p.Get("schema"); s != nil {
				out = append(out, s)
			}
			for _, mt := range pairs(p.Get("content")) {
				if s := mt.Value.Deref().Get("schema"); s != nil {
					out = append(out, s)
				}
			}
		}
	}
	for _, item := range pairs(doc.Root.Get("paths")) {
		pi := item.Value.Deref()
		params(pi.Get("parameters"))
		for _, m := range []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"} {
			op := pi.Get(m).Deref()
			if op == nil {
				continue
			}
			params(op.Get("parameters"))
			for _, mt := range pairs(op.Get("requestBody").Deref().Get("content")) {
				if s := mt.Value.Deref().Get("schema"); s != nil {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// pairs returns the members of the object n refers to, if any.
func pairs(n *spec.Node) []spec.Pair {
	if n = n.Deref(); n == nil {
		return nil
	}
	return n.Pairs
}

// lowerAll lowers roots with one Lowerer and returns the roots, the
// definitions as one JSON text (for byte comparison) and the Lowerer.
func lowerAll(t testing.TB, doc *spec.Document, roots []*spec.Node) ([]json.RawMessage, []byte, *Lowerer) {
	l := New(doc)
	var out []json.RawMessage
	warnings := map[string]int{}
	for _, n := range roots {
		raw, ds := l.Schema(n)
		if ds.HasErrors() {
			t.Errorf("lowering %s: %v", n.Pos(), ds.Err())
		}
		for _, d := range ds {
			warnings[d.Message]++
		}
		out = append(out, raw)
	}
	for _, m := range keys(warnings) {
		t.Logf("%dx %s", warnings[m], m)
	}
	return out, Assemble(json.RawMessage("{}"), l.Defs()), l
}

func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus tests are long")
	}
	for _, c := range []struct {
		name     string
		requests bool
		min      int // fewer roots means the walk is broken
	}{
		{testcorpus.OpenAI, false, 1000},
		{testcorpus.TwilioAPI, false, 100},
		{testcorpus.TwilioStudio, false, 5},
		{testcorpus.DigitalOcean, true, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, ds, err := spec.Load(testcorpus.Path(t, c.name))
			if err != nil || ds.HasErrors() {
				t.Fatalf("loading: %v %v", err, ds.Err())
			}
			roots := corpusRoots(doc, c.requests)
			if len(roots) < c.min {
				t.Fatalf("%d schemas, want at least %d", len(roots), c.min)
			}
			got1, defs1, l := lowerAll(t, doc, roots)
			got2, defs2, _ := lowerAll(t, doc, roots)
			if !bytes.Equal(defs1, defs2) {
				t.Errorf("definitions differ between two runs")
			}
			for i := range got1 {
				if !bytes.Equal(got1[i], got2[i]) {
					t.Errorf("root %s differs between two runs", roots[i].Pos())
				}
			}
			failed := 0
			for i, err := range compileAll(t, got1, l.Defs()) {
				if err != nil {
					if failed++; failed <= 5 {
						t.Errorf("root %s does not compile: %v", roots[i].Pos(), err)
					}
				}
			}
			t.Logf("%d roots, %d definitions, %d do not compile", len(got1), len(l.Defs()), failed)
		})
	}
}

// compileAll compiles each root as a 2020-12 document with defs. The roots
// are put beside the definitions in one document compiled once, which
// compiles every root exactly as Assemble's document of it would (the
// references are all "#/$defs/NAME" against the same root), in a fraction of
// the time.
func compileAll(tb testing.TB, roots []json.RawMessage, defs map[string]json.RawMessage) []error {
	tb.Helper()
	all := maps.Clone(defs)
	for i, r := range roots {
		all["gwc_root_"+strconv.Itoa(i)] = r
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(Assemble(json.RawMessage("{}"), all)))
	if err != nil {
		tb.Fatalf("lowered document is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("mem:///all.json", v); err != nil {
		tb.Fatal(err)
	}
	errs := make([]error, len(roots))
	for i := range roots {
		_, errs[i] = c.Compile("mem:///all.json#/$defs/gwc_root_" + strconv.Itoa(i))
	}
	return errs
}

// BenchmarkOpenAI lowers every component schema of OpenAI's spec and
// compiles every lowered root.
func BenchmarkOpenAI(b *testing.B) {
	doc, ds, err := spec.Load(testcorpus.Path(b, testcorpus.OpenAI))
	if err != nil || ds.HasErrors() {
		b.Fatalf("loading: %v %v", err, ds.Err())
	}
	roots := corpusRoots(doc, false)
	b.ResetTimer()
	for b.Loop() {
		l := New(doc)
		lowered := make([]json.RawMessage, len(roots))
		for i, n := range roots {
			lowered[i], _ = l.Schema(n)
		}
		for _, err := range compileAll(b, lowered, l.Defs()) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
