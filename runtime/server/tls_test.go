package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// testCA makes a CA and certificates it signs, written as PEM files.
type testCA struct {
	t    *testing.T
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gwc test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{t: t, key: key, cert: cert, pool: pool}
}

// issue writes a certificate for 127.0.0.1 named cn and its key to
// certFile and keyFile.
func (ca *testCA) issue(cn string, serial int64, certFile, keyFile string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	// Key first, then the certificate, each by rename: the reload never
	// reads a half-written pair for long.
	write := func(path, typ string, der []byte) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			ca.t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			ca.t.Fatal(err)
		}
	}
	write(keyFile, "EC PRIVATE KEY", kder)
	write(certFile, "CERTIFICATE", der)
}

func TestTLS(t *testing.T) {
	certReloadEvery = 50 * time.Millisecond
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca := newTestCA(t)
	ca.issue("first", 2, certFile, keyFile)
	up := newUpstream(t, nil)
	ts := startServerWith(t, staticLoad(testBundle(up.URL)), func(o *Options) { o.TLSCert, o.TLSKey = certFile, keyFile })

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool},
		DisableKeepAlives: true}}
	base := strings.Replace(ts.base, "http://", "https://", 1)
	served := func() (string, *http.Response) {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), "GET", base+"/api/items", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].Subject.CommonName, resp
	}
	cn, resp := served()
	if cn != "first" || resp.StatusCode != 200 {
		t.Fatalf("served %q, status %d", cn, resp.StatusCode)
	}
	if got := up.last(t).Header.Get("X-Forwarded-Proto"); got != "https" {
		t.Errorf("X-Forwarded-Proto %q", got)
	}
	// Plain HTTP on the TLS port is not served.
	if resp, err := http.Get(ts.base + "/api/items"); err == nil && resp.StatusCode == 200 {
		resp.Body.Close()
		t.Error("plain HTTP served on the TLS listener")
	}

	// The certificate is renewed on disk: the next connections get it.
	ca.issue("second", 3, certFile, keyFile)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if cn, _ := served(); cn == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not served")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A broken pair at start is an error naming the files.
	os.WriteFile(filepath.Join(dir, "bad.pem"), []byte("not pem"), 0o600) //nolint:errcheck
	_, err := New(context.Background(), Options{Listen: "127.0.0.1:0", Load: staticLoad(testBundle(up.URL)),
		TLSCert: filepath.Join(dir, "bad.pem"), TLSKey: keyFile})
	if err == nil || !strings.Contains(err.Error(), "bad.pem") {
		t.Errorf("bad certificate: %v", err)
	}
}

