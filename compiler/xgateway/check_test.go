package xgateway

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

var update = flag.Bool("update", false, "rewrite the diagnostics sections of testdata/check/*.txtar")

// TestCheck runs every testdata/check/*.txtar case: the files of a spec
// (the entry is spec.yaml) and a `diagnostics` section with what Check
// reports, one `file:line:col: severity: message (code)` a line; a case
// without the section expects none. `go test -run TestCheck -update`
// rewrites the expectations (review the diff).
func TestCheck(t *testing.T) {
	files, err := filepath.Glob("testdata/check/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar := readArchive(t, file)
			doc := loadArchive(t, ar)
			ds := Check(doc)
			for _, d := range ds {
				if d.Code != Code && d.Code != CodeLiteralSecret {
					t.Errorf("diagnostic with code %q, want %q or %q: %s", d.Code, Code, CodeLiteralSecret, d)
				}
				if !d.Pos.IsValid() {
					t.Errorf("diagnostic without a position: %s", d)
				}
			}
			got := formatDiags(ds)
			idx := -1
			for i, f := range ar.Files {
				if f.Name == "diagnostics" {
					idx = i
				}
			}
			want := ""
			if idx >= 0 {
				want = string(ar.Files[idx].Data)
			}
			if got == want {
				return
			}
			if !*update {
				t.Fatalf("diagnostics differ:\n--- want\n%s--- got\n%s", want, got)
			}
			switch {
			case idx >= 0 && got == "":
				ar.Files = append(ar.Files[:idx], ar.Files[idx+1:]...)
			case idx >= 0:
				ar.Files[idx].Data = []byte(got)
			default:
				ar.Files = append(ar.Files, archiveFile{Name: "diagnostics", Data: []byte(got)})
			}
			if err := os.WriteFile(file, ar.format(), 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// loadArchive loads the spec.yaml of ar, reading the other files it
// references from ar. The loader must accept the spec: cases are about
// x-gateway, not about OpenAPI.
func loadArchive(t testing.TB, ar *archive) *spec.Document {
	t.Helper()
	fsys := map[string][]byte{}
	for _, f := range ar.Files {
		fsys[f.Name] = f.Data
	}
	entry, ok := fsys["spec.yaml"]
	if !ok {
		t.Fatal("case has no spec.yaml")
	}
	l := &spec.Loader{ReadFile: func(p string) ([]byte, error) {
		if b, ok := fsys[filepath.ToSlash(p)]; ok {
			return b, nil
		}
		return nil, os.ErrNotExist
	}}
	doc, ds := l.LoadData("spec.yaml", entry)
	if ds.HasErrors() {
		t.Fatalf("the loader rejects the spec:\n%s", formatDiags(ds))
	}
	return doc
}

func formatDiags(ds diag.Diagnostics) string {
	var b bytes.Buffer
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// archive is a txtar archive (golang.org/x/tools/txtar's format: a comment,
// then `-- name --` lines each starting a file). It is parsed here because
// the module does not require x/tools.
type archive struct {
	Comment []byte
	Files   []archiveFile
}

type archiveFile struct {
	Name string
	Data []byte
}

func readArchive(t testing.TB, path string) *archive {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ar := &archive{}
	for line := range strings.Lines(string(data)) {
		trimmed := strings.TrimRight(line, "\r\n")
		if name, ok := strings.CutPrefix(trimmed, "-- "); ok && strings.HasSuffix(name, " --") && len(name) > 3 {
			ar.Files = append(ar.Files, archiveFile{Name: strings.TrimSpace(strings.TrimSuffix(name, " --"))})
			continue
		}
		if n := len(ar.Files); n > 0 {
			ar.Files[n-1].Data = append(ar.Files[n-1].Data, line...)
		} else {
			ar.Comment = append(ar.Comment, line...)
		}
	}
	return ar
}

func (ar *archive) format() []byte {
	var b bytes.Buffer
	b.Write(ar.Comment)
	for _, f := range ar.Files {
		b.WriteString("-- " + f.Name + " --\n")
		b.Write(f.Data)
		if len(f.Data) > 0 && f.Data[len(f.Data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
