package lint

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

var structure = &Rule{
	ID: "gwc-structure", Severity: diag.Error, Category: Structure,
	Title: "an OpenAPI object with a wrong, missing or unknown field",
	Description: "The OpenAPI objects (root, info, servers, paths, path items, operations, parameters, request " +
		"bodies, media types, responses, headers, examples, links, tags, security schemes and flows) are checked " +
		"against the specification of the document's version: required fields (`info.title`, a response's " +
		"`description` is gwc-response-description's), the type of each field, fields of the other version " +
		"(`webhooks` in 3.0), and unknown fields, with the closest known one suggested (`summry`). Schemas are " +
		"gwc-schema's; `x-` extensions are free.",
	Run: checkStructure,
}

// fieldKind is what a field holds.
type fieldKind uint8

const (
	fString fieldKind = iota
	fBool
	fAny     // any JSON value (examples)
	fObject  // one object of type t
	fMap     // an object whose every value is of type t (t nil: any value)
	fArray   // an array of t (t nil: of strings)
	fSchema  // a schema: gwc-schema's business
	fStrings // an array of strings
)

type field struct {
	kind fieldKind
	t    *objType
	// v31 restricts the field to OpenAPI 3.1.
	v31 bool
}

// objType is one OpenAPI object: its fixed fields, and what its other keys
// may be (patterned).
type objType struct {
	name     string
	fields   map[string]field
	required []string
	// patterned, when set, types the keys that are not fixed fields; what
	// it refuses is an unknown field.
	patterned func(key string) (field, bool)
}

var (
	tInfo, tContact, tLicense, tServer, tServerVar, tComponents, tPaths, tPathItem, tOperation, tExternalDocs,
	tParameter, tRequestBody, tMediaType, tEncoding, tResponses, tResponse, tCallback, tExample, tLink, tHeader,
	tTag, tSecurityScheme, tOAuthFlows, tOAuthFlow, tSecurityRequirement, tRoot *objType
)

var statusCode = regexp.MustCompile(`^([1-5]XX|[1-5]\d\d)$`)

