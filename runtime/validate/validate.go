package validate

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// Validators holds the compiled validators of one bundle, one per operation,
// indexed as Bundle.Operations.
type Validators struct {
	ops []*Operation
	// schemas maps a schema root's bytes to its compiled form, so that
	// identical schemas compile once, and Reload reuses their santhosh form
	// when their document did not change.
	schemas map[string]*Schema
	opts    Options
	printer *message.Printer
	bufs    *sync.Pool // body read buffers (*[]byte)
}

// Operation validates the requests of one operation.
type Operation struct {
	params []param
	body   *bundle.RequestBody
	media  []*Schema // per body.Content; nil for a media type without schema
	// types are body.Content's media types, lower-case type/subtype.
	types []string
	// encodings per body.Content, by field name.
	encodings []map[string]bundle.Encoding
	printer   *message.Printer
	bufs      *sync.Pool
}

// Schema is one compiled schema document.
type Schema struct {
	slow  *slowSchema
	fast  *node // nil when the schema uses a keyword the fast path lacks
	shape *shape
}

// slowSchema is a schema's santhosh-tekuri form, compiled on first need
// (or by Warm, or by Compile with Options.Eager), once: its document
// (Bundle.SchemaDocument) is built then too, both being too slow for a
// load (about a second on OpenAI's API).
type slowSchema struct {
	b    *bundle.Bundle // nil when doc is given
	root json.RawMessage
	once sync.Once
	done atomic.Bool // set after once ran: doc, s and err are then read-only
	doc  []byte
	s    *jsonschema.Schema
	err  error
}

// get compiles the schema the first time and returns it.
func (l *slowSchema) get() (*jsonschema.Schema, error) {
	l.once.Do(func() {
		defer l.done.Store(true)
		defer func() {
			if r := recover(); r != nil {
				l.err = fmt.Errorf("compiling the schema: panic: %v", r)
			}
		}()
		if l.doc == nil {
			if l.doc, l.err = l.b.SchemaDocument(l.root); l.err != nil {
				return
			}
		}
		l.s, l.err = compileSlow(l.doc)
	})
	return l.s, l.err
}

// Options tune Compile.
type Options struct {
	// NoFastPath validates everything with encoding/json and santhosh only:
	// for comparison and as a safety switch.
	NoFastPath bool
	// Eager compiles every schema with santhosh-tekuri/jsonschema in
	// Compile, which then reports any that fails. Without it, each schema
	// document compiles on its first request the fast path does not accept
	// (or in Warm). Tests and conformance checks set it; servers should not
	// (it costs about a second on OpenAI's API).
	Eager bool
}

// Compile compiles the validators of every operation of b.
func Compile(b *bundle.Bundle) (*Validators, error) { return compile(b, nil, Options{}) }

// CompileOptions is Compile with options.
func CompileOptions(b *bundle.Bundle, opts Options) (*Validators, error) {
	return compile(b, nil, opts)
}

// Reload compiles the validators of b, reusing v's compiled schemas for
// schema documents that did not change.
func (v *Validators) Reload(b *bundle.Bundle) (*Validators, error) {
	return compile(b, v.schemas, v.opts)
}

// Schemas returns the distinct compiled schemas, in no particular order.
func (v *Validators) Schemas() []*Schema {
	out := make([]*Schema, 0, len(v.schemas))
	for _, s := range v.schemas {
		out = append(out, s)
	}
	return out
}

// Fast reports whether the schema has a fast path.
func (s *Schema) Fast() bool { return s.fast != nil }

// ValidFast runs the fast path alone on a JSON document: decided is false
// when it cannot tell (or the schema has none).
func (s *Schema) ValidFast(data []byte) (valid, decided bool) {
	if s.fast == nil {
		return false, false
	}
	switch validateFast(s.fast, data) {
	case ok:
		return true, true
	case fail:
		return false, true
	}
	return false, false
}

// ValidSlow decodes a JSON document as a request's is (decodeJSON) and
// validates it with santhosh-tekuri/jsonschema; wellFormed is false when it
// is not one RFC 8259 value that decodeJSON accepts.
func (s *Schema) ValidSlow(data []byte) (valid, wellFormed bool) {
	v, err := decodeJSON(data)
	if err != nil {
		return false, false
	}
	err = s.safeValidate(v)
	return err == nil, true
}

// errUnvalidatable reports a value santhosh-tekuri/jsonschema panicked on
// (v6.0.3 does on numbers big.Rat cannot parse, such as 1e10000000).
var errUnvalidatable = errors.New("value cannot be validated (number out of range)")

