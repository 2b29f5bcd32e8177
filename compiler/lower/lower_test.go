package lower

import (
	"slices"
	"strings"
	"testing"
)

const head30 = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
const head31 = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"

func TestLower(t *testing.T) {
	tests := []struct {
		name  string
		spec  string
		roots []string          // pointers lowered in order
		want  []string          // expected roots
		defs  map[string]string // expected Defs(), exactly
		diags []string          // expected diagnostics, "line:col severity: message"
		// brokenRefs lets the loader report unresolved references.
		brokenRefs bool
	}{{
		name: "3.0 nullable with type and enum",
		spec: head30 + `    A:
      type: string
      nullable: true
      enum: [a, b]
`,
		roots: []string{"/components/schemas/A"},
		want:  []string{`{"type":["string","null"],"enum":["a","b",null]}`},
	}, {
		name: "3.0 nullable beside allOf wraps in anyOf",
		spec: head30 + `    A:
      nullable: true
      allOf: [{$ref: '#/components/schemas/B'}]
    B: {type: object}
`,
		roots: []string{"/components/schemas/A"},
		want:  []string{`{"anyOf":[{"type":"null"},{"allOf":[{"$ref":"#/$defs/B"}]}]}`},
		defs:  map[string]string{"B": `{"type":"object"}`},
	}, {
		name: "3.0 nullable false dropped and enum keeps its null",
		spec: head30 + `    A: {type: integer, nullable: false}
    B: {type: string, nullable: true, enum: [x, null]}
`,
		roots: []string{"/components/schemas/A", "/components/schemas/B"},
		want:  []string{`{"type":"integer"}`, `{"type":["string","null"],"enum":["x",null]}`},
	}, {
		name: "3.0 boolean exclusive bounds",
		spec: head30 + `    A: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 10.50, exclusiveMaximum: false}
    B: {type: number, exclusiveMaximum: true}
`,
		roots: []string{"/components/schemas/A", "/components/schemas/B"},
		want:  []string{`{"type":"number","exclusiveMinimum":0,"maximum":10.50}`, `{"type":"number"}`},
		diags: []string{"7:23 warning: exclusiveMaximum: true has no maximum beside it; gwc ignores it"},
	}, {
		name: "3.0 example, dropped annotations and kept ones",
		spec: head30 + `    A:
      type: object
      title: T
      description: D
      deprecated: true
      format: custom
      default: {a: 1}
      example: {a: 2}
      xml: {name: a}
      externalDocs: {url: 'https://x'}
      x-internal: true
      writeOnly: true
`,
		roots: []string{"/components/schemas/A"},
		want:  []string{`{"type":"object","title":"T","description":"D","deprecated":true,"format":"custom","default":{"a":1},"examples":[{"a":2}],"writeOnly":true}`},
	}, {
		name: "3.0 ref siblings are ignored",
		spec: head30 + `    A:
      $ref: '#/components/schemas/B'
      description: ignored
      nullable: true
    B: {type: string}
`,
		roots: []string{"/components/schemas/A"},
		want:  []string{`{"$ref":"#/$defs/B"}`},
		defs:  map[string]string{"B": `{"type":"string"}`},
	}, {
		name: "3.0 readOnly properties are not required and not accepted",
		spec: head30 + `    A:
      type: object
      required: [id, name, parent]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string}
        parent: {$ref: '#/components/schemas/Id'}
        note: {type: string, readOnly: true, nullable: true}
    Id: {type: string, readOnly: true}
    C:
      allOf:
        - $ref: '#/components/schemas/A'
        - required: [id, name]
      additionalProperties: false
`,
		roots: []string{"/components/schemas/A", "/components/schemas/C"},
		want: []string{
			`{"type":"object","required":["name"],"properties":{"id":false,"name":{"type":"string"},"parent":false,"note":{"type":"null"}}}`,
			`{"allOf":[{"$ref":"#/$defs/A"},{"required":["name"]}],"additionalProperties":false}`,
		},
		defs: map[string]string{"A": `{"type":"object","required":["name"],"properties":{"id":false,"name":{"type":"string"},"parent":false,"note":{"type":"null"}}}`},
	}, {
		name: "3.0 keywords of 2020-12 are kept with a warning",
		spec: head30 + `    A:
      type: [string, integer]
      const: x
    B: true
`,
		roots: []string{"/components/schemas/A", "/components/schemas/B"},
		want:  []string{`{"type":["string","integer"],"const":"x"}`, `true`},
		diags: []string{
			"7:13 warning: type must be a string in OpenAPI 3.0, not an array; gwc keeps it as JSON Schema 2020-12",
			`8:7 warning: "const" is not a keyword of OpenAPI 3.0 schemas; gwc keeps it as JSON Schema 2020-12`,
			"9:8 error: a schema must be an object in OpenAPI 3.0, not true",
		},
	}, {
		name: "unknown keywords and bad values are dropped with positions",
		spec: head30 + `    A:
      type: strng
      maxLenght: 3
      minLength: -1
      required: true
`,
		roots: []string{"/components/schemas/A"},
		want:  []string{`{}`},
		diags: []string{
			`7:13 warning: unknown type "strng"; gwc ignores it (did you mean "string"?)`,
			`8:7 warning: unknown schema keyword "maxLenght"; gwc ignores it (did you mean "maxLength"?)`,
			`9:18 warning: minLength must be a non-negative integer, not -1; gwc ignores it`,
			`10:17 warning: required must be an array of property names, not true; gwc ignores it`,
		},
	}, {
		name: "recursion stays a definition",
		spec: head30 + `    Node:
      type: object
      properties:
        value: {type: integer}
        children:
          type: array
          items: {$ref: '#/components/schemas/Node'}
`,
		// The root is the node itself, inline; its recursion is a definition,
		// and lowering it twice adds no second one.
		roots: []string{"/components/schemas/Node", "/components/schemas/Node"},
		want: []string{
			`{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/Node"}}}}`,
			`{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/Node"}}}}`,
		},
		defs: map[string]string{
			"Node": `{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/Node"}}}}`,
		},
	}, {
		name: "unresolved references accept anything without a second diagnostic",
		spec: head30 + `    A: {type: object, properties: {b: {$ref: '#/components/schemas/Missing'}}}
`,
		brokenRefs: true,
		roots:      []string{"/components/schemas/A"},
		want:       []string{`{"type":"object","properties":{"b":true}}`},
	}, {
		name: "multi-file references get readable names and collisions a suffix",
		spec: head30 + `    Pet:
      type: object
      properties:
        owner: {$ref: 'multi/models/owner.yaml'}
        tag: {$ref: 'multi/common.yaml#/components/schemas/Pet'}
        also: {$ref: 'multi/models/owner.yaml'}
`,
		roots: []string{"/components/schemas/Pet"},
		want:  []string{`{"type":"object","properties":{"owner":{"$ref":"#/$defs/owner"},"tag":{"$ref":"#/$defs/Pet_2"},"also":{"$ref":"#/$defs/owner"}}}`},
		defs: map[string]string{
			"owner":   `{"type":"object","properties":{"name":{"type":"string","maxLength":64},"address":{"$ref":"#/$defs/Address"}}}`,
			"Address": `{"type":"object","properties":{"street":{"type":"string"}}}`,
			"Pet_2":   `{"type":"string","enum":["cat","dog"]}`,
		},
	}, {
		name: "3.1 refs with siblings, examples, boolean schemas",
		spec: head31 + `    A:
      $ref: '#/components/schemas/B'
      description: kept
      x-note: dropped
    B:
      type: [string, "null"]
      example: one
      examples: [two]
    C:
      type: object
      properties: {any: true, none: false}
`,
		roots: []string{"/components/schemas/A", "/components/schemas/C"},
		want: []string{
			`{"$ref":"#/$defs/B","description":"kept"}`,
			`{"type":"object","properties":{"any":true,"none":false}}`,
		},
		defs: map[string]string{"B": `{"type":["string","null"],"examples":["two"]}`},
	}, {
		name: "3.1 recursiveRef and dropped identifiers",
		spec: head31 + `    Filter:
      $recursiveAnchor: true
      $id: 'https://example.com/filter'
      type: object
      properties:
        filters:
          type: array
          items: {$recursiveRef: '#'}
    F: {$ref: '#/components/schemas/Filter'}
`,
		// Lowered through a reference, and as an inline root whose
		// recursion then refers to a definition of itself.
		roots: []string{"/components/schemas/F", "/components/schemas/Filter"},
		want:  []string{`{"$ref":"#/$defs/Filter"}`, `{"type":"object","properties":{"filters":{"type":"array","items":{"$ref":"#/$defs/Filter"}}}}`},
		defs: map[string]string{
			"Filter": `{"type":"object","properties":{"filters":{"type":"array","items":{"$ref":"#/$defs/Filter"}}}}`,
		},
		diags: []string{
			`8:7 warning: gwc drops $id "https://example.com/filter": lowered schemas are one resource whose definitions are named by gwc`,
			`8:7 warning: gwc drops $id "https://example.com/filter": lowered schemas are one resource whose definitions are named by gwc`,
		},
	}, {
		name:  "3.1 jsonSchemaDialect other than 2020-12 is a warning",
		spec:  "openapi: 3.1.0\njsonSchemaDialect: 'https://json-schema.org/draft/2019-09/schema'\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    A: {type: string}\n",
		roots: []string{"/components/schemas/A"},
		want:  []string{`{"type":"string"}`},
		diags: []string{`2:20 warning: jsonSchemaDialect "https://json-schema.org/draft/2019-09/schema" is not supported; gwc validates schemas as JSON Schema 2020-12`},
	}, {
		name: "discriminator with oneOf and explicit mapping",
		spec: head30 + `    Pet:
      oneOf:
        - $ref: '#/components/schemas/Cat'
        - $ref: '#/components/schemas/Dog'
      discriminator:
        propertyName: kind
        mapping: {cat: '#/components/schemas/Cat', dog: Dog}
    Cat: {type: object, properties: {kind: {type: string}}}
    Dog: {type: object, properties: {kind: {type: string}}}
`,
		roots: []string{"/components/schemas/Pet"},
		want: []string{`{"allOf":[` +
			`{"if":{"type":"object"},"then":{"required":["kind"],"properties":{"kind":{"type":"string","enum":["cat","dog","Cat","Dog"]}}}},` +
			`{"if":{"type":"object","required":["kind"],"properties":{"kind":{"const":"cat"}}},"then":{"$ref":"#/$defs/Cat"}},` +
			`{"if":{"type":"object","required":["kind"],"properties":{"kind":{"const":"dog"}}},"then":{"$ref":"#/$defs/Dog"}},` +
			`{"if":{"type":"object","required":["kind"],"properties":{"kind":{"const":"Cat"}}},"then":{"$ref":"#/$defs/Cat"}},` +
			`{"if":{"type":"object","required":["kind"],"properties":{"kind":{"const":"Dog"}}},"then":{"$ref":"#/$defs/Dog"}},` +
			`{"if":{"type":"object"},"else":{"oneOf":[{"$ref":"#/$defs/Cat"},{"$ref":"#/$defs/Dog"}]}}]}`},
		defs: map[string]string{
			"Cat": `{"type":"object","properties":{"kind":{"type":"string"}}}`,
			"Dog": `{"type":"object","properties":{"kind":{"type":"string"}}}`,
		},
	}, {
		name: "discriminator on an allOf parent",
		spec: head30 + `    Pet:
      type: object
      required: [petType]
      properties: {petType: {type: string}}
      discriminator: {propertyName: petType}
    Cat:
      allOf:
        - $ref: '#/components/schemas/Pet'
        - {properties: {meow: {type: boolean}}}
`,
		roots: []string{"/components/schemas/Pet"},
		want: []string{`{"type":"object","required":["petType"],"properties":{"petType":{"type":"string"}},"allOf":[` +
			`{"if":{"type":"object"},"then":{"required":["petType"],"properties":{"petType":{"type":"string"}}}},` +
			`{"if":{"type":"object","required":["petType"],"properties":{"petType":{"const":"Cat"}}},"then":{"$ref":"#/$defs/Cat"}},` +
			`{"if":{"type":"object","required":["petType"],"properties":{"petType":{"const":"Pet"}}},"then":{"$ref":"#/$defs/Pet.base"}}]}`},
		defs: map[string]string{
			"Cat":      `{"allOf":[{"$ref":"#/$defs/Pet.base"},{"properties":{"meow":{"type":"boolean"}}}]}`,
			"Pet.base": `{"type":"object","required":["petType"],"properties":{"petType":{"type":"string"}}}`,
		},
	}, {
		name: "discriminator problems are positioned",
		spec: head30 + `    Pet:
      oneOf: [{$ref: '#/components/schemas/Cat'}]
      discriminator:
        mapping: {cat: Cat}
    Q:
      oneOf: [{$ref: '#/components/schemas/Cat'}]
      discriminator:
        propertyName: kind
        mapping: {cow: '#/components/schemas/Cow'}
    Cat: {type: object}
`,
		roots: []string{"/components/schemas/Pet", "/components/schemas/Q"},
		want:  []string{`{"oneOf":[{"$ref":"#/$defs/Cat"}]}`},
		defs:  map[string]string{"Cat": `{"type":"object"}`},
		diags: []string{
			"8:7 error: discriminator needs a propertyName string",
			`14:24 error: discriminator mapping "cow": "#/components/schemas/Cow" names no schema`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := loadString(t, tt.spec, tt.brokenRefs)
			l, roots, ds := lowerAt(t, doc, tt.roots...)
			for i, w := range tt.want {
				if got, want := string(roots[i]), compact(t, w); got != want {
					t.Errorf("root %s:\n got %s\nwant %s", tt.roots[i], got, want)
				}
			}
			if tt.defs != nil {
				got := l.Defs()
				for name, w := range tt.defs {
					if g, ok := got[name]; !ok {
						t.Errorf("no definition %q; have %v", name, keys(got))
					} else if string(g) != compact(t, w) {
						t.Errorf("definition %s:\n got %s\nwant %s", name, g, compact(t, w))
					}
				}
				if len(got) != len(tt.defs) {
					t.Errorf("definitions %v, want %v", keys(got), keys(tt.defs))
				}
			}
			if got := diagStrings(ds); !slices.Equal(got, tt.diags) {
				t.Errorf("diagnostics:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.diags, "\n     "))
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
