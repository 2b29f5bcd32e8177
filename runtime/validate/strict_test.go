package validate

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// strictSchemas are body schemas that walk a body differently: declared
// names beside undeclared ones skipped, undeclared ones walked against
// additionalProperties, the whole body skipped, and no fast path at all.
var strictSchemas = []struct{ name, schema string }{
	{"declared", `{"type":"object","properties":{"name":{"type":"string","maxLength":50},"n":{"type":"number"},
		"items":{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer"}}}},
		"meta":{"type":"object"},"tags":{"type":"array"},"any":{}}}`},
	{"additional", `{"type":"object","properties":{"name":{"type":"string","enum":["ok","a","b","é","😀"]},
		"items":{"type":"array","items":{"type":"object","additionalProperties":{"type":"integer"}}}},
		"additionalProperties":{"not":{"type":"boolean"}}}`},
	{"anything", `{}`},
	{"slow only", `{"minProperties":0}`},
}

// strictCase is a body decodeJSON refuses: the pointer and detail of the
// one error it gets (pointer "" is the body itself).
type strictCase struct {
	name, body, pointer, detail string
}

var strictCases = []strictCase{
	// Duplicate names, at every depth, declared or not.
	{"duplicate declared", `{"name":"` + strings.Repeat("a", 1000) + `","name":"ok"}`, "/name", `duplicate member name "name"`},
	{"duplicate declared, spaced", `{ "name" : "ok" , "name" : "ok" }`, "/name", `duplicate member name "name"`},
	{"duplicate escaped", `{"name":"ok","n\u0061me":"ok"}`, "/name", `duplicate member name "name"`},
	{"duplicate undeclared", `{"x":1,"name":"ok","x":2}`, "/x", `duplicate member name "x"`},
	{"duplicate undeclared non-ASCII", `{"é":1,"é":1}`, "/é", `duplicate member name "é"`},
	{"duplicate in array of objects", `{"items":[{"id":1},{"id":1,"id":2}]}`, "/items/1/id", `duplicate member name "id"`},
	{"duplicate in skipped object", `{"meta":{"a":{"b":1,"c":[],"b":1}}}`, "/meta/a/b", `duplicate member name "b"`},
	{"duplicate in skipped array", `{"tags":[{"k":1},{"k":1,"k":2}]}`, "/tags/1/k", `duplicate member name "k"`},
	{"duplicate after many names", `{"meta":{` + manyNames(40) + `,"k7":0}}`, "/meta/k7", `duplicate member name "k7"`},
	{"duplicate long name", `{"` + strings.Repeat("b", 300) + `":1,"` + strings.Repeat("b", 300) + `":2}`, "",
		`duplicate member name "` + strings.Repeat("b", 64) + `"...`},
	{"duplicate empty name", `{"":1,"":2}`, "/", `duplicate member name ""`},
	// One value, whitespace only around it.
	{"trailing member", `{"name":"ok"},"admin":true}`, "", "data after the value at offset 13"},
	{"trailing bracket", `{"name":"ok"}]`, "", "data after the value at offset 13"},
	{"trailing brace", `{"name":"ok"}}`, "", "data after the value at offset 13"},
	{"trailing NUL", "{\"name\":\"ok\"}\x00", "", "data after the value at offset 13"},
	{"second value", "{\"name\":\"ok\"}\r\n {\"name\":\"ok\"}", "", "data after the value at offset 16"},
	{"trailing form feed", "{\"name\":\"ok\"}\f", "", "data after the value at offset 13"},
	{"trailing NBSP", "{\"name\":\"ok\"}\u00a0", "", "data after the value at offset 13"},
	{"leading form feed", "\f{\"name\":\"ok\"}", "", "invalid character '\\f' at start of value at offset 0"},
	{"byte order mark", "\ufeff{\"name\":\"ok\"}", "", "a byte order mark (U+FEFF) before the value"},
	// UTF-8.
	{"invalid UTF-8", "{\"name\":\"a\xffb\"}", "/name", "invalid UTF-8 in a string"},
	{"truncated UTF-8", "{\"name\":\"a\xe2\x82\"}", "/name", "invalid UTF-8 in a string"},
	{"overlong UTF-8", "{\"name\":\"\xc0\xaf\"}", "/name", "invalid UTF-8 in a string"},
	{"UTF-8 surrogate", "{\"name\":\"\xed\xa0\x80\"}", "/name", "invalid UTF-8 in a string"},
	{"invalid UTF-8 undeclared", "{\"x\":\"\xc3\"}", "/x", "invalid UTF-8 in a string"},
	{"invalid UTF-8 skipped", "{\"meta\":{\"k\":[\"\x80\"]}}", "/meta/k/0", "invalid UTF-8 in a string"},
	{"invalid UTF-8 in a name", "{\"n\xffme\":1}", "", "invalid UTF-8 in a string"},
	// Surrogates.
	{"lone high surrogate", `{"name":"\ud800"}`, "/name", `lone surrogate \ud800`},
	{"lone low surrogate", `{"name":"\udc00"}`, "/name", `lone surrogate \udc00`},
	{"lone upper case", `{"name":"\uDBFF"}`, "/name", `lone surrogate \uDBFF`},
	{"high then text", `{"name":"\ud800x"}`, "/name", `lone surrogate \ud800`},
	{"high then BMP escape", `{"name":"\ud800\u0041"}`, "/name", `lone surrogate \ud800`},
	{"high then high", `{"name":"\ud800\ud800"}`, "/name", `lone surrogate \ud800`},
	{"pair reversed", `{"name":"\ude00\ud83d"}`, "/name", `lone surrogate \ude00`},
	{"lone in a name", `{"\ud800":1}`, "", `lone surrogate \ud800`},
	{"lone skipped", `{"meta":{"k":"a\udfff"}}`, "/meta/k", `lone surrogate \udfff`},
	// Grammar.
	{"leading zero", `{"n":01}`, "", "invalid character '1' after object value (expecting ',' or '}') at offset 6"},
	{"plus sign", `{"n":+1}`, "/n", "invalid character '+' at start of value at offset 5"},
	{"no integer part", `{"n":.5}`, "/n", "invalid character '.' at start of value at offset 5"},
	{"no fraction digits", `{"n":1.}`, "/n", "invalid character '}' in number (expecting digit) at offset 7"},
	{"no exponent digits", `{"n":1e}`, "/n", "invalid character '}' in number (expecting digit) at offset 7"},
	{"tab in a string", "{\"name\":\"a\tb\"}", "/name", "invalid character '\\t' in string (expecting non-control character) at offset 10"},
	{"NUL in a string", "{\"name\":\"a\x00b\"}", "/name", "invalid character '\\x00' in string (expecting non-control character) at offset 10"},
	{"newline in a string", "{\"name\":\"a\nb\"}", "/name", "invalid character '\\n' in string (expecting non-control character) at offset 10"},
	{"truncated", `{"name":`, "", "unexpected end of the text"},
	{"trailing comma", `{"name":"ok",}`, "", "invalid character ',' at start of value at offset 12"},
	// Depth.
	{"too deep", `{"any":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + `}`, "",
		"nested deeper than 1000 levels"},
	{"far too deep", `{"any":` + strings.Repeat("[", 200_000) + `}`, "", "nested deeper than 1000 levels"},
}

// strictValid are bodies that must still pass (every schema accepts them).
var strictValid = []string{
	`{"name":"ok"}`,
	" \t\r\n{\"name\":\"ok\"} \t\r\n",
	`{"name":"\ud83d\ude00"}`,
	`{"name":"\uD83D\uDE00"}`,
	`{"name":"😀"}`,
	`{"name":"é"}`,
	`{"name":"\u00e9"}`,
	`{"any":"\u0000 \"\\\/\b\f\n\r\t \uffff \ud7ff \ue000 \udbff\udfff"}`,
	`{"any":"` + "\u007f\u0080\u07ff\u0800\ufffd\U00010000\U0010ffff" + `"}`,
	`{"meta":{"a":1,"b":{"a":1},"c":[{"a":1},{"a":1}]},"tags":[{"k":1},{"k":1}]}`,
	`{"meta":{` + manyNames(40) + `}}`,
	`{"items":[{"id":1},{"id":1}],"x":1,"y":2,"n":-0.5e-3}`,
	`{"any":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + `}`,
}

// manyNames returns n members "k0":0 to "k<n-1>":0.
func manyNames(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":0`)
	}
	return b.String()
}

