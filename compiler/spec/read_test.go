package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const refSpec = `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a:
    get:
      responses:
        "200": {$ref: "%s"}
`

func specWithRef(ref string) string { return strings.Replace(refSpec, "%s", ref, 1) }

func TestLoadLimits(t *testing.T) {
	big := "description: " + strings.Repeat("x", 2000) + "\n"
	tests := []struct {
		name    string
		files   map[string]string
		l       Loader
		want    string // the diagnostics
		refused bool
	}{{
		name:    "a file over the limit refuses the spec",
		files:   map[string]string{"s.yaml": specWithRef("big.yaml"), "big.yaml": big},
		l:       Loader{MaxFileBytes: 1000},
		want:    `s.yaml:7:23: error: $ref "big.yaml": big.yaml is 2.0 KiB, over the limit of 1000 B for one file (gwc-limit)`,
		refused: true,
	}, {
		name: "the files together over the limit refuse the spec",
		files: map[string]string{"s.yaml": strings.Replace(specWithRef("a.yaml"), `"200": {$ref: "a.yaml"}`, `"200": {$ref: "a.yaml"}
        "201": {$ref: "b.yaml"}`, 1), "a.yaml": big, "b.yaml": big},
		l:       Loader{MaxTotalBytes: 4096},
		want:    `past the limit of 4.0 KiB for all of them together (gwc-limit)`,
		refused: true,
	}, {
		name:  "a file outside the root is not read, and the rest is loaded",
		files: map[string]string{"api/s.yaml": specWithRef("../x.yaml"), "x.yaml": "description: secret\n"},
		want:  `api/s.yaml:7:23: error: $ref "../x.yaml": x.yaml is outside the folder gwc reads`,
	}, {
		name:  "an absolute path outside the root",
		files: map[string]string{"api/s.yaml": specWithRef("/etc/passwd")},
		want:  `/etc/passwd is outside the folder gwc reads`,
	}, {
		name:  "Root widens the folder",
		files: map[string]string{"api/s.yaml": specWithRef("../x.yaml"), "x.yaml": "description: ok\n"},
		l:     Loader{Root: "."},
	}, {
		name: "aliases over the limit in a referenced file refuse the spec",
		files: map[string]string{"s.yaml": specWithRef("laughs.yaml"), "laughs.yaml": `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
`},
		want:    `laughs.yaml:8:8: error: YAML aliases expand the document to more than 4000000 values`,
		refused: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.l
			l.ReadFile = memFS(tt.files).ReadFile
			entry := "s.yaml"
			if _, ok := tt.files["api/s.yaml"]; ok {
				entry = "api/s.yaml"
			}
			doc, ds, err := l.Load(entry)
			if err != nil {
				t.Fatal(err)
			}
			got := diagLines(ds)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("diagnostics:\n%s\nwant them to hold\n%s", got, tt.want)
			}
			if strings.Contains(got, "secret") {
				t.Errorf("a file's content is shown: %s", got)
			}
			if doc.Refused != tt.refused || (doc.Root == nil) != tt.refused {
				t.Errorf("Refused = %v, Root nil = %v; want both %v", doc.Refused, doc.Root == nil, tt.refused)
			}
		})
	}
}

// TestLoadEntryOverLimit: the entry file itself is refused with an error
// that wraps ErrRefused, in Load and LoadData alike.
func TestLoadEntryOverLimit(t *testing.T) {
	l := &Loader{MaxFileBytes: 10, ReadFile: memFS(map[string]string{"s.yaml": specWithRef("x.yaml")}).ReadFile}
	if _, _, err := l.Load("s.yaml"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "s.yaml is 117 B, over the limit of 10 B for one file") {
		t.Errorf("Load: err = %v", err)
	}
	doc, ds := l.LoadData("s.yaml", []byte(specWithRef("x.yaml")))
	if !doc.Refused || doc.Root != nil || !strings.Contains(diagLines(ds), "over the limit of 10 B for one file (gwc-limit)") {
		t.Errorf("LoadData: refused %v, %s", doc.Refused, diagLines(ds))
	}
}

