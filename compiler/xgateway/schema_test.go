package xgateway

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gwcdev/gwc/docs"
)

func schemaDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(docs.XGatewaySchema, &doc); err != nil {
		t.Fatalf("docs/x-gateway.schema.json is not JSON: %v", err)
	}
	return doc
}

// TestSchemaIsValid2020 validates the published schema against the JSON
// Schema 2020-12 metaschema, and checks that gwc compiles it.
func TestSchemaIsValid2020(t *testing.T) {
	c := jsonschema.NewCompiler()
	meta, err := c.Compile("https://json-schema.org/draft/2020-12/schema")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.XGatewaySchema))
	if err != nil {
		t.Fatal(err)
	}
	if err := meta.Validate(inst); err != nil {
		t.Errorf("the schema is not valid JSON Schema 2020-12: %v", err)
	}
	doc := schemaDoc(t)
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["$id"] != SchemaID {
		t.Errorf("$schema = %v, $id = %v", doc["$schema"], doc["$id"])
	}
	if s := compiledSchema(); s.err != nil {
		t.Fatalf("gwc cannot compile the schema: %v", s.err)
	}
}

// TestSchemaConventions checks what the schema promises editors and users:
// every property has a title and a description (or is a $ref to one that
// has), and every object of the extension is closed.
func TestSchemaConventions(t *testing.T) {
	doc := schemaDoc(t)
	defs := doc["$defs"].(map[string]any)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		case map[string]any:
			if props, ok := x["properties"].(map[string]any); ok {
				// The openapi* helpers describe OpenAPI objects, which are
				// open; everything of the extension itself is closed.
				if !strings.HasPrefix(path, "openapi") && !strings.HasPrefix(path, "properties") && path != "" && x["additionalProperties"] != false {
					t.Errorf("%s: additionalProperties is not false", path)
				}
				for name, p := range props {
					ps, _ := p.(map[string]any)
					if ps["title"] == nil || ps["description"] == nil {
						ref, _ := ps["$ref"].(string)
						target := resolveLocal(doc, ref)
						if target == nil || target["title"] == nil || target["description"] == nil {
							t.Errorf("%s.properties.%s has no title and description", path, name)
						}
					}
				}
			}
			for k, e := range x {
				switch k {
				case "if", "then", "else", "not":
					// Conditions constrain values described elsewhere.
					continue
				}
				walk(strings.TrimPrefix(path+"."+k, "."), e)
			}
		}
	}
	walk("", map[string]any{"properties": doc["properties"]})
	for name, d := range defs {
		walk(name, d)
	}
	for _, name := range []string{"root", "policy", "defaults", "scheme"} {
		if defs[name] == nil {
			t.Errorf("$defs/%s is missing", name)
		}
	}
}

func resolveLocal(doc map[string]any, ref string) map[string]any {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var v any = doc
	for _, tok := range strings.Split(ptr, "/") {
		m, _ := v.(map[string]any)
		v = m[tok]
	}
	m, _ := v.(map[string]any)
	return m
}

// TestSchemaLevelsAgree checks that defaults holds the policy's keys but
// path, cors, ip and aggregate, as DESIGN §2 says.
func TestSchemaLevelsAgree(t *testing.T) {
	s := compiledSchema()
	var want []string
	for _, k := range s.keys[levelPolicy] {
		if !slices.Contains([]string{"path", "cors", "ip", "aggregate"}, k) {
			want = append(want, k)
		}
	}
	if !slices.Equal(s.keys[levelDefaults], want) {
		t.Errorf("defaults keys = %v, want %v", s.keys[levelDefaults], want)
	}
}

// TestSchemaWholeDocument applies the schema to whole specs, as an editor
// does: the DESIGN §2 example passes, and a misspelt key in an operation's
// x-gateway fails.
func TestSchemaWholeDocument(t *testing.T) {
	c := jsonschema.NewCompiler()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.XGatewaySchema))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(SchemaID, inst); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	ar := readArchive(t, "testdata/check/design-example.txtar")
	doc := loadArchive(t, ar)
	var conv converter
	v, err := conv.value(doc.Root, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("the DESIGN §2 example does not validate: %v", err)
	}
	op := v.(map[string]any)["paths"].(map[string]any)["/pets/{id}"].(map[string]any)["get"].(map[string]any)
	op["x-gateway"].(map[string]any)["upstreem"] = "pets"
	if err := sch.Validate(v); err == nil {
		t.Error("a misspelt operation key validates")
	}
}
