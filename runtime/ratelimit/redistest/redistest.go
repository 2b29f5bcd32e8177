// Package redistest runs a real redis-server on a free loopback port for
// tests of the Redis stores (runtime/ratelimit, runtime/cache). A server can
// be stopped and started again on the same port; it is stopped when the test
// ends, and a machine without redis-server skips the test.
package redistest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Server is a redis-server on 127.0.0.1:Port.
type Server struct {
	Port int

	tb  testing.TB
	dir string
	cmd *exec.Cmd
}

// New reserves a free port for a server without starting it (Start does),
// so that a test may put something else on the port first.
func New(tb testing.TB) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Skip("redis-server is not installed (scripts/test.sh installs Debian's redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Port: ln.Addr().(*net.TCPAddr).Port, tb: tb, dir: tb.TempDir()}
	ln.Close()
	tb.Cleanup(s.Stop)
	return s
}

// Start returns a started server on a free port.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := New(tb)
	s.Start()
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is the server's redis:// URL, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Start starts the server on its port and returns once it answers PING.
// It keeps nothing from a previous run.
func (s *Server) Start() {
	s.tb.Helper()
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", s.dir)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			fmt.Fprintf(c, "PING\r\n")
			buf := make([]byte, 7)
			c.SetReadDeadline(time.Now().Add(time.Second)) //nolint:errcheck
			n, _ := io.ReadFull(c, buf)
			c.Close()
			if n == 7 && string(buf) == "+PONG\r\n" {
				return
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.tb.Fatalf("redis-server on port %d did not start", s.Port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (its port is closed once Stop returns); stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Kill) //nolint:errcheck
	s.cmd.Wait()                  //nolint:errcheck
	s.cmd = nil
}