// errNoValidator wraps the error of a schema that failed to compile lazily.
type errNoValidator struct{ err error }

func (e errNoValidator) Error() string { return "the validator is unavailable: " + e.err.Error() }

// safeValidate is santhosh's Validate, turning a panic into an error. It
// compiles the schema on first use; a schema that does not compile gives an
// errNoValidator. A value holding a number beyond hugeNumber's bounds is
// refused before santhosh sees it, with a hugeNumbers error.
func (s *Schema) safeValidate(v any) (err error) {
	slow, err := s.slow.get()
	if err != nil {
		return errNoValidator{err}
	}
	if huge := findHugeNumbers(v, "", nil); huge != nil {
		slices.Sort(huge)
		return huge
	}
	defer func() {
		if recover() != nil {
			err = errUnvalidatable
		}
	}()
	return slow.Validate(v)
}

func compile(b *bundle.Bundle, old map[string]*Schema, opts Options) (*Validators, error) {
	v := &Validators{
		ops:     make([]*Operation, len(b.Operations)),
		schemas: map[string]*Schema{},
		opts:    opts,
		printer: message.NewPrinter(language.English),
		bufs:    &sync.Pool{},
	}
	// Each definition is decoded once for the whole bundle.
	decoded := map[string]any{}
	defs := func(name string) (any, bool) {
		if d, has := decoded[name]; has {
			return d, d != nil
		}
		var d any
		if raw, has := b.Defs[name]; has {
			d, _ = jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		}
		decoded[name] = d
		return d, d != nil
	}
	schema := func(root json.RawMessage) (*Schema, error) {
		if root == nil {
			return nil, nil
		}
		key := string(root)
		if s := v.schemas[key]; s != nil {
			return s, nil
		}
		parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(root))
		if err != nil {
			return nil, fmt.Errorf("schema root is not valid JSON: %w", err)
		}
		if m, isObj := parsed.(map[string]any); isObj {
			for _, k := range []string{"$schema", "$defs"} {
				if _, has := m[k]; has {
					return nil, fmt.Errorf("schema root has %q; bundle schema roots use the bundle's definitions instead", k)
				}
			}
		}
		s := &Schema{slow: &slowSchema{b: b, root: root}, fast: compileFast(parsed, defs), shape: shapeOf(parsed, defs)}
		if o := old[key]; o != nil && o.slow.done.Load() && o.slow.err == nil {
			// Reuse the compiled santhosh schema when the document is the same.
			if doc, err := b.SchemaDocument(root); err == nil && bytes.Equal(doc, o.slow.doc) {
				s.slow = o.slow
			}
		}
		if opts.Eager {
			if _, err := s.slow.get(); err != nil {
				return nil, err
			}
		}
		if opts.NoFastPath {
			s.fast = nil
		}
		v.schemas[key] = s
		return s, nil
	}
	for i := range b.Operations {
		bop := &b.Operations[i]
		op := &Operation{printer: v.printer, body: bop.Body, bufs: v.bufs}
		for _, p := range bop.Params {
			s, err := schema(p.Schema)
			if err != nil {
				return nil, fmt.Errorf("operation %s: parameter %q: %w", bop.ID, p.Name, err)
			}
			op.params = append(op.params, param{Param: p, schema: s, pointer: "/" + p.In + "/" + escapePointer(p.Name), kind: paramKind(p, s)})
		}
		if bop.Body != nil {
			for _, mt := range bop.Body.Content {
				s, err := schema(mt.Schema)
				if err != nil {
					return nil, fmt.Errorf("operation %s: body %s: %w", bop.ID, mt.Type, err)
				}
				op.media = append(op.media, s)
				op.types = append(op.types, mediaType(mt.Type))
				enc := map[string]bundle.Encoding{}
				for _, e := range mt.Encoding {
					enc[e.Name] = e
				}
				op.encodings = append(op.encodings, enc)
			}
		}
		v.ops[i] = op
	}
	return v, nil
}

