package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// FormatMajor and FormatMinor are the version of the .gwb format this
// package writes. A reader accepts any minor of its major (a minor only adds
// optional content) and refuses any other major.
const FormatMajor, FormatMinor = 1, 0

// DefaultMaxSize is the decoded payload size Decode accepts when
// DecodeOptions.MaxSize is zero. It is far above any real bundle (the OpenAI
// spec gives a few MiB) and stops a hostile file from inflating into all of
// memory.
const DefaultMaxSize = 512 << 20

// EncodingZstdJSON names the only payload encoding of format 1: the Bundle as
// JSON, compressed as one zstd frame.
const EncodingZstdJSON = "zstd+json"

// magic starts every bundle. Like PNG's signature it detects damage done by
// text-mode tools: the high byte 0x89 catches 7-bit channels, CR LF catches
// line-ending conversion, 0x1A stops DOS `type`, and the final LF catches
// LF to CR LF conversion.
const magic = "\x89GWB\r\n\x1a\n"

// Byte layout; see docs/bundle-format.md. The preamble (magic, major, minor,
// gwc version) keeps its layout in every major, so that any gwc can say which
// format and which gwc wrote a bundle it cannot read.
const (
	offMajor    = 8
	offMinor    = 10
	offVerLen   = 12
	offVer      = 13
	encZstdJSON = 1 // payload encoding code of EncodingZstdJSON
	sigNone     = 0
	sigEd25519  = 1
	// Fields of the header body, relative to its start.
	bodyEncoding   = 0
	bodySigAlg     = 1
	bodyPayloadLen = 2
	bodyContentLen = 10
	bodyDigest     = 18
	bodySignature  = 50
	bodyLen10      = 114 // header body length in format 1.0
	maxBodyLen     = 64 << 10
	// signatureContext separates bundle signatures from any other use of a
	// signing key.
	signatureContext = "gwc bundle signature v1\x00"
)

// Header is what a bundle says about itself before its payload.
type Header struct {
	FormatMajor, FormatMinor int
	// GWCVersion is the version of the gwc that wrote the bundle.
	GWCVersion string
	// Encoding is the payload encoding, EncodingZstdJSON.
	Encoding string
	// PayloadSize is the stored (compressed) payload size and ContentSize
	// the size of the JSON it decompresses to, in bytes.
	PayloadSize, ContentSize int64
	// Digest is the SHA-256 of the stored payload.
	Digest [32]byte
	// Signed says the bundle carries an ed25519 signature; Signature holds
	// it. A signature is only checked when DecodeOptions.VerifyKey is set,
	// and Verified then reports that it was.
	Signed    bool
	Signature []byte
	Verified  bool
}

// EncodeOptions configure Encode and Marshal.
type EncodeOptions struct {
	// GWCVersion is recorded in the header (1 to 255 printable bytes).
	GWCVersion string
	// SignKey, when set, signs the bundle.
	SignKey ed25519.PrivateKey
}

// DecodeOptions configure Decode and ReadFile.
type DecodeOptions struct {
	// VerifyKey, when set, makes an unsigned or wrongly signed bundle an
	// error.
	VerifyKey ed25519.PublicKey
	// MaxSize bounds the decompressed payload in bytes; 0 means
	// DefaultMaxSize.
	MaxSize int64
}

// Errors Decode returns wrap one of these, so that callers can tell the
// kinds apart with errors.Is; the messages themselves say what to do.
var (
	ErrNotBundle         = errors.New("not a gwc bundle")
	ErrUnsupportedFormat = errors.New("bundle format not supported")
	ErrTruncated         = errors.New("truncated bundle")
	ErrCorrupt           = errors.New("corrupt bundle")
	ErrSignature         = errors.New("bundle signature check failed")
	ErrTooLarge          = errors.New("bundle too large")
	ErrInvalid           = errors.New("invalid bundle")
)

// decodeError is an error of a kind (one of the Err values) with its own
// message, so the message can read naturally and still match errors.Is.
type decodeError struct {
	kind error
	msg  string
}

func (e *decodeError) Error() string        { return e.msg }
func (e *decodeError) Is(target error) bool { return target == e.kind }

