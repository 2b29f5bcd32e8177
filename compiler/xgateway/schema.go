package xgateway

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/docs"
)

// SchemaID is the $id of the published schema, docs/x-gateway.schema.json.
const SchemaID = "https://gwc.dev/schemas/x-gateway.schema.json"

// level is where an x-gateway is: each validates against its own $defs entry.
type level uint8

const (
	levelRoot level = iota
	levelPolicy
	levelDefaults // only reached inside the root; never validated alone
	levelScheme
)

// defNames are the $defs entries of the levels.
var defNames = [...]string{levelRoot: "root", levelPolicy: "policy", levelDefaults: "defaults", levelScheme: "scheme"}

// schemaSet is the embedded schema, compiled once per process.
type schemaSet struct {
	byLevel [4]*jsonschema.Schema
	// doc is the parsed schema document; messages read the keys allowed at a
	// place from its `properties`.
	doc any
	// keys holds the keys each level allows, for telling a misplaced key
	// from a misspelt one.
	keys    [4][]string
	printer *message.Printer
	err     error
}

// compiledSchema compiles the embedded schema on first use. Compiling takes
// a few milliseconds, a thousand times the cost of validating one x-gateway,
// so it is done once per process rather than per Check.
var compiledSchema = sync.OnceValue(func() *schemaSet {
	s, err := compileSchema(docs.XGatewaySchema)
	if err != nil {
		return &schemaSet{err: err}
	}
	return s
})

// formats are the schema's own formats: syntaxes that a pattern can only
// approximate. Editors ignore unknown formats, and the patterns beside them
// give editors the approximation; gwc asserts these.
var formats = []*jsonschema.Format{
	{Name: "go-duration", Validate: stringFormat(func(s string) error { _, err := parseDuration(s); return err })},
	{Name: "byte-size", Validate: stringFormat(func(s string) error { _, err := parseSize(s); return err })},
	{Name: "http-url", Validate: stringFormat(func(s string) error { return checkHTTPURL(s, false) })},
	{Name: "https-url", Validate: stringFormat(func(s string) error { return checkHTTPURL(s, true) })},
	{Name: "ip-or-cidr", Validate: stringFormat(checkNetwork)},
	{Name: "cors-origin", Validate: stringFormat(checkOrigin)},
	// A nil *templateError must not become a non-nil error.
	{Name: "header-template", Validate: stringFormat(func(s string) error {
		if err := checkTemplate(s); err != nil {
			return err
		}
		return nil
	})},
}

// stringFormat applies check to strings; formats ignore other types.
func stringFormat(check func(string) error) func(any) error {
	return func(v any) error {
		if s, ok := v.(string); ok {
			return check(s)
		}
		return nil
	}
}

func compileSchema(data []byte) (*schemaSet, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("x-gateway schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, f := range formats {
		c.RegisterFormat(f)
	}
	if err := c.AddResource(SchemaID, doc); err != nil {
		return nil, fmt.Errorf("x-gateway schema: %w", err)
	}
	s := &schemaSet{doc: doc, printer: message.NewPrinter(language.English)}
	for _, l := range []level{levelRoot, levelPolicy, levelScheme} {
		sch, err := c.Compile(SchemaID + "#/$defs/" + defNames[l])
		if err != nil {
			return nil, fmt.Errorf("x-gateway schema: %w", err)
		}
		s.byLevel[l] = sch
	}
	for l, name := range defNames {
		s.keys[l] = s.propertiesAt(SchemaID + "#/$defs/" + name)
		if len(s.keys[l]) == 0 {
			return nil, fmt.Errorf("x-gateway schema: $defs/%s has no properties", name)
		}
	}
	return s, nil
}

// propertiesAt returns the sorted property names of the schema at location
// loc (an absolute schema URL with a JSON pointer fragment), or nil.
func (s *schemaSet) propertiesAt(loc string) []string {
	v := s.at(loc)
	obj, _ := v.(map[string]any)
	props, _ := obj["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// at returns the value at schema location loc in the schema document.
func (s *schemaSet) at(loc string) any {
	ptr, ok := strings.CutPrefix(loc, SchemaID+"#")
	if !ok {
		return nil
	}
	v := s.doc
	if ptr == "" {
		return v
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		switch x := v.(type) {
		case map[string]any:
			v = x[spec.UnescapePointerToken(tok)]
		default:
			return nil
		}
	}
	return v
}

// defName returns NAME when loc is the location of $defs/NAME itself, or "".
func defName(loc string) string {
	name, ok := strings.CutPrefix(loc, SchemaID+"#/$defs/")
	if !ok || strings.Contains(name, "/") {
		return ""
	}
	return name
}