// Warm compiles, with santhosh-tekuri/jsonschema, every schema document not
// compiled yet, so that the first request the fast path does not accept
// does not pay for it. It is meant to run in the background after a load
// (go v.Warm(ctx)); it stops early when ctx is done and returns ctx's error,
// else the first compile error (which requests using that schema then get as
// a 500, see Operation.Body). Requests may be validated meanwhile: each
// schema compiles once, whoever needs it first.
func (v *Validators) Warm(ctx context.Context) error {
	var first error
	for _, s := range v.schemas {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := s.slow.get(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Operation returns the validator of b.Operations[i], or nil.
func (v *Validators) Operation(i int) *Operation {
	if i < 0 || i >= len(v.ops) {
		return nil
	}
	return v.ops[i]
}

// schemaURL names every compiled document; each is its own resource.
const schemaURL = "gwc:request-schema.json"

// compileSchema compiles the fast path of one self-contained schema
// document; its santhosh-tekuri form is compiled on first need.
func compileSchema(doc []byte) (*Schema, error) {
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	defs := docDefs(parsed)
	return &Schema{slow: &slowSchema{doc: doc}, fast: compileFast(parsed, defs), shape: shapeOf(parsed, defs)}, nil
}

// compileSlow compiles a schema document with santhosh-tekuri/jsonschema.
func compileSlow(doc []byte) (*jsonschema.Schema, error) {
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for name, f := range assertedFormats {
		c.RegisterFormat(f.santhosh(name))
	}
	for _, name := range annotationFormats {
		c.RegisterFormat(&jsonschema.Format{Name: name, Validate: func(any) error { return nil }})
	}
	if err := c.AddResource(schemaURL, parsed); err != nil {
		return nil, err
	}
	return c.Compile(schemaURL)
}

// validateJSON validates a JSON document: the fast path when it can decide
// that the document is valid, else a full decode and santhosh, whose errors
// are appended to errs with pointers under prefix.
func (s *Schema) validateJSON(data []byte, prefix string, p *message.Printer, errs []FieldError) []FieldError {
	if s.fast != nil && validateFast(s.fast, data) == ok {
		return errs
	}
	v, err := decodeJSON(data)
	if err != nil {
		return append(errs, jsonFieldError(prefix, err))
	}
	return s.validateValue(v, prefix, p, errs)
}

// validateValue validates a decoded value with santhosh.
func (s *Schema) validateValue(v any, prefix string, p *message.Printer, errs []FieldError) []FieldError {
	err := s.safeValidate(v)
	if err == nil {
		return errs
	}
	var nv errNoValidator
	if errors.As(err, &nv) {
		return append(errs, FieldError{Pointer: prefix, Detail: detailNoValidator})
	}
	var huge hugeNumbers
	if errors.As(err, &huge) {
		for _, ptr := range huge {
			errs = append(errs, FieldError{Pointer: prefix + ptr, Detail: detailHugeNumber})
		}
		return errs
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return append(errs, FieldError{Pointer: prefix, Detail: err.Error()})
	}
	start := len(errs)
	errs = flatten(ve, prefix, p, errs)
	// santhosh visits an object's properties in map order, so the order of
	// its errors changes from one run to the next; sorted, the same request
	// always gets the same answer (found by FuzzParams).
	sortErrors(errs[start:])
	return errs
}

// sortErrors sorts errors by pointer, then detail, so that the same request
// always gets the same answer.
func sortErrors(errs []FieldError) {
	slices.SortStableFunc(errs, func(a, b FieldError) int {
		return cmp.Or(strings.Compare(a.Pointer, b.Pointer), strings.Compare(a.Detail, b.Detail))
	})
}

// flatten appends one FieldError per leaf of a santhosh error tree; anyOf
// and oneOf failures are reported as themselves, not per branch.
func flatten(ve *jsonschema.ValidationError, prefix string, p *message.Printer, errs []FieldError) []FieldError {
	switch k := ve.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		// santhosh lists them in map order; sorted, the message is the
		// same for the same request (found by FuzzParams).
		slices.Sort(k.Properties)
	case *kind.AnyOf, *kind.OneOf:
	default:
		if len(ve.Causes) > 0 {
			for _, c := range ve.Causes {
				errs = flatten(c, prefix, p, errs)
			}
			return errs
		}
	}
	ptr := prefix
	for _, tok := range ve.InstanceLocation {
		ptr += "/" + escapePointer(tok)
	}
	return append(errs, FieldError{Pointer: ptr, Detail: ve.ErrorKind.LocalizedString(p)})
}

// decodeJSON decodes a client's JSON text as santhosh expects it (numbers as
// json.Number), refusing what is not exactly one RFC 8259 value: a
// *jsonError says where and why. Besides JSON's grammar (strict numbers, no
// raw control characters in strings, only space, tab, CR and LF around
// tokens) it refuses what parsers read differently, since the upstream gets
// the bytes as sent, not the value validated: duplicate member names (at any
// depth; encoding/json keeps the last, others the first), data after the
// value (encoding/json's Token after Decode took an invalid byte for the
// end), invalid UTF-8 and lone surrogates in strings (encoding/json made
// them U+FFFD), a leading byte order mark (RFC 8259 §8.1: senders must not
// add one, receivers may ignore it; ignored, it would be forwarded to
// upstreams that may not, as Go's encoding/json and JavaScript's JSON.parse
// do not), and nesting deeper than maxJSONDepth. jsontext (the syntax layer
// of encoding/json/v2) reads the tokens: its Decoder refuses duplicate
// names, invalid UTF-8 and lone surrogates by default.
func decodeJSON(data []byte) (any, error) {
	if bytes.HasPrefix(data, utf8BOM) {
		return nil, &jsonError{detail: "a byte order mark (U+FEFF) before the value"}
	}
	d := jsonReader{dec: jsontext.NewDecoder(bytes.NewBuffer(data))}
	v, err := d.value(0)
	if err != nil {
		return nil, d.explain(data, err)
	}
	end := int(d.dec.InputOffset())
	for i := end; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return nil, &jsonError{detail: "data after the value at offset " + strconv.Itoa(i)}
	}
	return v, nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

// maxJSONDepth is the deepest nesting of objects and arrays decodeJSON
// accepts (jsontext stops at 10000): Jackson's default limit, far beyond any
// request schema, and a bound on the recursion of decoding and validating.
const maxJSONDepth = 1000

// jsonError is why decodeJSON refused a text: detail says what is wrong,
// pointer where (a JSON pointer into the text, "" for the whole text).
type jsonError struct {
	pointer, detail string
}

func (e *jsonError) Error() string { return e.detail }

// jsonFieldError is the FieldError of a JSON text refused at prefix.
func jsonFieldError(prefix string, err error) FieldError {
	var je *jsonError
	if errors.As(err, &je) {
		return FieldError{Pointer: prefix + je.pointer, Detail: "not valid JSON: " + je.detail}
	}
	return FieldError{Pointer: prefix, Detail: "not valid JSON: " + shortText(err.Error())}
}

// errTooDeep is jsonReader's error for nesting beyond maxJSONDepth.
var errTooDeep = errors.New("nested deeper than " + strconv.Itoa(maxJSONDepth) + " levels")

// jsonReader builds the value of a JSON text from jsontext's tokens.
type jsonReader struct {
	dec *jsontext.Decoder
}

// value reads the value at depth (the number of objects and arrays it is
// in) and what it holds.
func (d *jsonReader) value(depth int) (any, error) {
	tok, err := d.dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case jsontext.KindNull:
		return nil, nil
	case jsontext.KindFalse:
		return false, nil
	case jsontext.KindTrue:
		return true, nil
	case jsontext.KindString:
		return tok.String(), nil
	case jsontext.KindNumber:
		return json.Number(tok.String()), nil // the literal, as UseNumber gives it
	case jsontext.KindBeginObject:
		if depth >= maxJSONDepth {
			return nil, errTooDeep
		}
		obj := map[string]any{}
		for d.dec.PeekKind() != jsontext.KindEndObject {
			tok, err := d.dec.ReadToken() // a string: jsontext checks it, and that it is new
			if err != nil {
				return nil, err
			}
			name := tok.String() // before the next read voids tok
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj[name] = v
		}
		_, err := d.dec.ReadToken()
		return obj, err
	case jsontext.KindBeginArray:
		if depth >= maxJSONDepth {
			return nil, errTooDeep
		}
		arr := []any{}
		for d.dec.PeekKind() != jsontext.KindEndArray {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := d.dec.ReadToken()
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", tok.Kind()) // jsontext returns no other token
}

// maxPointer bounds the pointer of a refused text: a longer one is cut to
// the whole tokens that fit, so that a long member name is not echoed.
const maxPointer = 200

// explain turns an error of d.value on data into a *jsonError whose detail
// quotes no more than a few bytes of data.
func (d *jsonReader) explain(data []byte, err error) *jsonError {
	switch {
	case err == errTooDeep:
		return &jsonError{detail: err.Error()}
	case err == io.EOF:
		return &jsonError{detail: "no value"}
	}
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return &jsonError{detail: shortText(err.Error())}
	}
	ptr := string(se.JSONPointer)
	if len(ptr) > maxPointer {
		ptr = ptr[:strings.LastIndexByte(ptr[:maxPointer+1], '/')]
	}
	off := int(se.ByteOffset)
	at := data[min(max(off, 0), len(data)):]
	switch {
	case se.Err == jsontext.ErrDuplicateName:
		return &jsonError{pointer: ptr, detail: "duplicate member name " + shortQuote(se.JSONPointer.LastToken())}
	case se.Err == io.ErrUnexpectedEOF:
		return &jsonError{detail: "unexpected end of the text"} // where a value was still open
	case len(at) >= 6 && at[0] == '\\' && at[1] == 'u' && isSurrogateEscape(at[2:6]):
		return &jsonError{pointer: ptr, detail: "lone surrogate " + string(at[:6])}
	case len(at) > 0 && at[0] >= utf8.RuneSelf && !strings.HasPrefix(se.Err.Error(), "invalid character"):
		return &jsonError{pointer: ptr, detail: "invalid UTF-8 in a string"}
	}
	return &jsonError{pointer: ptr, detail: shortText(se.Err.Error()) + " at offset " + strconv.Itoa(off)}
}

// isSurrogateEscape reports whether the 4 hex digits of a \u escape name a
// UTF-16 surrogate (D800-DFFF).
func isSurrogateEscape(h []byte) bool {
	return (h[0] == 'd' || h[0] == 'D') && strings.IndexByte("89abcdefABCDEF", h[1]) >= 0 &&
		isHex(h[2]) && isHex(h[3])
}

// maxQuoted is the most bytes of a client's text an error message quotes.
const maxQuoted = 64

// shortQuote quotes s, cut to maxQuoted bytes.
func shortQuote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// shortText cuts a message to a bounded length (jsontext's messages quote
// at most a few bytes of the text; this holds whatever they become).
func shortText(s string) string {
	const most = 120
	if len(s) <= most {
		return s
	}
	return strings.ToValidUTF8(s[:most], "") + "..."
}

// escapePointer escapes a JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '~' || s[i] == '/' {
			var b bytes.Buffer
			for j := 0; j < len(s); j++ {
				switch s[j] {
				case '~':
					b.WriteString("~0")
				case '/':
					b.WriteString("~1")
				default:
					b.WriteByte(s[j])
				}
			}
			return b.String()
		}
	}
	return s
}

