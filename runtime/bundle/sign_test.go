package bundle

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSignatures(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signed := mustMarshal(t, sampleBundle(), EncodeOptions{GWCVersion: "v1", SignKey: priv})
	unsigned := mustMarshal(t, sampleBundle(), EncodeOptions{GWCVersion: "v1"})
	sigAt := len(signed) - int(mustHeader(t, signed).PayloadSize) - ed25519.SignatureSize
	flip := func(i int) []byte {
		d := append([]byte(nil), signed...)
		d[i] ^= 1
		return d
	}
	// The digest does not cover the header: a changed header field must
	// still fail the signature. Byte 11 is the format minor.
	newerMinor := flip(11)

	for _, tt := range []struct {
		name     string
		data     []byte
		key      ed25519.PublicKey
		kind     error  // nil: accepted
		msg      string // part of the error
		signed   bool
		verified bool
	}{
		{name: "signed, verified", data: signed, key: pub, signed: true, verified: true},
		{name: "signed, no key given", data: signed, signed: true},
		{name: "unsigned, no key given", data: unsigned},
		{name: "unsigned, key required", data: unsigned, key: pub, kind: ErrSignature, msg: "bundle is not signed, but a verify key was given: sign it with `gwc build --sign-key`"},
		{name: "wrong key", data: signed, key: otherPub, kind: ErrSignature, msg: "signed with another key or changed after signing"},
		{name: "signature tampered", data: flip(sigAt + 5), key: pub, kind: ErrSignature, msg: "does not match the verify key"},
		{name: "header tampered", data: newerMinor, key: pub, kind: ErrSignature, msg: "does not match"},
		{name: "payload tampered", data: flip(len(signed) - 2), key: pub, kind: ErrCorrupt, msg: "SHA-256 mismatch"},
		{name: "short key", data: signed, key: pub[:10], msg: "verify key is 10 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, h, err := Decode(tt.data, DecodeOptions{VerifyKey: tt.key})
			switch {
			case tt.msg == "" && err != nil:
				t.Fatalf("Decode: %v", err)
			case tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)):
				t.Fatalf("Decode error = %v, want %q", err, tt.msg)
			case tt.kind != nil && !errors.Is(err, tt.kind):
				t.Fatalf("error %v is not %v", err, tt.kind)
			case err == nil && (h.Signed != tt.signed || h.Verified != tt.verified || len(h.Signature) != map[bool]int{true: 64}[tt.signed]):
				t.Fatalf("header: signed %v verified %v signature %d bytes", h.Signed, h.Verified, len(h.Signature))
			}
		})
	}
	// Signing keeps the output deterministic (ed25519 signatures are).
	if again := mustMarshal(t, sampleBundle(), EncodeOptions{GWCVersion: "v1", SignKey: priv}); string(again) != string(signed) {
		t.Error("two signed encodings differ")
	}
}

func TestLoadKeys(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	der := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(name, typ string, der []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	privPath := write("priv.pem", "PRIVATE KEY", der(x509.MarshalPKCS8PrivateKey(priv)))
	pubPath := write("pub.pem", "PUBLIC KEY", der(x509.MarshalPKIXPublicKey(pub)))
	ecPriv := write("ec.pem", "PRIVATE KEY", der(x509.MarshalPKCS8PrivateKey(ec)))
	ecPub := write("ecpub.pem", "PUBLIC KEY", der(x509.MarshalPKIXPublicKey(&ec.PublicKey)))
	junk := write("junk.pem", "PRIVATE KEY", []byte("junk"))
	notPEM := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}

	gotPriv, err := LoadPrivateKey(privPath)
	if err != nil || !gotPriv.Equal(priv) {
		t.Fatalf("LoadPrivateKey = %v", err)
	}
	gotPub, err := LoadPublicKey(pubPath)
	if err != nil || !gotPub.Equal(pub) {
		t.Fatalf("LoadPublicKey = %v", err)
	}
	// The loaded pair signs and verifies a bundle.
	data := mustMarshal(t, sampleBundle(), EncodeOptions{GWCVersion: "v1", SignKey: gotPriv})
	if _, _, err := Decode(data, DecodeOptions{VerifyKey: gotPub}); err != nil {
		t.Fatalf("Decode with loaded keys: %v", err)
	}

	for _, tt := range []struct {
		name, path, want string
		load             func(string) error
	}{
		{"public as private", pubPath, `PEM block is "PUBLIC KEY", want "PRIVATE KEY"`, loadPriv},
		{"private as public", privPath, `PEM block is "PRIVATE KEY", want "PUBLIC KEY"`, loadPub},
		{"ecdsa private", ecPriv, "is a *ecdsa.PrivateKey private key; bundles are signed with ed25519", loadPriv},
		{"ecdsa public", ecPub, "is a *ecdsa.PublicKey public key", loadPub},
		{"garbage", junk, "not a PKCS#8 private key", loadPriv},
		{"not PEM", notPEM, "no PEM block found", loadPub},
		{"missing", filepath.Join(dir, "nope.pem"), "no such file", loadPriv},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.load(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func loadPriv(p string) error { _, err := LoadPrivateKey(p); return err }
func loadPub(p string) error  { _, err := LoadPublicKey(p); return err }
