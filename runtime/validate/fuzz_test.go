package validate

import (
	"strings"
	"testing"
	"time"
)

// agreementSchemas exercise every keyword the fast path compiles.
var agreementSchemas = []string{
	`{"type":"object","required":["a"],"properties":{"a":{"type":"integer","minimum":-3,"exclusiveMaximum":10,"multipleOf":2},"b":{"type":["string","null"],"minLength":1,"maxLength":3,"pattern":"^[a-c]"}},"additionalProperties":{"type":"boolean"}}`,
	`{"type":"array","prefixItems":[{"const":1}],"items":{"enum":["x",2.0,null,{"k":[1]}]},"minItems":1,"maxItems":3}`,
	`{"anyOf":[{"type":"string","format":"date"},{"type":"number","minimum":1.5,"maximum":1e3}],"not":{"const":"2020-01-01"}}`,
	`{"oneOf":[{"type":"object","required":["x"]},{"type":"object","required":["y"]}],"allOf":[{"properties":{"x":{"format":"int32"},"y":{"format":"byte"}}}]}`,
	`{"$ref":"#/$defs/T","$defs":{"T":{"type":"object","properties":{"c":{"$ref":"#/$defs/T"},"n":{"type":"number","exclusiveMinimum":0,"format":"float"}},"additionalProperties":false}}}`,
	`{"type":"object","required":["r"],"additionalProperties":false}`,
	`{"type":"object","properties":{"p":{"type":"string","pattern":"^[a-z0-9-]+$"},"q":{"pattern":"^[A-Z_]{2,4}$"},"r":{"pattern":"^.*$"},"i":{"format":"int64"},"j":{"format":"int32"},"d":{"format":"date-time"},"e":{"format":"date"},"s":{"type":"string","maxLength":12}}}`,
	`{"type":"object","properties":{"items":{"type":"array","items":{"$ref":"#/$defs/I"}},"alias":{"$ref":"#/$defs/A"},"id":{"type":"string","pattern":"^ord_[0-9a-z]{3}$"},"loop":{"$ref":"#/$defs/L1"}},"$defs":{"A":{"$ref":"#/$defs/I"},"I":{"type":"object","required":["k"],"properties":{"k":{"type":"integer"},"next":{"$ref":"#/$defs/A"}}},"L1":{"$ref":"#/$defs/L2"},"L2":{"$ref":"#/$defs/L1"}}}`,
	// Typed scalars with a number format, taken on the scalar short path.
	`{"type":"array","items":{"type":"object","additionalProperties":false,"required":["id"],"properties":{"id":{"type":"integer","format":"int32","minimum":1},"v":{"type":"number","format":"double","maximum":10},"w":{"type":["string","integer"],"format":"int64"}}}}`,
	// Typed booleans and nulls on the scalar short path; names that share
	// their first two bytes (one lookup of keyIndex, then a comparison with
	// each), a one-byte name, and one longer than a word.
	`{"type":"object","additionalProperties":false,"properties":{"ok":{"type":"boolean"},"nu":{"type":"null"},"on":{"type":["boolean","null"]},"ab":{"type":"integer"},"abc":{"type":"string"},"abcdefghij":{"type":"number"},"b":{},"ba":{"type":"boolean"}}}`,
}

