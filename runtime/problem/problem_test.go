package problem

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want map[string]any
	}{
		{
			name: "minimal",
			p:    Problem{Reason: NotFound},
			want: map[string]any{"type": "https://gwc.dev/problems/not-found", "title": "No route matches the request", "status": 404.0},
		},
		{
			name: "validation with fields",
			p: Problem{Reason: Validation, Detail: "2 problems", Instance: "/v1/pets", RequestID: "abc",
				Errors: []FieldError{{"/body/name", `must be a "string"`}, {"/query/limit", "must be <= 100"}}},
			want: map[string]any{
				"type": "https://gwc.dev/problems/validation", "title": "The request does not match the API's schema",
				"status": 400.0, "detail": "2 problems", "instance": "/v1/pets", "requestId": "abc",
				"errors": []any{
					map[string]any{"pointer": "/body/name", "detail": `must be a "string"`},
					map[string]any{"pointer": "/query/limit", "detail": "must be <= 100"},
				},
			},
		},
		{
			name: "hostile detail",
			p:    Problem{Reason: BadPath, Detail: "bad \x00\x1f<script>\"\\\u2028\xff\xfe é"},
			want: map[string]any{"type": "https://gwc.dev/problems/bad-path", "title": "The request path is not acceptable",
				"status": 400.0, "detail": "bad \x00\x1f<script>\"\\\u2028\ufffd\ufffd é"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.p.AppendJSON(nil)
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\x00", "\xff", "\u2028", `"\`, "<>&", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: not a JSON string: %v", s, out, err)
		}
		want := string([]rune(s)) // invalid bytes become U+FFFD, as in appendString
		if got != want {
			t.Fatalf("appendString(%q) decodes to %q, want %q", s, got, want)
		}
	})
}
