package lower

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// loadString loads an in-memory spec named spec.yaml; other files are read
// from testdata.
func loadString(t testing.TB, src string, brokenRefs bool) *spec.Document {
	t.Helper()
	l := &spec.Loader{ReadFile: func(p string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", p)) }}
	doc, ds := l.LoadData("spec.yaml", []byte(src))
	if doc == nil || (ds.HasErrors() && !brokenRefs) || (brokenRefs && !ds.HasErrors()) {
		t.Fatalf("loading spec: %v", ds.Err())
	}
	return doc
}

// lowerAt lowers the schema at each JSON pointer of doc with one Lowerer.
func lowerAt(t testing.TB, doc *spec.Document, ptrs ...string) (*Lowerer, []json.RawMessage, diag.Diagnostics) {
	t.Helper()
	l := New(doc)
	var roots []json.RawMessage
	var all diag.Diagnostics
	for _, p := range ptrs {
		n := doc.Root.At(p)
		if n == nil {
			t.Fatalf("no node at %s", p)
		}
		raw, ds := l.Schema(n)
		roots = append(roots, raw)
		all = append(all, ds...)
	}
	return l, roots, all
}

// compact normalises hand-written expected JSON.
func compact(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("bad expected JSON %s: %v", s, err)
	}
	return b.String()
}

// diagStrings renders diagnostics as "line:col severity: message".
func diagStrings(ds diag.Diagnostics) []string {
	ds.Sort()
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%d:%d %s: %s", d.Pos.Line, d.Pos.Col, d.Severity, d.Message))
	}
	return out
}

// compileRoot compiles a lowered root with its definitions as a 2020-12
// document.
func compileRoot(t testing.TB, root json.RawMessage, defs map[string]json.RawMessage) (*jsonschema.Schema, error) {
	t.Helper()
	docJSON := Assemble(root, defs)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(docJSON))
	if err != nil {
		t.Fatalf("lowered document is not JSON: %v\n%s", err, docJSON)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("mem:///schema.json", v); err != nil {
		return nil, err
	}
	return c.Compile("mem:///schema.json")
}

func instance(t testing.TB, s string) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		t.Fatalf("bad instance %s: %v", s, err)
	}
	return v
}