// agreementSeeds are instances, valid and not, for the schemas above.
var agreementSeeds = []string{
	`{"a":2}`, `{"a":2,"b":"ab","z":true}`, `{"a":3}`, `{"a":2.0,"b":null}`, `{"a":2,"a":"x"}`, `{"a":2,"b":"\u0061b"}`,
	`[1,"x",2,null]`, `[1,{"k":[1.0]}]`, `[2]`, `[]`, `"2020-01-02"`, `"2020-01-01"`, `1.5`, `1e3`, `1000.0001`, `-0.5`,
	`{"x":1}`, `{"x":1,"y":"aGk="}`, `{"y":"aGk"}`, `{"x":2147483648}`, `{"c":{"c":{"n":1}}}`, `{"c":{"n":0}}`, `{"c":{"m":1}}`,
	`{"n":1e39}`, `{"r":1}`, `{}`, ` {"a" : 4 } `, `{"a":4}x`, `{"a":04}`, `"\ud800"`, "\"\xff\"", `{"a":-2.5}`,
	`{"p":"abc-9","q":"AB_","r":"x\ny"}`, `{"p":"abc_9"}`, `{"p":""}`, `{"q":"ABCDE"}`, `{"q":"Aé"}`, `{"p":"ab\u00e9"}`,
	`{"i":123456789012345678,"j":2147483647}`, `{"j":2147483648}`, `{"j":-2147483648}`, `{"i":-9223372036854775809}`,
	`{"d":"2024-02-29T23:59:59.123+05:30","e":"2023-02-29"}`, `{"e":"2024-02-29","d":"1999-12-31T24:00:00Z"}`,
	`{"s":"a long string with \"escapes\" and é","d":"2024-02-29t23:59:59Z"}`, `{"s":"twelve chars"}`,
	`{"s":"thirteen chars", "p":"a-very-long-lowercase-name-0123456789-abcdefgh"}`,
	`{"a":-0.5}`, `{"a":-2.000}`, `{"a":8.0}`, `{"a":-0}`, `{"a":-3.5}`, `{"a":9.99}`, `{"a":10.0}`,
	`{"items":[{"k":1},{"k":"x"}]}`, `{"items":[{"k":1,"next":{"k":2}}]}`, `{"alias":{"k":1,"next":{"k":2}}}`,
	`{"alias":{"next":{"k":2}}}`, `{"id":"ord_a1z"}`, `{"id":"ord_A1z"}`, `{"id":"ord_é1z"}`, `{"id":"xord_a1z"}`,
	`{"id":"ord_a1"}`, `{"loop":1}`,
	`{"a":123456789012345678}`, `{"a":1234567890123456789}`, `{"a":-123456789012345678.5}`, `{"n":0.000}`,
	`[{"id":1,"v":9.5,"w":"x"}]`, `[{"id":2147483648}]`, `[{"id":1.0,"w":9223372036854775808}]`, `[{"id":0}]`,
	`[{"id":"7"}]`, `[{"id":7,"v":"9"}]`, `[{"id":7,"v":1e400}]`, `[{"id":7},{"id":-2147483649}]`, `[{"v":1}]`,
	`[{"id":2147483647.5},{"id":-2147483648.0},{"id":-2147483648.5}]`, `[{"id":21474836470e-1}]`,
	`{"ok":true,"nu":null,"on":false}`, `{"ok":null}`, `{"nu":false}`, `{"on":"x"}`, `{"on":null,"ok":false}`,
	`{"ab":1,"abc":"x","abcdefghij":2}`, `{"abcd":1}`, `{"abc":1}`, `{"b":true,"ba":false}`, `{"b":[1],"ba":"x"}`,
	`{"ok":truex}`, `{"ba":fals}`, `{"nu":nul}`, `{"ok":true,"ok":false}`,
}

// strictSeeds are texts that are not RFC 8259 text, or that parsers read
// differently, and texts close to them that are (see strictCases).
var strictSeeds = []string{
	`{"a":1,"a":1}`, `{"r":1,"x":{"y":1,"y":2}}`, `{"c":{"c":{"n":1,"n":1}}}`, `[{"k":1},{"k":1,"k":1}]`,
	`{"b":[{"z":1,"z":2}]}`, `{"s":"a","s":"b"}`, `{"x":1,"\u0078":2}`, `{"é":1,"é":2}`, `{"":1,"":2}`,
	`{"a":2},"b":true}`, `{"a":2}]`, "{\"a\":2}\x00", `{"a":2} {"a":2}`, "{\"a\":2}\f", "\ufeff{\"a\":2}", `"x" "y"`, `1 2`,
	"{\"b\":\"\xff\"}", "{\"s\":\"a\xe2\x82\"}", "{\"x\":[\"\xc0\xaf\"]}", "\"\xed\xa0\x80\"", "{\"\xff\":1}",
	`{"b":"\ud800"}`, `{"b":"\udc00"}`, `"\ud800x"`, `["\ud800\u0041"]`, `{"x":"\ud800\ud800"}`, `"\ude00\ud83d"`, `{"\ud800":1}`,
	`{"b":"\ud83d\ude00"}`, `"\uD83D\uDE00"`, `{"b":"😀é"}`, `["\u0000\"\\\/\b\f\n\r\t\uffff"]`,
	`{"a":01}`, `{"a":+1}`, `{"a":.5}`, `{"a":1.}`, `[-]`, "{\"b\":\"a\tb\"}", "[\"\x7f\"]",
	strings.Repeat("[", 600) + strings.Repeat("]", 600), strings.Repeat("[", 1001) + strings.Repeat("]", 1001),
}

