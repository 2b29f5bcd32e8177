package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/server"
)

// TestRefusesBadBundle checks that gwc-serve prints server.ReadBundle's
// error for a bundle it cannot serve, and exits 1; `gwc serve` reads bundle
// files with the same function (TestServeReadsBundlesAsGWCServe in
// cmd/gwc/internal/cli), so the two print the same message.
func TestRefusesBadBundle(t *testing.T) {
	b := &bundle.Bundle{API: bundle.API{Title: "Things", Version: "1", OpenAPI: "3.1.0", Source: "api.yaml"}}
	good, err := bundle.Marshal(b, bundle.EncodeOptions{GWCVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-1] ^= 0xff
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"corrupt.gwb": corrupt,
		"api.yaml":    []byte("openapi: 3.1.0\n"), // a spec: gwc-serve takes bundles only
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, want := server.ReadBundle(path, nil)
			if want == nil {
				t.Fatal("ReadBundle accepted the file")
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{path, "--listen", "127.0.0.1:0", "--admin", "off"}, &stdout, &stderr)
			if code != 1 || stderr.String() != want.Error()+"\n" {
				t.Errorf("exited %d, printed %q; want 1, %q", code, stderr.String(), want.Error()+"\n")
			}
		})
	}
}
