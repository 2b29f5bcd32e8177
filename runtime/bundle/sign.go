package bundle

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// LoadPrivateKey reads an ed25519 private key from a PEM file holding a
// PKCS#8 "PRIVATE KEY" block, as `openssl genpkey -algorithm ed25519`
// writes.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKCS#8 private key: %w", path, err)
	}
	k, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: is a %T private key; bundles are signed with ed25519 (openssl genpkey -algorithm ed25519)", path, key)
	}
	return k, nil
}

// LoadPublicKey reads an ed25519 public key from a PEM file holding a PKIX
// "PUBLIC KEY" block, as `openssl pkey -pubout` writes.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKIX public key: %w", path, err)
	}
	k, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: is a %T public key; bundles are verified with ed25519", path, key)
	}
	return k, nil
}

func readPEM(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block found; want a %q PEM file", path, typ)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("%s: PEM block is %q, want %q", path, block.Type, typ)
	}
	return block.Bytes, nil
}
