package bundle

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

var testOpts = EncodeOptions{GWCVersion: "v1.2.3"}

func mustMarshal(t testing.TB, b *Bundle, opts EncodeOptions) []byte {
	t.Helper()
	data, err := Marshal(b, opts)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return data
}

func TestRoundTrip(t *testing.T) {
	for name, b := range map[string]*Bundle{
		"sample": sampleBundle(),
		"large":  largeBundle(20, 30),
		"empty":  {Routes: []Route{}, Operations: []Operation{}},
	} {
		t.Run(name, func(t *testing.T) {
			data := mustMarshal(t, b, testOpts)
			got, h, err := Decode(data, DecodeOptions{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, b) {
				a, _ := json.Marshal(b)
				g, _ := json.Marshal(got)
				t.Fatalf("round trip changed the bundle:\nwant %s\n got %s", a, g)
			}
			if h.FormatMajor != FormatMajor || h.FormatMinor != FormatMinor || h.GWCVersion != "v1.2.3" ||
				h.Encoding != EncodingZstdJSON || h.Signed || h.Verified {
				t.Errorf("header = %+v", h)
			}
			if int(h.PayloadSize) >= len(data) || h.ContentSize <= 0 {
				t.Errorf("sizes: payload %d content %d in a %d-byte file", h.PayloadSize, h.ContentSize, len(data))
			}
			rh, err := ReadHeader(data)
			if err != nil || !reflect.DeepEqual(rh, h) {
				t.Errorf("ReadHeader = %+v, %v; want %+v", rh, err, h)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	want := mustMarshal(t, sampleBundle(), testOpts)
	if again := mustMarshal(t, sampleBundle(), testOpts); !bytes.Equal(again, want) {
		t.Fatal("two encodings of one bundle differ")
	}
	var buf bytes.Buffer
	if err := Encode(&buf, sampleBundle(), testOpts); err != nil || !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("Encode differs from Marshal (err %v)", err)
	}

	// The same content built differently: definitions inserted in reverse
	// order and raw JSON with other whitespace.
	b := sampleBundle()
	names := sortedKeys(b.Defs)
	defs := map[string]json.RawMessage{}
	for i := len(names) - 1; i >= 0; i-- {
		var buf bytes.Buffer
		if err := json.Indent(&buf, b.Defs[names[i]], "", "\t"); err != nil {
			t.Fatal(err)
		}
		defs[names[i]] = buf.Bytes()
	}
	b.Defs = defs
	b.Operations[0].Params[0].Schema = json.RawMessage(" {\n  \"type\" : \"integer\",\n  \"minimum\": 1 }\n")
	if got := mustMarshal(t, b, testOpts); !bytes.Equal(got, want) {
		t.Fatal("reformatted raw JSON or another map order changed the bytes")
	}

	// And different content must not.
	b.API.BuiltAt = "1700000001"
	if got := mustMarshal(t, b, testOpts); bytes.Equal(got, want) {
		t.Fatal("a changed bundle encodes to the same bytes")
	}
}

// TestNewerMinor checks that a bundle of a later minor, with header fields
// and JSON fields this version does not know, is read.
func TestNewerMinor(t *testing.T) {
	js := []byte(`{"api":{"title":"t","version":"1","openapi":"3.1.0","source":"s.yaml","files":["s.yaml"],"signedBy":"x"},"routes":[],"operations":[],"futureField":{"a":[1,2]}}`)
	data := raw{minor: FormatMinor + 1, reserved: 16, json: js}.bytes(t)
	b, h, err := Decode(data, DecodeOptions{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if h.FormatMinor != FormatMinor+1 || b.API.Title != "t" {
		t.Errorf("got header %+v, bundle %+v", h, b.API)
	}
	// The same content claiming this minor is refused: no gwc writes it.
	data = raw{minor: FormatMinor, json: js}.bytes(t)
	if _, _, err := Decode(data, DecodeOptions{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `unknown field "signedBy"`) {
		t.Errorf("unknown field at minor %d: got %v", FormatMinor, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := mustMarshal(t, sampleBundle(), testOpts)
	payloadAt := len(good) - int(mustHeader(t, good).PayloadSize)
	edit := func(f func(d []byte)) []byte {
		d := bytes.Clone(good)
		f(d)
		return d
	}
	okJSON := `{"api":{"title":"t","version":"1","openapi":"3.1.0","source":"s","files":null},"routes":[],"operations":[]}`
	bomb, err := compress(make([]byte, 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		opts DecodeOptions
		kind error
		msg  string
	}{
		{"empty file", nil, DecodeOptions{}, ErrNotBundle, "the file is empty"},
		{"yaml spec", []byte("openapi: 3.1.0\ninfo:\n  title: x\n"), DecodeOptions{}, ErrNotBundle, "this is a YAML document; if it is an OpenAPI spec, compile it first with `gwc build SPEC -o api.gwb`"},
		{"yaml spec with comment", []byte("# pets\nopenapi: 3.0.3\n"), DecodeOptions{}, ErrNotBundle, "YAML document"},
		{"json spec", []byte("\n {\"openapi\": \"3.1.0\"}"), DecodeOptions{}, ErrNotBundle, "this is a JSON document"},
		{"zip file", []byte("PK\x03\x04\x14\x00\x00\x00"), DecodeOptions{}, ErrNotBundle, "does not start with the .gwb magic bytes"},
		{"line endings converted", bytes.ReplaceAll(good, []byte("\r\n"), []byte("\n")), DecodeOptions{}, ErrNotBundle, "text-mode transfer"},
		{"high bit stripped", edit(func(d []byte) { d[0] &^= 0x80 }), DecodeOptions{}, ErrNotBundle, "text-mode transfer"},
		{"newer major", edit(func(d []byte) { d[offMajor+1] = 2 }), DecodeOptions{}, ErrUnsupportedFormat, "bundle format 2.x was written by gwc v1.2.3; this gwc reads 1.x: upgrade gwc"},
		{"newer major, cut short", edit(func(d []byte) { d[offMajor+1] = 7 })[:offVer+2], DecodeOptions{}, ErrUnsupportedFormat, "bundle format 7.x was written by an unknown gwc; this gwc reads 1.x: upgrade gwc"},
		{"major 0", edit(func(d []byte) { d[offMajor+1] = 0 }), DecodeOptions{}, ErrUnsupportedFormat, "rebuild it with this gwc"},
		{"cut in magic", good[:5], DecodeOptions{}, ErrTruncated, "truncated bundle"},
		{"cut in version", good[:offVer+3], DecodeOptions{}, ErrTruncated, "truncated bundle"},
		{"cut in header", good[:payloadAt-10], DecodeOptions{}, ErrTruncated, "truncated bundle"},
		{"cut at payload", good[:payloadAt], DecodeOptions{}, ErrTruncated, "truncated bundle"},
		{"last byte missing", good[:len(good)-1], DecodeOptions{}, ErrTruncated, "cut short"},
		{"trailing data", append(bytes.Clone(good), 0), DecodeOptions{}, ErrCorrupt, "1 bytes of unexpected data after the payload"},
		{"payload bit flipped", edit(func(d []byte) { d[len(d)-3] ^= 4 }), DecodeOptions{}, ErrCorrupt, "corrupt bundle: SHA-256 mismatch"},
		{"digest bit flipped", edit(func(d []byte) { d[payloadAt-ed25519Size-1] ^= 1 }), DecodeOptions{}, ErrCorrupt, "SHA-256 mismatch"},
		{"header length", edit(func(d []byte) { d[offVer+6+3]++ }), DecodeOptions{}, ErrCorrupt, "header length"},
		{"payload encoding", edit(func(d []byte) { d[offVer+6+4] = 9 }), DecodeOptions{}, ErrCorrupt, "unknown payload encoding 9"},
		{"signature algorithm", edit(func(d []byte) { d[offVer+6+5] = 3 }), DecodeOptions{}, ErrCorrupt, "unknown signature algorithm 3"},
		{"signature in unsigned", edit(func(d []byte) { d[payloadAt-1] = 1 }), DecodeOptions{}, ErrCorrupt, "non-zero signature"},
		{"version not text", edit(func(d []byte) { d[offVer] = '\n' }), DecodeOptions{}, ErrCorrupt, `gwc version "\n1.2.3" is not printable`},
		{"over MaxSize", good, DecodeOptions{MaxSize: 100}, ErrTooLarge, "over the limit of 100"},
		{"zip bomb declared small", raw{payload: bomb, contentSize: 1000}.bytes(t), DecodeOptions{}, ErrCorrupt, "does not decompress to the declared 1000 bytes"},
		{"zip bomb declared large", raw{payload: bomb, contentSize: 8 << 20}.bytes(t), DecodeOptions{MaxSize: 1 << 20}, ErrTooLarge, "decompresses to 8388608 bytes"},
		{"content size lie", raw{json: []byte(okJSON), contentSize: len(okJSON) + 1}.bytes(t), DecodeOptions{}, ErrCorrupt, "decompresses to"},
		{"content size huge", raw{payload: []byte{1}, contentSize: -1}.bytes(t), DecodeOptions{}, ErrCorrupt, "out of range"},
		{"payload not zstd", raw{payload: []byte(okJSON), contentSize: len(okJSON)}.bytes(t), DecodeOptions{}, ErrCorrupt, "does not decompress"},
		{"payload an array", raw{json: []byte(`[]`)}.bytes(t), DecodeOptions{}, ErrInvalid, "payload is not a JSON object"},
		{"payload null", raw{json: []byte(`null`)}.bytes(t), DecodeOptions{}, ErrInvalid, "payload is not a JSON object"},
		{"payload wrong type", raw{json: []byte(`{"routes":5}`)}.bytes(t), DecodeOptions{}, ErrInvalid, "cannot unmarshal number"},
		{"payload bad duration", raw{json: []byte(`{"upstreams":[{"name":"a","targets":[],"balance":"","timeout":"soon"}]}`)}.bytes(t), DecodeOptions{}, ErrInvalid, `invalid duration "soon"`},
		{"payload trailing", raw{json: []byte(okJSON + `{}`)}.bytes(t), DecodeOptions{}, ErrInvalid, "data after its JSON object"},
		{"payload broken", raw{json: []byte(`{"routes":[`)}.bytes(t), DecodeOptions{}, ErrInvalid, "unexpected EOF"},
		{"payload inconsistent", raw{json: []byte(`{"routes":[{"method":"GET","path":"/","operation":0}],"operations":[]}`)}.bytes(t), DecodeOptions{},
			ErrInvalid, `invalid bundle: routes[0] GET "/": operation 0 is out of range (the bundle has 0 operations)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _, err := Decode(tt.data, tt.opts)
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", b.API)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %q is not %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

const ed25519Size = 64

func mustHeader(t *testing.T, data []byte) *Header {
	t.Helper()
	h, err := ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestLayout pins the documented byte layout of docs/bundle-format.md.
func TestLayout(t *testing.T) {
	data := mustMarshal(t, sampleBundle(), testOpts)
	if got := string(data[:8]); got != "\x89GWB\r\n\x1a\n" {
		t.Errorf("magic = %q", got)
	}
	if binary.BigEndian.Uint16(data[8:]) != 1 || binary.BigEndian.Uint16(data[10:]) != 0 {
		t.Errorf("version bytes = % x", data[8:12])
	}
	if n := int(data[12]); string(data[13:13+n]) != "v1.2.3" {
		t.Errorf("gwc version = %q", data[13:13+n])
	}
	body := 13 + len("v1.2.3") + 4
	if got := binary.BigEndian.Uint32(data[body-4:]); got != 114 {
		t.Errorf("header body length = %d", got)
	}
	h := mustHeader(t, data)
	if got := binary.BigEndian.Uint64(data[body+2:]); int64(got) != h.PayloadSize || len(data) != body+114+int(got) {
		t.Errorf("payload length %d in a %d-byte file", got, len(data))
	}
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	js, err := dec.DecodeAll(data[body+114:], nil)
	if err != nil || int64(len(js)) != h.ContentSize || !json.Valid(js) {
		t.Fatalf("payload is not zstd-compressed JSON of %d bytes: %v", h.ContentSize, err)
	}
	if !bytes.HasPrefix(js, []byte(`{"api":{"title":"Pets",`)) || !bytes.Contains(js, []byte(`"name":"<Rex>"`)) {
		t.Errorf("payload JSON starts %.60s", js)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "api.gwb")
	if err := os.WriteFile(path, mustMarshal(t, sampleBundle(), testOpts), 0o644); err != nil {
		t.Fatal(err)
	}
	b, h, err := ReadFile(path, DecodeOptions{})
	if err != nil || !reflect.DeepEqual(b, sampleBundle()) || h.GWCVersion != "v1.2.3" {
		t.Fatalf("ReadFile = %v, %+v, %v", b != nil, h, err)
	}
	spec := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(spec, []byte("openapi: 3.1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.gwb")
	if err := os.WriteFile(junk, make([]byte, 200<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		opts DecodeOptions
		want string
	}{
		{spec, DecodeOptions{}, spec + ": not a gwc bundle: this is a YAML document"},
		{path, DecodeOptions{MaxSize: 10}, path + ": bundle payload decompresses to"},
		{junk, DecodeOptions{MaxSize: 10}, junk + ": bundle file is over"},
		{filepath.Join(dir, "missing.gwb"), DecodeOptions{}, "no such file"},
	} {
		if _, _, err := ReadFile(tt.path, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadFile(%q) error = %v, want %q", tt.path, err, tt.want)
		}
	}
}

func TestMarshalRefuses(t *testing.T) {
	bad := sampleBundle()
	bad.Operations[0].Policy.Upstream = "nope"
	badJSON := sampleBundle()
	badJSON.Operations[1].Responses[0].Content = []MockContent{{Type: "a/b", Examples: []Example{{Value: json.RawMessage(`{`)}}}}
	for _, tt := range []struct {
		name string
		b    *Bundle
		opts EncodeOptions
		want string
	}{
		{"nil", nil, testOpts, "nil bundle"},
		{"no version", sampleBundle(), EncodeOptions{}, `gwc version "" must be`},
		{"version not text", sampleBundle(), EncodeOptions{GWCVersion: "v1\n"}, `gwc version "v1\n" must be`},
		{"short key", sampleBundle(), EncodeOptions{GWCVersion: "v1", SignKey: make([]byte, 10)}, "signing key is 10 bytes"},
		{"invalid", bad, testOpts, `cannot encode an invalid bundle: operations[0] "listPets": upstream "nope" is not defined`},
		{"invalid example", badJSON, testOpts, `examples[0]: value is not valid JSON`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Marshal(tt.b, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Marshal error = %v, want %q", err, tt.want)
			}
		})
	}
}