// strictOperations compiles one operation per strict schema, with the fast
// path and without it.
func strictOperations(t *testing.T) (fast, slow []*Operation, schemas []*Schema) {
	t.Helper()
	b := &bundle.Bundle{}
	for _, s := range strictSchemas {
		b.Operations = append(b.Operations, bundle.Operation{ID: s.name, Body: &bundle.RequestBody{
			Content: []bundle.MediaType{{Type: "application/json", Schema: json.RawMessage(s.schema)}}}})
	}
	for _, opts := range []Options{{Eager: true}, {Eager: true, NoFastPath: true}} {
		v, err := CompileOptions(b, opts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Operations {
			if opts.NoFastPath {
				slow = append(slow, v.Operation(i))
			} else {
				fast = append(fast, v.Operation(i))
			}
		}
	}
	for i, op := range fast {
		if (op.media[0].fast == nil) != (strictSchemas[i].name == "slow only") {
			t.Fatalf("%s: fast path %v", strictSchemas[i].name, op.media[0].fast != nil)
		}
		schemas = append(schemas, op.media[0])
	}
	return fast, slow, schemas
}

// TestStrictJSON checks that bodies that are not one RFC 8259 value, or
// that parsers read differently (duplicate names, invalid UTF-8, lone
// surrogates, data after the value), are refused with a 400 naming where
// and what, by the fast path and the full decode alike, and that the fast
// path alone never accepts them.
func TestStrictJSON(t *testing.T) {
	fast, slow, schemas := strictOperations(t)
	for _, tc := range strictCases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			if strictText(body) {
				t.Fatalf("the test's oracle takes %.80q as RFC 8259 text", body)
			}
			want := []FieldError{{Pointer: "/body" + tc.pointer, Detail: "not valid JSON: " + tc.detail}}
			for i, op := range fast {
				e := op.BodyBytes("application/json", body)
				if e == nil || e.Status != http.StatusBadRequest || !reflect.DeepEqual(e.Errors, want) {
					t.Errorf("%s: got %v, want %v", strictSchemas[i].name, e, want)
				}
				if s := slow[i].BodyBytes("application/json", body); !reflect.DeepEqual(e, s) {
					t.Errorf("%s: fast path on: %v, off: %v", strictSchemas[i].name, e, s)
				}
				if schemas[i].fast != nil && validateFast(schemas[i].fast, body) == ok {
					t.Errorf("%s: the fast path alone accepts it", strictSchemas[i].name)
				}
				if e != nil {
					checkBounded(t, e)
				}
			}
		})
	}
	for _, body := range strictValid {
		if !strictText([]byte(body)) {
			t.Fatalf("the test's oracle refuses %.80q", body)
		}
		for i, op := range fast {
			if e := op.BodyBytes("application/json", []byte(body)); e != nil {
				t.Errorf("%s: %.80q: %v", strictSchemas[i].name, body, e)
			}
			if e := slow[i].BodyBytes("application/json", []byte(body)); e != nil {
				t.Errorf("%s without the fast path: %.80q: %v", strictSchemas[i].name, body, e)
			}
		}
	}
}

