package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/compiler/diag"
)

func diagLines(ds diag.Diagnostics) string {
	var lines []string
	for _, d := range ds {
		lines = append(lines, d.String())
	}
	return strings.Join(lines, "\n")
}

func TestParseScalars(t *testing.T) {
	src := `a: 1
b: 0x1F
c: 1_000
d: +5
e: .5
f: 1e3
g: true
h: ~
i: "text"
j: 2001-12-14
k: 0o17
l: -0
m: 1.0
n: "0x10"
`
	f, ds := Parse("t.yaml", []byte(src))
	if len(ds) > 0 {
		t.Fatal(diagLines(ds))
	}
	want := map[string]struct {
		kind  Kind
		value string
	}{
		"a": {Number, "1"}, "b": {Number, "31"}, "c": {Number, "1000"}, "d": {Number, "5"},
		"e": {Number, "0.5"}, "f": {Number, "1e3"}, "g": {Bool, "true"}, "h": {Null, ""},
		"i": {String, "text"}, "j": {String, "2001-12-14"}, "k": {Number, "15"}, "l": {Number, "-0"},
		"m": {Number, "1.0"}, "n": {String, "0x10"},
	}
	for k, w := range want {
		n := f.Root.Get(k)
		if n == nil || n.Kind != w.kind || n.Value != w.value {
			t.Errorf("%s: got %v %q, want %v %q", k, n.Kind, n.Value, w.kind, w.value)
		}
	}
}

