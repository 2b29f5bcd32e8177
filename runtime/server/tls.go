package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/gwcdev/gwc/runtime/proxy"
)

// certReloadEvery is how often the certificate files are checked for a
// change (a renewal by certbot or cert-manager).
var certReloadEvery = 2 * time.Second

// certSource holds the serving certificate and reloads it when its files
// change; a pair that fails to load keeps the current one.
type certSource struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
	stamp             string // the files' sizes and times when loaded
	log               *slog.Logger
}

func newCertSource(certFile, keyFile string, log *slog.Logger) (*certSource, error) {
	c := &certSource{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certSource) fileStamp() string {
	var s string
	for _, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d:%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return s
}

func (c *certSource) load() error {
	stamp := c.fileStamp()
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert %s / --tls-key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&pair)
	c.stamp = stamp
	return nil
}

// watch reloads the pair when its files change, until ctx ends.
func (c *certSource) watch(ctx context.Context) {
	t := time.NewTicker(certReloadEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.fileStamp() == c.stamp {
			continue
		}
		if err := c.load(); err != nil {
			c.log.Error("reloading the TLS certificate failed; serving the previous one", "error", err)
			c.stamp = c.fileStamp() // retried when the files change again
			continue
		}
		c.log.Info("TLS certificate reloaded", "cert", c.certFile)
	}
}

// tlsConfig is the public listener's TLS: TLS 1.2 and later, the current
// certificate, and client certificates checked against clientCA when given
// (asked for, not required: operations without mutualTLS serve clients
// without one).
func tlsConfig(c *certSource, clientCA string) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"}, // ALPN: h2 to x/net/http2, the rest to the goroutine engine
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cert.Load(), nil },
	}
	if clientCA != "" {
		pool, err := proxy.CertPool(clientCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}
