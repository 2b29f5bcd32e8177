package lint

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/lower"
	"github.com/gwcdev/gwc/compiler/spec"
)

var exampleSchema = &Rule{
	ID: "gwc-example-schema", Severity: diag.Warning, Category: Documentation,
	Title: "an example that does not match its schema",
	Description: "An `example` or `examples` value of a media type or parameter that its schema rejects. gwc " +
		"serves examples as mock answers, so a mock would answer with data the API says it never sends; " +
		"documentation shows it too. Formats are not asserted (they are annotations in JSON Schema 2020-12).",
	Run: checkExamples,
}

// maxExampleBytes bounds the JSON of one example the rule validates.
const maxExampleBytes = 1 << 20

// example is one example value with the schema it must match.
type example struct {
	schema, value *spec.Node
	where         string
}

func checkExamples(p *Pass) {
	var requests, responses []example
	eachOperation(p.Doc, func(method, op *spec.Node, path string) {
		where := strings.ToUpper(method.Value) + " " + path
		for _, prm := range elems(op.Get("parameters").Deref()) {
			requests = append(requests, paramExamples(prm.Deref(), where)...)
		}
		if rb := op.Get("requestBody").Deref(); rb != nil {
			requests = append(requests, contentExamples(rb.Get("content").Deref(), where+" request body")...)
		}
		for _, r := range pairs(op.Get("responses").Deref()) {
			if resp := r.Value.Deref(); resp != nil {
				responses = append(responses, contentExamples(resp.Get("content").Deref(), where+" response "+r.Key.Value)...)
			}
		}
	})
	// Parameters of a path item apply to each of its operations; they are
	// checked once, in the path item.
	for _, pr := range pairs(p.Doc.Root.Get("paths").Deref()) {
		for _, prm := range elems(pr.Value.Deref().Get("parameters").Deref()) {
			requests = append(requests, paramExamples(prm.Deref(), pr.Key.Value)...)
		}
	}
	// A request may not send readOnly properties, a response writeOnly ones:
	// each direction has its own lowering.
	validateExamples(p, lower.New(p.Doc), requests)
	validateExamples(p, lower.NewForResponses(p.Doc), responses)
}

// validateExamples checks exs with one lowering: every schema's definitions
// go in one shared resource, compiled once, and each root refers into it.
func validateExamples(p *Pass, l *lower.Lowerer, exs []example) {
	if len(exs) == 0 {
		return
	}
	roots := map[*spec.Node]string{} // schema node → resource URL
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	var docs [][2]string
	for _, ex := range exs {
		if _, ok := roots[ex.schema]; ok {
			continue
		}
		root, _ := l.Schema(ex.schema) // its problems are gwc-schema's, reported by the compiler
		url := fmt.Sprintf("gwc:example-schema/%d.json", len(roots))
		roots[ex.schema] = url
		docs = append(docs, [2]string{url, strings.ReplaceAll(string(lower.Assemble(root, nil)), `"$ref":"#/$defs/`, `"$ref":"gwc:defs.json#/$defs/`)})
	}
	if err := addResource(c, "gwc:defs.json", lower.Assemble([]byte("{}"), l.Defs())); err != nil {
		return // a lowering gwc-schema has reported
	}
	for _, d := range docs {
		if err := addResource(c, d[0], []byte(d[1])); err != nil {
			return
		}
	}
	compiled := map[string]*jsonschema.Schema{}
	for _, ex := range exs {
		url := roots[ex.schema]
		s, ok := compiled[url]
		if !ok {
			var err error
			if s, err = c.Compile(url); err != nil {
				s = nil
			}
			compiled[url] = s
		}
		if s == nil {
			continue
		}
		data, err := ex.value.AppendJSON(nil, maxExampleBytes)
		if err != nil {
			continue
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			continue
		}
		if err := validateSafe(s, v); err != nil {
			p.Reportf(ex.value, "%s: example does not match its schema: %s", ex.where, firstCause(err))
		}
	}
}

func addResource(c *jsonschema.Compiler, url string, doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return c.AddResource(url, v)
}

// validateSafe is Validate, with santhosh's panic on numbers big.Rat cannot
// parse turned into a finding.
func validateSafe(s *jsonschema.Schema, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("a number too large to check")
		}
	}()
	return s.Validate(v)
}

var printer = message.NewPrinter(language.English)

// firstCause is the deepest first error of a santhosh error tree, as
// "at /pointer: message". First is by instance location, then schema
// location: santhosh orders the causes of an object's properties as a Go map
// does, at random, and the message must not change from run to run (a
// baseline matches findings by it).
func firstCause(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	for len(ve.Causes) > 0 {
		ve = slices.MinFunc(ve.Causes, func(a, b *jsonschema.ValidationError) int {
			return cmp.Or(slices.Compare(a.InstanceLocation, b.InstanceLocation), cmp.Compare(a.SchemaURL, b.SchemaURL),
				cmp.Compare(a.ErrorKind.LocalizedString(printer), b.ErrorKind.LocalizedString(printer)))
		})
	}
	msg := ve.ErrorKind.LocalizedString(printer)
	if ptr := "/" + strings.Join(ve.InstanceLocation, "/"); ptr != "/" {
		return "at " + ptr + ": " + msg
	}
	return msg
}

// contentExamples lists the examples of a content map's media types.
func contentExamples(content *spec.Node, where string) []example {
	if content == nil || content.Kind != spec.Object {
		return nil
	}
	var out []example
	for _, mt := range content.Pairs {
		m := mt.Value.Deref()
		if m == nil {
			continue
		}
		out = append(out, examplesOf(m, where+" "+mt.Key.Value)...)
	}
	return out
}

func paramExamples(prm *spec.Node, where string) []example {
	if prm == nil {
		return nil
	}
	name := prm.GetString("name")
	if c := prm.Get("content").Deref(); c != nil {
		return contentExamples(c, where+" parameter "+name)
	}
	return examplesOf(prm, where+" parameter "+name)
}

// examplesOf lists the `example` and `examples` of a media type or
// parameter object that has a schema.
func examplesOf(m *spec.Node, where string) []example {
	schema := m.Get("schema")
	if schema == nil {
		return nil
	}
	var out []example
	if ex := m.Get("example"); ex != nil {
		out = append(out, example{schema, ex, where})
	}
	if exs := m.Get("examples").Deref(); exs != nil && exs.Kind == spec.Object {
		for _, e := range exs.Pairs {
			obj := e.Value.Deref()
			if v := obj.Get("value"); v != nil {
				out = append(out, example{schema, v, where + " example " + e.Key.Value})
			}
		}
	}
	return out
}
