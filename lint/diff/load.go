package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/lint"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// Side is one version of the API: the resolved operations and the named
// parts they use, and, for a spec, the loaded document.
type Side struct {
	// Label names the side as the user did: a path, or REF:path.
	Label       string
	Ops         []*bundle.Operation
	Schemes     map[string]bundle.SecurityScheme
	Upstreams   map[string]bundle.Upstream
	Authorizers map[string]bundle.Authorizer
	// Doc is the spec, nil for a bundle.
	Doc *spec.Document
	// Defs are a bundle's schema definitions (a spec's schemas are read
	// from Doc).
	Defs map[string]json.RawMessage
	// prefix goes before file names in positions: "REF:" for a side read
	// from git, so that OLD's places are not taken for the work tree's.
	prefix string
	// bundleFile is the .gwb path, for a bundle.
	bundleFile string
}

// InputError is a side that could not be read or compiled: a missing file,
// a bad git ref, a spec with errors (Diagnostics lists them).
type InputError struct {
	Err         error
	Diagnostics diag.Diagnostics
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Source names one side: a file path, read from the work tree, or from the
// commit Ref when it is set.
type Source struct {
	Path string
	Ref  string
	// Root is the folder whose tree the spec's files must be in (gwc diff
	// --root); "" means the spec's own folder.
	Root string
}

// ParseSource reads a command-line argument: an existing file is a path;
// otherwise REF:PATH names PATH at git revision REF.
func ParseSource(arg string) Source {
	if _, err := os.Stat(arg); err == nil {
		return Source{Path: arg}
	}
	// A one-letter prefix is a Windows drive (C:\x), not a ref; a URL is
	// neither (gwc reads no URLs: it is a missing file).
	if ref, p, ok := strings.Cut(arg, ":"); ok && len(ref) > 1 && p != "" && !strings.HasPrefix(p, "//") {
		return Source{Path: p, Ref: ref}
	}
	return Source{Path: arg}
}

func (s Source) String() string {
	if s.Ref != "" {
		return s.Ref + ":" + s.Path
	}
	return s.Path
}

// Load reads one side. Errors are *InputError.
func Load(ctx context.Context, src Source) (*Side, error) {
	// A side in the work tree is read as gwc lint reads it: a spec by the
	// loader itself (only regular files below its folder, within the
	// size limits), a bundle by readRegular. A pull request chooses what
	// its files are; a symbolic link to /dev/zero or a FIFO must not hang
	// the diff.
	read := readRegular
	var specRead func(string) ([]byte, error) // nil: the loader's own
	side := &Side{Label: src.String()}
	if src.Ref != "" {
		g, err := newGitReader(ctx, src.Ref)
		if err != nil {
			return nil, &InputError{Err: err}
		}
		defer g.tree.Close() //nolint:errcheck // the reads are done; its exit says nothing of them
		read, specRead = g.read, g.read
		side.prefix = src.Ref + ":"
	}
	if isBundle(src.Path, read) {
		return loadBundle(side, src, read)
	}
	a, ds, err := compiler.Analyze(ctx, compiler.Options{Spec: src.Path, ReadFile: specRead, Root: src.Root})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &InputError{Err: fmt.Errorf("%s: no such file", src)}
		}
		return nil, &InputError{Err: fmt.Errorf("%s: %w", src, err)}
	}
	if ds.HasErrors() || a == nil || a.Model == nil {
		var errs diag.Diagnostics
		for _, d := range ds {
			if d.Severity == diag.Error {
				d.Pos.File = side.prefix + d.Pos.File
				errs = append(errs, d)
			}
		}
		return nil, &InputError{Err: fmt.Errorf("%s has %s: gwc diff compares specs that build (see gwc lint %s)", src, plural(len(errs), "error"), src.Path), Diagnostics: errs}
	}
	m := a.Model
	side.Doc = a.Doc
	for _, op := range m.Operations {
		side.Ops = append(side.Ops, &op.Operation)
	}
	side.Schemes = map[string]bundle.SecurityScheme{}
	for name, s := range m.Schemes {
		side.Schemes[name] = *s
	}
	side.Upstreams = map[string]bundle.Upstream{}
	side.Authorizers = map[string]bundle.Authorizer{}
	if gw := m.Gateway; gw != nil {
		for _, u := range gw.Upstreams {
			side.Upstreams[u.Name] = u
		}
		for _, au := range gw.Authorizers {
			side.Authorizers[au.Name] = au
		}
	}
	return side, nil
}

