package validate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// benchSchema is the repository's testdata/validate-petstore.yaml NewPet,
// lowered by hand, with a free-form metadata object (no additionalProperties
// schema: its members are skipped, not walked) and a free-form list of
// objects.
const benchSchema = `{"type":"object","required":["name","photoUrls"],"properties":{
	"id":{"type":"integer","format":"int64"},
	"name":{"type":"string","minLength":1,"maxLength":64},
	"status":{"type":"string","enum":["available","pending","sold"]},
	"category":{"type":"object","properties":{"id":{"type":"integer","format":"int64"},"name":{"type":"string"}}},
	"photoUrls":{"type":"array","maxItems":20,"items":{"type":"string"}},
	"tags":{"type":"array","items":{"type":"object","required":["name"],"properties":{"id":{"type":"integer","format":"int64"},"name":{"type":"string","pattern":"^[a-z0-9-]+$"}}}},
	"weight":{"type":"number","minimum":0},
	"vaccinated":{"type":"boolean"},
	"birthDate":{"type":"string","format":"date"},
	"notes":{"type":["string","null"]},
	"metadata":{"type":"object"},
	"history":{"type":"array"}}}`

// benchPet is a valid NewPet of about 1 KB, every member declared (as
// bench/validate_test.go's petBody).
var benchPet = func() []byte {
	tags := make([]map[string]any, 8)
	for i := range tags {
		tags[i] = map[string]any{"id": 1000 + i, "name": "tag-number-" + strings.Repeat("x", i)}
	}
	b, _ := json.Marshal(map[string]any{
		"id": 12345678, "name": "Rex the very good dog", "status": "available",
		"category": map[string]any{"id": 7, "name": "Dogs"},
		"photoUrls": []string{"https://example.com/photos/rex-1.jpg", "https://example.com/photos/rex-2.jpg",
			"https://example.com/photos/rex-3.jpg", "https://example.com/photos/rex-4.jpg"},
		"tags": tags, "weight": 23.5, "vaccinated": true, "birthDate": "2019-04-01",
		"notes": "Friendly, house-trained, likes long walks and chasing balls in the park on sunny days; " +
			"allergic to nothing known; answers to Rex and to Rexy; gets along with cats and small children.",
	})
	return b
}()

// benchFreeForm is a valid body of about 1 KB whose free-form members
// (metadata, history) the fast path skips rather than walks.
var benchFreeForm = func() []byte {
	history := make([]map[string]any, 6)
	for i := range history {
		history[i] = map[string]any{"at": "2024-01-0" + string(rune('1'+i)), "by": "user-" + strings.Repeat("y", i),
			"what": "vaccinated", "where": map[string]any{"city": "Paris", "zip": "75001"}}
	}
	b, _ := json.Marshal(map[string]any{
		"name": "Rex", "photoUrls": []string{"https://example.com/photos/rex-1.jpg"},
		"metadata": map[string]any{"source": "import", "batch": 42, "owner": "kennel-7", "chip": "250269604999999",
			"insured": true, "color": "brown", "size": "large", "diet": nil},
		"history": history,
	})
	return b
}()

// benchAccents is benchPet with non-ASCII text and escapes in its strings,
// which the fast path checks byte by byte.
var benchAccents = []byte(strings.NewReplacer(
	"Rex the very good dog", `Rex le très bon chien \u00e9\"`,
	"Friendly", "Aimable, très «gentil»",
	"Dogs", "Chiens 🐕",
).Replace(string(benchPet)))

// benchInvalid is benchPet failing its schema (a tag name's pattern), which
// sends it to the full decode and santhosh.
var benchInvalid = []byte(strings.Replace(string(benchPet), "tag-number-", "Tag Number ", 1))

func benchOperation(b *testing.B) *Operation {
	b.Helper()
	v, err := CompileOptions(&bundle.Bundle{Operations: []bundle.Operation{{ID: "addPet", Body: &bundle.RequestBody{
		Content: []bundle.MediaType{{Type: "application/json", Schema: json.RawMessage(benchSchema)}}}}}}, Options{Eager: true})
	if err != nil {
		b.Fatal(err)
	}
	return v.Operation(0)
}

func benchmarkBody(b *testing.B, body []byte, valid bool) {
	op := benchOperation(b)
	if e := op.BodyBytes("application/json", body); (e == nil) != valid {
		b.Fatalf("valid=%v: %v", valid, e)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		op.BodyBytes("application/json", body)
	}
}

// BenchmarkBodyPet is the common case: a valid body the fast path walks.
func BenchmarkBodyPet(b *testing.B) { benchmarkBody(b, benchPet, true) }

// BenchmarkBodyFreeForm is a valid body the fast path partly skips.
func BenchmarkBodyFreeForm(b *testing.B) { benchmarkBody(b, benchFreeForm, true) }

// BenchmarkBodyAccents is a valid body with non-ASCII strings and escapes.
func BenchmarkBodyAccents(b *testing.B) { benchmarkBody(b, benchAccents, true) }

// BenchmarkBodyInvalid is a body the fast path fails: decoded, then santhosh.
func BenchmarkBodyInvalid(b *testing.B) { benchmarkBody(b, benchInvalid, false) }

// BenchmarkDecodeJSON is the full decode alone, on benchPet.
func BenchmarkDecodeJSON(b *testing.B) {
	b.SetBytes(int64(len(benchPet)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeJSON(benchPet); err != nil {
			b.Fatal(err)
		}
	}
}