func init() {
	obj := func(t *objType) field { return field{kind: fObject, t: t} }
	mapOf := func(t *objType) field { return field{kind: fMap, t: t} }
	arr := func(t *objType) field { return field{kind: fArray, t: t} }
	str, boolean, anyv, schema, strs := field{kind: fString}, field{kind: fBool}, field{kind: fAny}, field{kind: fSchema}, field{kind: fStrings}
	only31 := func(f field) field { f.v31 = true; return f }

	tContact = &objType{name: "contact", fields: map[string]field{"name": str, "url": str, "email": str}}
	tLicense = &objType{name: "license", required: []string{"name"},
		fields: map[string]field{"name": str, "url": str, "identifier": only31(str)}}
	tInfo = &objType{name: "info", required: []string{"title", "version"}, fields: map[string]field{
		"title": str, "summary": only31(str), "description": str, "termsOfService": str,
		"contact": obj(tContact), "license": obj(tLicense), "version": str}}
	tServerVar = &objType{name: "server variable", required: []string{"default"},
		fields: map[string]field{"enum": strs, "default": str, "description": str}}
	tServer = &objType{name: "server", required: []string{"url"}, fields: map[string]field{
		"url": str, "description": str, "variables": mapOf(tServerVar)}}
	tExternalDocs = &objType{name: "externalDocs", required: []string{"url"}, fields: map[string]field{"description": str, "url": str}}
	tExample = &objType{name: "example", fields: map[string]field{"summary": str, "description": str, "value": anyv, "externalValue": str}}
	tHeader = &objType{name: "header", fields: map[string]field{}}
	tEncoding = &objType{name: "encoding", fields: map[string]field{"contentType": str, "headers": mapOf(tHeader),
		"style": str, "explode": boolean, "allowReserved": boolean}}
	tMediaType = &objType{name: "media type", fields: map[string]field{"schema": schema, "example": anyv,
		"examples": mapOf(tExample), "encoding": mapOf(tEncoding)}}
	paramFields := map[string]field{"description": str, "required": boolean, "deprecated": boolean,
		"allowEmptyValue": boolean, "style": str, "explode": boolean, "allowReserved": boolean, "schema": schema,
		"example": anyv, "examples": mapOf(tExample), "content": mapOf(tMediaType)}
	for k, v := range paramFields {
		tHeader.fields[k] = v
	}
	tParameter = &objType{name: "parameter", fields: map[string]field{"name": str, "in": str}}
	for k, v := range paramFields {
		tParameter.fields[k] = v
	}
	tRequestBody = &objType{name: "requestBody", required: []string{"content"}, fields: map[string]field{
		"description": str, "content": mapOf(tMediaType), "required": boolean}}
	tLink = &objType{name: "link", fields: map[string]field{"operationRef": str, "operationId": str,
		"parameters": {kind: fMap}, "requestBody": anyv, "description": str, "server": obj(tServer)}}
	tResponse = &objType{name: "response", fields: map[string]field{"description": str,
		"headers": mapOf(tHeader), "content": mapOf(tMediaType), "links": mapOf(tLink)}}
	tResponses = &objType{name: "responses", fields: map[string]field{"default": obj(tResponse)},
		patterned: func(k string) (field, bool) { return obj(tResponse), statusCode.MatchString(k) }}
	tPathItem = &objType{name: "path item", fields: map[string]field{"$ref": str, "summary": str, "description": str,
		"servers": arr(tServer), "parameters": arr(tParameter)}}
	tCallback = &objType{name: "callback", fields: map[string]field{},
		patterned: func(string) (field, bool) { return obj(tPathItem), true }}
	tSecurityRequirement = &objType{name: "security requirement", fields: map[string]field{},
		patterned: func(string) (field, bool) { return strs, true }}
	tOperation = &objType{name: "operation", fields: map[string]field{"tags": strs, "summary": str, "description": str,
		"externalDocs": obj(tExternalDocs), "operationId": str, "parameters": arr(tParameter),
		"requestBody": obj(tRequestBody), "responses": obj(tResponses), "callbacks": mapOf(tCallback),
		"deprecated": boolean, "security": arr(tSecurityRequirement), "servers": arr(tServer)}}
	for _, m := range methods {
		tPathItem.fields[m] = obj(tOperation)
	}
	tPaths = &objType{name: "paths", fields: map[string]field{},
		patterned: func(k string) (field, bool) { return obj(tPathItem), strings.HasPrefix(k, "/") }}
	tOAuthFlow = &objType{name: "OAuth flow", required: []string{"scopes"}, fields: map[string]field{
		"authorizationUrl": str, "tokenUrl": str, "refreshUrl": str, "scopes": {kind: fMap}}}
	tOAuthFlows = &objType{name: "OAuth flows", fields: map[string]field{"implicit": obj(tOAuthFlow),
		"password": obj(tOAuthFlow), "clientCredentials": obj(tOAuthFlow), "authorizationCode": obj(tOAuthFlow)}}
	tSecurityScheme = &objType{name: "security scheme", required: []string{"type"}, fields: map[string]field{
		"type": str, "description": str, "name": str, "in": str, "scheme": str, "bearerFormat": str,
		"flows": obj(tOAuthFlows), "openIdConnectUrl": str}}
	tTag = &objType{name: "tag", required: []string{"name"}, fields: map[string]field{"name": str, "description": str,
		"externalDocs": obj(tExternalDocs)}}
	tComponents = &objType{name: "components", fields: map[string]field{"schemas": {kind: fMap},
		"responses": mapOf(tResponse), "parameters": mapOf(tParameter), "examples": mapOf(tExample),
		"requestBodies": mapOf(tRequestBody), "headers": mapOf(tHeader), "securitySchemes": mapOf(tSecurityScheme),
		"links": mapOf(tLink), "callbacks": mapOf(tCallback), "pathItems": only31(mapOf(tPathItem))}}
	tRoot = &objType{name: "the OpenAPI object", required: []string{"openapi", "info"}, fields: map[string]field{
		"openapi": str, "info": obj(tInfo), "jsonSchemaDialect": only31(str), "servers": arr(tServer),
		"paths": obj(tPaths), "webhooks": only31(mapOf(tPathItem)), "components": obj(tComponents),
		"security": arr(tSecurityRequirement), "tags": arr(tTag), "externalDocs": obj(tExternalDocs)}}
}

// structureChecker walks one document.
type structureChecker struct {
	p    *Pass
	is31 bool
	seen map[*spec.Node]bool
}