// isBundle says whether path is a .gwb bundle: by its name, or, for any
// other name, by its magic bytes.
// readRegular reads a regular file of the work tree, up to the limit of
// all a spec's files together: anything else (a device, a FIFO, a folder,
// through a symbolic link or not) is refused before it is read, and once
// more on the open file.
func readRegular(path string) ([]byte, error) {
	regular := func(fi fs.FileInfo) error {
		if !fi.Mode().IsRegular() {
			return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("not a regular file (%s)", fi.Mode().Type())}
		}
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, spec.DefaultMaxTotalBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > spec.DefaultMaxTotalBytes {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("over %d MiB", spec.DefaultMaxTotalBytes>>20)}
	}
	return data, nil
}

func isBundle(path string, read func(string) ([]byte, error)) bool {
	if strings.EqualFold(filepath.Ext(path), ".gwb") {
		return true
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".yaml" || ext == ".yml" || ext == ".json" {
		return false
	}
	data, err := read(path)
	return err == nil && bytes.HasPrefix(data, []byte("\x89GWB"))
}

func loadBundle(side *Side, src Source, read func(string) ([]byte, error)) (*Side, error) {
	data, err := read(src.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &InputError{Err: fmt.Errorf("%s: no such file", src)}
		}
		return nil, &InputError{Err: fmt.Errorf("%s: %w", src, err)}
	}
	b, _, err := bundle.Decode(data, bundle.DecodeOptions{})
	if err != nil {
		return nil, &InputError{Err: fmt.Errorf("%s: %w", src, err)}
	}
	side.bundleFile = src.Path
	for i := range b.Operations {
		side.Ops = append(side.Ops, &b.Operations[i])
	}
	side.Schemes = map[string]bundle.SecurityScheme{}
	for _, s := range b.SecuritySchemes {
		side.Schemes[s.Name] = s
	}
	side.Upstreams = map[string]bundle.Upstream{}
	for _, u := range b.Upstreams {
		side.Upstreams[u.Name] = u
	}
	side.Authorizers = map[string]bundle.Authorizer{}
	for _, a := range b.Authorizers {
		side.Authorizers[a.Name] = a
	}
	side.Defs = b.Defs
	return side, nil
}

// gitReader reads files as they are at one commit of the repository the
// working directory is in.
// gitReader reads files at a commit through lint.GitTree (one git process,
// each blob refused by its size before it is read).
type gitReader struct {
	commit string
	tree   *lint.GitTree
}

func newGitReader(ctx context.Context, ref string) (*gitReader, error) {
	if strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("git ref %q: a ref cannot start with '-'", ref)
	}
	top, err := git(ctx, "", "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("git ref %q: not in a git repository (%v)", ref, err)
	}
	commit, err := git(ctx, "", "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("git ref %q: no such commit, branch or tag", ref)
	}
	tree, err := lint.OpenGitTree(ctx, strings.TrimSpace(string(top)), strings.TrimSpace(string(commit)))
	if err != nil {
		return nil, fmt.Errorf("git ref %q: %w", ref, err)
	}
	return &gitReader{commit: tree.Commit, tree: tree}, nil
}

// read reads path, relative to the working directory, at the commit. A
// file the commit does not have is fs.ErrNotExist.
func (g *gitReader) read(path string) ([]byte, error) {
	data, err := g.tree.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &fs.PathError{Op: "read", Path: path + " at " + g.commit[:min(12, len(g.commit))], Err: fs.ErrNotExist}
	}
	return data, err
}

func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, err
	}
	return out, nil
}