// shape is what decoding needs to know of a schema: its possible types and
// those of its items and properties.
type shape struct {
	types uint8
	items *shape
	props map[string]*shape
}

// shapeOf summarises a decoded schema, its definitions found by defs.
func shapeOf(doc any, defs defLookup) *shape {
	return shapeAt(doc, defs, 0)
}

func shapeAt(v any, defs defLookup, depth int) *shape {
	sh := &shape{}
	m, isObj := v.(map[string]any)
	if !isObj || depth > 16 {
		return sh
	}
	if t, has := m["type"]; has {
		sh.types, _ = parseTypes(t)
	}
	merge := func(o *shape) {
		sh.types |= o.types
		if sh.items == nil {
			sh.items = o.items
		}
		for k, p := range o.props {
			if sh.props == nil {
				sh.props = map[string]*shape{}
			}
			if _, has := sh.props[k]; !has {
				sh.props[k] = p
			}
		}
	}
	if ref, isStr := m["$ref"].(string); isStr {
		if name, cut := cutPrefix(ref, "#/$defs/"); cut {
			d, _ := defs(name)
			merge(shapeAt(d, defs, depth+1))
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		if list, isArr := m[kw].([]any); isArr {
			for _, s := range list {
				merge(shapeAt(s, defs, depth+1))
			}
		}
	}
	if items, has := m["items"]; has {
		sh.items = shapeAt(items, defs, depth+1)
	}
	if props, isObj := m["properties"].(map[string]any); isObj {
		if sh.props == nil {
			sh.props = map[string]*shape{}
		}
		for k, p := range props {
			sh.props[k] = shapeAt(p, defs, depth+1)
		}
	}
	return sh
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

// coerce turns a parameter or form string into the JSON value its schema
// types call for: a number or boolean when it reads as one and the schema
// allows it, else the string (which validation then reports if the schema
// wants something else).
func coerce(s string, types uint8) any {
	// A number too big to validate stays a string where strings are
	// allowed: it is one, and as a number it would be refused.
	if types&(tInteger|tNumber) != 0 && isNumber(s) && (types&tString == 0 || !hugeNumber(s)) {
		return json.Number(s)
	}
	if types&tBool != 0 && (s == "true" || s == "false") {
		return s == "true"
	}
	if types&tNull != 0 && types&tString == 0 && s == "" {
		return nil
	}
	return s
}

// isNumber reports whether s is a JSON number.
func isNumber(s string) bool {
	w := walker{data: unsafe.Slice(unsafe.StringData(s), len(s))} // read only
	return s != "" && w.num(0) == len(s)
}