func agreement(t *testing.T, s *Schema, data []byte) {
	valid, decided := s.ValidFast(data)
	slowValid, wellFormed := s.ValidSlow(data)
	// A fast failure only sends the request to santhosh, which then reports
	// malformed JSON; a fast success on anything but RFC 8259 text, as the
	// tests read it apart from both paths (strictText), would be a bug.
	strict := strictText(data)
	if decided && valid && !strict {
		t.Fatalf("fast path accepts what is not RFC 8259 text: %q", data)
	}
	if wellFormed != strict {
		t.Fatalf("the full decode says well-formed=%v, RFC 8259 %v, on %q", wellFormed, strict, data)
	}
	if decided && wellFormed && valid != slowValid {
		t.Fatalf("fast path says valid=%v, santhosh %v, on %q", valid, slowValid, data)
	}
}

func compileAll(t testing.TB) []*Schema {
	var out []*Schema
	for _, doc := range agreementSchemas {
		s, err := compileSchema([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if s.fast == nil {
			t.Fatalf("no fast path for %s", doc)
		}
		out = append(out, s)
	}
	return out
}

func TestFastAgreesWithSanthosh(t *testing.T) {
	schemas := compileAll(t)
	decided := 0
	for _, s := range schemas {
		for _, seed := range agreementSeeds {
			agreement(t, s, []byte(seed))
			if _, d := s.ValidFast([]byte(seed)); d {
				decided++
			}
		}
	}
	if decided < len(schemas)*len(agreementSeeds)/2 {
		t.Errorf("fast path decided only %d of %d", decided, len(schemas)*len(agreementSeeds))
	}
}

// FuzzValidate asserts that whatever the fast path decides, santhosh decides
// the same on the value decodeJSON decodes, that the fast path accepts
// nothing but RFC 8259 text, and that decodeJSON accepts exactly that.
func FuzzValidate(f *testing.F) {
	for _, seed := range append(agreementSeeds, strictSeeds...) {
		f.Add([]byte(seed))
	}
	for _, c := range strictCases {
		f.Add([]byte(c.body))
	}
	schemas := compileAll(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range schemas {
			agreement(t, s, data)
		}
	})
}

// FuzzDateFormats asserts that the hand-written date and date-time checks
// answer as time.Parse does.
func FuzzDateFormats(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2023-02-29", "0000-01-01", "2024-13-01", "2024-1-01",
		"2024-02-29T23:59:59Z", "2024-02-29T23:59:59.123456789+05:30", "2024-02-29T23:59:59.1234567890Z",
		"2024-02-29T24:00:00Z", "2024-02-29T23:59:60Z", "2024-02-29T23:59:59+24:00", "2024-02-29T23:59:59-00:60",
		"2024-02-29t23:59:59z", "2024-02-29T23:59:59.Z", "2024-02-29T23:59:59,5Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, errDate := time.Parse(time.DateOnly, s)
		if isDate(s) != (errDate == nil) {
			t.Fatalf("isDate(%q) = %v, time.Parse: %v", s, isDate(s), errDate)
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		if isDateTime(s) != (err == nil) {
			t.Fatalf("isDateTime(%q) = %v, time.Parse: %v", s, isDateTime(s), err)
		}
		if plainDateTime(s) && err != nil {
			t.Fatalf("plainDateTime(%q) accepts what time.Parse rejects: %v", s, err)
		}
		if len(s) == 10 && plainDate(s) && errDate != nil {
			t.Fatalf("plainDate(%q) accepts what time.Parse rejects: %v", s, errDate)
		}
	})
}
