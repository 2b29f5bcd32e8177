package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// BundleFiles returns a LoadFunc that reads bundle files with ReadBundle.
func BundleFiles(paths []string, key ed25519.PublicKey) LoadFunc {
	return func(ctx context.Context) ([]Loaded, error) {
		out := make([]Loaded, 0, len(paths))
		for _, p := range paths {
			l, err := ReadBundle(p, key)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return out, nil
	}
}

// ReadBundle reads the bundle file at path, checking its digest, and its
// signature when key is not nil; every command that serves bundle files
// reads them with it. A file that cannot be read is the error os gives; one
// that is not a servable bundle (not a bundle at all, corrupt, badly signed,
// of another format major) is an *InputError whose message starts with
// path, and which wraps the bundle package's error kind (errors.Is(err,
// bundle.ErrNotBundle) tells a command that also takes specs to compile the
// file instead).
func ReadBundle(path string, key ed25519.PublicKey) (Loaded, error) {
	b, h, err := bundle.ReadFile(path, bundle.DecodeOptions{VerifyKey: key})
	if err != nil {
		if isDecodeError(err) {
			return Loaded{}, &InputError{err}
		}
		return Loaded{}, err
	}
	return Loaded{Bundle: b, Name: path, Digest: DigestHex(h)}, nil
}

// WatchDelay is how long Watch waits after a change before reloading, so
// that an editor's save or a build's several writes make one reload.
const WatchDelay = 250 * time.Millisecond

// Watch reloads s whenever one of the files that files() lists changes,
// until ctx ends. It watches their directories, not the files themselves, so
// that a file replaced by a rename (editors, `gwc build`, ConfigMap
// updates) is seen too; files() is asked again after every reload, since a
// spec may come to $ref new files.
func (s *Server) Watch(ctx context.Context, files func() []string) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	watched := map[string]bool{} // files, by absolute path
	dirs := map[string]bool{}
	refresh := func() {
		clear(watched)
		for _, f := range files() {
			abs, err := filepath.Abs(f)
			if err != nil {
				continue
			}
			watched[abs] = true
			if d := filepath.Dir(abs); !dirs[d] {
				if err := w.Add(d); err != nil {
					s.log.Warn("cannot watch for changes", "dir", d, "error", err)
					continue
				}
				dirs[d] = true
			}
		}
	}
	refresh()
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			abs, _ := filepath.Abs(ev.Name)
			if watched[abs] && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) != 0 {
				timer = time.After(WatchDelay)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			s.log.Warn("watching for changes", "error", err)
		case <-timer:
			timer = nil
			// A file being rewritten may be missing or partial for a moment;
			// Reload then fails, logs, and keeps serving, and the write that
			// completes it triggers another reload.
			if !allExist(files()) {
				continue
			}
			if err := s.Reload(ctx); err == nil {
				refresh()
			}
		}
	}
}

// Files lists the files the bundles being served came from, for Watch.
func (s *Server) Files() []string {
	var out []string
	for _, l := range *s.loaded.Load() {
		if len(l.Files) > 0 {
			out = append(out, l.Files...)
		} else {
			out = append(out, l.Name)
		}
	}
	return out
}

func allExist(files []string) bool {
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

// isDecodeError reports an error of bundle.Decode, as opposed to one reading
// the file.
func isDecodeError(err error) bool {
	for _, kind := range []error{bundle.ErrNotBundle, bundle.ErrUnsupportedFormat, bundle.ErrTruncated, bundle.ErrCorrupt,
		bundle.ErrSignature, bundle.ErrTooLarge, bundle.ErrInvalid} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}
