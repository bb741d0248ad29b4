package lib0

import (
	"errors"
	"fmt"
)

// ErrUnexpectedEOF reports that the input ended before a value was complete. It is always
// returned wrapped, with the offset at which the value started.
var ErrUnexpectedEOF = errors.New("lib0: unexpected end of input")

// ErrMalformed reports input that no lib0 writer produces and that this package refuses: an
// integer above 2^53−1 or longer than 9 bytes, invalid UTF-8, an unknown `any` tag, nesting
// deeper than MaxDepth, bad JSON text, an exhausted column. It is always returned wrapped.
var ErrMalformed = errors.New("lib0: malformed input")

// maxSafeInteger is 2^53−1, the largest integer a JavaScript number holds exactly and the
// largest value a var-uint or var-int magnitude may carry.
const maxSafeInteger = 1<<53 - 1

func eofAt(off int, what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrUnexpectedEOF, what, off)
}

func malformedAt(off int, what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, off)
}
