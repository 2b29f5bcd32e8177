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

// isDate is time.Parse(time.DateOnly, s) == nil. The common shape is
// checked by hand; anything else is left to time.Parse, so that the answer
// is always its.
func isDate(s string) bool {
	if len(s) == 10 && plainDate(s) {
		return true
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// isDateTime is time.Parse(time.RFC3339Nano, s) == nil, the common shape
// ("2006-01-02T15:04:05", up to 9 fraction digits, "Z" or "±hh:mm")
// checked by hand, anything else by time.Parse.
func isDateTime(s string) bool {
	if plainDateTime(s) {
		return true
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// two returns the 2-digit number at s[i:], or -1.
func two(s string, i int) int {
	a, b := s[i], s[i+1]
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return -1
	}
	return int(a-'0')*10 + int(b-'0')
}

// plainDate reports whether s begins with a valid YYYY-MM-DD.
func plainDate(s string) bool {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	hi, lo, month, day := two(s, 0), two(s, 2), two(s, 5), two(s, 8)
	if hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1 {
		return false
	}
	year := hi*100 + lo
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

// plainDateTime reports whether s is a date-time of the common shape.
func plainDateTime(s string) bool {
	if len(s) < 20 || !plainDate(s) || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return false
	}
	if h, m, sec := two(s, 11), two(s, 14), two(s, 17); h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 {
		return false
	}
	i := 19
	if s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 || j-i-1 > 9 {
			return false
		}
		i = j
	}
	switch rest := s[i:]; {
	case rest == "Z":
		return true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		h, m := two(rest, 1), two(rest, 4)
		return h >= 0 && h <= 23 && m >= 0 && m <= 59
	}
	return false
}

// intInRange reports whether the number literal s, when it is an integer,
// fits in a signed integer of the given size; non-integers pass (type
// decides about them).
func intInRange(s string, bits int) bool {
	// Up to 9 (int32) or 18 (int64) digits always fit.
	digits := s
	if digits != "" && digits[0] == '-' {
		digits = digits[1:]
	}
	if short := len(digits) > 0 && (len(digits) <= 9 || (bits == 64 && len(digits) <= 18)); short {
		for i := 0; i < len(digits); i++ {
			if digits[i] < '0' || digits[i] > '9' {
				short = false
				break
			}
		}
		if short {
			return true
		}
	}
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

// maxNumberDigits and maxNumberExponent bound the number literals gwc
// validates. math/big computes 10^exponent exactly and reads long digit
// strings in quadratic time, so without a bound "1e999999" costs about 0.2 s
// and a million digits 3 s, each time a bound, format or integer check needs
// the value, several times per request: a small body could keep a core busy
// for minutes. No float64 or int64 comes near the bounds, and kin-openapi,
// which decodes numbers to float64, rejects such numbers too.
const (
	maxNumberDigits   = 1000 // before the exponent, sign, point and fraction included
	maxNumberExponent = 1000 // the magnitude of the exponent as written
)

// detailHugeNumber is the FieldError detail of a number beyond the bounds.
const detailHugeNumber = "number out of range: more than 1000 digits or an exponent beyond ±1000"

// hugeNumber reports whether the JSON number literal num is beyond the
// bounds of maxNumberDigits and maxNumberExponent.
func hugeNumber[T string | []byte](num T) bool {
	mantissa, exp := len(num), T("")
	for i := 0; i < len(num); i++ {
		if num[i] == 'e' || num[i] == 'E' {
			mantissa, exp = i, num[i+1:]
			break
		}
	}
	if mantissa > maxNumberDigits {
		return true
	}
	if len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}
	for len(exp) > 1 && exp[0] == '0' {
		exp = exp[1:]
	}
	if len(exp) > 4 {
		return true
	}
	e := 0
	for i := 0; i < len(exp); i++ {
		e = e*10 + int(exp[i]-'0')
	}
	return e > maxNumberExponent
}

// hugeNumbers is the error of a value holding numbers beyond hugeNumber's
// bounds: their JSON pointers within the value.
type hugeNumbers []string

func (h hugeNumbers) Error() string { return detailHugeNumber }

// findHugeNumbers appends to found the pointers (below at) of the numbers
// in a decoded value that are beyond hugeNumber's bounds.
func findHugeNumbers(v any, at string, found hugeNumbers) hugeNumbers {
	switch v := v.(type) {
	case json.Number:
		if hugeNumber(string(v)) {
			found = append(found, at)
		}
	case []any:
		for i, x := range v {
			found = findHugeNumbers(x, at+"/"+strconv.Itoa(i), found)
		}
	case map[string]any:
		for k, x := range v {
			found = findHugeNumbers(x, at+"/"+escapePointer(k), found)
		}
	}
	return found
}
