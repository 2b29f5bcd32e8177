package router

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"/", "/", nil},
		{"/v1/pets/42", "/v1/pets/42", nil},
		{"/v1/pets/", "/v1/pets/", nil},
		{"/a/b;c=d/e:f@g!$&'()*+,=", "/a/b;c=d/e:f@g!$&'()*+,=", nil},
		{"/%41%62c/%7e%2D%5F", "/Abc/~-_", nil},   // unreserved escapes decoded
		{"/a%3ab/%3F/%25", "/a%3Ab/%3F/%25", nil}, // reserved escapes kept, hex upper-cased
		{"/caf%C3%A9", "/caf%C3%A9", nil},         // canonical already
		{"/caf%c3%a9", "/caf%C3%A9", nil},         // hex case
		{"/café", "/caf%C3%A9", nil},              // raw UTF-8 encoded
		{"/a b/\"x\"/{id}/[1]/a|b/^/`", "/a%20b/%22x%22/%7Bid%7D/%5B1%5D/a%7Cb/%5E/%60", nil},
		{"//a///b//", "/a/b/", nil}, // slashes merged
		{"/a/...", "/a/...", nil},   // not a dot segment
		{"/a/.x/x.", "/a/.x/x.", nil},
		{"/a/..x", "/a/..x", nil},
		{"/%F0%9F%98%80", "/%F0%9F%98%80", nil},
		{"", "", ErrNotAbsolute},
		{"a/b", "", ErrNotAbsolute},
		{"*", "", ErrNotAbsolute},
		{"/a%2Fb", "", ErrEncodedSlash},
		{"/a%2fb", "", ErrEncodedSlash},
		{"/a%5Cb", "", ErrEncodedSlash},
		{"/a%5cb", "", ErrEncodedSlash},
		{"/a\\b", "", ErrBackslash},
		{"/a\x00b", "", ErrControl},
		{"/a%00b", "", ErrControl},
		{"/a%0Ab", "", ErrControl},
		{"/a\tb", "", ErrControl},
		{"/a%7F", "", ErrControl},
		{"/a\x7f", "", ErrControl},
		{"/a%", "", ErrBadEscape},
		{"/a%4", "", ErrBadEscape},
		{"/a%zz", "", ErrBadEscape},
		{"/a%%41", "", ErrBadEscape},
		{"/a/..", "", ErrDotSegment},
		{"/a/../b", "", ErrDotSegment},
		{"/./a", "", ErrDotSegment},
		{"/a/.", "", ErrDotSegment},
		{"/a/%2e%2e/b", "", ErrDotSegment},
		{"/a/%2E./b", "", ErrDotSegment},
		{"/a/%2e", "", ErrDotSegment},
		{"/a/..;x/b", "", ErrDotSegment},
		{"/a/.;/b", "", ErrDotSegment},
		{"/a//../b", "", ErrDotSegment},
		{"/a%C0%AE%C0%AE/", "", ErrBadUTF8}, // overlong "."
		{"/a%C0%AF", "", ErrBadUTF8},        // overlong "/"
		{"/a%E0%80%AF", "", ErrBadUTF8},     // overlong "/", 3 bytes
		{"/a%ED%A0%80", "", ErrBadUTF8},     // surrogate
		{"/a%C3", "", ErrBadUTF8},           // truncated
		{"/a%C3/%A9", "", ErrBadUTF8},       // split by "/"
		{"/a%C3a", "", ErrBadUTF8},          // interrupted
		{"/a%A9", "", ErrBadUTF8},           // stray continuation
		{"/a\xff", "", ErrBadUTF8},          // invalid raw
		{"/a\xc3", "", ErrBadUTF8},          // truncated raw
		{"/a%F4%90%80%80", "", ErrBadUTF8},  // beyond U+10FFFF
		{"/a?b=c", "", ErrQuery},
		{"/a#b", "", ErrQuery},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
			}
			if err == nil {
				if again, err := Normalize(got); again != got || err != nil {
					t.Errorf("not idempotent: %q -> %q, %v", got, again, err)
				}
			}
		})
	}
}

func TestNormalizeDoesNotAllocate(t *testing.T) {
	for _, p := range []string{"/v1/pets/42", "/2010-04-01/Accounts/AC123/Calls/CA456.json", "/caf%C3%A9", "/a/.."} {
		if n := testing.AllocsPerRun(100, func() { _, _ = Normalize(p) }); n != 0 {
			t.Errorf("Normalize(%q): %v allocs", p, n)
		}
	}
}

func TestNormalizedPathsRouteAlike(t *testing.T) {
	r := newTestRouter(t)
	for _, spelling := range []string{"/v1/pets/42", "/v1/%70ets/42", "//v1//pets/%34%32", "/%76%31/pets/42"} {
		p, err := Normalize(spelling)
		if err != nil {
			t.Fatalf("%s: %v", spelling, err)
		}
		var ps Params
		op, res := r.Lookup("GET", p, &ps)
		if res != Found || testRoutes[op] != "GET /v1/pets/{id}" || ps.Value(0) != "42" {
			t.Errorf("%s -> %s: %d %v %q", spelling, p, op, res, ps.Value(0))
		}
	}
	// The template's "é" and the request's encoded one are one path.
	var ps Params
	for _, spelling := range []string{"/v2/café/1", "/v2/caf%c3%a9/1"} {
		p, _ := Normalize(spelling)
		if op, res := r.Lookup("PUT", p, &ps); res != Found || testRoutes[op] != "PUT /v2/café/{id}" {
			t.Errorf("%s: %d %v", spelling, op, res)
		}
	}
}

func TestPlainMasks(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		want := b == '/' || isPchar(b)
		if got := plain("/" + string([]byte{'x', b})); got != want {
			t.Errorf("plain byte %#x = %v, want %v", c, got, want)
		}
	}
}