func TestParsePositions(t *testing.T) {
	src := "openapi: 3.1.0\npaths:\n  /pets:\n    get:\n      summary: \"é\"\n      operationId: x\n"
	f, ds := Parse("p.yaml", []byte(src))
	if len(ds) > 0 {
		t.Fatal(diagLines(ds))
	}
	get := f.Root.At("/paths/~1pets/get")
	if got := get.Get("operationId").Pos().String(); got != "p.yaml:6:20" {
		t.Errorf("value position %s", got)
	}
	if got := get.Key("operationId").Pos().String(); got != "p.yaml:6:7" {
		t.Errorf("key position %s", got)
	}
	if got := f.Root.At("/paths/~1pets").Pos().String(); got != "p.yaml:4:5" {
		t.Errorf("object position %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unclosed flow mapping", "a: 1\nb: {c: 2\nd: 3\n",
			`e.yaml:2:4: error: YAML syntax error: while parsing a flow mapping ('{' opened here, not closed): did not find expected ',' or '}' (gwc-syntax)`},
		{"unclosed quote", "a: 1\nb: \"abc\nc: 2\n",
			`e.yaml:2:4: error: YAML syntax error: while scanning a quoted scalar ('"' opened here, not closed): found unexpected end of stream (gwc-syntax)`},
		{"duplicate key", "a: 1\nb: 2\na: 3\n",
			`e.yaml:3:1: error: duplicate key "a" (first at line 1) (gwc-syntax)`},
		{"recursive alias", "a: &x\n  b: *x\n",
			`e.yaml:2:6: error: alias *x refers to the node that contains it (gwc-syntax)`},
		{"infinity", "a: .inf\n",
			`e.yaml:1:4: error: .inf is not a number JSON can represent (gwc-syntax)`},
		{"complex key", "? [a, b]\n: 1\n",
			`e.yaml:1:3: error: object keys must be strings, not a YAML sequence (gwc-syntax)`},
		{"not utf-8", "a: \xff\n",
			`e.yaml:1:4: error: file is not valid UTF-8 (gwc-syntax)`},
		{"billion laughs", laughs(9),
			`e.yaml:8:10: error: YAML aliases expand the document to more than 4000000 values (*l6 stands for more than that alone); write the repeated part once and refer to it with $ref (gwc-syntax)`},
		{"a long string aliased", "s: &s " + strings.Repeat("x", 1<<20) + "\nl1: &l1 [*s, *s, *s, *s, *s, *s, *s, *s, *s, *s]\n" +
			"l2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]\nl3: [*l2, *l2]\n",
			`e.yaml:4:6: error: YAML aliases expand the document to more than 128 MB (*l2 stands for 100.0 MB); write the repeated part once and refer to it with $ref (gwc-syntax)`},
		{"aliases just past the bound", laughs(6) + "more: [*l5, *l5, *l5, *l5]\n",
			`e.yaml:7:8: error: YAML aliases expand the document to more than 4000000 values (*l5 stands for 1111111 values); write the repeated part once and refer to it with $ref (gwc-syntax)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := Parse("e.yaml", []byte(tt.src))
			if len(ds) == 0 {
				t.Fatal("no diagnostic")
			}
			got := ds[0].String()
			if i := strings.IndexByte(got, '\n'); i >= 0 {
				got = got[:i] // related information
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// laughs is n levels of anchors, each a list of ten aliases of the one
// before: 10^n values from n lines.
func laughs(n int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	return b.String()
}

func TestParseAliasesWithinBound(t *testing.T) {
	// 1.1 million values once expanded: large, but a real spec can be.
	f, ds := Parse("a.yaml", []byte(laughs(6)))
	if len(ds) > 0 {
		t.Fatal(diagLines(ds))
	}
	if got := f.Root.At("/l5/9/9/9/9/9/9"); got == nil || got.Value != "lol" {
		t.Errorf("/l5/9/9/9/9/9/9 = %v", got)
	}
}

func TestParseMergeKeys(t *testing.T) {
	src := "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n"
	f, ds := Parse("m.yaml", []byte(src))
	if len(ds) > 0 {
		t.Fatal(diagLines(ds))
	}
	d := f.Root.Get("derived")
	if d.GetString("y") != "" || d.Get("y").Value != "3" || d.Get("x").Value != "1" {
		b, _ := d.AppendJSON(nil, 0)
		t.Errorf("derived = %s", b)
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	src := "s: \"a<b>&\\\"c\\\\\\n\\t\\u0001\\u2028é\"\nn: [1, -2.5e3, true, null, {}]\no: {z: 1, a: 2}\n"
	f, ds := Parse("j.yaml", []byte(src))
	if len(ds) > 0 {
		t.Fatal(diagLines(ds))
	}
	got, err := f.Root.AppendJSON(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Members stay in source order, so compare with encoding/json on the
	// string and the values separately.
	want, _ := json.Marshal(f.Root.Get("s").Value)
	s, _ := f.Root.Get("s").AppendJSON(nil, 0)
	if string(s) != string(want) {
		t.Errorf("string: got %s want %s", s, want)
	}
	if !json.Valid(got) {
		t.Fatalf("invalid JSON %s", got)
	}
	const wantAll = `"n":[1,-2.5e3,true,null,{}],"o":{"z":1,"a":2}}`
	if !strings.HasSuffix(string(got), wantAll) {
		t.Errorf("got %s", got)
	}
}

func TestAppendJSONLimit(t *testing.T) {
	// About 7 MB of JSON from six lines, within MaxExpandedValues.
	f, ds := Parse("bomb.yaml", []byte(laughs(6)))
	if len(ds) > 0 {
		t.Fatal(diagLines(ds))
	}
	if _, err := f.Root.AppendJSON(nil, 1<<20); err != ErrTooLarge {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

// memFS is a loader reading from a map.
func memFS(files map[string]string) *Loader {
	return &Loader{ReadFile: func(p string) ([]byte, error) {
		if s, ok := files[strings.ReplaceAll(p, "\\", "/")]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}}
}

func TestLoadRefs(t *testing.T) {
	files := map[string]string{
		"api/spec.yaml": `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    get:
      $ref: ops/a.yaml
components:
  schemas:
    Tree:
      type: object
      properties:
        children: {type: array, items: {$ref: "#/components/schemas/Tree"}}
`,
		"api/ops/a.yaml": `operationId: a
responses:
  "200":
    description: ok
    content:
      application/json:
        schema: {$ref: "../models.yaml#/Thing"}
        example: {$ref: "not/a/reference.yaml"}
`,
		"api/models.yaml": `Thing:
  type: object
  properties:
    $ref: "#/ThingProps"
  default: {$ref: "also/data.yaml"}
ThingProps:
  name: {type: string}
`,
	}
	doc, ds, err := memFS(files).Load("api/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) > 0 {
		t.Fatal(diagLines(ds))
	}
	if got := len(doc.Files); got != 3 {
		t.Errorf("files = %d, want 3", got)
	}
	if doc.Files[1].Name != "ops/a.yaml" {
		t.Errorf("name %q", doc.Files[1].Name)
	}
	name := doc.Root.At("/paths/~1a/get/responses/200/content/application~1json/schema/properties/name")
	if name == nil || name.GetString("type") != "string" || name.Pos().String() != "api/models.yaml:7:9" {
		t.Fatalf("did not reach through refs: %v", name.Pos())
	}
	// The operation and the properties map are Redocly-style refs.
	var at []string
	for _, n := range doc.NonStandardRefs {
		at = append(at, n.Pos().String())
	}
	if got := strings.Join(at, " "); got != "api/spec.yaml:6:7 api/models.yaml:4:5" {
		t.Errorf("non-standard refs at %s", got)
	}
	// Recursive schemas resolve to the same node.
	tree := doc.Root.At("/components/schemas/Tree")
	if item := tree.At("/properties/children/items").Deref(); item != tree {
		t.Error("recursive $ref does not point at its schema")
	}
}

func TestLoadRefErrors(t *testing.T) {
	files := map[string]string{
		"s.yaml": `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a:
    get:
      responses:
        "200": {$ref: "#/components/responses/Okay"}
        "201": {$ref: "missing.yaml#/x"}
        "202": {$ref: "https://example.com/r.yaml"}
        "203": {$ref: "#/components/responses/Loop1"}
        "204": {$ref: "#anchor"}
      x-code: {$ref: "missing-too.yaml"}
components:
  responses:
    Ok: {description: ok}
    Loop1: {$ref: "#/components/responses/Loop2"}
    Loop2: {$ref: "#/components/responses/Loop1"}
`,
	}
	_, ds, err := memFS(files).Load("s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ds.Sort()
	want := `s.yaml:7:23: error: $ref "#/components/responses/Okay": "/components/responses" has no member "Okay" (did you mean "Ok"?) (gwc-ref)
s.yaml:8:23: error: $ref "missing.yaml#/x": file missing.yaml does not exist (gwc-ref)
s.yaml:9:23: error: $ref "https://example.com/r.yaml": remote references are not supported (gwc builds from local files only); download https://example.com/r.yaml and refer to the copy (gwc-ref)
s.yaml:11:23: error: $ref "#anchor": the fragment must be a JSON pointer starting with "/" (anchors are not supported) (gwc-ref)
s.yaml:12:22: warning: $ref "missing-too.yaml": file missing-too.yaml does not exist (gwc-ref)
s.yaml:16:19: error: $ref cycle: #/components/responses/Loop2 → #/components/responses/Loop1 → #/components/responses/Loop2 (references that only point at each other have no value) (gwc-ref)`
	if got := diagLines(ds); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLoadVersion(t *testing.T) {
	tests := []struct{ src, want string }{
		{"swagger: \"2.0\"\n", `v.yaml:1:10: error: Swagger 2.0 is not supported: convert the spec to OpenAPI 3.0 or 3.1 (gwc-openapi-version)`},
		{"info: {}\n", "v.yaml:1:1: error: not an OpenAPI document: there is no `openapi` version field (gwc-openapi-version)"},
		{"openapi: 3.2.0\n", `v.yaml:1:10: error: OpenAPI version "3.2.0" is not supported: gwc reads 3.0.x and 3.1.x (gwc-openapi-version)`},
		{"openapi: 3.1\n", "v.yaml:1:10: error: `openapi` must be a version string such as \"3.1.0\", not 3.1 (gwc-openapi-version)"},
		{"- a\n", `v.yaml:1:1: error: an OpenAPI document must be an object, not array (gwc-syntax)`},
	}
	for _, tt := range tests {
		_, ds := (&Loader{}).LoadData("v.yaml", []byte(tt.src))
		if got := diagLines(ds); got != tt.want {
			t.Errorf("%q:\ngot  %s\nwant %s", tt.src, got, tt.want)
		}
	}
}

// FuzzLoad checks that no input makes the loader panic or hang, and that
// what it returns is usable: positions are in range and JSON output is valid.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
		"openapi: 3.0.3\npaths:\n  /a:\n    get:\n      $ref: '#/paths/~1a/get'\n",
		"openapi: 3.0.3\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n",
		"a: &a [*a]\n",
		"openapi: 3.0.0\nx: &x {y: *x}\n",
		"{\"openapi\": \"3.1.0\", \"paths\": {\"/x\": {\"$ref\": \"other.json#/p\"}}}",
		"openapi: 3.1.0\ninfo: {title: [unclosed\n",
		"openapi: 3.1.0\n<<: {a: 1}\n",
		"openapi: 3.0.1\npaths:\n  /a: {$ref: '#/paths/~1a'}\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		l := &Loader{ReadFile: func(p string) ([]byte, error) {
			if strings.HasSuffix(p, "other.json") {
				return []byte(`{"p": {"get": {"$ref": "spec.yaml#/paths"}}}`), nil
			}
			return nil, os.ErrNotExist
		}}
		doc, ds := l.LoadData("spec.yaml", []byte(src))
		for _, d := range ds {
			if d.Pos.Line < 0 || d.Pos.Col < 0 {
				t.Fatalf("bad position %v", d.Pos)
			}
		}
		if doc != nil && doc.Root != nil {
			b, err := doc.Root.AppendJSON(nil, 1<<20)
			if err == nil && !json.Valid(b) {
				t.Fatalf("invalid JSON output %q", b)
			}
		}
	})
}

