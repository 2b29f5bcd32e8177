package bundle

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSchemaDocument(t *testing.T) {
	const head = `{"$schema":"https://json-schema.org/draft/2020-12/schema"`
	b := &Bundle{Defs: map[string]json.RawMessage{
		"A":       json.RawMessage(`{"type":"object","properties":{"b":{"$ref":"#/$defs/B"},"self":{"$ref":"#/$defs/A"}}}`),
		"B":       json.RawMessage("{\n  \"items\": {\"$ref\": \"#/$defs/a~1b%25~0\"}\n}"),
		"a/b%~":   json.RawMessage(`{"type":"string"}`),
		"C":       json.RawMessage(`{"enum":[{"$ref":"#/$defs/Missing"}],"default":{"$ref":"#/$defs/B"}}`),
		"Unused":  json.RawMessage(`{"$ref":"#/$defs/A"}`),
		"Broken":  json.RawMessage(`{"$ref":"#/$defs/Nowhere"}`),
		"<tag>&":  json.RawMessage(`true`),
		"Percent": json.RawMessage(`false`),
	}}
	tests := []struct {
		name, root, want, err string
	}{
		{name: "no refs", root: `{"type":"string"}`, want: head + `,"type":"string"}`},
		{name: "empty object", root: `{}`, want: head + `}`},
		{name: "true", root: `true`, want: head + `}`},
		{name: "false", root: ` false `, want: head + `,"not":{}}`},
		{name: "transitive and cyclic, escaped names, compacted", root: `{"$ref": "#/$defs/A", "description": "x"}`,
			want: head + `,"$ref":"#/$defs/A","description":"x","$defs":{"A":` + string(b.Defs["A"]) + `,"B":{"items":{"$ref":"#/$defs/a~1b%25~0"}},"a/b%~":{"type":"string"}}}`},
		{name: "refs in data are not refs", root: `{"$ref":"#/$defs/C"}`, want: head + `,"$ref":"#/$defs/C","$defs":{"C":` + string(b.Defs["C"]) + `}}`},
		{name: "name needing JSON escapes", root: `{"oneOf":[{"$ref":"#/$defs/%3Ctag%3E&"},{"$ref":"#/$defs/Percent"}]}`,
			want: head + `,"oneOf":[{"$ref":"#/$defs/%3Ctag%3E&"},{"$ref":"#/$defs/Percent"}],"$defs":{"<tag>&":true,"Percent":false}}`},
		{name: "dangling in a definition", root: `{"not":{"$ref":"#/$defs/Broken"}}`, err: `defs "Broken": $ref "#/$defs/Nowhere": definition "Nowhere" is not defined`},
		{name: "dangling", root: `{"$ref":"#/$defs/Nope"}`, err: `definition "Nope" is not defined`},
		{name: "bad escape", root: `{"$ref":"#/$defs/a~2"}`, err: `bad JSON pointer escape`},
		{name: "bad percent", root: `{"$ref":"#/$defs/a%zz"}`, err: `bad percent-encoding`},
		{name: "has $defs", root: `{"$defs":{}}`, err: `schema root has "$defs"`},
		{name: "has $schema", root: `{"$schema":"x"}`, err: `schema root has "$schema"`},
		{name: "not a schema", root: `[1]`, err: `must be an object or a boolean`},
		{name: "not JSON", root: `{`, err: `not valid JSON`},
		{name: "empty", root: ``, err: `not valid JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.SchemaDocument(json.RawMessage(tt.root))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestDefRef(t *testing.T) {
	for _, tt := range []struct{ name, ref string }{
		{"Pet", "#/$defs/Pet"},
		{"a/b", "#/$defs/a~1b"},
		{"a~b", "#/$defs/a~0b"},
		{"~1", "#/$defs/~01"},
		{"50% off", "#/$defs/50%25%20off"},
		{"ü", "#/$defs/%C3%BC"},
		{"Pet.v1-x_y", "#/$defs/Pet.v1-x_y"},
	} {
		if got := DefRef(tt.name); got != tt.ref {
			t.Errorf("DefRef(%q) = %q, want %q", tt.name, got, tt.ref)
		}
		if got, err := parseDefRef(tt.ref); err != nil || got != tt.name {
			t.Errorf("parseDefRef(%q) = %q, %v; want %q", tt.ref, got, err, tt.name)
		}
	}
}
