package validate

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// assertedFormats are the formats gwc asserts: kin-openapi's defaults (byte,
// date, date-time, int32, int64) plus OpenAPI's float and double. Each is a
// check on the JSON text of a value: a string's content, or a number's
// literal. Values of other types pass, as JSON Schema requires.
var assertedFormats = map[string]formatCheck{
	"byte":      {str: isBase64},
	"date":      {str: isDate},
	"date-time": {str: isDateTime},
	"int32":     {num: func(s string) bool { return intInRange(s, 32) }},
	"int64":     {num: func(s string) bool { return intInRange(s, 64) }},
	"float":     {num: func(s string) bool { return floatInRange(s, 32) }},
	"double":    {num: func(s string) bool { return floatInRange(s, 64) }},
}

// annotationFormats are the formats santhosh-tekuri/jsonschema would assert
// on its own once format assertion is on; gwc registers them as no-ops, so
// that exactly assertedFormats are asserted (as kin-openapi does by default:
// email, uuid, ipv4 and the rest are annotations there too).
var annotationFormats = []string{
	"json-pointer", "relative-json-pointer", "uuid", "duration", "period", "ipv4", "ipv6",
	"hostname", "email", "time", "uri", "iri", "uri-reference", "iri-reference",
	"uri-template", "semver",
}

// formatCheck checks a string's content (str) or a number's literal (num).
type formatCheck struct {
	str func(string) bool
	num func(string) bool
}

// santhosh returns the check as a santhosh-tekuri format.
func (f formatCheck) santhosh(name string) *jsonschema.Format {
	return &jsonschema.Format{Name: name, Validate: func(v any) error {
		switch v := v.(type) {
		case string:
			if f.str != nil && !f.str(v) {
				return errFormat
			}
		case json.Number:
			if f.num != nil && !f.num(string(v)) {
				return errFormat
			}
		}
		return nil
	}}
}

type formatError struct{}

func (formatError) Error() string { return "malformed" }

var errFormat error = formatError{}

// isBase64 matches kin-openapi's FormatOfStringByte: padded standard base64.
func isBase64(s string) bool {
	if len(s)%4 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
		case c == '=':
			// Padding: one or two at the very end only.
			rest := len(s) - i
			if rest > 2 || (rest == 2 && s[i+1] != '=') {
				return false
			}
			return true
		default:
			return false
		}
	}
	return true
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func isDateTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// intInRange reports whether the number literal s, when it is an integer,
// fits in a signed integer of the given size; non-integers pass (type
// decides about them).
func intInRange(s string, bits int) bool {
	if _, err := strconv.ParseInt(s, 10, bits); err == nil {
		return true
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || !r.IsInt() {
		return true
	}
	if bits == 32 {
		return r.Num().IsInt64() && r.Num().Int64() >= -1<<31 && r.Num().Int64() < 1<<31
	}
	return r.Num().IsInt64()
}

// floatInRange reports whether the number literal s is within the finite
// range of a float of the given size.
func floatInRange(s string, bits int) bool {
	f, err := strconv.ParseFloat(s, bits)
	if err == nil {
		return true
	}
	// ErrRange with a finite result is underflow, which is in range.
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange && !math.IsInf(f, 0)
}
