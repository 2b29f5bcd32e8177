package auth

import (
	"fmt"

	"github.com/valyala/fasthttp"
)

// mutualTLS checks OpenAPI 3.1's mutualTLS scheme: the connection's client
// certificate, verified by the TLS handshake against gwc serve's
// --tls-client-ca. The client is the certificate's common name (else its
// first DNS name, e-mail address or URI); its subject, common name, issuer
// and serial number are the identity's claims, for transforms and limits
// ({claims.subject}, key: claim:common_name).
type mutualTLS struct{ name string }

func (m mutualTLS) Check(ctx *fasthttp.RequestCtx, _ []string, id *Identity) Result {
	st := ctx.TLSConnectionState()
	if st == nil || len(st.PeerCertificates) == 0 {
		return Missing
	}
	if len(st.VerifiedChains) == 0 {
		return Invalid // presented, not verified (the handshake refuses that already)
	}
	c := st.PeerCertificates[0]
	client := c.Subject.CommonName
	switch {
	case client != "":
	case len(c.DNSNames) > 0:
		client = c.DNSNames[0]
	case len(c.EmailAddresses) > 0:
		client = c.EmailAddresses[0]
	case len(c.URIs) > 0:
		client = c.URIs[0].String()
	}
	id.Client = client
	id.Claims = Claims{"subject": c.Subject.String(), "common_name": c.Subject.CommonName,
		"issuer": c.Issuer.String(), "serial": fmt.Sprintf("%x", c.SerialNumber)}
	return Passed
}

// Challenge: a TLS client certificate has no WWW-Authenticate challenge of
// its own; RFC 9110 still wants one on a 401, so the scheme is named.
func (m mutualTLS) Challenge() string { return fmt.Sprintf(`MutualTLS realm="%s"`, m.name) }

func (mutualTLS) Strip(*fasthttp.Request) {}