// TestLoadSpecialFiles reads from the operating system: what is not a
// regular file below the root is refused before it is read.
func TestLoadSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	api := filepath.Join(dir, "api")
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(api, 0o755); err != nil {
		t.Fatal(err)
	}
	write("outside.yaml", "description: secret\n")
	write("api/ok.yaml", "description: ok\n")
	if err := syscall.Mkfifo(filepath.Join(api, "fifo.yaml"), 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	if err := os.Symlink("../outside.yaml", filepath.Join(api, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("ok.yaml", filepath.Join(api, "inside.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(api, "dir.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	huge, err := os.Create(filepath.Join(api, "huge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := huge.Truncate(DefaultMaxFileBytes + 1); err != nil { // sparse
		t.Fatal(err)
	}
	huge.Close()
	tests := []struct {
		ref, root, want string
		refused         bool
	}{
		{ref: "ok.yaml"},
		{ref: "inside.yaml"},
		{ref: "fifo.yaml", want: "fifo.yaml is a FIFO (named pipe), not a regular file: gwc reads only regular files (gwc-io)"},
		{ref: "dir.yaml", want: "dir.yaml is a folder, not a regular file"},
		{ref: "link.yaml", want: "link.yaml leads outside the folder gwc reads (" + api + ") through a symbolic link (widen it with --root) (gwc-io)"},
		{ref: "link.yaml", root: dir},
		{ref: "../outside.yaml", want: "outside.yaml is outside the folder gwc reads"},
		{ref: "/dev/zero", want: "/dev/zero is outside the folder gwc reads"},
		{ref: "/dev/zero", root: "/", want: "/dev/zero is a device, not a regular file"},
		{ref: "huge.yaml", want: "huge.yaml is 32.0 MiB, over the limit of 32 MiB for one file (gwc-limit)", refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.ref+" "+tt.root, func(t *testing.T) {
			write("api/s.yaml", specWithRef(tt.ref))
			start := time.Now()
			doc, ds, err := (&Loader{Root: tt.root}).Load(filepath.Join(api, "s.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			got := diagLines(ds)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("diagnostics:\n%s\nwant them to hold\n%s", got, tt.want)
			}
			if strings.Contains(got, "secret") {
				t.Errorf("a file's content is shown: %s", got)
			}
			if doc.Refused != tt.refused {
				t.Errorf("Refused = %v, want %v", doc.Refused, tt.refused)
			}
		})
	}
	// The entry file itself: a FIFO is refused at once, not waited on.
	if _, _, err := Load(filepath.Join(api, "fifo.yaml")); !errors.Is(err, ErrRefused) {
		t.Errorf("a FIFO as the entry: err = %v", err)
	}
}

// TestLoadContext: a done context stops the loader, with its error, however
// large the document.
func TestLoadContext(t *testing.T) {
	var b strings.Builder
	b.WriteString("openapi: 3.1.0\ninfo: {title: t, version: \"1\"}\npaths: {}\nx-values:\n")
	for range 1000 {
		b.WriteString("  - {a: lol}\n")
	}
	l := &Loader{ReadFile: memFS(map[string]string{"s.yaml": b.String()}).ReadFile}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := l.LoadContext(ctx, "s.yaml"); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: err = %v", err)
	}
	// Cancelled while a referenced file is read: what that file names is
	// never read, and the load ends with the context's error.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	read := memFS(map[string]string{
		"s.yaml": specWithRef("a.yaml"),
		"a.yaml": "description: {$ref: 'b.yaml'}\n",
		"b.yaml": "ok\n",
	}).ReadFile
	l.ReadFile = func(p string) ([]byte, error) {
		switch p {
		case "a.yaml":
			cancel()
		case "b.yaml":
			t.Error("b.yaml was read after the context was done")
		}
		return read(p)
	}
	if _, _, err := l.LoadContext(ctx, "s.yaml"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while loading: err = %v", err)
	}
}