// issueClient makes a client certificate named cn, signed by ca.
func (ca *testCA) issueClient(cn string) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: cn, Organization: []string{"Acme"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestMutualTLS: the mutualTLS scheme passes a client whose certificate the
// client CA signed, names it by its common name, and refuses one without a
// certificate (401); a certificate from another CA fails the handshake.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "clients.pem")
	serverCA, clientCA, otherCA := newTestCA(t), newTestCA(t), newTestCA(t)
	serverCA.issue("gateway", 2, certFile, keyFile)
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientCA.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t, nil)
	b := testBundle(up.URL)
	b.SecuritySchemes = append(b.SecuritySchemes, bundle.SecurityScheme{Name: "mtls", Type: "mutualTLS"})
	addOp(b, bundle.Operation{ID: "machine", Method: "GET", Path: "/machine", Policy: bundle.Policy{Upstream: "main",
		Headers: &bundle.Headers{Request: &bundle.HeaderOps{Set: []bundle.HeaderValue{{Name: "X-Client-Subject", Value: "{claims.subject}"}}}}},
		Security: []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "mtls"}}}}})
	ts := startServerWith(t, staticLoad(b), func(o *Options) { o.TLSCert, o.TLSKey, o.TLSClientCA = certFile, keyFile, caFile })
	base := strings.Replace(ts.base, "http://", "https://", 1)
	callPath := func(path string, certs ...tls.Certificate) (*http.Response, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: serverCA.pool, Certificates: certs}}}
		req, _ := http.NewRequestWithContext(context.Background(), "GET", base+path, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	call := func(certs ...tls.Certificate) (*http.Response, error) { return callPath("/api/machine", certs...) }
	resp, err := call(clientCA.issueClient("billing-worker"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("client certificate: %v %v", resp, err)
	}
	if got := up.last(t).Header.Get("X-Client-Subject"); got != "CN=billing-worker,O=Acme" {
		t.Errorf("subject to the upstream %q", got)
	}
	if resp, err := call(); err != nil || resp.StatusCode != 401 {
		t.Errorf("no certificate: %v %v", resp, err)
	}
	if _, err := call(otherCA.issueClient("intruder")); err == nil {
		t.Error("a certificate from another CA was accepted")
	}
	// Public operations serve clients without a certificate.
	if resp, err := callPath("/api/items"); err != nil || resp.StatusCode != 200 {
		t.Errorf("public operation: %v %v", resp, err)
	}
}

// TestHTTP2 serves HTTP/2 over TLS (ALPN) through the same gateway: routing,
// validation of a body, the upstream with X-Forwarded-Proto https, a large
// answer streamed, client certificates; HTTP/1.1 clients on the same port.
func TestHTTP2(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "clients.pem")
	serverCA, clientCA := newTestCA(t), newTestCA(t)
	serverCA.issue("gateway", 2, certFile, keyFile)
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientCA.cert.Raw}), 0o600) //nolint:errcheck
	big := strings.Repeat("x", 3<<20)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/upload" {
			w.Write([]byte(big)) //nolint:errcheck
			return
		}
		w.Header().Set("X-Proto", r.Header.Get("X-Forwarded-Proto"))
		w.Write([]byte("ok")) //nolint:errcheck
	})
	b := testBundle(up.URL)
	b.SecuritySchemes = append(b.SecuritySchemes, bundle.SecurityScheme{Name: "mtls", Type: "mutualTLS"})
	addOp(b, bundle.Operation{ID: "machine", Method: "GET", Path: "/machine", Policy: bundle.Policy{Upstream: "main"},
		Security: []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "mtls"}}}}})
	ts := startServerWith(t, staticLoad(b), func(o *Options) { o.TLSCert, o.TLSKey, o.TLSClientCA = certFile, keyFile, caFile })
	base := strings.Replace(ts.base, "http://", "https://", 1)
	client := func(h2 bool, certs ...tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: serverCA.pool, Certificates: certs}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: tr}
	}
	send := func(c *http.Client, method, path, body string, hdr ...string) (*http.Response, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequestWithContext(context.Background(), method, base+path, rd)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp, string(data)
	}
	h2 := client(true)
	resp, body := send(h2, "GET", "/api/items", "")
	if resp.Proto != "HTTP/2.0" || resp.StatusCode != 200 || body != "ok" || resp.Header.Get("X-Proto") != "https" {
		t.Fatalf("h2 GET: %s %d %q %v", resp.Proto, resp.StatusCode, body, resp.Header)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id over HTTP/2")
	}
	resp, body = send(h2, "POST", "/api/items", `{"name":7}`, "Content-Type", "application/json")
	if resp.StatusCode != 400 || !strings.Contains(body, `"/body/name"`) {
		t.Errorf("h2 invalid body: %d %s", resp.StatusCode, body)
	}
	resp, body = send(h2, "POST", "/api/items", `{"name":"lamp"}`, "Content-Type", "application/json")
	if resp.StatusCode != 200 {
		t.Errorf("h2 valid body: %d %s", resp.StatusCode, body)
	}
	resp, body = send(h2, "POST", "/api/upload", "data")
	if resp.StatusCode != 200 || len(body) != len(big) {
		t.Errorf("h2 large answer: %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp, _ := send(h2, "GET", "/api/nothing", ""); resp.StatusCode != 404 {
		t.Errorf("h2 404: %d", resp.StatusCode)
	}
	// Client certificates over HTTP/2.
	if resp, _ := send(client(true, clientCA.issueClient("worker")), "GET", "/api/machine", ""); resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
		t.Errorf("h2 mutualTLS: %s %d", resp.Proto, resp.StatusCode)
	}
	if resp, _ := send(h2, "GET", "/api/machine", ""); resp.StatusCode != 401 {
		t.Errorf("h2 without a certificate: %d", resp.StatusCode)
	}
	// HTTP/1.1 on the same port.
	if resp, body := send(client(false), "GET", "/api/items", ""); resp.Proto != "HTTP/1.1" || resp.StatusCode != 200 || body != "ok" {
		t.Errorf("HTTP/1.1 over TLS: %s %d %q", resp.Proto, resp.StatusCode, body)
	}
	// The head limit holds on HTTP/2 as on HTTP/1.1 (16 KiB by default):
	// a larger header list is refused, not served.
	req, _ := http.NewRequest("GET", base+"/api/items", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	if resp, err := h2.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("h2 with a 64 KiB header: %d", resp.StatusCode)
		}
	}
}

// TestHTTP2Drain: on shutdown an HTTP/2 request in flight finishes.
func TestHTTP2Drain(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca := newTestCA(t)
	ca.issue("gateway", 2, certFile, keyFile)
	started := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("done")) //nolint:errcheck
	})
	ts := startServerWith(t, staticLoad(testBundle(up.URL)), func(o *Options) { o.TLSCert, o.TLSKey = certFile, keyFile })
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}, ForceAttemptHTTP2: true}}
	type answer struct {
		proto, body string
		err         error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := c.Get(strings.Replace(ts.base, "http://", "https://", 1) + "/api/items")
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- answer{resp.Proto, string(b), err}
	}()
	<-started
	ts.stop(t)
	a := <-got
	if a.err != nil || a.proto != "HTTP/2.0" || a.body != "done" {
		t.Errorf("in flight at shutdown: %+v", a)
	}
}

// TestTLSFraming: over TLS (the goroutine engine, after ALPN) the framing
// refusals hold as on plain HTTP/1.1: a smuggling attempt is refused and
// the connection closed, nothing reaching the upstream.
func TestTLSFraming(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca := newTestCA(t)
	ca.issue("gateway", 2, certFile, keyFile)
	up := newUpstream(t, nil)
	ts := startServerWith(t, staticLoad(testBundle(up.URL)), func(o *Options) { o.TLSCert, o.TLSKey = certFile, keyFile })
	hidden := "GET /hidden HTTP/1.1\r\nHost: h\r\n\r\n"
	for name, req := range map[string]string{
		"bare LF":   "GET /api/items HTTP/1.1\nHost: h\n\n" + fmt.Sprintf("POST /api/upload HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", len(hidden), hidden),
		"CL and TE": "POST /api/upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden,
	} {
		c, err := tls.Dial("tcp", ts.Addr().String(), &tls.Config{RootCAs: ca.pool, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, req)                             //nolint:errcheck
		c.SetReadDeadline(time.Now().Add(3 * time.Second)) //nolint:errcheck
		out, _ := io.ReadAll(c)
		c.Close()
		if !strings.HasPrefix(string(out), "HTTP/1.1 400 ") || strings.Count(string(out), "HTTP/1.1 ") != 1 {
			t.Errorf("%s over TLS: %.120q", name, out)
		}
	}
	if n := up.count(); n != 0 {
		t.Errorf("the upstream got %d requests: %v", n, up.since(0))
	}
}
