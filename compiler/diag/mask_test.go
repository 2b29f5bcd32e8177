package diag

import "testing"

func TestMask(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"sk_live_51Habc", `"sk…"`},
		{"env:sk-proj-abcdef", `"env:sk…"`},
		{"file:", `"file:…"`},
		{"abc", `"…"`},
		{"", `"…"`},
		{"пароль-секрет", `"па…"`},
	} {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestMaskURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://idp.example.com/jwks?token=s3cr3t&x=1", `"https://idp.example.com/jwks?token=xxxxx&x=xxxxx"`},
		{"https://u:pw@idp.example.com/jwks", `"https://u:xxxxx@idp.example.com/jwks"`},
		{"https://idp.example.com/jwks#access_token=abc", `"https://idp.example.com/jwks#xxxxx"`},
		{"http://c:1/p", `"http://c:1/p"`},
		{"http://[::1\x00/bad", `"ht…"`},
	} {
		if got := MaskURL(tt.in); got != tt.want {
			t.Errorf("MaskURL(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
