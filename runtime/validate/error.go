package validate

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// FieldError is one failing part of a request.
type FieldError struct {
	// Pointer is a JSON pointer into the request: "/path/id",
	// "/query/limit", "/header/X-Request-Id", "/cookie/session", "/body" or
	// "/body/items/0/name".
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// Error is a rejected request: the HTTP status to answer with and what
// failed. It renders as RFC 9457 problem details with Problem.
type Error struct {
	// Status is 400 (invalid), 413 (body over the limit), 415 (media type
	// not accepted), or 500 when a schema failed to compile lazily (which
	// the compiler's checks should make impossible; see Options.Eager).
	Status int
	Detail string
	Errors []FieldError
}

// Error implements error.
func (e *Error) Error() string {
	var b bytes.Buffer
	b.WriteString(e.Detail)
	for _, f := range e.Errors {
		b.WriteString("; " + f.Pointer + ": " + f.Detail)
	}
	return b.String()
}

// ProblemContentType is the media type of Problem's document.
const ProblemContentType = "application/problem+json"

// Problem returns e as an RFC 9457 problem details document, with the
// failing fields in an "errors" extension member.
func (e *Error) Problem() []byte {
	doc := struct {
		Type   string       `json:"type"`
		Title  string       `json:"title"`
		Status int          `json:"status"`
		Detail string       `json:"detail,omitempty"`
		Errors []FieldError `json:"errors,omitempty"`
	}{"about:blank", http.StatusText(e.Status), e.Status, e.Detail, e.Errors}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		// Only strings and ints: Encode cannot fail; keep a valid answer anyway.
		return []byte(`{"type":"about:blank","status":` + strconv.Itoa(e.Status) + `}`)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// detailNoValidator marks the FieldError of a value whose schema failed to
// compile (lazily: Compile compiles only the fast path unless
// Options.Eager). It should never happen, the compiler having checked every
// schema; when it does the request is answered 500, not accepted
// unvalidated, and not blamed on the client.
const detailNoValidator = "gwc: the schema validator is unavailable (the schema failed to compile)"

// invalid returns the 400 error for errs, or nil when there are none; a
// 500 when a schema could not be compiled.
func invalid(errs []FieldError) *Error {
	if len(errs) == 0 {
		return nil
	}
	for _, f := range errs {
		if f.Detail == detailNoValidator {
			return &Error{Status: http.StatusInternalServerError, Detail: "the request could not be validated: a schema failed to compile"}
		}
	}
	detail := "the request is invalid"
	if len(errs) > 1 {
		detail += " (" + strconv.Itoa(len(errs)) + " errors)"
	}
	return &Error{Status: http.StatusBadRequest, Detail: detail, Errors: errs}
}
