package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/server"
)

// TestServeReadsBundlesAsGWCServe checks that `gwc serve` reads bundle
// files as `gwc-serve` does (server.BundleFiles): the same bundle and
// digest from a good file, and the same *server.InputError from a bad one,
// which `gwc serve` prints before exiting 1.
func TestServeReadsBundlesAsGWCServe(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "api.yaml")
	if err := os.WriteFile(spec, []byte("openapi: 3.1.0\ninfo: {title: Things, version: \"1\"}\n"+
		"paths:\n  /a:\n    get:\n      operationId: a\n      responses: {\"200\": {description: ok}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	build := func(key ed25519.PrivateKey) []byte {
		enc, ds, err := compiler.Build(context.Background(), compiler.Options{Spec: spec,
			Encode: bundle.EncodeOptions{GWCVersion: "test", SignKey: key}})
		if err != nil || ds.HasErrors() {
			t.Fatalf("build: %v %v", err, ds.Err())
		}
		return enc.Data
	}
	good, signed := build(nil), build(priv)
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-1] ^= 0xff
	newer := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(newer[8:], bundle.FormatMajor+1) // the format major, docs/bundle-format.md
	otherPub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(otherPub)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM := filepath.Join(dir, "other.pem")
	if err := os.WriteFile(otherPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		data []byte
		key  ed25519.PublicKey
		// verifyKey is the --verify-key file matching key, for gwc serve.
		verifyKey string
		want      error // nil: a bundle to serve
	}{
		{name: "good", data: good},
		{name: "signed", data: signed, key: pub},
		{name: "corrupt", data: corrupt, want: bundle.ErrCorrupt},
		{name: "newer-major", data: newer, want: bundle.ErrUnsupportedFormat},
		{name: "bad-signature", data: signed, key: otherPub, verifyKey: otherPEM, want: bundle.ErrSignature},
		{name: "truncated", data: good[:len(good)/2], want: bundle.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".gwb")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			ios, _, _, _ := iostreams.Test()
			l := &loader{opts: &ServeOptions{IO: ios, Files: []string{path}}, key: c.key, stderr: ios.ErrOut}
			got, gotErr := l.load(context.Background())
			want, wantErr := server.BundleFiles([]string{path}, c.key)(context.Background())
			if c.want == nil {
				if gotErr != nil || wantErr != nil {
					t.Fatalf("gwc serve: %v; gwc-serve: %v", gotErr, wantErr)
				}
				if got[0].Name != want[0].Name || got[0].Digest != want[0].Digest || got[0].Digest == "" {
					t.Errorf("gwc serve loaded %s %s; gwc-serve %s %s", got[0].Name, got[0].Digest, want[0].Name, want[0].Digest)
				}
				return
			}
			var ie *server.InputError
			if !errors.As(gotErr, &ie) || !errors.Is(gotErr, c.want) || wantErr == nil || gotErr.Error() != wantErr.Error() {
				t.Fatalf("gwc serve: %T %v\ngwc-serve: %v", gotErr, gotErr, wantErr)
			}

			// The command prints that error alone and exits 1.
			args := []string{"serve", path, "--listen", "127.0.0.1:0", "--admin", "off"}
			if c.verifyKey != "" {
				args = append(args, "--verify-key", c.verifyKey)
			}
			ios, _, _, errOut := iostreams.Test()
			if code := Run(context.Background(), args, ios); code != ExitFindings || errOut.String() != wantErr.Error()+"\n" {
				t.Errorf("gwc serve exited %d, printed %q; want %d, %q", code, errOut, ExitFindings, wantErr.Error()+"\n")
			}
		})
	}
}

// TestServeSpecRoot: gwc serve compiles a spec that $refs a file above its
// folder only under --root, as gwc lint and gwc build do.
func TestServeSpecRoot(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("shared/items.yaml", "get:\n  operationId: items\n  responses: {\"200\": {description: ok}}\n")
	write("api/spec.yaml", "openapi: 3.1.0\ninfo: {title: t, version: \"1\"}\npaths:\n  /items:\n    $ref: ../shared/items.yaml\n")
	spec := filepath.Join(dir, "api", "spec.yaml")
	for _, root := range []string{"", dir} {
		ios, _, _, _ := iostreams.Test()
		l := &loader{opts: &ServeOptions{IO: ios, Files: []string{spec}, Root: root}, stderr: ios.ErrOut}
		got, err := l.load(context.Background())
		if root == "" {
			if err == nil {
				t.Errorf("a $ref above the spec's folder was read without --root")
			}
			continue
		}
		if err != nil || len(got) != 1 {
			t.Fatalf("with --root %s: %v", root, err)
		}
	}
}