func errorf(kind error, format string, args ...any) error {
	return &decodeError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// layout locates the parts of a bundle in its bytes.
type layout struct {
	body    int // start of the header body
	payload int // start of the payload
}

// Encode writes b to w as a .gwb bundle; see Marshal.
func Encode(w io.Writer, b *Bundle, opts EncodeOptions) error {
	data, err := Marshal(b, opts)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// Marshal encodes b as a .gwb bundle. It refuses a bundle that Validate
// refuses, so that it never writes a file that Decode would reject. The
// output depends only on b and opts: identical input gives identical bytes.
func Marshal(b *Bundle, opts EncodeOptions) ([]byte, error) {
	if b == nil {
		return nil, errors.New("cannot encode a nil bundle")
	}
	v := opts.GWCVersion
	if v == "" || len(v) > 255 || !printable(v) {
		return nil, fmt.Errorf("gwc version %q must be 1 to 255 printable characters", v)
	}
	if opts.SignKey != nil && len(opts.SignKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("signing key is %d bytes, want an ed25519 private key of %d", len(opts.SignKey), ed25519.PrivateKeySize)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("cannot encode an invalid bundle: %w", err)
	}
	js, err := encodeJSON(b)
	if err != nil {
		return nil, err
	}
	payload, err := compress(js)
	if err != nil {
		return nil, err
	}

	start := offVer + len(v) + 4
	out := make([]byte, start+bodyLen10, start+bodyLen10+len(payload))
	copy(out, magic)
	binary.BigEndian.PutUint16(out[offMajor:], FormatMajor)
	binary.BigEndian.PutUint16(out[offMinor:], FormatMinor)
	out[offVerLen] = byte(len(v))
	copy(out[offVer:], v)
	binary.BigEndian.PutUint32(out[offVer+len(v):], bodyLen10)
	body := out[start:]
	body[bodyEncoding] = encZstdJSON
	binary.BigEndian.PutUint64(body[bodyPayloadLen:], uint64(len(payload)))
	binary.BigEndian.PutUint64(body[bodyContentLen:], uint64(len(js)))
	digest := sha256.Sum256(payload)
	copy(body[bodyDigest:], digest[:])
	if opts.SignKey != nil {
		body[bodySigAlg] = sigEd25519
		// The signature field is still zero here, as signedMessage expects.
		sig := ed25519.Sign(opts.SignKey, signedMessage(out, layout{body: start, payload: len(out)}))
		copy(body[bodySignature:], sig)
	}
	return append(out, payload...), nil
}

// encodeJSON writes b as JSON: struct fields in declaration order, map keys
// sorted, and raw schemas and examples compacted by encoding/json, so equal
// bundles give equal bytes.
func encodeJSON(b *Bundle) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, fmt.Errorf("encoding bundle: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// compress compresses with fixed options and one goroutine: the encoder's
// output then depends only on its input (and on the zstd library version,
// which the gwc binary pins).
func compress(js []byte) ([]byte, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderCRC(true),
	)
	if err != nil {
		return nil, fmt.Errorf("compressing bundle: %w", err)
	}
	defer enc.Close()
	return enc.EncodeAll(js, nil), nil
}

// signedMessage is what the signature signs: a context string, then every
// header byte except the signature field. The header holds the payload's
// digest, so the signature covers the payload as well.
func signedMessage(data []byte, l layout) []byte {
	sig := l.body + bodySignature
	msg := make([]byte, 0, len(signatureContext)+l.payload-ed25519.SignatureSize)
	msg = append(msg, signatureContext...)
	msg = append(msg, data[:sig]...)
	return append(msg, data[sig+ed25519.SignatureSize:l.payload]...)
}

// ReadHeader reads a bundle's header and checks that the file is whole,
// without checking the digest or decoding the payload.
func ReadHeader(data []byte) (*Header, error) {
	h, _, err := parseHeader(data)
	return h, err
}

// ReadFile reads and decodes the bundle at path; see Decode.
func ReadFile(path string, opts DecodeOptions) (*Bundle, *Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	// A stored payload is smaller than the JSON it holds (zstd adds a few
	// bytes at worst), so a file much larger than MaxSize cannot be valid:
	// do not read it all into memory to find out.
	limit := min(maxSize(opts), 1<<62) + offVer + 255 + 4 + maxBodyLen + 1<<16
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading bundle %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, nil, errorf(ErrTooLarge, "%s: bundle file is over %d bytes, more than the decode limit allows (raise it if the bundle is genuine)", path, limit)
	}
	b, h, err := Decode(data, opts)
	if err != nil {
		return nil, h, fmt.Errorf("%s: %w", path, err)
	}
	return b, h, nil
}

func maxSize(opts DecodeOptions) int64 {
	if opts.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return opts.MaxSize
}

// Decode decodes a .gwb bundle. It checks, in order: the magic bytes, the
// format version, that the file is whole, the payload's SHA-256, the
// signature when opts.VerifyKey is set, the decompressed size against
// opts.MaxSize, the payload JSON, and finally Validate. The header is
// returned whenever it could be read, even with an error.
//
// Unknown JSON fields are refused in a bundle of this package's minor or an
// older one (they mean the bundle was not written by gwc) and ignored in a
// bundle of a newer minor, which may add optional fields.
func Decode(data []byte, opts DecodeOptions) (*Bundle, *Header, error) {
	h, l, err := parseHeader(data)
	if err != nil {
		return nil, h, err
	}
	payload := data[l.payload:]
	if sum := sha256.Sum256(payload); sum != h.Digest {
		return nil, h, errorf(ErrCorrupt, "corrupt bundle: SHA-256 mismatch (header says %x, payload is %x): the file was damaged or changed after it was built; rebuild it with `gwc build`", h.Digest[:8], sum[:8])
	}
	if opts.VerifyKey != nil {
		if err := verify(data, l, h, opts.VerifyKey); err != nil {
			return nil, h, err
		}
		h.Verified = true
	}
	limit := maxSize(opts)
	if h.ContentSize > limit {
		return nil, h, errorf(ErrTooLarge, "bundle payload decompresses to %d bytes, over the limit of %d: refusing it (raise the limit if the bundle is genuine)", h.ContentSize, limit)
	}
	js, err := decompress(payload, h.ContentSize)
	if err != nil {
		return nil, h, err
	}
	b, err := decodeJSON(js, h.FormatMinor > FormatMinor)
	if err != nil {
		return nil, h, err
	}
	if err := b.validate(true); err != nil {
		return nil, h, errorf(ErrInvalid, "invalid bundle: %v", err)
	}
	return b, h, nil
}

func verify(data []byte, l layout, h *Header, key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("verify key is %d bytes, want an ed25519 public key of %d", len(key), ed25519.PublicKeySize)
	}
	if !h.Signed {
		return errorf(ErrSignature, "bundle is not signed, but a verify key was given: sign it with `gwc build --sign-key`")
	}
	if !ed25519.Verify(key, signedMessage(data, l), h.Signature) {
		return errorf(ErrSignature, "bundle signature does not match the verify key: the bundle was signed with another key or changed after signing")
	}
	return nil
}

