// Package servecmd is the serving half of the command line, shared by
// `gwc serve` and the slim `gwc-serve` binary: the flags, the loggers, and
// running a server until a signal stops it. It imports only the runtime, so
// gwc-serve stays free of the compiler.
package servecmd

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/server"
)

// Options are the serve flags.
type Options struct {
	Listen            string
	Admin             string
	Watch             bool
	VerifyKey         string
	AccessLog         string
	LogFormat         string
	LogLevel          string
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	MaxHeaderBytes    int
	Pprof             bool
	TLSCert, TLSKey   string
	TLSClientCA       string
	CacheMiB          int
	Engine            string
	Loops             int
}

// AddFlags defines the serve flags on fs.
func AddFlags(fs *pflag.FlagSet, o *Options) {
	fs.StringVar(&o.Listen, "listen", server.DefaultListen, "address of the public listener")
	fs.StringVar(&o.Admin, "admin", server.DefaultAdmin, `address of the admin listener (/healthz, /readyz, /metrics); "off" disables it`)
	fs.BoolVar(&o.Watch, "watch", false, "reload when the served files change")
	fs.StringVar(&o.VerifyKey, "verify-key", "", "refuse bundles not signed by this ed25519 public key (PEM)")
	fs.StringVar(&o.AccessLog, "access-log", "off", "access log on standard output: off, json or text")
	fs.StringVar(&o.LogFormat, "log-format", "text", "format of the log on standard error: text or json")
	fs.StringVar(&o.LogLevel, "log-level", "info", "least level logged: debug, info, warn or error")
	fs.DurationVar(&o.ReadHeaderTimeout, "read-header-timeout", server.DefaultReadHeaderTimeout, "time to read a request's header")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", server.DefaultReadTimeout, "time to read a request's body")
	fs.DurationVar(&o.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "time to write an answer")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "time a kept-alive connection may wait for its next request")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "time in-flight requests get to finish on SIGTERM")
	fs.IntVar(&o.MaxHeaderBytes, "max-header-bytes", server.DefaultMaxHeaderBytes, "largest request line and header accepted (431 beyond)")
	fs.BoolVar(&o.Pprof, "pprof", false, "serve Go's profiles under /debug/pprof/ on the admin listener")
	fs.IntVar(&o.CacheMiB, "cache-mib", 64, "memory budget of the response cache, in MiB (with a Redis store, entries live there)")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "serve TLS with this PEM certificate (chain); reloaded when it changes")
	fs.StringVar(&o.TLSKey, "tls-key", "", "the PEM private key of --tls-cert")
	fs.StringVar(&o.TLSClientCA, "tls-client-ca", "", "check client certificates against these PEM CA certificates")
	fs.StringVar(&o.Engine, "engine", "", "what serves plain HTTP/1.1: loop (event loops, the default) or goroutine (a goroutine per connection); TLS is always the goroutine engine's")
	fs.IntVar(&o.Loops, "loops", 0, "how many event loops the loop engine runs (nginx's worker_processes); 0: one per CPU Go may use (GOMAXPROCS)")
}

// UsageError is a flag value Check refuses.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

// Check validates the flag values that pflag cannot.
func (o *Options) Check() error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return &UsageError{fmt.Errorf("--tls-cert and --tls-key go together")}
	}
	if o.TLSClientCA != "" && o.TLSCert == "" {
		return &UsageError{fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key")}
	}
	loop := o.Engine == server.EngineLoop || (o.Engine == "" && o.TLSCert == "")
	switch o.Engine {
	case "", server.EngineGoroutine, server.EngineFastHTTP:
	case server.EngineLoop:
		if o.TLSCert != "" {
			return &UsageError{fmt.Errorf("--engine loop serves plain HTTP/1.1 only; with --tls-cert the goroutine engine serves (leave --engine out)")}
		}
	default:
		return &UsageError{fmt.Errorf("--engine %q: want loop or goroutine", o.Engine)}
	}
	if o.Loops < 0 || o.Loops > server.MaxLoops {
		return &UsageError{fmt.Errorf("--loops %d: want 0 (one per CPU) to %d", o.Loops, server.MaxLoops)}
	}
	if o.Loops != 0 && !loop {
		return &UsageError{fmt.Errorf("--loops is for the loop engine (plain HTTP/1.1 without --engine goroutine)")}
	}
	if o.CacheMiB < 1 || o.CacheMiB > 1<<20 {
		return &UsageError{fmt.Errorf("--cache-mib %d: want 1 to %d", o.CacheMiB, 1<<20)}
	}
	switch o.AccessLog {
	case "off", "json", "text":
	default:
		return &UsageError{fmt.Errorf("--access-log %q: want off, json or text", o.AccessLog)}
	}
	switch o.LogFormat {
	case "json", "text":
	default:
		return &UsageError{fmt.Errorf("--log-format %q: want text or json", o.LogFormat)}
	}
	if _, err := o.level(); err != nil {
		return &UsageError{err}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read-header-timeout", o.ReadHeaderTimeout}, {"read-timeout", o.ReadTimeout}, {"write-timeout", o.WriteTimeout},
		{"idle-timeout", o.IdleTimeout}, {"shutdown-timeout", o.ShutdownTimeout}} {
		if d.v <= 0 {
			return &UsageError{fmt.Errorf("--%s must be positive, not %s", d.name, d.v)}
		}
	}
	if o.MaxHeaderBytes < 1024 {
		return &UsageError{fmt.Errorf("--max-header-bytes %d: want at least 1024", o.MaxHeaderBytes)}
	}
	return nil
}

