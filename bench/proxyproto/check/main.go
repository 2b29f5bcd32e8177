// Command check runs HTTP/1.1 correctness checks against proxy candidates: the reason the engine of gwc serve
// is not simply the fastest one (docs/runtime-engine.md). It starts its own upstream, starts each candidate in
// front of it, sends hand-written requests over raw TCP and prints a table of what each candidate did.
//
//	go run ./bench/proxyproto/check                   # builds and checks gwc and the prototypes of bench/proxyproto
//	go run ./bench/proxyproto/check 'name=command'    # as bench/proxy.sh: $PORT and $UPSTREAM in the environment
//
// It exits 0 whatever the verdicts: some candidates are expected to fail some checks, and the table is the result.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type result struct {
	pass bool
	note string
}

type check struct {
	name string
	run  func(px *proxy, up *upstream) result
}

var checks = []check{
	{"CL + TE: chunked", checkCLTE},
	{"duplicate conflicting Content-Length", checkDupCL},
	{"obs-fold header line", checkObsFold},
	{"invalid header name", checkBadName},
	{"hop-by-hop stripped, X-Forwarded-* set", checkHop},
	{"50 MB chunked request body streamed", checkBigRequest},
	{"50 MB response body streamed", checkBigResponse},
	{"slow chunked response incremental", checkSlow},
	{"HTTP/1.0 client", checkHTTP10},
	{"Expect: 100-continue", checkExpect},
	{"Connection: close honoured", checkConnClose},
}

func main() {
	tmp, err := os.MkdirTemp("", "gwc-proxycheck")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	cands := os.Args[1:]
	if len(cands) == 0 {
		for _, p := range []string{"bench/proxyproto/nethttp", "bench/proxyproto/fasthttp", "cmd/gwc", "cmd/gwc-serve"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(tmp, filepath.Base(p)), "./"+p).CombinedOutput()
			if err != nil {
				fatal(fmt.Errorf("building %s: %v\n%s", p, err, out))
			}
		}
		// gwc serves bench/testdata/check.yaml, built for the check's upstream, which every check restarts.
		gwc := fmt.Sprintf("bash -c 'sed \"s/UPSTREAM_ADDR/$UPSTREAM/\" bench/testdata/check.yaml >%[1]s/check-$PORT.yaml && "+
			"%[1]s/gwc build %[1]s/check-$PORT.yaml -o %[1]s/check-$PORT.gwb 2>/dev/null && "+
			"exec %[1]s/gwc-serve %[1]s/check-$PORT.gwb --listen 127.0.0.1:$PORT --admin off'", tmp)
		cands = []string{
			"gwc=" + gwc,
			"go-stock=" + tmp + "/nethttp -mode stock -listen 127.0.0.1:$PORT -upstream $UPSTREAM",
			"go-raw=" + tmp + "/nethttp -mode raw -listen 127.0.0.1:$PORT -upstream $UPSTREAM",
			"fasthttp=" + tmp + "/fasthttp -listen 127.0.0.1:$PORT -upstream $UPSTREAM",
		}
	}
	up := startUpstream()
	table := make([][]result, len(cands))
	var names []string
	for i, c := range cands {
		name, cmd, ok := strings.Cut(c, "=")
		if !ok {
			fatal(fmt.Errorf("candidate %q is not name=command", c))
		}
		names = append(names, name)
		for _, ch := range checks {
			// A fresh process per check, so that one check's peak RSS or broken state does not leak into the next.
			px := startProxy(cmd, up.addr)
			r := ch.run(px, up)
			px.stop()
			table[i] = append(table[i], r)
			fmt.Fprintf(os.Stderr, "%-10s %-40s %v %s\n", name, ch.name, verdict(r), r.note)
		}
	}
	fmt.Printf("| check | %s |\n|---|", strings.Join(names, " | "))
	for range names {
		fmt.Print("---|")
	}
	fmt.Println()
	for j, ch := range checks {
		fmt.Printf("| %s |", ch.name)
		for i := range names {
			r := table[i][j]
			fmt.Printf(" %s %s |", verdict(r), r.note)
		}
		fmt.Println()
	}
}