// TestNodeEnds: every node knows where it ends, just past its last
// character: a scalar's token (quotes, escapes, folded lines, block
// scalars), a block collection's last descendant, a flow collection's
// closing bracket; YAML and JSON alike, and an alias's target keeps its own.
func TestNodeEnds(t *testing.T) {
	src := "a: hello world\n" +
		"b: \"quo\\\"ted\"\n" +
		"c: 'it''s'\n" +
		"d: |\n  line1\n\n  line2\n" +
		"e: [1, 2, {x: y}]\n" +
		"f:\n  g: &anc plain\n    folded\n  h: *anc\n" +
		"i: {}\n" +
		"j: >-\n  text\n" +
		"k: 12   # comment\n" +
		"l: ünï\n"
	f, ds := Parse("t.yaml", []byte(src))
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	r := f.Root
	for _, c := range []struct {
		ptr  string
		want string
	}{
		{"", "1:1-17:7"},
		{"/a", "1:4-1:15"},
		{"/b", "2:4-2:14"},
		{"/c", "3:4-3:11"},
		{"/d", "4:4-7:8"},
		{"/e", "8:4-8:18"},
		{"/e/2", "8:11-8:17"},
		{"/f", "10:3-12:10"},
		{"/f/g", "10:6-11:11"},
		{"/f/h", "10:6-11:11"},
		{"/i", "13:4-13:6"},
		{"/j", "14:4-15:7"},
		{"/k", "16:4-16:6"},
		{"/l", "17:4-17:7"},
	} {
		n := r.At(c.ptr)
		if got := fmt.Sprintf("%d:%d-%d:%d", n.Line, n.Col, n.EndLine, n.EndCol); got != c.want {
			t.Errorf("%q: %s, want %s", c.ptr, got, c.want)
		}
	}
	if k := r.Key("a"); k.EndLine != 1 || k.EndCol != 2 {
		t.Errorf("key a ends at %d:%d, want 1:2", k.EndLine, k.EndCol)
	}
	j, _ := Parse("t.json", []byte(`{"a": {"b": [1, "x\"y"], "c": {}}, "d": null}`))
	for ptr, want := range map[string]string{"": "1:1-1:46", "/a": "1:7-1:34", "/a/b/1": "1:17-1:23", "/a/c": "1:31-1:33", "/d": "1:41-1:45"} {
		n := j.Root.At(ptr)
		if got := fmt.Sprintf("%d:%d-%d:%d", n.Line, n.Col, n.EndLine, n.EndCol); got != want {
			t.Errorf("json %q: %s, want %s", ptr, got, want)
		}
	}
}

