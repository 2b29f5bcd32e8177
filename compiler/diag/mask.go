package diag

import (
	"net/url"
	"strconv"
	"strings"
)

// Mask shows a value that may be a secret (a key or token pasted where a
// reference belongs, a literal in a secret field) without giving it away:
// quoted, its first two characters and "…". A reference's
// scheme ("env:", "file:") is kept, and what follows it is masked. Every
// message that quotes a value which could be a secret goes through Mask or
// MaskURL.
func Mask(s string) string {
	prefix := ""
	for _, scheme := range []string{"env:", "file:"} {
		if strings.HasPrefix(s, scheme) {
			prefix, s = scheme, s[len(scheme):]
			break
		}
	}
	r := []rune(s)
	if len(r) < 4 {
		return strconv.Quote(prefix + "…")
	}
	return strconv.Quote(prefix + string(r[:2]) + "…")
}

// MaskURL shows a URL with what may carry a secret masked: the password of
// its user information, the values of its query and its fragment. What is
// not a URL is masked whole, with Mask.
func MaskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Mask(s)
	}
	_, hasPassword := u.User.Password()
	if !hasPassword && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery {
		return strconv.Quote(s)
	}
	if u.User != nil {
		if hasPassword {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		var parts []string
		for _, kv := range strings.Split(u.RawQuery, "&") {
			k, _, _ := strings.Cut(kv, "=")
			parts = append(parts, k+"=xxxxx")
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = "xxxxx", ""
	}
	return strconv.Quote(u.String())
}
