package validate

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// DefaultMaxBody is the body limit when the caller gives none.
const DefaultMaxBody = 1 << 20

// Body reads the request body (at most limit bytes; 0 means
// DefaultMaxBody) and validates it against the media type contentType
// matches. It returns the bytes read, for forwarding, and a 413 Error when
// the body is longer than limit (whatever Content-Length said), a 415 Error
// when the operation does not accept contentType, or a 400 Error naming each
// failing field under "/body".
func (o *Operation) Body(contentType string, body io.Reader, limit int64) ([]byte, *Error) {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	var data []byte
	if body != nil {
		var err error
		data, err = o.read(body, limit)
		if err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Detail: "reading the body: " + err.Error()}
		}
		if int64(len(data)) > limit {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Detail: "the body is larger than the limit"}
		}
	}
	return data, o.BodyBytes(contentType, data)
}

// BodyBytes validates a body already read.
func (o *Operation) BodyBytes(contentType string, data []byte) *Error {
	if o.body == nil {
		return nil
	}
	if len(data) == 0 {
		if o.body.Required {
			return invalid([]FieldError{{Pointer: "/body", Detail: "request body is required"}})
		}
		return nil
	}
	if contentType == "" {
		contentType = "application/octet-stream" // RFC 9110 §8.3
	}
	mt := mediaType(contentType)
	i := matchMedia(o.types, mt)
	if i < 0 {
		return &Error{Status: http.StatusUnsupportedMediaType, Detail: "media type " + quote(mt) + " is not accepted"}
	}
	s := o.media[i]
	if s == nil {
		return nil
	}
	var errs []FieldError
	switch {
	case jsonMediaType(mt):
		errs = s.validateJSON(data, "/body", o.printer, errs)
	case mt == "application/x-www-form-urlencoded":
		v, bad := o.form(i, formValues(string(data)))
		if bad != nil {
			return invalid(bad)
		}
		errs = s.validateValue(v, "/body", o.printer, errs)
	case mt == "multipart/form-data":
		v, bad, err := o.multipart(i, contentType, data)
		switch {
		case err != nil:
			errs = append(errs, FieldError{Pointer: "/body", Detail: "malformed multipart body: " + err.Error()})
		case bad != nil:
			return invalid(bad)
		default:
			errs = s.validateValue(v, "/body", o.printer, errs)
		}
	default:
		// Other media types are opaque: a string, if anything.
		errs = s.validateValue(string(data), "/body", o.printer, errs)
	}
	return invalid(errs)
}

// mediaType returns the lower-case type/subtype of a Content-Type value.
func mediaType(ct string) string {
	if ct == "application/json" {
		return ct // the common value, as it is
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(ct)
		}
	}
	return ct
}

// matchMedia returns the index of the declared media type (types, made by
// mediaType) mt matches best: an exact type, then a suffix range
// ("application/*+json"), then a subtype range ("application/*"), then
// "*/*"; -1 when none does.
func matchMedia(types []string, mt string) int {
	best, bestRank := -1, 0
	for i, decl := range types {
		if decl == mt {
			return i // nothing ranks higher
		}
	}
	typ, sub, _ := strings.Cut(mt, "/")
	for i, decl := range types {
		dt, ds, _ := strings.Cut(decl, "/")
		rank := 0
		switch { // an exact match returned above
		case dt == typ && strings.HasPrefix(ds, "*+") && strings.HasSuffix(sub, ds[1:]):
			rank = 3
		case dt == typ && ds == "*":
			rank = 2
		case decl == "*/*":
			rank = 1
		}
		if rank > bestRank {
			best, bestRank = i, rank
		}
	}
	return best
}

// isJSONType reports whether a media type is JSON: application/json or a
// "+json" structured syntax suffix.
func isJSONType(mt string) bool { return jsonMediaType(mediaType(mt)) }

