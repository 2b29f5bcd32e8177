// Package header holds header names in the form fasthttp stores them, for
// its Canonical methods (PeekCanonical, SetCanonical): the request path
// sets and reads a dozen headers per request, and the plain methods copy
// and normalise the name each time.
package header

// Canonical returns name as fasthttp keeps a header name it normalises: the
// first letter and each one after a "-" upper case, the others lower case
// ("x-request-id" and "X-REQUEST-ID" are "X-Request-Id"; "RateLimit" is
// "Ratelimit"). A name with a byte that is not a token byte is returned as
// it is, as fasthttp leaves such names.
func Canonical(name string) []byte {
	b := []byte(name)
	for _, c := range b {
		if !token(c) {
			return b
		}
	}
	upper := true
	for i, c := range b {
		switch {
		case upper && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case !upper && c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b[i] = c
		upper = c == '-'
	}
	return b
}

func token(c byte) bool {
	switch {
	case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// The names the gateway sets or reads on every request.
var (
	XRequestID      = Canonical("X-Request-Id")
	XForwardedFor   = Canonical("X-Forwarded-For")
	XForwardedProto = Canonical("X-Forwarded-Proto")
	XForwardedHost  = Canonical("X-Forwarded-Host")
	Forwarded       = Canonical("Forwarded")
	Connection      = Canonical("Connection")
	RateLimit       = Canonical("RateLimit")
	RateLimitPolicy = Canonical("RateLimit-Policy")
	RetryAfter      = Canonical("Retry-After")
	Authorization   = Canonical("Authorization")
)
