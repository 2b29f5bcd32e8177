package testspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPath checks that every named spec is there, found from this package's
// directory as from any other, and that names outside testdata/ are refused.
func TestPath(t *testing.T) {
	for _, name := range []string{Shop, ValidatePetstore} {
		p := Path(t, name)
		if !filepath.IsAbs(p) || !strings.HasSuffix(filepath.ToSlash(p), "/testdata/"+name) {
			t.Errorf("Path(%q) = %q", name, p)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(Path(t, Shop)), "models.yaml")); err != nil {
		t.Errorf("the shop spec's schemas: %v", err)
	}
	for _, name := range []string{"nosuch.yaml", "../go.mod", "/etc/passwd"} {
		if p, err := path(name); err == nil {
			t.Errorf("path(%q) = %q, want an error", name, p)
		}
	}
}
