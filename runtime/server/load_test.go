package server

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// TestReadBundle checks what ReadBundle, the reader of bundle files behind
// both `gwc serve` and `gwc-serve`, makes of good and bad files: a bundle
// with its digest, or an *InputError naming the file and wrapping the kind
// of problem, or for a missing file the error os gives.
func TestReadBundle(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := mainBundle("Things", "http://127.0.0.1:9")
	good, err := bundle.Marshal(b, bundle.EncodeOptions{GWCVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := bundle.Marshal(b, bundle.EncodeOptions{GWCVersion: "test", SignKey: priv})
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		name string
		data []byte // nil: no file
		key  ed25519.PublicKey
		want error // the kind of error; nil for a bundle
	}{
		{name: "good", data: good},
		{name: "signed", data: signed, key: pub},
		{name: "corrupt", data: corrupt(good), want: bundle.ErrCorrupt},
		{name: "bad-signature", data: signed, key: otherPub, want: bundle.ErrSignature},
		{name: "unsigned", data: good, key: pub, want: bundle.ErrSignature},
		{name: "newer-major", data: newerMajor(good), want: bundle.ErrUnsupportedFormat},
		{name: "truncated", data: good[:len(good)-10], want: bundle.ErrTruncated},
		{name: "spec", data: []byte("openapi: 3.1.0\n"), want: bundle.ErrNotBundle},
		{name: "missing", want: os.ErrNotExist},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".gwb")
			if c.data != nil {
				if err := os.WriteFile(path, c.data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l, err := ReadBundle(path, c.key)
			var ie *InputError
			switch {
			case c.want == nil:
				if err != nil {
					t.Fatal(err)
				}
				h, err := bundle.ReadHeader(c.data)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(c.data[len(c.data)-int(h.PayloadSize):])
				if l.Name != path || l.Digest != hex.EncodeToString(sum[:]) || l.Bundle.API.Title != "Things" {
					t.Errorf("got %s %s %q", l.Name, l.Digest, l.Bundle.API.Title)
				}
			case c.want == os.ErrNotExist:
				if !errors.Is(err, os.ErrNotExist) || errors.As(err, &ie) {
					t.Errorf("got %T %v, want the error os gives", err, err)
				}
			default:
				if !errors.As(err, &ie) || !errors.Is(err, c.want) {
					t.Fatalf("got %T %v, want an *InputError of kind %v", err, err, c.want)
				}
				if !strings.HasPrefix(err.Error(), path+": ") {
					t.Errorf("%q does not start with the file name", err)
				}
			}
		})
	}

	load := BundleFiles([]string{filepath.Join(dir, "good.gwb"), filepath.Join(dir, "corrupt.gwb")}, nil)
	if _, err := load(t.Context()); !errors.Is(err, bundle.ErrCorrupt) {
		t.Errorf("BundleFiles with a corrupt file: %v", err)
	}
}

// corrupt returns a copy of a bundle with the last payload byte changed.
func corrupt(data []byte) []byte {
	out := append([]byte(nil), data...)
	out[len(out)-1] ^= 0xff
	return out
}

// newerMajor returns a copy of a bundle that says it is of format major
// FormatMajor+1.
func newerMajor(data []byte) []byte {
	out := append([]byte(nil), data...)
	binary.BigEndian.PutUint16(out[8:], bundle.FormatMajor+1)
	return out
}
