package bundle

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestWalkSchema(t *testing.T) {
	deep := strings.Repeat(`{"not":`, maxDepth+1) + `true` + strings.Repeat(`}`, maxDepth+1)
	for _, tt := range []struct {
		schema string
		refs   []string
		err    string
	}{
		{schema: `true`},
		{schema: ` { } `},
		{schema: `{"$ref":"#/$defs/A","properties":{"$ref":{"$ref":"#/$defs/B"},"x":{"items":[{"$ref":"#/$defs/C"}]}}}`,
			refs: []string{"#/$defs/A", "#/$defs/B", "#/$defs/C"}},
		{schema: `{"\u0024ref":"#/$defs/\u0041","const":{"$ref":"#/$defs/No"},"enum":[{"$ref":"#/$defs/No"}],"examples":[{"$ref":"x"}],"x-ext":{"$ref":"y"}}`,
			refs: []string{"#/$defs/A"}},
		{schema: `{"allOf":[true,{"$ref":"a"}],"anyOf":{"$ref":"not-a-list"},"properties":[{"$ref":"not-a-map"}],"not":{"if":{"$ref":"b"}}}`,
			refs: []string{"a", "b"}},
		{schema: "{\n\t\"description\": \"a \\\"quoted\\\" \\\\ word\",\n\t\"default\": [1.5e3, -2, null, false]\n}"},
		{schema: `{"$ref":true}`, err: "$ref is not a string"},
		{schema: `{"a":}`, err: "not valid JSON"},
		{schema: `{"a":1`, err: "not valid JSON"},
		{schema: `{"a":"1}`, err: "not valid JSON"},
		{schema: `{} {}`, err: "not valid JSON"},
		{schema: `{"x":"\`, err: "not valid JSON"},
		{schema: deep, err: "nests too deeply"},
	} {
		var refs []string
		err := walkSchema([]byte(tt.schema), func(ref string) error { refs = append(refs, ref); return nil })
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("walkSchema(%.40s) error = %v, want %q", tt.schema, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(refs, tt.refs) {
			t.Errorf("walkSchema(%.40s) = %q, %v; want %q", tt.schema, refs, err, tt.refs)
		}
	}
}

// FuzzWalkSchema checks the byte walker against a reference walk over the
// decoded value: on valid JSON every reference the reference finds must be
// found (the walker may see more: duplicate keys, which decoding drops).
func FuzzWalkSchema(f *testing.F) {
	for _, def := range sampleBundle().Defs {
		f.Add([]byte(def))
	}
	f.Add([]byte(`{"properties":{"a":{"$ref":"#/$defs/A"}},"allOf":[{"$ref":"#/$defs/B"}],"const":{"$ref":"x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []string
		err := walkSchema(data, func(ref string) error { got = append(got, ref); return nil })
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		if err != nil && !strings.Contains(err.Error(), "$ref is not a string") && !strings.Contains(err.Error(), "nests too deeply") {
			t.Fatalf("walkSchema refused valid JSON: %v", err)
		}
		if err != nil {
			return
		}
		for _, r := range refWalk(v) {
			if !slices.Contains(got, r) {
				t.Fatalf("walkSchema missed %q (found %q)", r, got)
			}
		}
	})
}

// refWalk is the reference: the references of a decoded schema.
func refWalk(v any) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var refs []string
	if s, ok := obj["$ref"].(string); ok {
		refs = append(refs, s)
	}
	for k, sub := range obj {
		switch k {
		case "additionalProperties", "items", "additionalItems", "contains", "not", "if", "then", "else",
			"propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema":
			if list, ok := sub.([]any); ok {
				for _, s := range list {
					refs = append(refs, refWalk(s)...)
				}
			} else {
				refs = append(refs, refWalk(sub)...)
			}
		case "allOf", "anyOf", "oneOf", "prefixItems":
			list, _ := sub.([]any)
			for _, s := range list {
				refs = append(refs, refWalk(s)...)
			}
		case "properties", "patternProperties", "dependentSchemas", "$defs", "definitions":
			m, _ := sub.(map[string]any)
			for _, s := range m {
				refs = append(refs, refWalk(s)...)
			}
		}
	}
	return refs
}
