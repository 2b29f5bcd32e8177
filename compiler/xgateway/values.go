package xgateway

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// The value syntaxes of the extension. The schema's formats, the messages
// and the decoder all read values with these functions, so that what Check
// accepts is exactly what decoding understands.

// parseDuration reads a positive Go duration. Go accepts a bare "0"; the
// extension does not, since every duration in it must be positive.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration")
	}
	if d <= 0 {
		return 0, errors.New("not positive")
	}
	return d, nil
}

// sizeUnits are the size suffixes, longest first so that "KiB" is not read
// as "B".
var sizeUnits = [...]struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// parseSize reads a byte size written as a string: digits with an optional
// unit. Units are case-sensitive: "mb" could mean megabits.
func parseSize(s string) (int64, error) {
	digits, mult := s, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			digits, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, errors.New("not a size")
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, errors.New("too large")
	}
	return n * mult, nil
}

// sizeHint suggests the size the user probably meant when they wrote a unit
// in the wrong case or with a space ("1 mib" → "1MiB"), or "".
func sizeHint(s string) string {
	t := strings.ReplaceAll(s, " ", "")
	digits := strings.TrimRight(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
	unit := t[len(digits):]
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return ""
	}
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.suffix) {
			if _, err := parseSize(digits + u.suffix); err == nil && digits+u.suffix != s {
				return digits + u.suffix
			}
		}
	}
	return ""
}

// checkHTTPURL reports what is wrong with a target or authorizer URL, or
// nil: it must be http(s)://host[:port][/path].
func checkHTTPURL(s string, httpsOnly bool) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case httpsOnly && u.Scheme == "http" && loopbackHost(u.Hostname()):
		// Plain http to this machine only (a local identity provider).
	case httpsOnly && u.Scheme != "https":
		return errors.New("must be an https URL (plain http only to 127.0.0.1, localhost or [::1])")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be an http or https URL")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("must not hold credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("must not have a query or fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has an invalid port %q", p)
		}
	}
	return nil
}

// loopbackHost reports whether host names this machine.
func loopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// checkNetwork reports whether s is an IP address or a CIDR.
func checkNetwork(s string) error {
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err != nil {
			return errors.New("not a CIDR")
		}
		return nil
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return errors.New("not an IP address")
	}
	return nil
}

// checkOrigin reports whether s is a CORS origin: "*", scheme://host[:port]
// or scheme://*.domain[:port].
func checkOrigin(s string) error {
	if s == "*" {
		return nil
	}
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return errors.New("must start with https:// or http://")
		}
	}
	if strings.ContainsAny(rest, "/?#") {
		return errors.New("has a path (an origin is scheme://host[:port] only)")
	}
	host := strings.TrimPrefix(rest, "*.")
	if h, port, ok := strings.Cut(host, ":"); ok {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has an invalid port %q", port)
		}
		host = h
	}
	if !originHostRE.MatchString(host) {
		return errors.New("has an invalid host")
	}
	return nil
}

var originHostRE = regexp.MustCompile(`^([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+$`)

// Placeholder prefixes and whole placeholders of header templates.
var (
	placeholderPrefixes = []string{"claims", "path", "query", "header"}
	placeholderWords    = []string{"client", "request_id"}
)

// placeholderHelp lists the placeholders for messages.
const placeholderHelp = "{claims.NAME}, {client}, {request_id}, {path.NAME}, {query.NAME} or {header.NAME}"

// templateError is what is wrong with a header template: the placeholder
// (or brace) at fault and a suggestion.
type templateError struct {
	placeholder string
	suggestion  string
	unclosed    bool
}

func (e *templateError) Error() string {
	if e.unclosed {
		return fmt.Sprintf("%q is not closed with \"}\"", e.placeholder)
	}
	return fmt.Sprintf("unknown placeholder %q", e.placeholder)
}

// checkTemplate reports the first bad placeholder of a header template.
// Braces are only for placeholders, so a stray "}" is an error too.
func checkTemplate(s string) *templateError {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '}':
			return &templateError{placeholder: "}"}
		case '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] == '{' {
				rest := s[i:]
				if end >= 0 {
					rest = s[i : i+1+end]
				}
				return &templateError{placeholder: rest, unclosed: true}
			}
			inner := s[i+1 : i+1+end]
			if !knownPlaceholder(inner) {
				return &templateError{placeholder: "{" + inner + "}", suggestion: suggestPlaceholder(inner)}
			}
			i += 1 + end
		}
	}
	return nil
}

func knownPlaceholder(inner string) bool {
	for _, w := range placeholderWords {
		if inner == w {
			return true
		}
	}
	prefix, name, ok := strings.Cut(inner, ".")
	if !ok || name == "" {
		return false
	}
	for _, p := range placeholderPrefixes {
		if prefix == p {
			return true
		}
	}
	return false
}

// suggestPlaceholder guesses the placeholder meant by inner: "claim.tenant"
// → "{claims.tenant}", "requestid" → "{request_id}".
func suggestPlaceholder(inner string) string {
	prefix, name, ok := strings.Cut(inner, ".")
	if ok && name != "" {
		if p := spec.Suggest(prefix, placeholderPrefixes); p != "" {
			return "{" + p + "." + name + "}"
		}
		return ""
	}
	if w := spec.Suggest(inner, placeholderWords); w != "" {
		return "{" + w + "}"
	}
	return ""
}

// secretLiteral shows a literal that was written where a secret reference
// belongs without giving the secret away: at most its first two characters.
func secretLiteral(s string) string { return diag.Mask(s) }
