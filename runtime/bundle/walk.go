package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// The schema walker finds the references of a JSON Schema by scanning its
// bytes: decoding every schema of a large bundle into maps took most of
// Decode's time, and the runtime loads bundles on every start and reload.

// maxDepth bounds nesting, as encoding/json does, so that hostile input
// cannot exhaust the stack.
const maxDepth = 10000

var errMalformed = errors.New("schema is not valid JSON")

type walker struct {
	data  []byte
	pos   int
	visit func(ref string) error
}

// walkSchema calls visit with every "$ref" of the JSON Schema data, in
// document order. It descends only through keywords whose values are
// subschemas, so that a "$ref" member inside `const`, `enum`, `default` or
// `examples` data is not mistaken for a reference.
func walkSchema(data []byte, visit func(ref string) error) error {
	w := &walker{data: data, visit: visit}
	w.ws()
	if err := w.schema(0); err != nil {
		return err
	}
	w.ws()
	if w.pos != len(w.data) {
		return errMalformed
	}
	return nil
}

// hasMember reports whether the JSON object data has a member named key.
func hasMember(data []byte, key string) (bool, error) {
	w := &walker{data: data}
	found := false
	err := w.object(0, func(k string) error {
		found = found || k == key
		return w.skip(1)
	})
	return found, err
}

func (w *walker) schema(depth int) error {
	if w.peek() != '{' {
		return w.skip(depth) // a boolean schema, or not a schema: nothing to resolve
	}
	return w.object(depth, func(key string) error {
		switch key {
		case "$ref":
			if w.peek() != '"' {
				return errors.New("$ref is not a string")
			}
			ref, err := w.str()
			if err != nil {
				return err
			}
			return w.visit(ref)
		case "additionalProperties", "items", "additionalItems", "contains", "not", "if", "then", "else",
			"propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema":
			if w.peek() == '[' { // the pre-2020-12 array form of items
				return w.list(depth, key)
			}
			if err := w.schema(depth + 1); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			return nil
		case "allOf", "anyOf", "oneOf", "prefixItems":
			return w.list(depth, key)
		case "properties", "patternProperties", "dependentSchemas", "$defs", "definitions":
			if w.peek() != '{' {
				return w.skip(depth + 1)
			}
			return w.object(depth+1, func(name string) error {
				if err := w.schema(depth + 2); err != nil {
					return fmt.Errorf("%s %q: %w", key, name, err)
				}
				return nil
			})
		}
		return w.skip(depth + 1)
	})
}

// list walks an array of schemas (or skips a value that is not an array).
func (w *walker) list(depth int, key string) error {
	if w.peek() != '[' {
		return w.skip(depth + 1)
	}
	i := 0
	return w.array(depth+1, func() error {
		if err := w.schema(depth + 2); err != nil {
			return fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		i++
		return nil
	})
}

// object reads an object, calling member with each key; member must read
// the value.
func (w *walker) object(depth int, member func(key string) error) error {
	if depth >= maxDepth {
		return errors.New("schema nests too deeply")
	}
	if w.next() != '{' {
		return errMalformed
	}
	w.ws()
	if w.peek() == '}' {
		w.pos++
		return nil
	}
	for {
		w.ws()
		key, err := w.str()
		if err != nil {
			return err
		}
		w.ws()
		if w.next() != ':' {
			return errMalformed
		}
		w.ws()
		if err := member(key); err != nil {
			return err
		}
		w.ws()
		switch w.next() {
		case ',':
		case '}':
			return nil
		default:
			return errMalformed
		}
	}
}

// array reads an array, calling elem for each element; elem must read it.
func (w *walker) array(depth int, elem func() error) error {
	if depth >= maxDepth {
		return errors.New("schema nests too deeply")
	}
	if w.next() != '[' {
		return errMalformed
	}
	w.ws()
	if w.peek() == ']' {
		w.pos++
		return nil
	}
	for {
		w.ws()
		if err := elem(); err != nil {
			return err
		}
		w.ws()
		switch w.next() {
		case ',':
		case ']':
			return nil
		default:
			return errMalformed
		}
	}
}

// skip reads a value of any type.
func (w *walker) skip(depth int) error {
	switch w.peek() {
	case '"':
		_, _, err := w.span()
		return err
	case '{':
		return w.object(depth, func(string) error { return w.skip(depth + 1) })
	case '[':
		return w.array(depth, func() error { return w.skip(depth + 1) })
	}
	start := w.pos // a number, true, false or null
	for w.pos < len(w.data) {
		c := w.data[w.pos]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E') {
			break
		}
		w.pos++
	}
	if w.pos == start {
		return errMalformed
	}
	return nil
}

// str reads a string and returns its value.
func (w *walker) str() (string, error) {
	s, escaped, err := w.span()
	if err != nil {
		return "", err
	}
	if !escaped && utf8.Valid(s) {
		return string(s[1 : len(s)-1]), nil
	}
	// Let encoding/json unescape, and replace invalid UTF-8 as it does
	// when it decodes the definitions' names.
	var v string
	if err := json.Unmarshal(s, &v); err != nil {
		return "", errMalformed
	}
	return v, nil
}

// span reads a string and returns its bytes, quotes included, and whether
// it holds escapes.
func (w *walker) span() (s []byte, escaped bool, err error) {
	start := w.pos
	if w.next() != '"' {
		return nil, false, errMalformed
	}
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case '\\':
			escaped = true
			w.pos += 2
			continue
		case '"':
			w.pos++
			return w.data[start:w.pos], escaped, nil
		}
		w.pos++
	}
	return nil, false, errMalformed
}

func (w *walker) ws() {
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case ' ', '\t', '\r', '\n':
			w.pos++
		default:
			return
		}
	}
}

func (w *walker) peek() byte {
	if w.pos < len(w.data) {
		return w.data[w.pos]
	}
	return 0
}

func (w *walker) next() byte {
	c := w.peek()
	w.pos++
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkSchema checks that raw is a JSON Schema (object or boolean) whose
// references all name definitions of b. Unless valid says raw is known to
// be valid JSON, it checks that first.
func (b *Bundle) checkSchema(raw json.RawMessage, valid bool) error {
	if !valid && !json.Valid(raw) {
		return errMalformed
	}
	w := &walker{data: raw}
	w.ws()
	switch c := w.peek(); c {
	case '{', 't', 'f':
	default:
		return errors.New("schema must be an object or a boolean")
	}
	return walkSchema(raw, func(ref string) error {
		name, err := parseDefRef(ref)
		if err != nil {
			return err
		}
		if _, ok := b.Defs[name]; !ok {
			return fmt.Errorf("$ref %q: definition %q is not defined", ref, name)
		}
		return nil
	})
}
