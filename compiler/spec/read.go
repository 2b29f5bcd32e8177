package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
)

// The loader's limits on what it reads. A spec comes from whoever opens a
// pull request, so gwc lint must not let one make it read without end: the
// largest real specs are a few megabytes in all.
const (
	// DefaultMaxFileBytes bounds one file, the entry or one a `$ref` names.
	DefaultMaxFileBytes = 32 << 20
	// DefaultMaxTotalBytes bounds all the files of one spec together.
	DefaultMaxTotalBytes = 128 << 20
)

// ErrRefused is what every refusal to read a file wraps: a file outside the
// folder gwc may read, one that is not a regular file, or one past a size
// limit. errors.Is(err, ErrRefused) tells them from I/O errors.
var ErrRefused = errors.New("refused")

// RefusedError is a file the loader would not read, and why. Its message
// names the file and never shows its content.
type RefusedError struct {
	Path   string
	Reason string
	// Limit is set when a size limit was passed: the spec cannot be loaded.
	Limit bool
}

func (e *RefusedError) Error() string { return e.Path + " " + e.Reason }

// Unwrap makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// files reads a spec's files within its limits: below root only, regular
// files only, each at most maxFile bytes and all together at most maxTotal.
type files struct {
	read     func(string) ([]byte, error) // nil: the operating system
	root     string                       // absolute, cleaned
	osRoot   *os.Root                     // opened on first use
	openErr  error
	maxFile  int64
	maxTotal int64
	total    atomic.Int64
}

func newFiles(l *Loader, entry string) (*files, error) {
	f := &files{read: l.ReadFile, maxFile: l.MaxFileBytes, maxTotal: l.MaxTotalBytes}
	if f.maxFile <= 0 {
		f.maxFile = DefaultMaxFileBytes
	}
	if f.maxTotal <= 0 {
		f.maxTotal = DefaultMaxTotalBytes
	}
	root := l.Root
	if root == "" {
		root = filepath.Dir(entry)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	f.root = abs
	if f.read == nil {
		if f.osRoot, err = os.OpenRoot(abs); err != nil {
			return nil, fmt.Errorf("the root folder %s: %w", root, unwrapPath(err))
		}
	}
	return f, nil
}

func (f *files) close() {
	if f.osRoot != nil {
		f.osRoot.Close()
	}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// rel is p relative to the root, or a refusal when p is not below it.
func (f *files) rel(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(f.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", &RefusedError{Path: p, Reason: fmt.Sprintf("is outside the folder gwc reads (%s): a spec's files must be in its folder tree (widen it with --root)", f.root)}
	}
	return rel, nil
}

// get reads file p within the limits.
func (f *files) get(p string) ([]byte, error) {
	rel, err := f.rel(p)
	if err != nil {
		return nil, err
	}
	var data []byte
	if f.read != nil {
		if data, err = f.read(p); err != nil {
			return nil, err
		}
		if int64(len(data)) > f.maxFile {
			return nil, f.tooLarge(p, int64(len(data)))
		}
		if err := f.reserve(p, int64(len(data))); err != nil {
			return nil, err
		}
		return data, nil
	}
	return f.readOS(p, rel)
}

func (f *files) tooLarge(p string, size int64) error {
	return &RefusedError{Path: p, Limit: true, Reason: fmt.Sprintf("is %s, over the limit of %s for one file", sizeString(size), sizeString(f.maxFile))}
}

// reserve counts n more bytes against the limit for all the files.
func (f *files) reserve(p string, n int64) error {
	if t := f.total.Add(n); t > f.maxTotal {
		return &RefusedError{Path: p, Limit: true, Reason: fmt.Sprintf("would take the spec's files past the limit of %s for all of them together", sizeString(f.maxTotal))}
	}
	return nil
}

// readOS reads p through the root, which refuses paths (and symbolic links)
// that leave it. Devices, FIFOs, sockets and folders are refused before they
// are opened, and once more on the open file, in case p was swapped in
// between; O_NONBLOCK keeps opening a FIFO from waiting for a writer.
func (f *files) readOS(p, rel string) ([]byte, error) {
	fi, err := f.osRoot.Stat(rel)
	if err != nil {
		return nil, f.osError(p, err)
	}
	if err := f.regular(p, fi); err != nil {
		return nil, err
	}
	if fi.Size() > f.maxFile {
		return nil, f.tooLarge(p, fi.Size())
	}
	file, err := f.osRoot.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, f.osError(p, err)
	}
	defer file.Close()
	if fi, err = file.Stat(); err != nil {
		return nil, err
	}
	if err := f.regular(p, fi); err != nil {
		return nil, err
	}
	if err := f.reserve(p, fi.Size()); err != nil {
		return nil, err
	}
	// The file may grow while it is read: read one byte past the limit to
	// tell.
	data, err := io.ReadAll(io.LimitReader(file, f.maxFile+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: unwrapPath(err)}
	}
	if int64(len(data)) > f.maxFile {
		return nil, f.tooLarge(p, int64(len(data)))
	}
	return data, nil
}

func (f *files) osError(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return &fs.PathError{Op: "open", Path: p, Err: unwrapPath(err)}
	}
	// os.Root's refusal of a path or symbolic link that leaves it.
	if strings.Contains(err.Error(), "escapes") {
		return &RefusedError{Path: p, Reason: fmt.Sprintf("leads outside the folder gwc reads (%s) through a symbolic link (widen it with --root)", f.root)}
	}
	return &fs.PathError{Op: "open", Path: p, Err: unwrapPath(err)}
}

// regular refuses anything but a regular file.
func (f *files) regular(p string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	var what string
	switch {
	case m.IsDir():
		what = "a folder"
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	default:
		what = "a special file"
	}
	return &RefusedError{Path: p, Reason: fmt.Sprintf("is %s, not a regular file: gwc reads only regular files", what)}
}

func sizeString(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}
