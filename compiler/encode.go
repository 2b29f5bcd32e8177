package compiler

import (
	"fmt"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// Encoded is a bundle ready to write: the bytes of the .gwb file, and what
// its header says (format, gwc version, SHA-256 digest of the payload,
// signature).
type Encoded struct {
	Bundle *bundle.Bundle
	Data   []byte
	Header *bundle.Header
}

// encodeStage encodes the planned bundle with Options.Encode. The same
// bundle and options give the same bytes (bundle.Marshal is deterministic,
// and plan leaves no map order or clock in the bundle).
func encodeStage(s *state) error {
	if s.bundle == nil {
		return nil // the spec has errors
	}
	data, err := bundle.Marshal(s.bundle, s.opts.Encode)
	if err != nil {
		// The compiler made a bundle the format refuses: a gwc bug, but
		// still a clear message rather than a broken file.
		return fmt.Errorf("cannot encode the bundle: %w", err)
	}
	h, err := bundle.ReadHeader(data)
	if err != nil {
		return fmt.Errorf("cannot read back the bundle header: %w", err)
	}
	s.encoded = &Encoded{Bundle: s.bundle, Data: data, Header: h}
	return nil
}