// jsonMediaType is isJSONType for a type mediaType has normalised.
func jsonMediaType(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// formValues parses a urlencoded body, keeping repeated names in order.
func formValues(body string) map[string][]string {
	vals := map[string][]string{}
	forEachQuery(body, func(k, v string) { vals[k] = append(vals[k], v) })
	return vals
}

// form turns form fields into the JSON object the schema of media type i
// describes: values are coerced by their property's types; an array
// property takes every value of its name (or splits one, by its encoding's
// style when not exploded); deepObject properties read "name[key]" fields;
// a field whose encoding has a JSON contentType is parsed as JSON, as
// strictly as a JSON body: bad lists such fields that are not JSON (sorted),
// and then the object is not to be validated.
func (o *Operation) form(i int, vals map[string][]string) (obj map[string]any, bad []FieldError) {
	sh := o.media[i].shape
	enc := o.encodings[i]
	obj = make(map[string]any, len(vals))
	deep := map[string]map[string]any{}
	for k, vs := range vals {
		if open, close := strings.IndexByte(k, '['), strings.LastIndexByte(k, ']'); open > 0 && close == len(k)-1 {
			base := k[:open]
			if e, has := enc[base]; has && e.Style == "deepObject" {
				if deep[base] == nil {
					deep[base] = map[string]any{}
				}
				deep[base][k[open+1:close]] = coerce(vs[0], propShape(propShape(sh, base), k[open+1:close]).types)
				continue
			}
		}
		v, err := fieldValue(propShape(sh, k), enc[k], vs)
		if err != nil {
			bad = append(bad, jsonFieldError("/body/"+escapePointer(k), err))
		}
		obj[k] = v
	}
	for k, v := range deep {
		obj[k] = v
	}
	sortErrors(bad)
	return obj, bad
}

// fieldValue is one form field's JSON value; err is decodeJSON's for a
// field whose content type is JSON and whose text is not strict JSON. Such
// a field is refused, not taken as a string: a schema without a type would
// let the string through, and the upstream read it as JSON.
func fieldValue(ps *shape, e bundle.Encoding, vs []string) (any, error) {
	if e.ContentType != "" && isJSONType(e.ContentType) {
		return decodeJSON([]byte(vs[0]))
	}
	if ps.types&tArray != 0 {
		if len(vs) == 1 && e.Style != "" && (!e.Explode || e.Style != "form") {
			vs = split(vs[0], map[string]string{"spaceDelimited": " ", "pipeDelimited": "|"}[e.Style])
		}
		var itemTypes uint8
		if ps.items != nil {
			itemTypes = ps.items.types
		}
		arr := make([]any, len(vs))
		for j, s := range vs {
			arr[j] = coerce(s, itemTypes)
		}
		return arr, nil
	}
	if len(vs) > 1 {
		arr := make([]any, len(vs))
		for j, s := range vs {
			arr[j] = coerce(s, ps.types)
		}
		return arr, nil
	}
	return coerce(vs[0], ps.types), nil
}

// multipart turns a multipart/form-data body into the JSON object of its
// fields: text parts as form values are, files (parts with a filename) as
// strings of their content, and parts whose own or declared contentType is
// JSON parsed as JSON (bad lists those that are not, as form's does).
func (o *Operation) multipart(i int, contentType string, data []byte) (obj map[string]any, bad []FieldError, err error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, nil, err
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, nil, errors.New("no boundary")
	}
	sh := o.media[i].shape
	enc := o.encodings[i]
	mr := multipart.NewReader(bytes.NewReader(data), boundary)
	vals := map[string][]string{}
	var order []string
	jsonParts := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		name := part.FormName()
		content, err := io.ReadAll(part)
		if err != nil {
			return nil, nil, err
		}
		if name == "" {
			continue
		}
		if _, has := vals[name]; !has {
			order = append(order, name)
		}
		vals[name] = append(vals[name], string(content))
		if isJSONType(part.Header.Get("Content-Type")) {
			jsonParts[name] = true
		}
	}
	obj = make(map[string]any, len(vals))
	for _, name := range order {
		e := enc[name]
		if jsonParts[name] && e.ContentType == "" {
			e.ContentType = "application/json"
		}
		v, err := fieldValue(propShape(sh, name), e, vals[name])
		if err != nil {
			bad = append(bad, jsonFieldError("/body/"+escapePointer(name), err))
		}
		obj[name] = v
	}
	sortErrors(bad)
	return obj, bad, nil
}

func quote(s string) string { return `"` + s + `"` }

// maxPooledBody is the largest read buffer kept for reuse; a body read into
// a larger one is returned as it is, without a copy.
const maxPooledBody = 64 << 10

// read reads r to its end, or to one byte past limit, into a pooled buffer,
// and returns a copy of exactly the bytes read: the caller keeps it, and a
// small body then costs one allocation of its own size rather than a
// growing, zeroed buffer.
func (o *Operation) read(r io.Reader, limit int64) ([]byte, error) {
	var bp *[]byte
	if o.bufs != nil {
		bp, _ = o.bufs.Get().(*[]byte)
	}
	if bp == nil {
		b := make([]byte, 0, 4096)
		bp = &b
	}
	buf, err := readLimited((*bp)[:0], r, limit)
	if cap(buf) > maxPooledBody || o.bufs == nil {
		return buf, err // handed over; the pool gets a fresh buffer later
	}
	out := make([]byte, len(buf))
	copy(out, buf)
	*bp = buf[:0]
	o.bufs.Put(bp)
	return out, err
}

// readLimited appends r to buf up to its end, or to one byte past limit.
func readLimited(buf []byte, r io.Reader, limit int64) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if over := limit + 1 - int64(len(buf)); int64(len(room)) > over {
			room = room[:over]
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit || err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
