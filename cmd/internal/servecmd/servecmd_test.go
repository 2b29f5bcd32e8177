package servecmd

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/server"
)

func parse(t *testing.T, args ...string) *Options {
	t.Helper()
	var o Options
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	AddFlags(fs, &o)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &o
}

func TestCheck(t *testing.T) {
	if err := parse(t).Check(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, args := range [][]string{
		{"--access-log", "xml"}, {"--log-format", "yaml"}, {"--log-level", "loud"},
		{"--read-timeout", "0s"}, {"--shutdown-timeout", "-1s"}, {"--max-header-bytes", "100"},
	} {
		if err := parse(t, args...).Check(); err == nil {
			t.Errorf("%v accepted", args)
		} else if _, ok := err.(*UsageError); !ok {
			t.Errorf("%v: %T is not a *UsageError", args, err)
		}
	}
}

// mockBundle has one mocked operation whose example is the version.
func mockBundle(version int) *bundle.Bundle {
	v := strconv.Itoa(version)
	return &bundle.Bundle{
		API:    bundle.API{Title: "T", Version: v, Source: "t.yaml"},
		Routes: []bundle.Route{{Method: "GET", Path: "/v", Operation: 0}},
		Operations: []bundle.Operation{{ID: "v", Method: "GET", Path: "/v", Public: true,
			Responses: []bundle.Response{{Status: "200", Content: []bundle.MockContent{{Type: "application/json",
				Examples: []bundle.Example{{Value: []byte(v)}}}}}}}},
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSIGHUPReloads sends the process SIGHUP while Run serves: Run has the
// signal, so the test process lives on, and the bundles are loaded again.
func TestSIGHUPReloads(t *testing.T) {
	var loads atomic.Int32
	load := func(context.Context) ([]server.Loaded, error) {
		n := loads.Add(1)
		return []server.Loaded{{Bundle: mockBundle(int(n)), Name: "t.yaml"}}, nil
	}
	addr := freePort(t)
	o := parse(t, "--listen", addr, "--admin", "off", "--access-log", "json")
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, load, Streams{Out: &out, Err: &errOut}) }()

	get := func() string {
		for i := 0; i < 200; i++ {
			resp, err := http.Get("http://" + addr + "/v")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return string(b)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("the server never answered")
		return ""
	}
	if v := get(); v != "1" {
		t.Fatalf("first answer %q", v)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for get() != "2" {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP; log:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "SIGHUP: reloading") {
		t.Errorf("log:\n%s", errOut.String())
	}
	// The access log is flushed when Run returns.
	if !strings.Contains(out.String(), `"operation":"v"`) {
		t.Errorf("access log:\n%s", out.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
