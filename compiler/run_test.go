package compiler

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/internal/testspec"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// TestRunStops checks where each entry point stops: what it made (a Model,
// a bundle, an encoded bundle, or none) and the codes of the diagnostics it
// reported, for specs whose problems come from different stages.
func TestRunStops(t *testing.T) {
	const head = "openapi: 3.1.0\ninfo: {title: T, version: \"1\"}\n"
	const paths = "paths:\n  /a:\n    get:\n      operationId: a\n      responses: {\"200\": {description: ok}}\n"
	cases := []struct {
		name  string
		files map[string]string // spec.yaml is the entry; none means it is missing
		ctx   func() context.Context
		// The outcome of each entry point: "made" or "none", then the
		// codes of its diagnostics; or "error".
		check, analyze, compile, build string
	}{{
		name:    "clean",
		files:   map[string]string{"spec.yaml": head + paths},
		check:   "made",
		analyze: "made",
		compile: "made",
		build:   "made",
	}, {
		// check finds the unknown key; resolve would find the unknown
		// upstream. Check stops before resolve, Analyze goes on.
		name:    "x-gateway error",
		files:   map[string]string{"spec.yaml": head + "x-gateway:\n  bogus: 1\n  defaults: {upstream: nowhere}\n" + paths},
		check:   "none gwc-x-gateway",
		analyze: "made gwc-x-gateway gwc-unknown-ref",
		compile: "none gwc-x-gateway",
		build:   "none gwc-x-gateway",
	}, {
		// resolve finds the error: Check returns the Model it made, plan
		// never runs.
		name:    "resolve error",
		files:   map[string]string{"spec.yaml": head + "x-gateway:\n  defaults: {upstream: nowhere}\n" + paths},
		check:   "made gwc-unknown-ref",
		analyze: "made gwc-unknown-ref",
		compile: "none gwc-unknown-ref",
		build:   "none gwc-unknown-ref",
	}, {
		// A $ref to a missing file is a load error: Check stops there,
		// Analyze checks the rest.
		name: "load error in a referenced file",
		files: map[string]string{"spec.yaml": head + "x-gateway:\n  bogus: 1\n" +
			"paths:\n  /a:\n    get:\n      operationId: a\n      responses: {\"200\": {$ref: \"nowhere.yaml\"}}\n"},
		check:   "none gwc-ref",
		analyze: "made gwc-x-gateway gwc-ref",
		compile: "none gwc-ref",
		build:   "none gwc-ref",
	}, {
		// An entry file that does not parse leaves nothing to check.
		name:    "entry does not parse",
		files:   map[string]string{"spec.yaml": "openapi: [\n"},
		check:   "none gwc-syntax",
		analyze: "none gwc-syntax",
		compile: "none gwc-syntax",
		build:   "none gwc-syntax",
	}, {
		name:    "entry missing",
		files:   map[string]string{},
		check:   "error",
		analyze: "error",
		compile: "error",
		build:   "error",
	}, {
		// A cancelled context stops the run after load, which does not
		// look at it.
		name:  "cancelled",
		files: map[string]string{"spec.yaml": head + paths},
		ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		},
		check:   "error",
		analyze: "error",
		compile: "error",
		build:   "error",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			if c.ctx != nil {
				ctx = c.ctx()
			}
			epoch := int64(0)
			opts := Options{Spec: "spec.yaml", SourceDateEpoch: &epoch, ReadFile: memFS(c.files),
				Encode: bundle.EncodeOptions{GWCVersion: "test"}}
			m, ds, err := Check(ctx, opts)
			if got := outcome(m != nil, ds, err); got != c.check {
				t.Errorf("Check: %s, want %s", got, c.check)
			}
			a, ds, err := Analyze(ctx, opts)
			if got := outcome(a != nil && a.Model != nil, ds, err); got != c.analyze {
				t.Errorf("Analyze: %s, want %s", got, c.analyze)
			}
			if err == nil && a.Doc == nil {
				t.Errorf("Analyze returned no document")
			}
			b, ds, err := Compile(ctx, opts)
			if got := outcome(b != nil, ds, err); got != c.compile {
				t.Errorf("Compile: %s, want %s", got, c.compile)
			}
			enc, ds, err := Build(ctx, opts)
			if got := outcome(enc != nil, ds, err); got != c.build {
				t.Errorf("Build: %s, want %s", got, c.build)
			}
		})
	}
}

// outcome summarises what an entry point returned: "error", or "made" or
// "none" followed by the codes of the errors and warnings (the info
// diagnostics left out).
func outcome(made bool, ds diag.Diagnostics, err error) string {
	if err != nil {
		return "error"
	}
	out := []string{"none"}
	if made {
		out[0] = "made"
	}
	for _, d := range ds {
		if d.Severity == diag.Error || d.Severity == diag.Warning {
			out = append(out, d.Code)
		}
	}
	return strings.Join(out, " ")
}

// memFS reads files from a map, for Options.ReadFile.
func memFS(files map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if s, ok := files[filepath.ToSlash(p)]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
}

// TestBuildEncodes checks the encode stage: the header Build returns is the
// one in the bytes, its digest is the payload's SHA-256, two builds of the
// same input are byte-identical, and a signing key signs.
func TestBuildEncodes(t *testing.T) {
	epoch := int64(1700000000)
	opts := Options{Spec: testspec.Path(t, testspec.Shop), SourceDateEpoch: &epoch,
		Encode: bundle.EncodeOptions{GWCVersion: "v9.9.9-test"}}
	first, ds, err := Build(context.Background(), opts)
	if err != nil || ds.HasErrors() {
		t.Fatalf("Build: %v %v", err, ds.Err())
	}
	h := first.Header
	if h.GWCVersion != "v9.9.9-test" || h.FormatMajor != bundle.FormatMajor || h.Signed {
		t.Errorf("header: %+v", h)
	}
	payload := first.Data[len(first.Data)-int(h.PayloadSize):]
	if sha256.Sum256(payload) != h.Digest {
		t.Errorf("header digest %x is not the payload's SHA-256", h.Digest[:8])
	}
	b, dh, err := bundle.Decode(first.Data, bundle.DecodeOptions{})
	if err != nil {
		t.Fatalf("the encoded bundle does not decode: %v", err)
	}
	if dh.Digest != h.Digest {
		t.Errorf("decoded digest %x, Build said %x", dh.Digest[:8], h.Digest[:8])
	}
	// The bundle Build encoded is the one Compile returns.
	compiled, _, err := Compile(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*bundle.Bundle{first.Bundle, b} {
		if !sameJSON(t, got, compiled) {
			t.Errorf("Build's bundle differs from Compile's")
		}
	}

	second, _, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Data, second.Data) {
		t.Errorf("two builds of the same input differ (%d and %d bytes)", len(first.Data), len(second.Data))
	}

	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Encode.SignKey = priv
	signed, _, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !signed.Header.Signed || signed.Header.Digest != h.Digest {
		t.Errorf("signed header: %+v", signed.Header)
	}
	if _, _, err := bundle.Decode(signed.Data, bundle.DecodeOptions{VerifyKey: pub}); err != nil {
		t.Errorf("the signed bundle does not verify: %v", err)
	}
}

func sameJSON(t *testing.T, x, y any) bool {
	t.Helper()
	a, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(y)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(a, b)
}
