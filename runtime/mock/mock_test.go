package mock

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/problem"
)

func ex(name, v string) bundle.Example { return bundle.Example{Name: name, Value: json.RawMessage(v)} }

func TestRespond(t *testing.T) {
	pets := &bundle.Operation{ID: "listPets", Responses: []bundle.Response{
		{Status: "default", Content: []bundle.MockContent{{Type: "application/problem+json", Examples: []bundle.Example{ex("", `{"title":"x"}`)}}}},
		{Status: "404", Content: []bundle.MockContent{{Type: "application/json", Examples: []bundle.Example{ex("", `{"missing":true}`)}}}},
		{Status: "201", Content: []bundle.MockContent{{Type: "application/json", Examples: []bundle.Example{ex("", `{"created":1}`)}}}},
		{Status: "200",
			Headers: []bundle.MockHeader{{Name: "X-Total", Example: json.RawMessage(`42`)}, {Name: "X-Next", Example: json.RawMessage(`"abc"`)}, {Name: "X-None"}},
			Content: []bundle.MockContent{
				{Type: "application/json", Examples: []bundle.Example{ex("", `[{"id":1}]`), ex("empty", `[]`)}},
				{Type: "text/plain", Examples: []bundle.Example{ex("", `"one pet"`)}},
				{Type: "application/xml"},
			}},
	}}
	noContent := &bundle.Operation{ID: "deletePet", Responses: []bundle.Response{{Status: "204"}}}
	ranged := &bundle.Operation{ID: "r", Responses: []bundle.Response{{Status: "2XX", Content: []bundle.MockContent{{Type: "application/json", Examples: []bundle.Example{ex("", `1`)}}}}}}
	none := &bundle.Operation{ID: "n", Responses: []bundle.Response{{Status: "500"}}}

	tests := []struct {
		name           string
		op             *bundle.Operation
		accept, prefer string
		want           *Answer
		wantProblem    problem.Reason
	}{
		{name: "lowest 2xx, first type, headers with examples", op: pets,
			want: &Answer{Status: 200, ContentType: "application/json", Body: []byte(`[{"id":1}]`), Headers: [][2]string{{"X-Total", "42"}, {"X-Next", "abc"}}}},
		{name: "accept picks text", op: pets, accept: "text/plain",
			want: &Answer{Status: 200, ContentType: "text/plain", Body: []byte("one pet"), Headers: [][2]string{{"X-Total", "42"}, {"X-Next", "abc"}}}},
		{name: "q values", op: pets, accept: "application/json;q=0.5, text/*;q=0.9",
			want: &Answer{Status: 200, ContentType: "text/plain", Body: []byte("one pet"), Headers: [][2]string{{"X-Total", "42"}, {"X-Next", "abc"}}}},
		{name: "q=0 excludes", op: pets, accept: "application/json;q=0, */*;q=0.1",
			want: &Answer{Status: 200, ContentType: "text/plain", Body: []byte("one pet"), Headers: [][2]string{{"X-Total", "42"}, {"X-Next", "abc"}}}},
		{name: "not acceptable", op: pets, accept: "image/png", wantProblem: problem.NotAcceptable},
		{name: "type without example", op: pets, accept: "application/xml", wantProblem: problem.NotImplemented},
		{name: "named example", op: pets, prefer: "example=empty",
			want: &Answer{Status: 200, ContentType: "application/json", Body: []byte(`[]`), Headers: [][2]string{{"X-Total", "42"}, {"X-Next", "abc"}}}},
		{name: "unknown example", op: pets, prefer: "example=nope", wantProblem: problem.NotImplemented},
		{name: "prefer code", op: pets, prefer: `code="404"`,
			want: &Answer{Status: 404, ContentType: "application/json", Body: []byte(`{"missing":true}`)}},
		{name: "prefer undeclared code", op: pets, prefer: "code=418", wantProblem: problem.NotImplemented},
		{name: "no content", op: noContent, want: &Answer{Status: 204}},
		{name: "2XX range answers 200", op: ranged, want: &Answer{Status: 200, ContentType: "application/json", Body: []byte(`1`)}},
		{name: "no success response", op: none, wantProblem: problem.NotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, p := Respond(tt.op, tt.accept, tt.prefer)
			if tt.want == nil {
				if p == nil || p.Reason != tt.wantProblem {
					t.Fatalf("got answer %+v, problem %+v; want problem %v", got, p, tt.wantProblem.Slug)
				}
				return
			}
			if p != nil {
				t.Fatalf("got problem %+v", p)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v (body %s)\nwant %+v (body %s)", got, got.Body, tt.want, tt.want.Body)
			}
		})
	}
}
