package lower

import (
	"strings"
	"testing"
)

// TestValidate compiles lowered schemas as 2020-12 and checks that they
// accept and reject instances as the OpenAPI semantics (and kin-openapi) do.
func TestValidate(t *testing.T) {
	const petSpec30 = head30 + `    Body:
      type: object
      required: [id, age, pet]
      properties:
        id: {type: string, readOnly: true}
        age: {type: integer, minimum: 0, exclusiveMinimum: true, nullable: true}
        pet: {$ref: '#/components/schemas/Pet'}
        animal: {$ref: '#/components/schemas/Animal'}
        tree: {$ref: '#/components/schemas/Node'}
    Pet:
      oneOf: [{$ref: '#/components/schemas/Cat'}, {$ref: '#/components/schemas/Dog'}]
      discriminator: {propertyName: kind, mapping: {cat: Cat, dog: '#/components/schemas/Dog'}}
    Cat: {type: object, required: [kind], properties: {kind: {type: string}, lives: {type: integer}}}
    Dog: {type: object, required: [kind], properties: {kind: {type: string}, bark: {type: boolean}}}
    Animal:
      type: object
      properties: {type: {type: string}}
      discriminator: {propertyName: type}
    Bird:
      allOf:
        - $ref: '#/components/schemas/Animal'
        - {type: object, required: [wings], properties: {wings: {type: integer, maximum: 2}}}
    Node:
      type: object
      properties:
        v: {type: integer}
        kids: {type: array, items: {$ref: '#/components/schemas/Node'}}
`
	const loose31 = head31 + `    Body:
      oneOf: [{$ref: '#/components/schemas/Fn'}, {$ref: '#/components/schemas/Custom'}]
      discriminator: {propertyName: type}
    Fn: {type: object, required: [type, name], properties: {type: {const: function}, name: {type: string}}}
    Custom: {type: object, required: [type], properties: {type: {const: custom}}}
`
	ok, bad := true, false
	tests := []struct {
		name, spec, instance string
		valid                bool
	}{
		{"minimal body", petSpec30, `{"age": 1, "pet": {"kind": "cat"}}`, ok},
		{"nullable accepts null", petSpec30, `{"age": null, "pet": {"kind": "cat"}}`, ok},
		{"exclusiveMinimum rejects the bound", petSpec30, `{"age": 0, "pet": {"kind": "cat"}}`, bad},
		{"readOnly is not required but not accepted", petSpec30, `{"id": "x", "age": 1, "pet": {"kind": "cat"}}`, bad},
		{"discriminator routes to cat", petSpec30, `{"age": 1, "pet": {"kind": "cat", "lives": 9}}`, ok},
		{"discriminator checks the routed schema", petSpec30, `{"age": 1, "pet": {"kind": "cat", "lives": "nine"}}`, bad},
		{"discriminator routes to dog only", petSpec30, `{"age": 1, "pet": {"kind": "dog", "bark": true}}`, ok}, // also a Cat: plain oneOf would reject
		{"discriminator rejects dog with a bad bark", petSpec30, `{"age": 1, "pet": {"kind": "dog", "bark": 1}}`, bad},
		{"discriminator value missing", petSpec30, `{"age": 1, "pet": {"lives": 9}}`, bad},
		{"discriminator value unknown", petSpec30, `{"age": 1, "pet": {"kind": "cow"}}`, bad},
		{"discriminator value not a string", petSpec30, `{"age": 1, "pet": {"kind": 3}}`, bad},
		{"inheritance routes to the child", petSpec30, `{"age": 1, "pet": {"kind": "cat"}, "animal": {"type": "Bird", "wings": 2}}`, ok},
		{"inheritance checks the child", petSpec30, `{"age": 1, "pet": {"kind": "cat"}, "animal": {"type": "Bird", "wings": 3}}`, bad},
		{"inheritance needs the property", petSpec30, `{"age": 1, "pet": {"kind": "cat"}, "animal": {"wings": 2}}`, bad},
		{"deep tree", petSpec30, `{"age": 1, "pet": {"kind": "cat"}, "tree": {"v": 1, "kids": [{"v": 2, "kids": [{"v": 3, "kids": [{"v": 4}]}]}]}}`, ok},
		{"deep tree with a bad leaf", petSpec30, `{"age": 1, "pet": {"kind": "cat"}, "tree": {"v": 1, "kids": [{"v": 2, "kids": [{"v": 3, "kids": [{"v": "x"}]}]}]}}`, bad},
		{"implicit names fall back to oneOf", loose31, `{"type": "function", "name": "f"}`, ok},
		{"implicit fallback still checks", loose31, `{"type": "function"}`, bad},
		{"implicit name routes", loose31, `{"type": "Custom"}`, bad}, // routed to Custom, whose const is "custom"
		{"implicit still needs the property", loose31, `{"name": "f"}`, bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := loadString(t, tt.spec, false)
			l, roots, ds := lowerAt(t, doc, "/components/schemas/Body")
			if ds.HasErrors() {
				t.Fatalf("lowering: %v", ds.Err())
			}
			sch, err := compileRoot(t, roots[0], l.Defs())
			if err != nil {
				t.Fatalf("compiling lowered schema: %v\n%s", err, l.Document(roots[0]))
			}
			err = sch.Validate(instance(t, tt.instance))
			if got := err == nil; got != tt.valid {
				t.Errorf("valid = %v, want %v (%v)\n%s", got, tt.valid, err, strings.TrimSpace(string(l.Document(roots[0]))))
			}
		})
	}
}
