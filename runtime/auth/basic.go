package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// basic checks an http basic scheme against an htpasswd file of bcrypt
// entries (htpasswd -B), with golang.org/x/crypto/bcrypt.
//
// A bcrypt comparison costs tens of milliseconds by design, so a request
// per comparison would make every call slow and the gateway easy to
// exhaust: successful checks are remembered for verifiedTTL (by a digest of
// user, password and stored hash, never the password itself), and at most
// GOMAXPROCS comparisons run at once.
type basic struct {
	users map[string][]byte // user → bcrypt hash
	chall string

	mu       sync.Mutex
	verified map[[sha256.Size]byte]time.Time // digest → valid until
	slots    chan struct{}
	now      func() time.Time
}

const (
	verifiedTTL = 5 * time.Minute
	maxVerified = 10000
)

func newBasic(sc *bundle.SecurityScheme, resolve Resolver) (*basic, error) {
	data, err := resolve(sc.Htpasswd)
	if err != nil {
		return nil, fmt.Errorf("htpasswd %s: %w", sc.Htpasswd, err)
	}
	b := &basic{users: map[string][]byte{}, verified: map[[sha256.Size]byte]time.Time{},
		slots: make(chan struct{}, runtime.GOMAXPROCS(0)), now: time.Now,
		chall: fmt.Sprintf(`Basic realm="%s", charset="UTF-8"`, sc.Name)}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("htpasswd %s:%d: not USER:HASH", sc.Htpasswd, n+1)
		}
		if !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$") && !strings.HasPrefix(hash, "$2y$") {
			return nil, fmt.Errorf("htpasswd %s:%d: user %s: only bcrypt entries are accepted (htpasswd -B); MD5, SHA-1 and crypt are too weak", sc.Htpasswd, n+1, user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("htpasswd %s:%d: user %s: %v", sc.Htpasswd, n+1, user, err)
		}
		if _, dup := b.users[user]; dup {
			return nil, fmt.Errorf("htpasswd %s:%d: user %s is listed twice", sc.Htpasswd, n+1, user)
		}
		b.users[user] = []byte(hash)
	}
	if len(b.users) == 0 {
		return nil, fmt.Errorf("htpasswd %s lists no user", sc.Htpasswd)
	}
	return b, nil
}

func (b *basic) Check(ctx *fasthttp.RequestCtx, _ []string, id *Identity) Result {
	v := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(v) < 6 || !bytes.EqualFold(v[:6], []byte("basic ")) {
		return Missing
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(v[6:])))
	if err != nil {
		return Invalid
	}
	user, pass, ok := bytes.Cut(raw, []byte(":"))
	if !ok {
		return Invalid
	}
	hash, known := b.users[string(user)]
	if !known {
		// Compare anyway, so that an unknown user takes as long as a wrong
		// password.
		hash = dummyHash()
	}
	h := sha256.New()
	h.Write(user)
	h.Write([]byte{0})
	h.Write(pass)
	h.Write([]byte{0})
	h.Write(hash)
	var d [sha256.Size]byte
	h.Sum(d[:0])
	if known && b.remembered(d) {
		id.Client = string(user)
		return Passed
	}
	b.slots <- struct{}{}
	err = bcrypt.CompareHashAndPassword(hash, pass)
	<-b.slots
	if err != nil || !known {
		return Invalid
	}
	b.remember(d)
	id.Client = string(user)
	return Passed
}

// dummyHash is compared against for unknown users: a bcrypt hash of a
// random password at the default cost, made on first use.
var dummyHash = sync.OnceValue(func() []byte {
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	h, _ := bcrypt.GenerateFromPassword(pw[:], bcrypt.DefaultCost)
	return h
})

func (b *basic) remembered(d [sha256.Size]byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.verified[d]
	return ok && b.now().Before(until)
}

func (b *basic) remember(d [sha256.Size]byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if len(b.verified) >= maxVerified {
		for k, until := range b.verified {
			if !now.Before(until) {
				delete(b.verified, k)
			}
		}
		if len(b.verified) >= maxVerified {
			clear(b.verified)
		}
	}
	b.verified[d] = now.Add(verifiedTTL)
}

func (b *basic) Challenge() string { return b.chall }

func (b *basic) Strip(req *fasthttp.Request) { req.Header.Del(fasthttp.HeaderAuthorization) }
