package bundle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// fuzzMaxSize keeps a fuzzed zip bomb from taking the machine's memory.
const fuzzMaxSize = 8 << 20

// fuzzKey is a fixed key, so that fuzzing can reach the signature check.
func fuzzKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// smallBundle is the valid bundle the corpora start from: small, so the
// fuzzer mutates structure rather than bulk.
func smallBundle() *Bundle {
	b := sampleBundle()
	b.Operations[0].Responses = nil
	return b
}

// FuzzDecode feeds whole files to Decode. Seeds: a valid unsigned and a
// signed bundle, and damaged versions of them.
func FuzzDecode(f *testing.F) {
	for _, seed := range decodeSeeds(f) {
		f.Add(seed)
	}
	pub := fuzzKey().Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data, DecodeOptions{MaxSize: fuzzMaxSize})
		checkDecode(t, data, DecodeOptions{MaxSize: fuzzMaxSize, VerifyKey: pub})
		if _, err := ReadHeader(data); err == nil && len(data) < offVer+4+bodyLen10 {
			t.Fatalf("ReadHeader accepted %d bytes", len(data))
		}
	})
}

// FuzzDecodePayload gets past the digest: it wraps fuzzed bytes in a
// correct header, so that the decompressor (compressed == false: the bytes
// are the stored payload, declared to inflate to size) or the JSON decoder
// and Validate (compressed == true: the bytes are the JSON) are what is
// fuzzed. minor > 0 takes the newer-minor path, which tolerates unknown
// fields.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range payloadSeeds(f) {
		f.Add(s.data, s.compressed, s.minor, s.size)
	}
	f.Fuzz(func(t *testing.T, data []byte, compressed bool, minor uint8, size uint32) {
		r := raw{minor: int(minor), reserved: int(minor)}
		if compressed {
			if len(data) == 0 {
				return // a zero declared size means "len(json)" to raw
			}
			r.json = data
		} else {
			r.payload, r.contentSize = data, int(size)
			if size == 0 {
				r.contentSize = -1
			}
		}
		checkDecode(t, r.bytes(t), DecodeOptions{MaxSize: fuzzMaxSize})
	})
}

// checkDecode decodes data; when it is accepted, the bundle must be one
// Marshal accepts, whose every schema root has a document, and which
// survives a second round trip unchanged.
func checkDecode(t *testing.T, data []byte, opts DecodeOptions) {
	b, h, err := Decode(data, opts)
	if err != nil {
		if b != nil {
			t.Fatalf("Decode returned a bundle with error %v", err)
		}
		return
	}
	if h == nil {
		t.Fatal("Decode returned no header")
	}
	for _, op := range b.Operations {
		roots := []json.RawMessage{}
		for _, p := range op.Params {
			roots = append(roots, p.Schema)
		}
		if op.Body != nil {
			for _, mt := range op.Body.Content {
				roots = append(roots, mt.Schema)
			}
		}
		for _, r := range roots {
			if r == nil {
				continue
			}
			if _, err := b.SchemaDocument(r); err != nil {
				t.Fatalf("operation %q: SchemaDocument of a validated root: %v", op.ID, err)
			}
		}
	}
	again, err := Marshal(b, EncodeOptions{GWCVersion: "fuzz"})
	if err != nil {
		t.Fatalf("Marshal of a decoded bundle: %v", err)
	}
	b2, _, err := Decode(again, DecodeOptions{MaxSize: opts.MaxSize}) // re-encoded unsigned
	if err != nil {
		t.Fatalf("Decode of a re-encoded bundle: %v", err)
	}
	if !reflect.DeepEqual(normalise(t, b), normalise(t, b2)) {
		t.Fatal("a decoded bundle changed in a second round trip")
	}
}

// normalise compares bundles by their JSON, since a fuzzed payload may hold
// raw JSON with whitespace that encoding compacts.
func normalise(t *testing.T, b *Bundle) string {
	js, err := encodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}

func decodeSeeds(tb testing.TB) map[string][]byte {
	good := mustMarshal(tb, smallBundle(), EncodeOptions{GWCVersion: "v1.0.0"})
	signed := mustMarshal(tb, smallBundle(), EncodeOptions{GWCVersion: "v1.0.0", SignKey: fuzzKey()})
	body := offVer + len("v1.0.0") + 4
	set := func(d []byte, at int, v uint64, n int) []byte {
		d = bytes.Clone(d)
		for i := n - 1; i >= 0; i-- {
			d[at+i] = byte(v)
			v >>= 8
		}
		return d
	}
	flip := func(at int) []byte {
		d := bytes.Clone(good)
		d[at] ^= 0x10
		return d
	}
	return map[string][]byte{
		"valid":               good,
		"signed":              signed,
		"truncated-header":    good[:body+20],
		"truncated-payload":   good[:len(good)-7],
		"flipped-magic":       flip(4),
		"flipped-payload":     flip(len(good) - 20),
		"flipped-signature":   set(signed, body+bodySignature, 0, 1),
		"huge-header-length":  set(good, body-4, 0xffffffff, 4),
		"huge-payload-length": set(good, body+bodyPayloadLen, 1<<62, 8),
		"huge-content-length": set(good, body+bodyContentLen, 1<<40, 8),
		"newer-major":         set(good, offMajor, 3, 2),
		"newer-minor":         set(good, offMinor, 1, 2),
		"yaml":                []byte("openapi: 3.1.0\n"),
	}
}

type payloadSeed struct {
	data       []byte
	compressed bool
	minor      uint8
	size       uint32
}

func payloadSeeds(tb testing.TB) map[string]payloadSeed {
	js, err := encodeJSON(smallBundle())
	if err != nil {
		tb.Fatal(err)
	}
	z, err := compress(js)
	if err != nil {
		tb.Fatal(err)
	}
	bomb, err := compress(make([]byte, 1<<20))
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]payloadSeed{
		"json":              {data: js, compressed: true},
		"json-newer-minor":  {data: append([]byte(`{"later":1,`), js[1:]...), compressed: true, minor: 1},
		"json-bad-ref":      {data: bytes.Replace(js, []byte(`#/$defs/Tag`), []byte(`#/$defs/Tog`), 1), compressed: true},
		"json-bad-index":    {data: bytes.Replace(js, []byte(`"operation":2`), []byte(`"operation":9`), 1), compressed: true},
		"zstd":              {data: z, size: uint32(len(js))},
		"zstd-bomb":         {data: bomb, size: 100},
		"zstd-wrong-size":   {data: z, size: uint32(len(js) + 1)},
		"zstd-not-zstd":     {data: js, size: uint32(len(js))},
		"json-empty-object": {data: []byte(`{}`), compressed: true},
	}
}

// TestWriteFuzzSeeds writes the seed corpora to testdata/fuzz when
// GWC_WRITE_FUZZ_SEEDS=1, for when the format changes.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("GWC_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set GWC_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(target, name string, values ...string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := "go test fuzz v1\n"
		for _, v := range values {
			body += v + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, d := range decodeSeeds(t) {
		write("FuzzDecode", name, "[]byte("+strconv.Quote(string(d))+")")
	}
	for name, s := range payloadSeeds(t) {
		write("FuzzDecodePayload", name, "[]byte("+strconv.Quote(string(s.data))+")",
			fmt.Sprintf("bool(%t)", s.compressed), fmt.Sprintf("byte(%d)", s.minor), fmt.Sprintf("uint32(%d)", s.size))
	}
}
