package validate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// TestStrictJSONFormFields checks that a form field and a multipart part
// whose content type is JSON are read as strictly as a JSON body, and that
// one that is not JSON is refused rather than taken as a string, which a
// schema without a type let through although the upstream reads it as JSON.
func TestStrictJSONFormFields(t *testing.T) {
	free := `{"properties":{"name":{"type":"string","maxLength":5}}}` // no type: a string passes
	b := &bundle.Bundle{Operations: []bundle.Operation{{ID: "op", Body: &bundle.RequestBody{Content: []bundle.MediaType{
		{Type: "application/x-www-form-urlencoded",
			Schema:   json.RawMessage(`{"type":"object","properties":{"Meta":` + free + `,"Other":` + free + `,"N":{"type":"integer"}}}`),
			Encoding: []bundle.Encoding{{Name: "Meta", ContentType: "application/json"}, {Name: "Other", ContentType: "application/json"}}},
		{Type: "multipart/form-data", Schema: json.RawMessage(`{"type":"object","properties":{"meta":` + free + `,"n":{"type":"integer"}}}`)},
	}}}}}
	v, err := CompileOptions(b, Options{Eager: true})
	if err != nil {
		t.Fatal(err)
	}
	op := v.Operation(0)
	long := strings.Repeat("x", 100)
	dup := `{"name":"` + long + `","name":"ok"}`
	enc := strings.NewReplacer(`"`, "%22", "{", "%7B", "}", "%7D", "\xff", "%FF").Replace
	for _, tt := range []struct {
		body, want string
	}{
		{`Meta={"name":"ok"}&N=1`, ""},
		{`Meta={"name":"toolong"}`, "/body/Meta/name: maxLength: got 7, want 5"},
		{"Meta=" + enc(dup), `/body/Meta/name: not valid JSON: duplicate member name "name"`},
		{"Meta=" + enc(`{"name":"ok"},"name":"`+long+`"}`), "/body/Meta: not valid JSON: data after the value at offset 13"},
		{"Meta=" + enc("{\"name\":\"\xff\"}"), "/body/Meta/name: not valid JSON: invalid UTF-8 in a string"},
		{"Meta=" + enc(`{"name":"\ud800"}`), `/body/Meta/name: not valid JSON: lone surrogate \ud800`},
		{"Meta=" + long, "/body/Meta: not valid JSON: invalid character 'x' at start of value at offset 0"},
		// Each field that is not JSON, in pointer order; the schema is not
		// applied to the rest (N), as to a JSON body that is not JSON.
		{"Other=" + enc(dup) + "&N=x&Meta=" + enc(`{"a":1}x`), "/body/Meta: not valid JSON: data after the value at offset 7; " +
			`/body/Other/name: not valid JSON: duplicate member name "name"`},
	} {
		e := op.BodyBytes("application/x-www-form-urlencoded", []byte(tt.body))
		if got := errorsText(e); got != tt.want {
			t.Errorf("form %.60s: got %q, want %q", tt.body, got, tt.want)
		}
		if e != nil {
			checkBounded(t, e)
		}
	}
	part := func(header, content string) string {
		return "--XX\r\nContent-Disposition: form-data; name=\"meta\"\r\n" + header + "\r\n" + content +
			"\r\n--XX\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n1\r\n--XX--\r\n"
	}
	for _, tt := range []struct {
		body, want string
	}{
		{part("Content-Type: application/json\r\n", `{"name":"ok"}`), ""},
		{part("", dup), ""}, // a text part: the string it is
		{part("Content-Type: application/json\r\n", dup), `/body/meta/name: not valid JSON: duplicate member name "name"`},
		{part("Content-Type: application/vnd.x+json\r\n", `{"name":"ok"} x`), "/body/meta: not valid JSON: data after the value at offset 14"},
		{part("Content-Type: application/json\r\n", long), "/body/meta: not valid JSON: invalid character 'x' at start of value at offset 0"},
	} {
		e := op.BodyBytes("multipart/form-data; boundary=XX", []byte(tt.body))
		if got := errorsText(e); got != tt.want {
			t.Errorf("multipart %.60q: got %q, want %q", tt.body, got, tt.want)
		}
	}
}
