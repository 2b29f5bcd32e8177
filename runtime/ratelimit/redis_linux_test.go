package ratelimit

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/ratelimit/redistest"
)

// A blackholed host: connection attempts are never answered. On loopback, a
// listener that never accepts, with its accept queue full, drops the SYNs
// of further connections (Linux), so every dial runs to its timeout.
func TestRedisBlackholedFailsFast(t *testing.T) {
	rs := redistest.New(t)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeFd := func() {
		if !closed {
			syscall.Close(fd) //nolint:errcheck
			closed = true
		}
	}
	t.Cleanup(closeFd)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: rs.Port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	// Fill the accept queue (one connection with a backlog of 0).
	var filled []net.Conn
	for {
		c, err := net.DialTimeout("tcp", rs.Addr(), 100*time.Millisecond)
		if err != nil {
			break
		}
		filled = append(filled, c)
		if len(filled) > 16 {
			t.Skip("the accept queue does not fill: no blackhole on this system")
		}
	}
	s := newRedis(t, rs.URL())
	checkFailsFast(t, s)
	closeFd()
	for _, c := range filled {
		c.Close()
	}
	rs.Start()
	checkRecovers(t, s)
}