func verdict(r result) string {
	if r.pass {
		return "pass:"
	}
	return "FAIL:"
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "check:", err)
	os.Exit(1)
}

// upstream records what reached it, so a check can tell "refused by the proxy" from "forwarded".
type upstream struct {
	addr string
	mu   sync.Mutex
	seen []string    // "METHOD path" of every request received
	last http.Header // headers of the last /echo request
	body int64       // bytes of the last /sink body
}

func (u *upstream) reset() {
	u.mu.Lock()
	u.seen, u.last, u.body = nil, nil, 0
	u.mu.Unlock()
}

func (u *upstream) snapshot() ([]string, http.Header, int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...), u.last, u.body
}

func startUpstream() *upstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	u := &upstream{addr: ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, r.Method+" "+r.URL.Path)
		if r.URL.Path == "/echo" {
			u.last = r.Header.Clone()
			// net/http takes the framing headers out of Header: record how the body came.
			u.last.Set("X-Got-Framing", fmt.Sprintf("len %d te %q", r.ContentLength, r.TransferEncoding))
		}
		u.body = n
		u.mu.Unlock()
		switch r.URL.Path {
		case "/slow":
			fl := w.(http.Flusher)
			for i := 0; i < 5; i++ {
				fmt.Fprintf(w, "chunk %d\n", i)
				fl.Flush()
				time.Sleep(100 * time.Millisecond)
			}
		case "/big":
			w.Header().Set("Content-Length", strconv.Itoa(50<<20))
			buf := make([]byte, 64<<10)
			for i := 0; i < (50<<20)/len(buf); i++ {
				if _, err := w.Write(buf); err != nil {
					return
				}
			}
		default:
			fmt.Fprintf(w, "%d\n", n)
		}
	})
	go http.Serve(ln, mux)
	return u
}

type proxy struct {
	addr string
	cmd  *exec.Cmd
}

func startProxy(command, upAddr string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("bash", "-c", "exec "+command)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "UPSTREAM="+upAddr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	px := &proxy{addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", px.addr); err == nil {
			c.Close()
			return px
		}
		time.Sleep(50 * time.Millisecond)
	}
	px.stop()
	fatal(fmt.Errorf("%s did not start listening", command))
	return nil
}

func (p *proxy) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// peakRSS is the proxy's VmHWM in MiB: the most memory it ever held.
func (p *proxy) peakRSS() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return kb / 1024
		}
	}
	return -1
}

