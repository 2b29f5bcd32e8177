package validate

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"math/bits"
	"reflect"
	"regexp"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The fast path: a schema made only of the keywords request schemas are made
// of is compiled to a tree of nodes that validates raw JSON bytes in one pass,
// without building values. It decides only what it can decide exactly as
// santhosh-tekuri/jsonschema does on the value decodeJSON would decode, and
// says "valid" only of a text decodeJSON accepts: one RFC 8259 value with
// only whitespace around it, its strings valid UTF-8 whose \u escapes pair
// their surrogates, no member name twice in any object, declared or not.
// For anything else (malformed JSON, a duplicate name or one with an
// escape, invalid UTF-8, a lone surrogate, very deep nesting) it answers
// "unsure", and the caller runs the full decode and santhosh, which refuse
// or decide it. Failures are also re-run through santhosh, which writes the
// error messages, so the fast path never has to.

// result is the fast path's three-valued answer.
type result uint8

const (
	ok     result = iota // valid, exactly as santhosh would say
	fail                 // invalid, exactly as santhosh would say
	unsure               // the fast path cannot tell
)

// JSON types as bits.
const (
	tNull uint8 = 1 << iota
	tBool
	tObject
	tArray
	tNumber
	tString
	tInteger // a number with an integral value
)

// maxFastDepth bounds the nesting the fast path follows; deeper documents
// are left to the full decode.
const maxFastDepth = 512

// node is one compiled schema.
type node struct {
	never bool  // the false schema
	types uint8 // 0: any

	constV, enum []any // decoded with UseNumber; constV has 0 or 1 value
	hasConst     bool
	enumStrings  map[string]bool // when every enum value is a string
	format       *formatCheck

	ref                 *node
	allOf, anyOf, oneOf []*node
	not                 *node

	// object
	objectKeys bool           // any object keyword is present
	props      map[string]int // name → index into propNodes
	propNames  []string       // by index, when few enough to search in order
	// propWords holds each of propNames of at most 8 bytes as a
	// little-endian word (zero-padded), and propLens their lengths (0xff
	// for a longer name), so that a short key is found by comparing words.
	propWords []uint64
	propLens  []uint8
	// keys holds each of propNames of at most 7 plain bytes followed by
	// its closing quote, as a little-endian word, with the mask of the
	// bytes that word covers (0 for a name that has none), so that a key
	// is found and its end known by one comparison, before scanning it.
	// keyIndex maps keyHash of a key's first two bytes to the index+1 of
	// the one name of keys with that hash, 0 when none has it and
	// keyShared when several do.
	keys      []keyWord
	keyIndex  *[256]uint8
	propNodes []*node // nil for a required-only name
	required  uint64  // bits of props that are required
	addl      *node   // additionalProperties schema; nil: absent or true
	addlFalse bool

	// array
	prefix             []*node
	items              *node
	minItems, maxItems int // -1: absent

	// string
	minLen, maxLen int // -1: absent
	pattern        *regexp.Regexp
	classPattern   *classPattern // pattern's fast form, when it has one

	// number
	min, max, exMin, exMax, multipleOf *big.Rat
	numeric                            bool // any number keyword is present
	// scalar is set when n has only type, string and number keywords (no
	// applicator, enum, const or format): a plain string or a number is
	// then checked on a short path.
	scalar bool
	// container is set when n has no applicator, enum, const or format: an
	// object or an array it has keywords for is then walked at once.
	container bool
	// intBounds is set when every number keyword is an int64: integer
	// instances are then checked without big.Rat. The bounds, in the order
	// min, max, exMin, exMax, multipleOf; 0 where absent.
	intBounds bool
	ints      [5]int64
	// intFormat is 32 or 64 for the int32 and int64 formats, which a plain
	// number literal's value is checked against directly.
	intFormat uint8
}

// fastCompiler compiles a decoded schema document to nodes.
type fastCompiler struct {
	defs defLookup
	done map[string]*node // compiled definitions, for $ref cycles
}

// defLookup returns the decoded definition NAME ("#/$defs/NAME").
type defLookup func(name string) (any, bool)

// docDefs looks definitions up in a decoded self-contained document's $defs.
func docDefs(doc any) defLookup {
	var defs map[string]any
	if m, isObj := doc.(map[string]any); isObj {
		defs, _ = m["$defs"].(map[string]any)
	}
	return func(name string) (any, bool) {
		d, has := defs[name]
		return d, has
	}
}

// compileFast returns the fast node of a decoded schema, its definitions
// found by defs, or nil when it uses a keyword the fast path does not
// implement.
func compileFast(doc any, defs defLookup) *node {
	fc := &fastCompiler{defs: defs, done: map[string]*node{}}
	n, good := fc.compile(doc, 0)
	if !good {
		return nil
	}
	n = skipRefs(n, map[*node]bool{})
	markScalars(n, map[*node]bool{})
	return n
}

