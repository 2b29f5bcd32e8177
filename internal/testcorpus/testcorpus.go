// Package testcorpus gives tests and benchmarks the real public specs kept in
// ../shared/corpus beside the project. They are read in place (or unpacked
// into a temporary directory), never copied into the project, and a test that
// needs them is skipped with a clear message where they are absent.
package testcorpus

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The corpus files tests use.
const (
	OpenAI        = "openai-3.1.yaml.gz"
	TwilioAPI     = "twilio-api-v2010-3.0.yaml.gz"
	TwilioStudio  = "twilio-studio-v2-3.0.yaml"
	DigitalOcean  = "digitalocean-multifile-3.0.tar.gz"
	PetstoreExp   = "oai-petstore-expanded-3.0.yaml"
	APIExamples   = "oai-api-with-examples-3.0.yaml"
	USPTO         = "oai-uspto-3.0.yaml"
	doEntry       = "digitalocean/specification/DigitalOcean-public.v2.yaml"
	envCorpusPath = "GWC_CORPUS" // overrides the location of the corpus directory
)

// All lists the specs, for tests that run over every one.
var All = []string{OpenAI, TwilioAPI, TwilioStudio, DigitalOcean, PetstoreExp, APIExamples, USPTO}

// Dir returns the corpus directory, or "" when it is not there.
func Dir() string {
	if d := os.Getenv(envCorpusPath); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	// Walk up to the module root; the corpus is ../shared/corpus beside it.
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(d), "shared", "corpus")
			if _, err := os.Stat(c); err == nil {
				return c
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

var (
	mu       sync.Mutex
	unpacked = map[string]string{}
	tmpRoot  string
)

// Path returns a readable path of the named corpus spec: the file itself, its
// decompressed copy, or for the DigitalOcean tarball the entry file of the
// unpacked tree. It skips tb when the corpus is absent.
func Path(tb testing.TB, name string) string {
	tb.Helper()
	p, err := path(name)
	if err != nil {
		tb.Skipf("corpus spec %s unavailable (%v): tests on real specs need ../shared/corpus beside the project", name, err)
	}
	return p
}

func path(name string) (string, error) {
	dir := Dir()
	if dir == "" {
		return "", fmt.Errorf("no ../shared/corpus directory")
	}
	src := filepath.Join(dir, name)
	if _, err := os.Stat(src); err != nil {
		return "", err
	}
	switch {
	case strings.HasSuffix(name, ".tar.gz"):
		return unpack(name, src, func(dst string) error { return untar(src, dst) }, doEntry)
	case strings.HasSuffix(name, ".gz"):
		base := strings.TrimSuffix(name, ".gz")
		return unpack(name, src, func(dst string) error { return gunzip(src, filepath.Join(dst, base)) }, base)
	}
	return src, nil
}

// unpack runs extract once per process into a temporary directory shared by
// the package's tests.
func unpack(name, src string, extract func(dst string) error, entry string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if p, ok := unpacked[name]; ok {
		return p, nil
	}
	if tmpRoot == "" {
		d, err := os.MkdirTemp("", "gwc-corpus-")
		if err != nil {
			return "", err
		}
		tmpRoot = d
	}
	dst := filepath.Join(tmpRoot, strings.NewReplacer(".", "_").Replace(name))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	if err := extract(dst); err != nil {
		return "", fmt.Errorf("unpacking %s: %w", src, err)
	}
	p := filepath.Join(dst, filepath.FromSlash(entry))
	unpacked[name] = p
	return p, nil
}

// Cleanup removes what Path unpacked; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
		tmpRoot = ""
		unpacked = map[string]string{}
	}
}

func gunzip(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, zr); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func untar(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("tar entry %q escapes the directory", h.Name)
		}
		target := filepath.Join(dst, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.Create(target)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		}
	}
}