// decompress inflates the payload, refusing output larger or smaller than
// the header declared; the declared size is already within MaxSize.
func decompress(payload []byte, size int64) ([]byte, error) {
	if size < 2 { // the smallest JSON object, "{}"
		return nil, errorf(ErrCorrupt, "corrupt bundle: header declares a %d-byte payload", size)
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		// Bounds both the output and the window the frame may ask for.
		// Windows are at least 1 KiB and small frames may declare more than
		// they use, hence the floor; the exact size is checked below.
		zstd.WithDecoderMaxMemory(uint64(max(size, 1<<20))),
	)
	if err != nil {
		return nil, fmt.Errorf("decompressing bundle: %w", err)
	}
	defer dec.Close()
	js, err := dec.DecodeAll(payload, nil)
	if err != nil {
		return nil, errorf(ErrCorrupt, "corrupt bundle: payload does not decompress to the declared %d bytes: %v", size, err)
	}
	if int64(len(js)) != size {
		return nil, errorf(ErrCorrupt, "corrupt bundle: payload decompresses to %d bytes, header declares %d", len(js), size)
	}
	return js, nil
}

func decodeJSON(js []byte, newerMinor bool) (*Bundle, error) {
	if t := bytes.TrimLeft(js, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errorf(ErrInvalid, "invalid bundle: payload is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	if !newerMinor {
		dec.DisallowUnknownFields()
	}
	b := new(Bundle)
	if err := dec.Decode(b); err != nil {
		return nil, errorf(ErrInvalid, "invalid bundle: payload: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(ErrInvalid, "invalid bundle: payload has data after its JSON object")
	}
	return b, nil
}

// parseHeader reads the header. It returns the header as soon as the
// preamble is read, so that errors about the rest can still show it.
func parseHeader(data []byte) (*Header, layout, error) {
	var l layout
	if len(data) < len(magic) && len(data) > 0 && string(data) == magic[:len(data)] {
		return nil, l, truncated(len(data), len(magic))
	}
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		return nil, l, notBundle(data)
	}
	if len(data) < offVer {
		return nil, l, truncated(len(data), offVer)
	}
	h := &Header{
		FormatMajor: int(binary.BigEndian.Uint16(data[offMajor:])),
		FormatMinor: int(binary.BigEndian.Uint16(data[offMinor:])),
	}
	n := int(data[offVerLen])
	if len(data) >= offVer+n {
		h.GWCVersion = string(data[offVer : offVer+n])
	}
	if h.FormatMajor != FormatMajor {
		by := "an unknown gwc"
		if v := h.GWCVersion; v != "" && printable(v) {
			by = "gwc " + v
		} else if v != "" {
			by = fmt.Sprintf("gwc %q", v)
		}
		advice := "upgrade gwc"
		if h.FormatMajor < FormatMajor {
			advice = "rebuild it with this gwc"
		}
		return h, l, errorf(ErrUnsupportedFormat, "bundle format %d.x was written by %s; this gwc reads %d.x: %s", h.FormatMajor, by, FormatMajor, advice)
	}
	l.body = offVer + n + 4
	if len(data) < l.body {
		return h, l, truncated(len(data), l.body)
	}
	bodyLen := int64(binary.BigEndian.Uint32(data[l.body-4:]))
	switch {
	case bodyLen < bodyLen10 || bodyLen > maxBodyLen:
		return h, l, errorf(ErrCorrupt, "corrupt bundle: header length %d is out of range", bodyLen)
	case h.FormatMinor <= FormatMinor && bodyLen != bodyLen10:
		return h, l, errorf(ErrCorrupt, "corrupt bundle: header length %d, format %d.%d has %d", bodyLen, h.FormatMajor, h.FormatMinor, bodyLen10)
	}
	l.payload = l.body + int(bodyLen)
	if len(data) < l.payload {
		return h, l, truncated(len(data), l.payload)
	}
	body := data[l.body:l.payload]
	if !printable(h.GWCVersion) {
		return h, l, errorf(ErrCorrupt, "corrupt bundle: gwc version %q is not printable text", h.GWCVersion)
	}
	if body[bodyEncoding] != encZstdJSON {
		return h, l, errorf(ErrCorrupt, "corrupt bundle: unknown payload encoding %d (format 1 has only %d, %s)", body[bodyEncoding], encZstdJSON, EncodingZstdJSON)
	}
	h.Encoding = EncodingZstdJSON
	sig := body[bodySignature : bodySignature+ed25519.SignatureSize]
	switch body[bodySigAlg] {
	case sigNone:
		if !allZero(sig) {
			return h, l, errorf(ErrCorrupt, "corrupt bundle: unsigned bundle has a non-zero signature field")
		}
	case sigEd25519:
		h.Signed = true
		h.Signature = bytes.Clone(sig)
	default:
		return h, l, errorf(ErrCorrupt, "corrupt bundle: unknown signature algorithm %d", body[bodySigAlg])
	}
	copy(h.Digest[:], body[bodyDigest:])
	payloadLen := binary.BigEndian.Uint64(body[bodyPayloadLen:])
	contentLen := binary.BigEndian.Uint64(body[bodyContentLen:])
	if contentLen > 1<<62 {
		return h, l, errorf(ErrCorrupt, "corrupt bundle: declared payload size %d is out of range", contentLen)
	}
	h.ContentSize = int64(contentLen)
	have := uint64(len(data) - l.payload)
	switch {
	case payloadLen > have:
		return h, l, truncated(len(data), l.payload+int(min(payloadLen, 1<<62)))
	case payloadLen < have:
		return h, l, errorf(ErrCorrupt, "corrupt bundle: %d bytes of unexpected data after the payload", have-payloadLen)
	}
	h.PayloadSize = int64(payloadLen)
	return h, l, nil
}

func truncated(have, want int) error {
	return errorf(ErrTruncated, "truncated bundle: the file has %d bytes but its header needs at least %d: it was cut short while copying; copy or rebuild it", have, want)
}

// notBundle explains bad magic, recognising the usual mistakes: a spec
// given where a bundle was expected, and a bundle damaged by a text-mode
// transfer.
func notBundle(data []byte) error {
	head := data[:min(len(data), 512)]
	text := bytes.TrimLeft(head, "\ufeff \t\r\n")
	switch {
	case len(data) == 0:
		return errorf(ErrNotBundle, "not a gwc bundle: the file is empty")
	case bytes.HasPrefix(data, []byte("\x89GWB\n\x1a\n")), bytes.HasPrefix(data, []byte("\x89GWB\r\r\n\x1a\r\n")),
		bytes.HasPrefix(data, []byte("\x09GWB\r\n\x1a\n")):
		return errorf(ErrNotBundle, "not a gwc bundle: this looks like a bundle damaged by a text-mode transfer (line endings or high bits changed): copy it in binary mode or rebuild it")
	case len(text) > 0 && (text[0] == '{' || text[0] == '['):
		return errorf(ErrNotBundle, "not a gwc bundle: this is a JSON document; if it is an OpenAPI spec, compile it first with `gwc build SPEC -o api.gwb`")
	case utf8.Valid(head) && looksLikeYAML(text):
		return errorf(ErrNotBundle, "not a gwc bundle: this is a YAML document; if it is an OpenAPI spec, compile it first with `gwc build SPEC -o api.gwb`")
	}
	return errorf(ErrNotBundle, "not a gwc bundle: the file does not start with the .gwb magic bytes; build bundles with `gwc build`")
}

func looksLikeYAML(text []byte) bool {
	for _, p := range []string{"---", "#", "openapi:", "swagger:", "info:", "paths:", "%YAML"} {
		if bytes.HasPrefix(text, []byte(p)) {
			return true
		}
	}
	return false
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