func (o *Options) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.LogLevel)
	}
	return l, nil
}

// Key reads --verify-key, nil when unset.
func (o *Options) Key() (ed25519.PublicKey, error) {
	if o.VerifyKey == "" {
		return nil, nil
	}
	return bundle.LoadPublicKey(o.VerifyKey)
}

// Streams are where the server writes.
type Streams struct {
	Out, Err io.Writer
}

// Run serves the bundles load gives until ctx ends or SIGTERM/SIGINT, then
// drains. SIGHUP reloads, as --watch does on a change of the served files.
// Errors from load at start are returned as they are; a listener that
// cannot be opened is a *server.ListenError.
func Run(ctx context.Context, o *Options, load server.LoadFunc, st Streams) error {
	level, _ := o.level()
	var h slog.Handler
	hopts := &slog.HandlerOptions{Level: level}
	if o.LogFormat == "json" {
		h = slog.NewJSONHandler(st.Err, hopts)
	} else {
		h = slog.NewTextHandler(st.Err, hopts)
	}
	log := slog.New(h)
	var access *slog.Logger
	if o.AccessLog != "off" {
		w := newFlushWriter(st.Out, 100*time.Millisecond)
		defer w.Close()
		if o.AccessLog == "json" {
			access = slog.New(slog.NewJSONHandler(w, nil))
		} else {
			access = slog.New(slog.NewTextHandler(w, nil))
		}
	}
	admin := o.Admin
	if admin == "off" {
		admin = ""
	}
	s, err := server.New(ctx, server.Options{
		Listen: o.Listen, Admin: admin, Load: load, Log: log, AccessLog: access,
		ReadHeaderTimeout: o.ReadHeaderTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
		IdleTimeout: o.IdleTimeout, MaxHeaderBytes: o.MaxHeaderBytes, ShutdownTimeout: o.ShutdownTimeout, Pprof: o.Pprof,
		TLSCert: o.TLSCert, TLSKey: o.TLSKey, TLSClientCA: o.TLSClientCA, CacheBytes: int64(o.CacheMiB) << 20,
		Engine: o.Engine,
		Loops:  o.Loops,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading")
				s.Reload(ctx) //nolint:errcheck // Reload logs its failure and keeps serving
			}
		}
	}()
	if o.Watch {
		go func() {
			if err := s.Watch(ctx, s.Files); err != nil {
				log.Error("--watch is not working", "error", err)
			}
		}()
	}
	return s.Run(ctx)
}

// flushWriter buffers the access log and writes it out every interval, or
// sooner when the buffer fills, so that a record costs no write system call
// of its own.
type flushWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	done chan struct{}
	wg   sync.WaitGroup
}

func newFlushWriter(w io.Writer, every time.Duration) *flushWriter {
	f := &flushWriter{w: bufio.NewWriterSize(w, 64<<10), done: make(chan struct{})}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-f.done:
				return
			case <-t.C:
				f.mu.Lock()
				f.w.Flush() //nolint:errcheck // a closed stdout loses log lines; nothing better to do
				f.mu.Unlock()
			}
		}
	}()
	return f
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w.Write(p)
}

// Close flushes what is left.
func (f *flushWriter) Close() error {
	close(f.done)
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w.Flush()
}

// IsNotExist reports whether err is a file that is not there (an I/O
// error, not a bad bundle).
func IsNotExist(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission)
}
