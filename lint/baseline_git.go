package lint

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gwcdev/gwc/compiler/spec"
)

// GitTree reads files as they are at one commit of a git repository, for
// linting a spec as it was (gwc lint --baseline-ref): Options.ReadFile =
// tree.ReadFile. It runs one `git cat-file --batch` for all its reads; Close
// ends it.
type GitTree struct {
	// Root is the repository's top level, with symbolic links resolved.
	Root string
	// Ref is the ref as given, Commit the commit it names.
	Ref, Commit string

	mu   sync.Mutex
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	fail error // the batch process broke: every read after fails
}

// GitRoot returns the top level of the git repository dir is in.
func GitRoot(ctx context.Context, dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	out, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			abs, _ := filepath.Abs(dir)
			return "", fmt.Errorf("%s is not in a git repository", abs)
		}
		return "", err
	}
	root := strings.TrimRight(out, "\r\n")
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	return root, nil
}

// OpenGitTree opens the tree of the commit ref names in the repository
// whose top level is root. An unknown ref is an error that says so.
func OpenGitTree(ctx context.Context, root, ref string) (*GitTree, error) {
	// The ref goes on git's command line: one that looks like an option, or
	// that holds what no ref name may, is refused before git sees it.
	if ref == "" || strings.HasPrefix(ref, "-") || strings.ContainsFunc(ref, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("%q is not a git ref", ref)
	}
	out, err := git(ctx, root, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// A CI checkout is often shallow, with the base branch unfetched.
			return nil, fmt.Errorf("no commit %q in the git repository %s (in a shallow clone, fetch it first)", ref, root)
		}
		return nil, err
	}
	t := &GitTree{Root: root, Ref: ref, Commit: strings.TrimSpace(out)}
	t.cmd = exec.CommandContext(ctx, "git", "-C", root, "cat-file", "--batch")
	if t.in, err = t.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := t.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	t.out = bufio.NewReaderSize(stdout, 64<<10)
	if err := t.cmd.Start(); err != nil {
		return nil, fmt.Errorf("running git: %w", err)
	}
	return t, nil
}

// git runs git in dir and returns its standard output; a failure's error
// carries git's standard error.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", exit
		}
		return "", fmt.Errorf("running git (needed to read a git ref): %w", err)
	}
	return string(out), nil
}

// Path returns the path of a file relative to the repository's top level,
// with forward slashes, as git names it; ok is false for a file outside the
// repository.
func (t *GitTree) Path(path string) (string, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	// The top level has its links resolved; so must the file's directory,
	// where it still exists in the working tree.
	dir, base := filepath.Split(abs)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		abs = filepath.Join(real, base)
	}
	rel, err := filepath.Rel(t.Root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// ReadFile returns the content of the file at path (as the working tree
// names it) at the commit. A file absent there, or outside the repository,
// is an fs.ErrNotExist.
func (t *GitTree) ReadFile(path string) ([]byte, error) {
	rel, ok := t.Path(path)
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("outside the git repository %s: %w", t.Root, fs.ErrNotExist)}
	}
	if strings.ContainsAny(rel, "\n\r") { // the batch protocol is line-based
		return nil, &fs.PathError{Op: "read", Path: path, Err: fs.ErrNotExist}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail != nil {
		return nil, t.fail
	}
	data, kind, err := t.object(t.Commit + ":" + rel)
	var big *blobTooLarge
	if errors.As(err, &big) {
		// A blob is only as large as the commit says: refused before it is
		// read, as the loader refuses a file of the work tree by its size.
		return nil, &spec.RefusedError{Path: path, Limit: true, Reason: fmt.Sprintf("is %d MiB at %s, over the limit of %d MiB for one file", big.size>>20, t.Ref, spec.DefaultMaxFileBytes>>20)}
	}
	if err != nil {
		t.fail = fmt.Errorf("reading %s at %s with git: %w", path, t.Ref, err)
		return nil, t.fail
	}
	switch kind {
	case "":
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("not in %s: %w", t.Ref, fs.ErrNotExist)}
	case "blob":
		return data, nil
	}
	return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("a %s in %s, not a file", kind, t.Ref)}
}

// object asks the batch process for one object; kind is "" when it is
// missing.
func (t *GitTree) object(name string) (data []byte, kind string, err error) {
	if _, err := io.WriteString(t.in, name+"\n"); err != nil {
		return nil, "", err
	}
	head, err := t.out.ReadString('\n')
	if err != nil {
		return nil, "", err
	}
	// "<name> missing", "<name> ambiguous", or "<oid> <type> <size>".
	head = strings.TrimRight(head, "\n")
	if strings.HasSuffix(head, " missing") || strings.HasSuffix(head, " ambiguous") {
		return nil, "", nil
	}
	fields := strings.Fields(head)
	if len(fields) != 3 {
		return nil, "", fmt.Errorf("unexpected answer %q", head)
	}
	size, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil || size < 0 {
		return nil, "", fmt.Errorf("unexpected answer %q", head)
	}
	if size > spec.DefaultMaxFileBytes {
		// Skipped, not held: a commit can hold gigabytes of zeros in a few
		// kilobytes. The stream stays in step for the next read.
		if _, err := io.CopyN(io.Discard, t.out, size+1); err != nil {
			return nil, "", err
		}
		return nil, "", &blobTooLarge{size}
	}
	data = make([]byte, size+1) // the content, then a newline
	if _, err := io.ReadFull(t.out, data); err != nil {
		return nil, "", err
	}
	return data[:size], fields[1], nil
}

// blobTooLarge is a blob over spec.DefaultMaxFileBytes, which object skips.
type blobTooLarge struct{ size int64 }

func (e *blobTooLarge) Error() string { return fmt.Sprintf("a blob of %d bytes", e.size) }

// Close ends the git process.
func (t *GitTree) Close() error {
	t.in.Close()
	return t.cmd.Wait()
}
