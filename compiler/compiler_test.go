package compiler

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/gwcdev/gwc/compiler/diag"
)

var update = flag.Bool("update", false, "rewrite the expected sections of testdata/build/*.txtar")

// TestBuild runs every testdata/build/*.txtar case: the files of a spec
// (the entry is spec.yaml or spec.json), and either a `bundle.json` section
// with the expected bundle, or a `diagnostics` section with the expected
// diagnostics, one `file:line:col: severity: message (code)` a line.
// `go test -run TestBuild -update` rewrites the expectations.
func TestBuild(t *testing.T) {
	files, err := filepath.Glob("testdata/build/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fsys := map[string][]byte{}
			entry := ""
			for _, f := range ar.Files {
				fsys[f.Name] = f.Data
				if f.Name == "spec.yaml" || f.Name == "spec.json" {
					entry = f.Name
				}
			}
			if entry == "" {
				t.Fatal("case has no spec.yaml or spec.json")
			}
			epoch := int64(0)
			opts := Options{
				Spec:            entry,
				SourceDateEpoch: &epoch,
				ReadFile: func(p string) ([]byte, error) {
					if b, ok := fsys[filepath.ToSlash(p)]; ok {
						return b, nil
					}
					return nil, os.ErrNotExist
				},
			}
			b, ds, err := Compile(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{"diagnostics": formatDiags(ds)}
			if b != nil {
				js, err := json.MarshalIndent(b, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got["bundle.json"] = string(js) + "\n"
			}
			changed := false
			for i, f := range ar.Files {
				want, ok := got[f.Name]
				if !ok {
					continue
				}
				delete(got, f.Name)
				if string(f.Data) == want {
					continue
				}
				if *update {
					ar.Files[i].Data = []byte(want)
					changed = true
					continue
				}
				t.Errorf("%s differs:\n--- want\n%s--- got\n%s", f.Name, f.Data, want)
			}
			for name, v := range got {
				if name == "diagnostics" && v == "" {
					continue
				}
				if *update {
					ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(v)})
					changed = true
					continue
				}
				t.Errorf("unexpected %s (add a section for it, or run with -update):\n%s", name, v)
			}
			if changed {
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func formatDiags(ds diag.Diagnostics) string {
	var b bytes.Buffer
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