// TestSharedNodes: the nodes an alias or a merge key makes reachable twice
// are marked, and no other.
func TestSharedNodes(t *testing.T) {
	src := "base: &b {x: {y: 1}}\nalias: *b\nmerged: {<<: *b, z: 2}\nplain: {q: [1, 2]}\n"
	f, ds := Parse("t.yaml", []byte(src))
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	root := f.Root
	if !root.Get("base").Shared || root.Get("alias") != root.Get("base") {
		t.Errorf("the anchored mapping is not shared with its alias")
	}
	m := root.Get("merged")
	if x := m.Get("x"); x == nil || !x.Shared || x != root.Get("base").Get("x") {
		t.Errorf("the merged member is not the base's, marked shared: %+v", x)
	}
	if m.Shared || m.Get("z").Shared || root.Get("plain").Shared || root.Get("plain").Get("q").Elems[0].Shared {
		t.Errorf("a node reached once is marked shared")
	}
	if root.Get("base").Get("x").Get("y").Shared {
		t.Errorf("a node below a shared one is reached through it only, and is not marked")
	}
}

// TestVisited: a walk remembers the shared nodes only, and reaches each once.
func TestVisited(t *testing.T) {
	shared, plain := &Node{Shared: true}, &Node{}
	v := Visited{}
	if !v.First(shared) || v.First(shared) {
		t.Error("a shared node is not reached exactly once")
	}
	if !v.First(plain) || !v.First(plain) || len(v) != 1 {
		t.Errorf("a node reached once only is remembered: %d remembered", len(v))
	}
}