func checkStructure(p *Pass) {
	c := &structureChecker{p: p, is31: p.Doc.Is31(), seen: map[*spec.Node]bool{}}
	root := p.Doc.Root
	c.object(root, nil, tRoot)
	if !c.is31 && root.Get("paths") == nil {
		p.Reportf(root, "the OpenAPI object has no %q (required in OpenAPI 3.0)", "paths")
	}
	if c.is31 && root.Get("paths") == nil && root.Get("components") == nil && root.Get("webhooks") == nil {
		p.Reportf(root, "the OpenAPI object has none of paths, components and webhooks (OpenAPI 3.1 requires one)")
	}
	eachOperation(p.Doc, func(method, op *spec.Node, path string) {
		if !c.is31 && op.Get("responses") == nil {
			p.Reportf(method, "%s %s has no %q (required in OpenAPI 3.0)", strings.ToUpper(method.Value), path, "responses")
		}
	})
}

// object checks n as an object of type t; key is the member key n is the
// value of, where a finding about n as a whole points.
func (c *structureChecker) object(n, key *spec.Node, t *objType) {
	if n == nil {
		return
	}
	if n.IsRef() {
		// The target is checked where it is; a reference's own siblings are
		// OpenAPI's to ignore (3.0) or summary/description (3.1).
		c.object(n.Ref, nil, t)
		return
	}
	if c.seen[n] {
		return
	}
	c.seen[n] = true
	if n.Kind != spec.Object {
		c.p.Reportf(orKey(n, key), "%s must be an object, not %s", t.name, n.Describe())
		return
	}
	for _, r := range t.required {
		if n.Get(r) == nil {
			c.p.Reportf(orKey(n, key), "%s has no %q", t.name, r)
		}
	}
	for _, pr := range n.Pairs {
		k := pr.Key.Value
		if strings.HasPrefix(k, "x-") {
			continue
		}
		f, ok := t.fields[k]
		if !ok && t.patterned != nil {
			f, ok = t.patterned(k)
		}
		if !ok {
			c.p.Reportf(pr.Key, "unknown field %q in %s%s", k, t.name, suggest(k, t))
			continue
		}
		if f.v31 && !c.is31 {
			c.p.Reportf(pr.Key, "%q in %s is OpenAPI 3.1; this document is %s", k, t.name, c.p.Doc.OpenAPI)
			continue
		}
		c.value(pr.Value, pr.Key, k, f)
	}
}

func (c *structureChecker) value(v, key *spec.Node, name string, f field) {
	d := v.Deref()
	if d == nil {
		return
	}
	switch f.kind {
	case fString:
		if d.Kind != spec.String {
			c.p.Reportf(v, "%q must be a string, not %s", name, d.Describe())
		}
	case fBool:
		if d.Kind != spec.Bool {
			c.p.Reportf(v, "%q must be a boolean, not %s", name, d.Describe())
		}
	case fStrings:
		if d.Kind != spec.Array {
			c.p.Reportf(v, "%q must be an array of strings, not %s", name, d.Describe())
			return
		}
		for _, e := range d.Elems {
			if ed := e.Deref(); ed != nil && ed.Kind != spec.String {
				c.p.Reportf(e, "%q must list strings, not %s", name, ed.Describe())
			}
		}
	case fObject:
		c.object(v, key, f.t)
	case fMap:
		if d.Kind != spec.Object {
			c.p.Reportf(v, "%q must be an object, not %s", name, d.Describe())
			return
		}
		if f.t == nil {
			return
		}
		for _, pr := range d.Pairs {
			c.object(pr.Value, pr.Key, f.t)
		}
	case fArray:
		if d.Kind != spec.Array {
			c.p.Reportf(v, "%q must be an array, not %s", name, d.Describe())
			return
		}
		for _, e := range d.Elems {
			c.object(e, nil, f.t)
		}
	}
}

// orKey is where a finding about n as a whole points: its key when it has
// one (the line a block value starts under), else n.
func orKey(n, key *spec.Node) *spec.Node {
	if key != nil {
		return key
	}
	return n
}

// suggest is " (did you mean X?)" for the field of t closest to k.
func suggest(k string, t *objType) string {
	best, bestD := "", max(2, len(k)/3)+1
	var names []string
	for name := range t.fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if d := editDistance(strings.ToLower(k), strings.ToLower(name)); d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
