package lint

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLint lints arbitrary bytes as a spec: gwc lint must never fail on its
// own (a panic becomes a gwc-internal finding, which this target treats as
// a crash), whatever the input. The rules' cases are the seeds.
func FuzzLint(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		read := func(p string) ([]byte, error) {
			if p == "spec.yaml" {
				return data, nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		ds, err := Run(context.Background(), "spec.yaml", Options{NoConfig: true, ReadFile: read})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return // an unreadable entry is reported by the caller
		}
		for _, d := range ds {
			if d.Code == CodeInternal {
				t.Fatalf("gwc failed on this input: %s", d)
			}
		}
	})
}