// markScalars sets scalar on every node below n that qualifies.
func markScalars(n *node, seen map[*node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	// A format of numbers only (int32, int64, float, double) leaves strings
	// alone: scalarValue applies it to a number.
	n.scalar = !n.never && n.ref == nil && n.allOf == nil && n.anyOf == nil && n.oneOf == nil && n.not == nil &&
		!n.hasConst && n.enum == nil && (n.format == nil || n.format.str == nil)
	n.container = !n.never && n.ref == nil && n.allOf == nil && n.anyOf == nil && n.oneOf == nil && n.not == nil &&
		!n.hasConst && n.enum == nil && n.format == nil
	for _, c := range []*node{n.ref, n.not, n.addl, n.items} {
		markScalars(c, seen)
	}
	for _, list := range [][]*node{n.allOf, n.anyOf, n.oneOf, n.propNodes, n.prefix} {
		for _, c := range list {
			markScalars(c, seen)
		}
	}
}

// plainName reports whether a property name is printable ASCII without a
// quote or a backslash: the bytes of a JSON key that spells it without
// escapes.
func plainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// onlyRef reports whether n is a bare "$ref" with no keyword beside it, so
// that validating against it is validating against its target.
func onlyRef(n *node) bool {
	if n.ref == nil || n.minItems != -1 || n.maxItems != -1 || n.minLen != -1 || n.maxLen != -1 {
		return false
	}
	m := *n
	m.ref = nil
	m.minItems, m.maxItems, m.minLen, m.maxLen = 0, 0, 0, 0
	return reflect.ValueOf(m).IsZero()
}

// skipRefs returns n with every bare "$ref" below it (and n itself) replaced
// by its target, which saves a dispatch per value of every referenced
// schema: items: {$ref: Item} walks each element against Item directly.
func skipRefs(n *node, seen map[*node]bool) *node {
	if n == nil {
		return nil
	}
	for hops := 0; onlyRef(n) && hops < 64; hops++ { // 64: a cycle of bare refs
		n = n.ref
	}
	if seen[n] {
		return n
	}
	seen[n] = true
	if n.ref != nil {
		n.ref = skipRefs(n.ref, seen)
	}
	n.not = skipRefs(n.not, seen)
	n.addl = skipRefs(n.addl, seen)
	n.items = skipRefs(n.items, seen)
	for _, list := range [][]*node{n.allOf, n.anyOf, n.oneOf, n.propNodes, n.prefix} {
		for i, c := range list {
			list[i] = skipRefs(c, seen)
		}
	}
	return n
}

// ignored are keywords without effect on validity (annotations, and OpenAPI
// or unknown keywords santhosh ignores too).
var ignored = map[string]bool{
	"$schema": true, "$defs": true, "$comment": true, "title": true, "description": true,
	"default": true, "examples": true, "example": true, "deprecated": true, "readOnly": true,
	"writeOnly": true, "nullable": true, "discriminator": true, "xml": true, "externalDocs": true,
}

// supported are the keywords the fast path implements.
var supported = map[string]bool{
	"type": true, "enum": true, "const": true, "format": true, "$ref": true, "allOf": true,
	"anyOf": true, "oneOf": true, "not": true, "properties": true, "required": true,
	"additionalProperties": true, "prefixItems": true, "items": true, "minItems": true,
	"maxItems": true, "minLength": true, "maxLength": true, "pattern": true, "minimum": true,
	"maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true, "multipleOf": true,
}

// knownKeywords are the JSON Schema keywords santhosh acts on; one the fast
// path does not implement sends the schema to santhosh alone.
func knownKeyword(k string) bool {
	switch k {
	case "$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveRef", "$recursiveAnchor",
		"$vocabulary", "definitions", "patternProperties", "propertyNames", "dependentSchemas",
		"dependentRequired", "dependencies", "if", "then", "else", "contains", "minContains",
		"maxContains", "unevaluatedProperties", "unevaluatedItems", "uniqueItems",
		"minProperties", "maxProperties", "additionalItems", "contentEncoding",
		"contentMediaType", "contentSchema":
		return true
	}
	return false
}

func (fc *fastCompiler) compile(v any, depth int) (*node, bool) {
	if depth > 64 {
		return nil, false
	}
	switch v := v.(type) {
	case bool:
		return &node{never: !v, minItems: -1, maxItems: -1, minLen: -1, maxLen: -1}, true
	case map[string]any:
		return fc.object(v, depth)
	}
	return nil, false
}

func (fc *fastCompiler) list(v any, depth int) ([]*node, bool) {
	arr, isArr := v.([]any)
	if !isArr || len(arr) == 0 {
		return nil, false
	}
	out := make([]*node, len(arr))
	for i, s := range arr {
		n, good := fc.compile(s, depth+1)
		if !good {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

func (fc *fastCompiler) object(m map[string]any, depth int) (*node, bool) {
	n := &node{minItems: -1, maxItems: -1, minLen: -1, maxLen: -1}
	for k := range m {
		if !supported[k] && (knownKeyword(k) || (!ignored[k] && k != "" && k[0] == '$')) {
			return nil, false
		}
	}
	var good bool
	if t, has := m["type"]; has {
		if n.types, good = parseTypes(t); !good {
			return nil, false
		}
	}
	if c, has := m["const"]; has {
		n.hasConst, n.constV = true, []any{c}
	}
	if e, has := m["enum"]; has {
		arr, isArr := e.([]any)
		if !isArr {
			return nil, false
		}
		n.enum = arr
		n.enumStrings = map[string]bool{}
		for _, x := range arr {
			s, isStr := x.(string)
			if !isStr {
				n.enumStrings = nil
				break
			}
			n.enumStrings[s] = true
		}
	}
	if f, has := m["format"]; has {
		name, isStr := f.(string)
		if !isStr || name == "regex" {
			return nil, false
		}
		if fc, asserted := assertedFormats[name]; asserted {
			n.format = &fc
			switch name {
			case "int32":
				n.intFormat = 32
			case "int64":
				n.intFormat = 64
			}
		}
	}
	if r, has := m["$ref"]; has {
		ref, isStr := r.(string)
		if !isStr {
			return nil, false
		}
		if n.ref, good = fc.def(ref, depth); !good {
			return nil, false
		}
	}
	for _, kw := range []struct {
		name string
		dst  *[]*node
	}{{"allOf", &n.allOf}, {"anyOf", &n.anyOf}, {"oneOf", &n.oneOf}} {
		if v, has := m[kw.name]; has {
			if *kw.dst, good = fc.list(v, depth); !good {
				return nil, false
			}
		}
	}
	if v, has := m["not"]; has {
		if n.not, good = fc.compile(v, depth+1); !good {
			return nil, false
		}
	}

	// object
	if v, has := m["properties"]; has {
		props, isObj := v.(map[string]any)
		if !isObj {
			return nil, false
		}
		n.objectKeys = true
		n.props = map[string]int{}
		for name, s := range props {
			pn, good := fc.compile(s, depth+1)
			if !good {
				return nil, false
			}
			n.props[name] = len(n.propNodes)
			n.propNodes = append(n.propNodes, pn)
		}
	}
	if v, has := m["required"]; has {
		req, isArr := v.([]any)
		if !isArr {
			return nil, false
		}
		n.objectKeys = true
		if n.props == nil {
			n.props = map[string]int{}
		}
		for _, r := range req {
			name, isStr := r.(string)
			if !isStr {
				return nil, false
			}
			i, has := n.props[name]
			if !has {
				i = len(n.propNodes)
				n.props[name] = i
				n.propNodes = append(n.propNodes, nil)
			}
			if i >= 64 {
				return nil, false
			}
			n.required |= 1 << i
		}
	}
	if len(n.propNodes) > 64 {
		return nil, false
	}
	if len(n.propNodes) <= maxLinearProps {
		n.propNames = make([]string, len(n.propNodes))
		n.propWords = make([]uint64, len(n.propNodes))
		n.propLens = make([]uint8, len(n.propNodes))
		for name, i := range n.props {
			n.propNames[i] = name
			n.propLens[i] = 0xff
			if len(name) <= 8 {
				var w [8]byte
				copy(w[:], name)
				n.propWords[i], n.propLens[i] = binary.LittleEndian.Uint64(w[:]), uint8(len(name))
			}
		}
		n.keys = make([]keyWord, len(n.propNodes))
		for name, i := range n.props {
			if len(name) <= 7 && plainName(name) {
				var w [8]byte
				copy(w[:], name+`"`)
				n.keys[i] = keyWord{binary.LittleEndian.Uint64(w[:]), 1<<(8*uint(len(name)+1)) - 1, len(name) + 1}
			}
		}
		n.keyIndex = new([256]uint8)
		for i, k := range n.keys {
			if k.mask == 0 {
				continue
			}
			switch h := keyHash(k.word); n.keyIndex[h] {
			case 0:
				n.keyIndex[h] = uint8(i + 1)
			default:
				n.keyIndex[h] = keyShared
			}
		}
	}
	if v, has := m["additionalProperties"]; has {
		n.objectKeys = true
		if b, isBool := v.(bool); isBool {
			n.addlFalse = !b
		} else if n.addl, good = fc.compile(v, depth+1); !good {
			return nil, false
		}
	}

	// array
	if v, has := m["prefixItems"]; has {
		if n.prefix, good = fc.list(v, depth); !good {
			return nil, false
		}
	}
	if v, has := m["items"]; has {
		if n.items, good = fc.compile(v, depth+1); !good {
			return nil, false
		}
	}
	for _, kw := range []struct {
		name string
		dst  *int
	}{{"minItems", &n.minItems}, {"maxItems", &n.maxItems}, {"minLength", &n.minLen}, {"maxLength", &n.maxLen}} {
		if v, has := m[kw.name]; has {
			if *kw.dst, good = count(v); !good {
				return nil, false
			}
		}
	}

	// string
	if v, has := m["pattern"]; has {
		p, isStr := v.(string)
		if !isStr {
			return nil, false
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, false
		}
		n.pattern = re
		n.classPattern = newClassPattern(p, re)
	}

	// number
	for _, kw := range []struct {
		name string
		dst  **big.Rat
	}{{"minimum", &n.min}, {"maximum", &n.max}, {"exclusiveMinimum", &n.exMin}, {"exclusiveMaximum", &n.exMax}, {"multipleOf", &n.multipleOf}} {
		if v, has := m[kw.name]; has {
			num, isNum := v.(json.Number)
			if !isNum {
				return nil, false
			}
			r, good := new(big.Rat).SetString(string(num))
			if !good {
				return nil, false
			}
			*kw.dst = r
			n.numeric = true
		}
	}
	if n.multipleOf != nil && n.multipleOf.Sign() <= 0 {
		return nil, false
	}
	n.intBounds = true
	for i, r := range []*big.Rat{n.min, n.max, n.exMin, n.exMax, n.multipleOf} {
		if r == nil {
			continue
		}
		if !r.IsInt() || !r.Num().IsInt64() {
			n.intBounds = false
			break
		}
		n.ints[i] = r.Num().Int64()
	}
	return n, true
}

// def compiles the definition a "#/$defs/NAME" reference names.
func (fc *fastCompiler) def(ref string, depth int) (*node, bool) {
	const prefix = "#/$defs/"
	if len(ref) <= len(prefix) || ref[:len(prefix)] != prefix {
		return nil, false
	}
	name := ref[len(prefix):]
	if n, has := fc.done[name]; has {
		return n, true
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '~' || c == '%' || c == '/' {
			return nil, false // escaped names are left to santhosh
		}
	}
	s, has := fc.defs(name)
	if !has {
		return nil, false
	}
	// A placeholder breaks cycles: the node is filled in place below.
	n := &node{}
	fc.done[name] = n
	c, good := fc.compile(s, depth+1)
	if !good {
		return nil, false
	}
	*n = *c
	return n, true
}

func count(v any) (int, bool) {
	num, isNum := v.(json.Number)
	if !isNum {
		return 0, false
	}
	i, err := strconv.Atoi(string(num))
	return i, err == nil && i >= 0
}

func parseTypes(v any) (uint8, bool) {
	var names []any
	switch v := v.(type) {
	case string:
		names = []any{v}
	case []any:
		names = v
	default:
		return 0, false
	}
	var t uint8
	for _, x := range names {
		switch x {
		case "null":
			t |= tNull
		case "boolean":
			t |= tBool
		case "object":
			t |= tObject
		case "array":
			t |= tArray
		case "number":
			t |= tNumber
		case "string":
			t |= tString
		case "integer":
			t |= tInteger
		default:
			return 0, false
		}
	}
	return t, true
}

// walker validates one JSON text.
type walker struct {
	data []byte
	// bare is set when data is the content of one string rather than JSON
	// text (a parameter's value), so that none has to be built.
	bare bool
}

// validateFastString validates the string s as a JSON string value.
func validateFastString(n *node, s string) result {
	w := walker{data: unsafe.Slice(unsafe.StringData(s), len(s)), bare: true}
	_, r := w.value(n, 0, 0)
	return r
}

// validateFast validates a whole JSON text.
func validateFast(n *node, data []byte) result {
	if len(data) > math.MaxInt32 {
		return unsure // names keeps offsets as int32
	}
	w := walker{data: data}
	i := w.ws(0)
	end, r := w.value(n, i, 0)
	if r != ok {
		return r
	}
	if w.ws(end) != len(data) {
		return unsure
	}
	return ok
}

func (w *walker) ws(i int) int {
	// Most JSON bodies are compact: the next byte is no whitespace.
	if i < len(w.data) && w.data[i] > ' ' {
		return i
	}
	for i < len(w.data) {
		switch w.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value validates the value at i (no leading whitespace) against n and
// returns where it ends. When the result is not ok the end is meaningless.
func (w *walker) value(n *node, i, depth int) (int, result) {
	if depth > maxFastDepth || i >= len(w.data) {
		return 0, unsure
	}
	if n.scalar && !w.bare {
		if e, r, done := w.scalarValue(n, i); done {
			return e, r
		}
	}
	if n.container && !w.bare {
		// What the walk below comes to for an object or array n has
		// keywords for, without its checks of scalars and applicators.
		switch w.data[i] {
		case '{':
			if n.objectKeys && (n.types == 0 || n.types&tObject != 0) {
				return w.object(n, i, depth)
			}
		case '[':
			if (n.items != nil || n.prefix != nil || n.minItems >= 0 || n.maxItems >= 0) && (n.types == 0 || n.types&tArray != 0) {
				return w.array(n, i, depth)
			}
		}
	}
	if n.never {
		return 0, fail
	}
	if w.bare && depth == 0 {
		return w.bareString(n)
	}
	c := w.data[i]
	var t uint8
	switch {
	case c == '{':
		t = tObject
	case c == '[':
		t = tArray
	case c == '"':
		t = tString
	case c == 't' || c == 'f':
		t = tBool
	case c == 'n':
		t = tNull
	case c == '-' || (c >= '0' && c <= '9'):
		t = tNumber
	default:
		return 0, unsure
	}

	// Scalars are scanned first: their text is what the checks need.
	var end int
	var str []byte // a string's content, unescaped
	var strOK bool
	var num []byte
	switch t {
	case tString:
		e, plain := w.str(i)
		if e < 0 {
			return 0, unsure
		}
		end, str, strOK = e, w.data[i+1:e-1], plain
	case tNumber:
		e := w.num(i)
		if e < 0 || hugeNumber(w.data[i:e]) {
			return 0, unsure // santhosh's side refuses it (see safeValidate)
		}
		end, num = e, w.data[i:e]
	case tBool:
		if bytes.HasPrefix(w.data[i:], []byte("true")) {
			end = i + 4
		} else if bytes.HasPrefix(w.data[i:], []byte("false")) {
			end = i + 5
		} else {
			return 0, unsure
		}
	case tNull:
		if !bytes.HasPrefix(w.data[i:], []byte("null")) {
			return 0, unsure
		}
		end = i + 4
	}
	if t == tString && !strOK {
		// Escapes or non-ASCII: checked, then decoded when a check needs
		// the content.
		if !strictString(w.data[i+1 : end-1]) {
			return 0, unsure
		}
		if n.pattern != nil || n.minLen >= 0 || n.maxLen >= 0 || n.format != nil || n.enum != nil || n.hasConst {
			var s string
			if err := json.Unmarshal(w.data[i:end], &s); err != nil {
				return 0, unsure
			}
			str = []byte(s)
		}
	}

	if n.types != 0 {
		match := n.types&t != 0
		if !match && t == tNumber && n.types&tInteger != 0 {
			match = isIntegerLiteral(num)
		}
		if !match {
			return 0, fail
		}
	}

	if n.hasConst || n.enum != nil {
		r := w.enumCheck(n, t, i, end, str)
		if r != ok {
			return 0, r
		}
	}
	if n.format != nil {
		if t == tString && n.format.str != nil && !n.format.str(bstr(str)) {
			return 0, fail
		}
		if t == tNumber && n.format.num != nil && !n.format.num(bstr(num)) {
			return 0, fail
		}
	}

	switch t {
	case tString:
		if n.minLen >= 0 || n.maxLen >= 0 {
			l := utf8.RuneCount(str)
			if (n.minLen >= 0 && l < n.minLen) || (n.maxLen >= 0 && l > n.maxLen) {
				return 0, fail
			}
		}
		if n.pattern != nil && !n.matchPattern(str) {
			return 0, fail
		}
	case tNumber:
		if n.numeric {
			if r := numberCheck(n, num); r != ok {
				return 0, r
			}
		}
	case tObject:
		e, r := w.object(n, i, depth)
		if r != ok {
			return 0, r
		}
		end = e
	case tArray:
		e, r := w.array(n, i, depth)
		if r != ok {
			return 0, r
		}
		end = e
	}

	// Applicators: each walks the same value again.
	// A successful sub-walk also tells where the value ends, which saves
	// skipping an object or array no keyword of n itself walked.
	if n.ref != nil {
		e, r := w.value(n.ref, i, depth+1)
		if r != ok {
			return 0, r
		}
		if end == 0 {
			end = e
		}
	}
	for _, s := range n.allOf {
		e, r := w.value(s, i, depth+1)
		if r != ok {
			return 0, r
		}
		if end == 0 {
			end = e
		}
	}
	if len(n.anyOf) > 0 {
		any := fail
		for _, s := range n.anyOf {
			e, r := w.value(s, i, depth+1)
			if r == ok {
				any = ok
				if end == 0 {
					end = e
				}
				break
			}
			if r == unsure {
				any = unsure
			}
		}
		if any != ok {
			return 0, any
		}
	}
	if len(n.oneOf) > 0 {
		matched := 0
		for _, s := range n.oneOf {
			_, r := w.value(s, i, depth+1)
			if r == unsure {
				return 0, unsure
			}
			if r == ok {
				matched++
			}
		}
		if matched != 1 {
			return 0, fail
		}
	}
	if n.not != nil {
		_, r := w.value(n.not, i, depth+1)
		switch r {
		case unsure:
			return 0, unsure
		case ok:
			return 0, fail
		}
	}
	if t == tObject || t == tArray {
		if end == 0 {
			// No object or array keyword walked the value: skip it.
			if end = w.skip(i, depth); end < 0 {
				return 0, unsure
			}
		}
	}
	return end, ok
}

// scalarValue is value's short path for a plain string or a number against
// a scalar node; done is false for anything else, which value then walks.
func (w *walker) scalarValue(n *node, i int) (end int, r result, done bool) {
	if i >= len(w.data) {
		return 0, 0, false
	}
	switch c := w.data[i]; {
	case c == '"':
		e, plain := w.str(i)
		if e < 0 || !plain {
			return 0, 0, false
		}
		if n.types != 0 && n.types&tString == 0 {
			return 0, fail, true
		}
		// Plain content is printable ASCII: its length counts its runes.
		if l := e - i - 2; (n.minLen >= 0 && l < n.minLen) || (n.maxLen >= 0 && l > n.maxLen) {
			return 0, fail, true
		}
		if n.pattern != nil && !n.matchPattern(w.data[i+1:e-1]) {
			return 0, fail, true
		}
		return e, ok, true
	case c == '-' || (c >= '0' && c <= '9'):
		e, v, neg, frac, plain := w.plainNum(i)
		if e < 0 {
			return 0, 0, false
		}
		num := w.data[i:e]
		if plain {
			// The common literal, read once for every check.
			if n.types != 0 && n.types&tNumber == 0 && !(n.types&tInteger != 0 && !frac) {
				return 0, fail, true
			}
			switch {
			case n.intFormat == 64 || n.intFormat == 32 && (frac || v >= math.MinInt32 && v <= math.MaxInt32):
				// At most 18 digits: an int64; a fraction passes an integer
				// format (type decides about it).
			case n.intFormat == 32:
				return 0, fail, true
			case n.format != nil && n.format.num != nil && !n.format.num(bstr(num)):
				return 0, fail, true
			}
			if n.numeric {
				r := ok
				if n.intBounds {
					r = intBoundsDecide(n, v, neg, frac)
				} else {
					r = numberCheck(n, num)
				}
				if r != ok {
					return 0, r, true
				}
			}
			return e, ok, true
		}
		if hugeNumber(num) {
			return 0, unsure, true
		}
		if n.types != 0 && n.types&tNumber == 0 && !(n.types&tInteger != 0 && isIntegerLiteral(num)) {
			return 0, fail, true
		}
		if n.format != nil && n.format.num != nil && !n.format.num(bstr(num)) {
			return 0, fail, true
		}
		if n.numeric {
			if r := numberCheck(n, num); r != ok {
				return 0, r, true
			}
		}
		return e, ok, true
	case c == 't' || c == 'f' || c == 'n':
		var e int
		var t uint8
		switch d := w.data[i:]; {
		case c == 't' && bytes.HasPrefix(d, []byte("true")):
			e, t = i+4, tBool
		case c == 'f' && bytes.HasPrefix(d, []byte("false")):
			e, t = i+5, tBool
		case c == 'n' && bytes.HasPrefix(d, []byte("null")):
			e, t = i+4, tNull
		default:
			return 0, 0, false
		}
		if n.types != 0 && n.types&t == 0 {
			return 0, fail, true
		}
		return e, ok, true
	}
	return 0, 0, false
}

// bareString validates w.data, the content of a string, against n:
// value's checks for a string, on a string that needs no scanning.
func (w *walker) bareString(n *node) (int, result) {
	str := w.data
	if n.types != 0 && n.types&tString == 0 {
		return 0, fail
	}
	if n.hasConst || n.enum != nil {
		if n.enumStrings == nil || n.hasConst {
			return 0, unsure
		}
		if !n.enumStrings[string(str)] {
			return 0, fail
		}
	}
	if n.format != nil && n.format.str != nil && !n.format.str(bstr(str)) {
		return 0, fail
	}
	if n.minLen >= 0 || n.maxLen >= 0 {
		l := utf8.RuneCount(str)
		if (n.minLen >= 0 && l < n.minLen) || (n.maxLen >= 0 && l > n.maxLen) {
			return 0, fail
		}
	}
	if n.pattern != nil && !n.matchPattern(str) {
		return 0, fail
	}
	if n.ref != nil || n.allOf != nil || n.anyOf != nil || n.oneOf != nil || n.not != nil {
		return 0, unsure
	}
	return len(str), ok
}

// object walks the members of the object at i.
func (w *walker) object(n *node, i, depth int) (int, result) {
	if !n.objectKeys {
		return 0, ok // skipped by the caller
	}
	var seen uint64  // declared names met
	var others names // undeclared names met
	i = w.ws(i + 1)
	if i < len(w.data) && w.data[i] == '}' {
		if n.required != 0 {
			return 0, fail
		}
		return i + 1, ok
	}
	for {
		if i >= len(w.data) || w.data[i] != '"' {
			return 0, unsure
		}
		keyAt := i + 1
		// The declared name the key is, found by its word of name and
		// closing quote; when none matches, the key is scanned.
		idx, declared, e := 0, false, 0
		if n.keyIndex != nil && keyAt+8 <= len(w.data) {
			kw := binary.LittleEndian.Uint64(w.data[keyAt:])
			switch k := n.keyIndex[keyHash(kw)]; k {
			case 0:
			case keyShared:
				if idx, declared = n.keyAmong(kw); declared {
					e = keyAt + n.keys[idx].end
				}
			default:
				idx = int(k - 1)
				key := &n.keys[idx]
				if declared = kw&key.mask == key.word; declared {
					e = keyAt + key.end
				}
			}
		}
		if !declared {
			var plain bool
			e, plain = w.str(i)
			if e < 0 || !plain {
				return 0, unsure // escaped or non-ASCII names are left to the full decode
			}
			idx, declared = n.propAt(w.data, keyAt, e-1-keyAt)
		}
		keyLen := e - 1 - keyAt
		i = e
		if i >= len(w.data) || w.data[i] != ':' {
			// Compact JSON has the colon right after the key.
			if i = w.ws(i); i >= len(w.data) || w.data[i] != ':' {
				return 0, unsure
			}
		}
		i = w.ws(i + 1)
		var sub *node
		if declared {
			bit := uint64(1) << (uint(idx) & 63) // idx < 64
			if seen&bit != 0 {
				return 0, unsure // a duplicate name: encoding/json keeps the last
			}
			seen |= bit
			sub = n.propNodes[idx]
			if sub == nil {
				// Required but not in properties: additional.
				if n.addlFalse {
					return 0, fail
				}
				sub = n.addl
			}
		} else {
			if n.addlFalse {
				return 0, fail
			}
			if !others.add(w.data, keyAt, keyAt+keyLen) {
				return 0, unsure // a duplicate name
			}
			sub = n.addl
		}
		var r result
		if sub != nil && sub.scalar && !w.bare {
			// value's short path, without going through value.
			var done bool
			if e, r, done = w.scalarValue(sub, i); !done {
				e, r = w.value(sub, i, depth+1)
			}
		} else if sub != nil {
			e, r = w.value(sub, i, depth+1)
		} else {
			e = w.skip(i, depth+1)
			r = ok
			if e < 0 {
				r = unsure
			}
		}
		if r != ok {
			return 0, r
		}
		i = w.ws(e)
		if i >= len(w.data) {
			return 0, unsure
		}
		if w.data[i] == '}' {
			break
		}
		if w.data[i] != ',' {
			return 0, unsure
		}
		i = w.ws(i + 1)
	}
	if seen&n.required != n.required {
		return 0, fail
	}
	return i + 1, ok
}

// maxLinearProps is the most declared names looked up by comparing them in
// order, which beats hashing for a few short names.
const maxLinearProps = 16

// keyAmong finds the declared name whose key starts with the word w among
// those of keys: when several share w's keyHash.
func (n *node) keyAmong(w uint64) (int, bool) {
	for i, k := range n.keys {
		if w&k.mask == k.word && k.mask != 0 {
			return i, true
		}
	}
	return 0, false
}

// keyWord is a name of keys: its word, and the mask of the bytes it covers.
type keyWord struct {
	word, mask uint64
	end        int // the name's length and its closing quote
}

// keyShared marks a keyHash several names have.
const keyShared = 0xff

// keyHash mixes the first two bytes of a key's word (a name of one byte
// and its closing quote, or a longer name's first two).
func keyHash(w uint64) uint8 { return uint8(w) + uint8(w>>8)*7 }

// propAt is prop for the key d[at:at+l]: a key of at most 8 bytes
// with 8 bytes of the document from its start is compared as one word.
func (n *node) propAt(d []byte, at, l int) (int, bool) {
	if n.propWords != nil && l <= 8 && at+8 <= len(d) {
		w := binary.LittleEndian.Uint64(d[at:])
		if l < 8 {
			w &= 1<<(8*uint(l)) - 1
		}
		for i, pw := range n.propWords {
			if pw == w && int(n.propLens[i]) == l {
				return i, true
			}
		}
		return 0, false
	}
	return n.prop(d[at : at+l])
}

// prop returns the index of the declared name key.
func (n *node) prop(key []byte) (int, bool) {
	if n.propNames == nil {
		i, has := n.props[string(key)]
		return i, has
	}
	for i, name := range n.propNames {
		if len(name) == len(key) && name == string(key) {
			return i, true
		}
	}
	return 0, false
}

// array walks the elements of the array at i.
func (w *walker) array(n *node, i, depth int) (int, result) {
	if n.items == nil && n.prefix == nil && n.minItems < 0 && n.maxItems < 0 {
		return 0, ok // skipped by the caller
	}
	count := 0
	i = w.ws(i + 1)
	if i < len(w.data) && w.data[i] == ']' {
		i++
	} else {
		for {
			sub := n.items
			if count < len(n.prefix) {
				sub = n.prefix[count]
			}
			var e int
			var r result
			if sub != nil && sub.scalar && !w.bare {
				var done bool
				if e, r, done = w.scalarValue(sub, i); !done {
					e, r = w.value(sub, i, depth+1)
				}
			} else if sub != nil {
				e, r = w.value(sub, i, depth+1)
			} else if e = w.skip(i, depth+1); e < 0 {
				r = unsure
			}
			if r != ok {
				return 0, r
			}
			count++
			i = w.ws(e)
			if i >= len(w.data) {
				return 0, unsure
			}
			if w.data[i] == ']' {
				i++
				break
			}
			if w.data[i] != ',' {
				return 0, unsure
			}
			i = w.ws(i + 1)
		}
	}
	if (n.minItems >= 0 && count < n.minItems) || (n.maxItems >= 0 && count > n.maxItems) {
		return 0, fail
	}
	return i, ok
}

// skip returns the end of the well-formed value at i, or -1.
func (w *walker) skip(i, depth int) int {
	if depth > maxFastDepth || i >= len(w.data) {
		return -1
	}
	switch c := w.data[i]; {
	case c == '"':
		e, plain := w.str(i)
		if e > 0 && !plain && !strictString(w.data[i+1:e-1]) {
			return -1
		}
		return e
	case c == '-' || (c >= '0' && c <= '9'):
		if e := w.num(i); e > 0 && !hugeNumber(w.data[i:e]) {
			return e
		}
		return -1
	case c == 't':
		if bytes.HasPrefix(w.data[i:], []byte("true")) {
			return i + 4
		}
	case c == 'f':
		if bytes.HasPrefix(w.data[i:], []byte("false")) {
			return i + 5
		}
	case c == 'n':
		if bytes.HasPrefix(w.data[i:], []byte("null")) {
			return i + 4
		}
	case c == '{':
		return w.skipObject(i, depth)
	case c == '[':
		return w.skipArray(i, depth)
	}
	return -1
}

// skipObject is skip for the object at i: its names must differ.
func (w *walker) skipObject(i, depth int) int {
	i = w.ws(i + 1)
	if i < len(w.data) && w.data[i] == '}' {
		return i + 1
	}
	var met names
	for {
		if i >= len(w.data) || w.data[i] != '"' {
			return -1
		}
		e, plain := w.str(i)
		if e < 0 || (!plain && !rawName(w.data[i+1:e-1])) {
			return -1 // malformed or escaped
		}
		// met.add, inlined for its common case: a name whose hash is new.
		if h := nameHash(w.data, i+1, e-1); met.bits&(1<<h) == 0 && met.n < maxNames {
			met.bits |= 1 << h
			met.at[met.n] = [2]int32{int32(i + 1), int32(e - 1)}
			met.n++
		} else if !met.addMore(w.data, i+1, e-1, h) {
			return -1 // met before
		}
		i = w.ws(e)
		if i >= len(w.data) || w.data[i] != ':' {
			return -1
		}
		i = w.ws(i + 1)
		if e = w.skip(i, depth+1); e < 0 {
			return -1
		}
		i = w.ws(e)
		if i >= len(w.data) {
			return -1
		}
		if w.data[i] == '}' {
			return i + 1
		}
		if w.data[i] != ',' {
			return -1
		}
		i = w.ws(i + 1)
	}
}

// skipArray is skip for the array at i.
func (w *walker) skipArray(i, depth int) int {
	i = w.ws(i + 1)
	if i < len(w.data) && w.data[i] == ']' {
		return i + 1
	}
	for {
		e := w.skip(i, depth+1)
		if e < 0 {
			return -1
		}
		i = w.ws(e)
		if i >= len(w.data) {
			return -1
		}
		if w.data[i] == ']' {
			return i + 1
		}
		if w.data[i] != ',' {
			return -1
		}
		i = w.ws(i + 1)
	}
}

// str scans the string at i. It returns its end (after the closing quote;
// -1 when it is malformed) and whether its raw content, data[i+1:end-1], is
// plain: printable ASCII with no escape, so that it is the string itself.
func (w *walker) str(i int) (int, bool) {
	d := w.data
	plain := true
	j := i + 1
	for {
		// Eight bytes at a time to the next byte that needs a look.
		for j+8 <= len(d) {
			if m := special(binary.LittleEndian.Uint64(d[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		if j >= len(d) {
			return -1, false
		}
		switch c := d[j]; {
		case c == '"':
			return j + 1, plain
		case c == '\\':
			plain = false
			j++ // the escaped byte cannot end the string
		case c < 0x20:
			return -1, false
		case c >= 0x80:
			plain = false
		}
		j++
	}
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special returns a mask whose lowest set bit is the high bit of the first
// byte of x (little-endian) that is '"', '\\', a control character or not
// ASCII; 0 when there is none. (The "has zero byte" trick: its lowest set
// bit is exact, only bits above it may be spurious.)
func special(x uint64) uint64 {
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((q - ones) &^ q & highs) | ((b - ones) &^ b & highs) | ((x - ones*0x20) &^ x & highs) | (x & highs)
}

// strictString reports whether a string's raw content (str found no quote
// or control character in it) is RFC 8259 text decodeJSON accepts: valid
// escapes, \u escapes of a surrogate only as a high one followed by a low
// one, and valid UTF-8.
func strictString(raw []byte) bool {
	for j := 0; j < len(raw); {
		switch c := raw[j]; {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(raw[j:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			j += size
		case c != '\\':
			j++
		default:
			if j+1 >= len(raw) {
				return false
			}
			switch raw[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
				continue
			case 'u':
			default:
				return false
			}
			r, good := hex4(raw[j+2:])
			if !good {
				return false
			}
			j += 6
			if r >= 0xd800 && r <= 0xdfff {
				// A high surrogate, then a \u escape of a low one.
				if r >= 0xdc00 || j+6 > len(raw) || raw[j] != '\\' || raw[j+1] != 'u' {
					return false
				}
				if lo, good := hex4(raw[j+2:]); !good || lo < 0xdc00 || lo > 0xdfff {
					return false
				}
				j += 6
			}
		}
	}
	return true
}

// hex4 reads the four hex digits of a \u escape.
func hex4(h []byte) (rune, bool) {
	if len(h) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range h[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// rawName reports whether a member name's raw content, str found not plain,
// is the name itself, so that names compare as bytes: valid UTF-8 without
// escapes.
func rawName(raw []byte) bool {
	return bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw)
}

// names holds the member names of one object that the walk met, to refuse
// a duplicate: as offsets into the text while there are few, then in a map.
// A name is its raw bytes, which must spell it without escapes (plain or
// rawName), so that two names are the same exactly when their bytes are.
type names struct {
	bits uint64              // nameHash bits of the names in at: a name whose bit is clear is new
	n    uint                // names in at
	at   [maxNames][2]int32  // start and end of each name's content
	more map[string]struct{} // every name, once there are more than maxNames
}

// maxNames is the most names kept as offsets before names uses a map.
const maxNames = 16

// nameHash mixes the length and the first and last bytes of the name
// d[start:end] (the quotes around an empty one) into 6 bits.
func nameHash(d []byte, start, end int) uint {
	return uint(end-start+int(d[start])*7+int(d[end-1])*31) & 63
}

// add adds the name d[start:end]; false when it was met before. A name
// whose hash no name met has is new, without a comparison.
func (s *names) add(d []byte, start, end int) bool {
	h := nameHash(d, start, end)
	if n := s.n; s.bits&(1<<h) == 0 && n < maxNames {
		s.bits |= 1 << h
		s.at[n] = [2]int32{int32(start), int32(end)}
		s.n = n + 1
		return true
	}
	return s.addMore(d, start, end, h)
}

// addMore is add for a name whose hash some name has, or past maxNames.
func (s *names) addMore(d []byte, start, end int, h uint) bool {
	key := d[start:end]
	if n := s.n; n < maxNames {
		for _, a := range s.at[:n] {
			if nameHash(d, int(a[0]), int(a[1])) == h && string(d[a[0]:a[1]]) == string(key) {
				return false
			}
		}
		s.bits |= 1 << h
		s.at[n] = [2]int32{int32(start), int32(end)}
		s.n = n + 1
		return true
	}
	if s.more == nil {
		s.more = make(map[string]struct{}, 2*maxNames)
		for _, a := range s.at {
			s.more[bstr(d[a[0]:a[1]])] = struct{}{}
		}
	}
	// The text is not changed during the walk, which s does not outlive:
	// its names are views of it.
	k := bstr(key)
	if _, met := s.more[k]; met {
		return false
	}
	s.more[k] = struct{}{}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// plainNum scans the JSON number at i and reads the common literal on the
// way: its integer part v (negative for a negative literal), its sign, and
// whether a fraction digit is not zero. end is -1 when there is no number
// at i; plain is false for a literal with an exponent, more than 18
// integer digits or more than maxNumberDigits bytes (not huge, see
// hugeNumber), and then v, neg and frac mean nothing.
func (w *walker) plainNum(i int) (end int, v int64, neg, frac, plain bool) {
	d := w.data
	start := i
	if i < len(d) && d[i] == '-' {
		neg = true
		i++
	}
	if i >= len(d) {
		return -1, 0, false, false, false
	}
	digits := 0
	if d[i] == '0' {
		i++
		digits = 1
	} else if d[i] >= '1' && d[i] <= '9' {
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			v = v*10 + int64(d[i]-'0') // wraps past 18 digits, when plain is false
			i++
			digits++
		}
	} else {
		return -1, 0, false, false, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		fs := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			if d[i] != '0' {
				frac = true
			}
			i++
		}
		if i == fs {
			return -1, 0, false, false, false
		}
	}
	plain = digits <= 18 && i-start <= maxNumberDigits
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		plain = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		es := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == es {
			return -1, 0, false, false, false
		}
	}
	if neg {
		v = -v
	}
	return i, v, neg, frac, plain
}

// num scans the JSON number at i and returns its end, or -1.
func (w *walker) num(i int) int {
	end, _, _, _, _ := w.plainNum(i)
	return end
}

// intBoundsCheck applies integer number keywords to a literal without an
// exponent, exactly and without allocating: an integer compares as is; a
// decimal with a non-zero fraction lies strictly between floor and
// floor+1, which decides every comparison with an integer bound, and is
// never a multiple of an integer. decided is false for other literals
// (those plainNum does not read), which are left to big.Rat.
func intBoundsCheck(n *node, num []byte) (result, bool) {
	w := walker{data: num}
	e, v, neg, frac, plain := w.plainNum(0)
	if e != len(num) || !plain {
		return 0, false
	}
	return intBoundsDecide(n, v, neg, frac), true
}

// intBoundsDecide applies integer number keywords to a literal read by
// plainNum: i its integer part, neg its sign, fraction
// whether it has a non-zero fraction digit.
func intBoundsDecide(n *node, i int64, neg, fraction bool) result {
	if !fraction {
		// An integer.
		if (n.min != nil && i < n.ints[0]) || (n.max != nil && i > n.ints[1]) ||
			(n.exMin != nil && i <= n.ints[2]) || (n.exMax != nil && i >= n.ints[3]) ||
			(n.multipleOf != nil && i%n.ints[4] != 0) {
			return fail
		}
		return ok
	}
	fl := i
	if neg {
		fl = i - 1 // |i| < 10^18: no overflow
	}
	// fl < v < fl+1: v < B ⇔ fl < B; v > B ⇔ fl ≥ B; never equal.
	if (n.min != nil && fl < n.ints[0]) || (n.max != nil && fl >= n.ints[1]) ||
		(n.exMin != nil && fl < n.ints[2]) || (n.exMax != nil && fl >= n.ints[3]) ||
		n.multipleOf != nil {
		return fail
	}
	return ok
}

// isIntegerLiteral reports whether a JSON number has an integral value, as
// santhosh decides it (1.0 and 1e2 are integers).
func isIntegerLiteral(num []byte) bool {
	plain := true
	for _, c := range num {
		if c == '.' || c == 'e' || c == 'E' {
			plain = false
			break
		}
	}
	if plain {
		return true
	}
	r, good := new(big.Rat).SetString(string(num))
	return good && r.IsInt()
}

// numberCheck applies the number keywords to a JSON number literal.
func numberCheck(n *node, num []byte) result {
	if n.intBounds {
		if r, decided := intBoundsCheck(n, num); decided {
			return r
		}
	}
	v, good := new(big.Rat).SetString(string(num))
	if !good {
		return unsure
	}
	if (n.min != nil && v.Cmp(n.min) < 0) || (n.max != nil && v.Cmp(n.max) > 0) ||
		(n.exMin != nil && v.Cmp(n.exMin) <= 0) || (n.exMax != nil && v.Cmp(n.exMax) >= 0) {
		return fail
	}
	if n.multipleOf != nil && !new(big.Rat).Quo(v, n.multipleOf).IsInt() {
		return fail
	}
	return ok
}

// enumCheck applies const and enum to the value at i..end.
func (w *walker) enumCheck(n *node, t uint8, i, end int, str []byte) result {
	if n.enumStrings != nil && !n.hasConst {
		if t != tString || !n.enumStrings[string(str)] {
			return fail
		}
		return ok
	}
	if t == tObject || t == tArray {
		if end = w.skip(i, 0); end < 0 {
			return unsure
		}
	}
	dec := json.NewDecoder(bytes.NewReader(w.data[i:end]))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return unsure
	}
	if n.hasConst {
		eq, good := equalJSON(v, n.constV[0])
		if !good {
			return unsure
		}
		if !eq {
			return fail
		}
	}
	if n.enum != nil {
		for _, e := range n.enum {
			eq, good := equalJSON(v, e)
			if !good {
				return unsure
			}
			if eq {
				return ok
			}
		}
		return fail
	}
	return ok
}

// equalJSON compares decoded JSON values as santhosh does: numbers by value.
// good is false when a number cannot be compared.
func equalJSON(a, b any) (eq, good bool) {
	switch a := a.(type) {
	case map[string]any:
		bm, isObj := b.(map[string]any)
		if !isObj || len(a) != len(bm) {
			return false, true
		}
		for k, av := range a {
			bv, has := bm[k]
			if !has {
				return false, true
			}
			if eq, good := equalJSON(av, bv); !eq || !good {
				return eq, good
			}
		}
		return true, true
	case []any:
		ba, isArr := b.([]any)
		if !isArr || len(a) != len(ba) {
			return false, true
		}
		for k := range a {
			if eq, good := equalJSON(a[k], ba[k]); !eq || !good {
				return eq, good
			}
		}
		return true, true
	case json.Number:
		bn, isNum := b.(json.Number)
		if !isNum {
			return false, true
		}
		ra, ok1 := new(big.Rat).SetString(string(a))
		rb, ok2 := new(big.Rat).SetString(string(bn))
		if !ok1 || !ok2 {
			return false, false
		}
		return ra.Cmp(rb) == 0, true
	default:
		return a == b, true
	}
}

// bstr views b as a string for a call that does not keep it.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
