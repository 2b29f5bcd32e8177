package validate

import (
	"net/url"
	"strings"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/message"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// Request is what parameter validation reads of a request; it ties the
// validator to no HTTP engine.
type Request interface {
	// PathValue returns the raw (still percent-encoded) path segment the
	// router captured for the named path parameter.
	PathValue(name string) string
	// RawQuery returns the query string, without "?".
	RawQuery() string
	// Header returns the values of the named header (case-insensitive).
	Header(name string) []string
}

// param is a parameter with its compiled schema.
type param struct {
	bundle.Param
	schema  *Schema
	pointer string // "/query/limit"
	// kind is how the value is decoded: "array", "object", or "" for a
	// scalar. It is Param.Type when that is set, else the one structured
	// type the schema's types allow besides null (see paramKind).
	kind string
}

// paramKind returns how a parameter is decoded. The compiler gives no
// Param.Type when the schema's type is not one name ({"anyOf":[{"type":
// "object"},{"type":"null"}]}, as OpenAI's metadata filters are); reading
// such a parameter as a scalar would take "metadata=x" as the whole value
// and ignore "metadata[k]=v" for deepObject, so the schema's types, read
// through $ref and allOf/anyOf/oneOf, decide.
func paramKind(p bundle.Param, s *Schema) string {
	if p.Type != "" || s == nil || p.ContentType != "" {
		return p.Type
	}
	switch s.shape.types &^ tNull {
	case tArray:
		return "array"
	case tObject:
		return "object"
	}
	return ""
}

// Params validates the path, query, header and cookie parameters of r. It
// returns nil when they are valid, else a 400 Error naming each failing
// parameter (a 500 when a schema failed to compile lazily, see Compile).
func (o *Operation) Params(r Request) *Error {
	var errs []FieldError
	for i := range o.params {
		errs = o.params[i].check(r, o.printer, errs)
	}
	return invalid(errs)
}

func (p *param) check(r Request, pr *message.Printer, errs []FieldError) []FieldError {
	if p.kind == "array" || p.kind == "object" {
		v, present := p.structured(r)
		if !present {
			return p.missing(errs)
		}
		if p.schema == nil {
			return errs
		}
		return p.schema.validateValue(v, p.pointer, pr, errs)
	}
	s, present := p.scalar(r)
	if !present {
		return p.missing(errs)
	}
	if p.schema == nil {
		return errs
	}
	if p.ContentType != "" {
		if isJSONType(p.ContentType) {
			return p.schema.validateJSON([]byte(s), p.pointer, pr, errs)
		}
		return p.schema.validateValue(s, p.pointer, pr, errs)
	}
	if p.schema.fast != nil && fastScalar(p.schema.fast, s, p.schema.shape.types) == ok {
		return errs
	}
	return p.schema.validateValue(coerce(s, p.schema.shape.types), p.pointer, pr, errs)
}

func (p *param) missing(errs []FieldError) []FieldError {
	if p.Required {
		return append(errs, FieldError{Pointer: p.pointer, Detail: "missing required " + p.In + " parameter"})
	}
	return errs
}

// fastScalar validates on the fast path the value coerce makes of s,
// without making it: a number's or boolean's JSON text is s itself.
func fastScalar(n *node, s string, types uint8) result {
	switch {
	case types&(tInteger|tNumber) != 0 && isNumber(s), types&tBool != 0 && (s == "true" || s == "false"):
		return validateFast(n, unsafe.Slice(unsafe.StringData(s), len(s))) // read only
	case types&tNull != 0 && types&tString == 0 && s == "":
		return validateFast(n, []byte("null"))
	default:
		if !utf8.ValidString(s) {
			return unsure // encoding/json would have replaced bad bytes
		}
		return validateFastString(n, s)
	}
}

// scalar returns the decoded text of a primitive parameter.
func (p *param) scalar(r Request) (string, bool) {
	switch p.In {
	case "path":
		s := r.PathValue(p.Name)
		switch p.Style {
		case "label":
			s = strings.TrimPrefix(s, ".")
		case "matrix":
			s = strings.TrimPrefix(s, ";"+p.Name+"=")
		}
		return unescapePath(s), true
	case "query":
		return queryFirst(r.RawQuery(), p.Name)
	case "header":
		vs := r.Header(p.Name)
		if len(vs) == 0 {
			return "", false
		}
		if len(vs) == 1 {
			return vs[0], true
		}
		return strings.Join(vs, ","), true
	case "cookie":
		return cookie(r.Header("Cookie"), p.Name)
	}
	return "", false
}

// structured decodes an array or object parameter per its style and
// explode to a JSON value, coercing members by the schema's types.
func (p *param) structured(r Request) (any, bool) {
	var sh *shape
	if p.schema != nil {
		sh = p.schema.shape
	} else {
		sh = &shape{}
	}
	var parts []string
	explodedPairs := false // parts are "k=v" (simple/label/matrix explode objects)
	switch p.In {
	case "query":
		raw := r.RawQuery()
		switch {
		case p.Style == "deepObject":
			obj := map[string]any{}
			found := false
			forEachQuery(raw, func(k, v string) {
				if rest, cut := strings.CutPrefix(k, p.Name+"["); cut && strings.HasSuffix(rest, "]") {
					name := strings.TrimSuffix(rest, "]")
					obj[name] = coerce(v, propShape(sh, name).types)
					found = true
				}
			})
			return obj, found
		case p.kind == "object" && p.Explode && p.Style == "form":
			obj := map[string]any{}
			found := false
			for name, ps := range sh.props {
				if v, has := queryFirst(raw, name); has {
					obj[name] = coerce(v, ps.types)
					found = true
				}
			}
			return obj, found
		case p.kind == "array" && p.Explode:
			found := false
			forEachQuery(raw, func(k, v string) {
				if k == p.Name {
					parts = append(parts, v)
					found = true
				}
			})
			if !found {
				return nil, false
			}
		default:
			v, has := queryFirst(raw, p.Name)
			if !has {
				return nil, false
			}
			parts = split(v, map[string]string{"spaceDelimited": " ", "pipeDelimited": "|"}[p.Style])
		}
	case "path":
		s := r.PathValue(p.Name)
		switch p.Style {
		case "label":
			s = strings.TrimPrefix(s, ".")
			sep := ","
			if p.Explode {
				sep = "."
			}
			parts = strings.Split(s, sep)
			explodedPairs = p.Explode
		case "matrix":
			if p.Explode && p.kind == "array" {
				for _, seg := range strings.Split(strings.TrimPrefix(s, ";"), ";") {
					parts = append(parts, strings.TrimPrefix(seg, p.Name+"="))
				}
			} else if p.Explode {
				parts = strings.Split(strings.TrimPrefix(s, ";"), ";")
				explodedPairs = true
			} else {
				parts = strings.Split(strings.TrimPrefix(s, ";"+p.Name+"="), ",")
			}
		default:
			parts = strings.Split(s, ",")
			explodedPairs = p.Explode
		}
		for i := range parts {
			parts[i] = unescapePath(parts[i])
		}
	case "header", "cookie":
		var s string
		var has bool
		if p.In == "header" {
			vs := r.Header(p.Name)
			s, has = strings.Join(vs, ","), len(vs) > 0
		} else {
			s, has = cookie(r.Header("Cookie"), p.Name)
		}
		if !has {
			return nil, false
		}
		parts = strings.Split(s, ",")
		explodedPairs = p.Explode && p.In == "header"
	}
	if p.kind == "array" {
		var itemTypes uint8
		if sh.items != nil {
			itemTypes = sh.items.types
		}
		arr := make([]any, len(parts))
		for i, s := range parts {
			arr[i] = coerce(s, itemTypes)
		}
		return arr, true
	}
	obj := map[string]any{}
	if explodedPairs && p.kind == "object" {
		for _, kv := range parts {
			k, v, _ := strings.Cut(kv, "=")
			obj[k] = coerce(v, propShape(sh, k).types)
		}
		return obj, true
	}
	for i := 0; i+1 < len(parts); i += 2 {
		obj[parts[i]] = coerce(parts[i+1], propShape(sh, parts[i]).types)
	}
	return obj, true
}

func propShape(sh *shape, name string) *shape {
	if ps := sh.props[name]; ps != nil {
		return ps
	}
	return &shape{}
}

func split(s, sep string) []string {
	if sep == "" {
		sep = ","
	}
	return strings.Split(s, sep)
}

func unescapePath(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

func unescapeQuery(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// queryFirst returns the first value of name in a raw query, without
// allocating unless a name or the value is escaped.
func queryFirst(raw, name string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k == name || unescapeQuery(k) == name {
			return unescapeQuery(v), true
		}
	}
	return "", false
}

// forEachQuery calls f with every decoded name and value of a raw query.
func forEachQuery(raw string, f func(k, v string)) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		f(unescapeQuery(k), unescapeQuery(v))
	}
}

// cookie returns the named cookie's value from Cookie header lines.
func cookie(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if k == name {
				return strings.Trim(v, `"`), true
			}
		}
	}
	return "", false
}
