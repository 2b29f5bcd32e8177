// Package testspec gives tests the specs kept in the repository's top-level
// testdata/: specs the project wrote itself that more than one package's
// tests use (testdata/README.md). A package's own cases stay in its own
// testdata/; the public specs of ../shared/corpus are internal/testcorpus's.
//
// (The package is not internal/testdata: the go command ignores directories
// named testdata.)
package testspec

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The shared specs tests use, relative to testdata/.
const (
	// Shop is a whole gwc spec in two files (shop/models.yaml holds its
	// schemas) that asks for most of what the gateway does.
	Shop = "shop/api.yaml"
	// ValidatePetstore is the petstore whose NewPet the request validation
	// benchmarks measure (bench, and runtime/validate's copy of NewPet).
	ValidatePetstore = "validate-petstore.yaml"
)

// Dir returns the absolute path of the repository's testdata/ directory,
// found above the working directory (a package's directory, in tests).
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "testdata"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// Path returns the absolute path of the named file under the repository's
// testdata/ (slash-separated, such as Shop). It fails tb when the file is not
// there.
func Path(tb testing.TB, name string) string {
	tb.Helper()
	p, err := path(name)
	if err != nil {
		tb.Fatalf("shared test spec testdata/%s: %v (specs shared by several packages' tests live in the repository's top-level testdata/; see testdata/README.md)", name, err)
	}
	return p
}

func path(name string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", fmt.Errorf("%q is not a path inside testdata/", name)
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, filepath.FromSlash(name))
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}