// exchange writes raw bytes and reads one response (a 1xx one included); the connection stays open.
func exchange(px *proxy, raw string) (*http.Response, net.Conn, *bufio.Reader, error) {
	c, err := net.Dial("tcp", px.addr)
	if err != nil {
		return nil, nil, nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	return resp, c, br, nil
}

// closedAfter reports whether the server closes the connection once the response body has been read.
func closedAfter(resp *http.Response, c net.Conn, br *bufio.Reader) bool {
	io.Copy(io.Discard, resp.Body)
	c.SetReadDeadline(time.Now().Add(1 * time.Second))
	_, err := br.ReadByte()
	// EOF or a reset both mean closed; only a time-out means the server kept the connection.
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// refused runs a request that a strict HTTP/1.1 server must reject with 400 and must not forward.
// A pipelined GET /after follows the request: a server that goes on reading a connection after a framing error
// may take the rest of the bad request, or what follows it, for a new request.
func refused(px *proxy, up *upstream, raw string) result {
	up.reset()
	resp, c, br, err := exchange(px, raw+"GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	seen, last, _ := up.snapshot()
	if err != nil {
		if len(seen) == 0 {
			return result{true, "connection dropped, not forwarded"}
		}
		return result{false, fmt.Sprintf("forwarded %v, then %v", seen, err)}
	}
	defer c.Close()
	closed := closedAfter(resp, c, br)
	note := fmt.Sprintf("%d", resp.StatusCode)
	if len(seen) > 0 {
		note += fmt.Sprintf(", forwarded %v", seen)
		if last != nil {
			note += " (" + last.Get("X-Got-Framing") + ")"
		}
	} else {
		note += ", not forwarded"
	}
	if closed {
		note += ", conn closed"
	} else {
		note += ", conn kept open"
	}
	return result{resp.StatusCode == 400 && len(seen) == 0, note}
}

func checkCLTE(px *proxy, up *upstream) result {
	body := "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
	return refused(px, up, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: "+strconv.Itoa(len(body))+
		"\r\nTransfer-Encoding: chunked\r\n\r\n"+body)
}

func checkDupCL(px *proxy, up *upstream) result {
	return refused(px, up, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
}

func checkObsFold(px *proxy, up *upstream) result {
	r := refused(px, up, "GET /echo HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\n\r\n")
	if !r.pass {
		// RFC 9112 §5.2 also allows replacing the fold with spaces before forwarding.
		_, last, _ := up.snapshot()
		if last != nil && !strings.ContainsAny(last.Get("X-Fold"), "\r\n") && strings.Contains(r.note, "200") {
			return result{true, r.note + fmt.Sprintf(", unfolded to %q", last.Get("X-Fold"))}
		}
	}
	return r
}

func checkBadName(px *proxy, up *upstream) result {
	return refused(px, up, "GET /echo HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n")
}

func checkHop(px *proxy, up *upstream) result {
	up.reset()
	resp, c, _, err := exchange(px, "GET /echo HTTP/1.1\r\nHost: api.example\r\nConnection: keep-alive, X-Hop\r\n"+
		"X-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\nUpgrade: foo\r\n"+
		"X-Forwarded-For: 10.0.0.1\r\nX-Keep: yes\r\n\r\n")
	if err != nil {
		return result{false, err.Error()}
	}
	c.Close()
	_, h, _ := up.snapshot()
	if h == nil || resp.StatusCode != 200 {
		return result{false, fmt.Sprintf("status %d", resp.StatusCode)}
	}
	var bad []string
	note := "ok"
	for _, k := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Authorization", "Te", "Upgrade"} {
		if _, ok := h[k]; ok {
			bad = append(bad, k+" forwarded")
		}
	}
	if h.Get("X-Keep") != "yes" {
		bad = append(bad, "X-Keep lost")
	}
	// Appending to what the client claimed (nginx's $proxy_add_x_forwarded_for) and replacing it when the client
	// is not a trusted proxy (gwc, Traefik) both end with the peer; anything else is wrong.
	xff := strings.Join(h.Values("X-Forwarded-For"), ",")
	switch xff {
	case "10.0.0.1, 127.0.0.1":
	case "127.0.0.1":
		note = "untrusted X-Forwarded-For replaced"
	default:
		bad = append(bad, fmt.Sprintf("X-Forwarded-For %q", xff))
	}
	if h.Get("X-Forwarded-Proto") != "http" || h.Get("X-Forwarded-Host") != "api.example" {
		bad = append(bad, fmt.Sprintf("X-Forwarded-Proto %q Host %q", h.Get("X-Forwarded-Proto"), h.Get("X-Forwarded-Host")))
	}
	if len(bad) > 0 {
		return result{false, strings.Join(bad, ", ")}
	}
	return result{true, note}
}

// zeros is an endless reader of zero bytes, sent slowly enough that a buffering proxy would show it in RSS.
type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.left {
		p = p[:z.left]
	}
	clear(p)
	z.left -= int64(len(p))
	return len(p), nil
}

func checkBigRequest(px *proxy, up *upstream) result {
	up.reset()
	const size = 50 << 20
	req, _ := http.NewRequest("POST", "http://"+px.addr+"/sink", io.NopCloser(&zeros{left: size}))
	req.ContentLength = -1 // sent chunked
	cl := &http.Client{Timeout: 30 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		return result{false, err.Error()}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_, _, got := up.snapshot()
	rss := px.peakRSS()
	note := fmt.Sprintf("status %d, upstream got %d MiB, proxy peak RSS %d MiB", resp.StatusCode, got>>20, rss)
	return result{resp.StatusCode == 200 && got == size && rss < 40, note}
}

func checkBigResponse(px *proxy, up *upstream) result {
	resp, err := http.Get("http://" + px.addr + "/big")
	if err != nil {
		return result{false, err.Error()}
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	rss := px.peakRSS()
	return result{resp.StatusCode == 200 && n == 50<<20 && rss < 40,
		fmt.Sprintf("status %d, client got %d MiB, proxy peak RSS %d MiB", resp.StatusCode, n>>20, rss)}
}

func checkSlow(px *proxy, up *upstream) result {
	start := time.Now()
	resp, c, _, err := exchange(px, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	if err != nil {
		return result{false, err.Error()}
	}
	defer c.Close()
	var first time.Duration
	buf := make([]byte, 64)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 && first == 0 {
			first = time.Since(start)
		}
		if err != nil {
			break
		}
	}
	total := time.Since(start)
	note := fmt.Sprintf("first chunk after %d ms, last after %d ms", first.Milliseconds(), total.Milliseconds())
	return result{first > 0 && first < 250*time.Millisecond && total >= 400*time.Millisecond, note}
}

func checkHTTP10(px *proxy, up *upstream) result {
	resp, c, br, err := exchange(px, "GET /echo HTTP/1.0\r\n\r\n")
	if err != nil {
		return result{false, err.Error()}
	}
	defer c.Close()
	closed := closedAfter(resp, c, br)
	note := fmt.Sprintf("%d %s, closed after: %v", resp.StatusCode, resp.Proto, closed)
	return result{resp.StatusCode == 200 && closed, note}
}

func checkExpect(px *proxy, up *upstream) result {
	up.reset()
	resp, c, br, err := exchange(px, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	got100 := err == nil && resp.StatusCode == 100
	extra1xx := 0
	if err != nil {
		// No interim response within the deadline: send the body anyway, as curl does after a second.
		c2, err2 := net.Dial("tcp", px.addr)
		if err2 != nil {
			return result{false, err2.Error()}
		}
		c = c2
		br = bufio.NewReader(c)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		time.Sleep(time.Second)
	}
	defer c.Close()
	io.WriteString(c, "hello")
	if got100 || err != nil {
		// More than one 1xx is allowed (RFC 9110 §15.2): a proxy may pass the upstream's own 100 on.
		for {
			resp, err = http.ReadResponse(br, nil)
			if err != nil {
				return result{false, "no final response: " + err.Error()}
			}
			if resp.StatusCode >= 200 {
				break
			}
			extra1xx++
		}
	}
	b, _ := io.ReadAll(resp.Body)
	_, _, n := up.snapshot()
	note := fmt.Sprintf("100 Continue: %v, final %d, upstream got %d bytes", got100, resp.StatusCode, n)
	if extra1xx > 0 {
		note += fmt.Sprintf(", %d more 1xx before it", extra1xx)
	}
	_ = b
	return result{got100 && resp.StatusCode == 200 && n == 5, note}
}

func checkConnClose(px *proxy, up *upstream) result {
	up.reset()
	resp, c, br, err := exchange(px, "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if err != nil {
		return result{false, err.Error()}
	}
	defer c.Close()
	closed := closedAfter(resp, c, br)
	_, h, _ := up.snapshot()
	upClose := h != nil && h.Get("Connection") != ""
	note := fmt.Sprintf("%d, response Connection %q, closed after: %v, Connection forwarded upstream: %v",
		resp.StatusCode, resp.Header.Get("Connection"), closed, upClose)
	return result{resp.StatusCode == 200 && closed && !upClose, note}
}