// TestStrictJSONFastPathDecides checks that the strict checks leave valid
// bodies to the fast path: strings with escapes and non-ASCII text, and
// objects it skips, many names included.
func TestStrictJSONFastPathDecides(t *testing.T) {
	_, _, schemas := strictOperations(t)
	for _, body := range strictValid {
		if strings.Count(body, "[") >= maxFastDepth {
			continue // deeper than the fast path goes
		}
		for i, s := range schemas {
			if s.fast != nil && validateFast(s.fast, []byte(body)) != ok {
				t.Errorf("%s: the fast path does not decide %.80q", strictSchemas[i].name, body)
			}
		}
	}
}

// checkBounded fails when an answer quotes much of the request.
func checkBounded(t *testing.T, e *Error) {
	t.Helper()
	for _, f := range e.Errors {
		if len(f.Pointer) > maxPointer+len("/query/filter") || len(f.Detail) > 200 {
			t.Errorf("answer too long: %.300v", f)
		}
		if !utf8.ValidString(f.Pointer) || !utf8.ValidString(f.Detail) {
			t.Errorf("answer not UTF-8: %q", f)
		}
	}
	if p := e.Problem(); len(p) > 1024 {
		t.Errorf("problem of %d bytes", len(p))
	}
}

// TestStrictJSONParams checks the same strictness for a parameter with
// content application/json.
func TestStrictJSONParams(t *testing.T) {
	b := &bundle.Bundle{Operations: []bundle.Operation{{ID: "op", Params: []bundle.Param{{
		Name: "filter", In: "query", Style: "form", Explode: true, ContentType: "application/json",
		Schema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string","maxLength":5}}}`)}}}}}
	v, err := CompileOptions(b, Options{Eager: true})
	if err != nil {
		t.Fatal(err)
	}
	op := v.Operation(0)
	for _, tt := range []struct {
		query, want string
	}{
		{`filter={"name":"ok"}`, ""},
		{`filter={"name":"` + strings.Repeat("x", 100) + `","name":"ok"}`, `/query/filter/name: not valid JSON: duplicate member name "name"`},
		{`filter={"name":"ok"}]`, "/query/filter: not valid JSON: data after the value at offset 13"},
		{`filter={"name":"\udc00"}`, `/query/filter/name: not valid JSON: lone surrogate \udc00`},
		{"filter={\"name\":\"%FF\"}", "/query/filter/name: not valid JSON: invalid UTF-8 in a string"},
	} {
		e := op.Params(&req{query: strings.NewReplacer(`"`, "%22", "{", "%7B", "}", "%7D").Replace(tt.query)})
		if got := errorsText(e); got != tt.want {
			t.Errorf("%.60s: got %q, want %q", tt.query, got, tt.want)
		}
	}
}

// errorsText is e's errors as "pointer: detail", joined by "; ".
func errorsText(e *Error) string {
	if e == nil {
		return ""
	}
	var out []string
	for _, f := range e.Errors {
		out = append(out, f.Pointer+": "+f.Detail)
	}
	return strings.Join(out, "; ")
}

// strictText is the tests' own reading of RFC 8259, apart from decodeJSON
// and the fast path: exactly one value (encoding/json's grammar, whitespace
// around it), valid UTF-8, \u escapes of surrogates only in high-low pairs,
// no name twice in an object, and at most maxJSONDepth levels of nesting.
func strictText(data []byte) bool {
	if !json.Valid(data) || !utf8.Valid(data) {
		return false
	}
	// Escapes, and nesting outside strings.
	depth, in := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !in {
			switch c {
			case '"':
				in = true
			case '{', '[':
				if depth++; depth > maxJSONDepth {
					return false
				}
			case '}', ']':
				depth--
			}
			continue
		}
		switch c {
		case '"':
			in = false
		case '\\':
			if data[i+1] != 'u' {
				i++
				continue
			}
			r, _ := hexValue(data[i+2 : i+6])
			i += 5
			if r < 0xd800 || r > 0xdfff {
				continue
			}
			if r > 0xdbff || i+6 >= len(data) || data[i+1] != '\\' || data[i+2] != 'u' {
				return false
			}
			if lo, _ := hexValue(data[i+3 : i+7]); lo < 0xdc00 || lo > 0xdfff {
				return false
			}
			i += 6
		}
	}
	// Names, compared as encoding/json decodes them (exact, escapes being
	// valid now).
	dec := json.NewDecoder(bytes.NewReader(data))
	type level struct {
		object bool
		names  map[string]bool
		key    bool // the next string is a name
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return true // json.Valid said the rest
		}
		var top *level
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if s, isStr := tok.(string); isStr && top != nil && top.object && top.key {
			if top.names[s] {
				return false
			}
			top.names[s] = true
			top.key = false
			continue
		}
		if top != nil && top.object {
			top.key = true // a value was read: a name comes next
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, names: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, level{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].key = true
			}
		}
	}
}

// hexValue reads four hex digits.
func hexValue(h []byte) (rune, bool) {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// TestNames checks the fast path's duplicate check on its own: names that
// share a hash (the same length, first and last bytes), more names than it
// keeps as offsets, and the empty name, each new or met before.
func TestNames(t *testing.T) {
	for _, tt := range []struct {
		names []string
		dup   int // index of the first duplicate; -1 for none
	}{
		{[]string{"type", "time", "tape", "tyre"}, -1},
		{[]string{"type", "time", "tape", "time"}, 3},
		{[]string{"", "a", ""}, 2},
		{[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "a"}, 18},
		{[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "q"}, 18},
		{[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s"}, -1},
	} {
		// The text the names are read from: "name":0 members, as a walk meets them.
		var text strings.Builder
		var spans [][2]int
		for _, n := range tt.names {
			text.WriteString(`,"`)
			spans = append(spans, [2]int{text.Len(), text.Len() + len(n)})
			text.WriteString(n + `":0`)
		}
		d := []byte(text.String())
		var s names
		dup := -1
		for i, sp := range spans {
			if !s.add(d, sp[0], sp[1]) {
				dup = i
				break
			}
		}
		if dup != tt.dup {
			t.Errorf("%q: duplicate at %d, want %d", tt.names, dup, tt.dup)
		}
		body := []byte("{" + strings.TrimPrefix(text.String(), ",") + "}")
		if s, err := compileSchema([]byte(`{"type":"object","properties":{"x":{}}}`)); err != nil {
			t.Fatal(err)
		} else if got := validateFast(s.fast, body); (got == ok) != (tt.dup < 0) {
			t.Errorf("%s: fast path %v", body, got)
		}
	}
	if nameHash([]byte(`"type"`), 1, 5) != nameHash([]byte(`"time"`), 1, 5) {
		t.Error("type and time should share a hash, for the test above")
	}
}
