// Package validate validates requests against a bundle's schemas: path,
// query, header and cookie parameters, and bodies per media type.
//
// Compile compiles every parameter and body schema of a bundle: eagerly,
// only what the fast path needs (each of Bundle.Defs decoded once);
// santhosh-tekuri/jsonschema v6 (draft 2020-12, one resource per schema
// document from Bundle.SchemaDocument) compiles each schema lazily, once, on
// the first request the fast path does not accept, or in Validators.Warm,
// or up front with Options.Eager. Identical schema roots compile once, and
// Reload reuses the previous bundle's santhosh schemas whose document did not
// change. A schema that fails to compile lazily (a checked bundle's never
// does; Eager reports it from Compile) makes its requests a 500 Error:
// they are neither accepted unvalidated nor blamed on the client.
//
// An Operation validates requests: Params reads a Request (an interface, so
// that no HTTP engine is assumed) and Body reads and checks the body (read
// into a pooled buffer, returned as an exact-size copy). Failures are an
// *Error: 400 with one FieldError per failing field, named by a JSON
// pointer into the request ("/query/limit", "/body/items/0/name"), sorted
// so that the same request always gets the same answer, 413 when the body
// exceeds the limit (counted while reading, Content-Length is not trusted),
// 415 when no declared media type matches, 500 as above. Error.Problem
// renders RFC 9457 problem+json with an "errors" member.
//
// # Formats
//
// Asserted: byte, date, date-time, int32 and int64 (kin-openapi's defaults)
// and float and double (finite in range). Every other format, uuid and email
// included, is an annotation, as in kin-openapi by default; santhosh's own
// built-in assertions are replaced by no-ops. "regex" is asserted by
// santhosh and schemas using it skip the fast path.
//
// # Parameters
//
// Values are decoded per in, style and explode (path: simple, label,
// matrix; query: form, spaceDelimited, pipeDelimited, deepObject; header:
// simple; cookie: form), guided by the schema's types (read through $ref and
// allOf/anyOf/oneOf, so that {"anyOf":[{"type":"object"},{"type":"null"}]}
// decodes as an object): a string is made a number or boolean when it reads
// as one in JSON and the schema allows it, else it stays a string and the
// schema reports the mismatch, naming the parameter. Scalar parameters are
// validated without allocating.
//
// # Bodies
//
// The Content-Type (none counts as application/octet-stream) picks the
// declared media type: an exact match, then a suffix range
// ("application/*+json"), then "type/*", then "*/*". application/json and
// any "+json" type are validated as JSON; application/x-www-form-urlencoded
// fields become an object whose values are coerced by their property's
// types, arrays taking repeated fields (or one split per the encoding's
// style when not exploded), deepObject encodings reading name[key] fields,
// and JSON contentType encodings parsed as JSON; multipart/form-data parts
// the same way, files as strings, parts with a JSON Content-Type parsed.
// Other media types are validated as one string when they have a schema.
//
// # The fast path
//
// Decoding a 1 KB body with encoding/json costs more than kin-openapi's whole
// validation budget for a 10× gain, so JSON is first checked by a compiled
// validator that walks the raw bytes once (fast.go) and builds no values. It
// implements type, enum, const, format, $ref (to "#/$defs/NAME"), allOf,
// anyOf, oneOf, not, properties, required, additionalProperties,
// prefixItems, items, min/maxItems, min/maxLength, pattern, minimum,
// maximum, exclusiveMinimum/Maximum and multipleOf; a schema using any other
// JSON Schema keyword has no fast path. It answers valid, invalid or unsure
// (malformed JSON, escaped member names, deep nesting): only "valid" is
// final, and only for strict JSON text (below). Anything else is decoded
// (decodeJSON, with jsontext) and validated by santhosh, which decides and
// writes the errors, so answers and messages are always santhosh's. Agreement is tested on
// handwritten cases, by FuzzValidate (bodies) and FuzzParams (parameters),
// and on the corpus specs' request schemas (internal/conformance, which
// also compares every decision with kin-openapi's: docs/validation.md).
//
// # Strict JSON text
//
// A client's JSON (a body, a parameter with content application/json, a
// form field or multipart part whose content type is JSON) must be exactly
// one RFC 8259 value, with only space, tab, CR and LF around it, and must
// mean the same to every parser, since the upstream gets the bytes as sent:
// no member name twice in an object (at any depth, declared or not), valid
// UTF-8, \u escapes of surrogates only in high-low pairs, no byte order
// mark, at most 1000 levels of nesting. Otherwise the answer is a 400 at the
// pointer of the problem, "not valid JSON: ..." saying what (quoting at most
// 64 bytes of the text). A form field or part whose content type is JSON
// and whose text is not is refused so too, not taken as a string; the body's
// schema is then not applied to the rest.
//
// # Numbers
//
// Numbers are read exactly (math/big), which costs time that grows with the
// exponent and, quadratically, with the digits: a number with more than 1000
// characters before its exponent, or an exponent beyond ±1000, is refused
// ("number out of range", at its pointer) before any check reads it, as
// kin-openapi's float64 decoding refuses it too. santhosh v6.0.3 panics on
// numbers big.Rat cannot parse; such a panic is still recovered and reported
// as an invalid value.
package validate
