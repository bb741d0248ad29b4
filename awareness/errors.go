package awareness

import (
	"errors"
	"fmt"
)

// ErrMalformed reports an awareness update that y-protocols would not write: a truncated or
// over-long var-uint, a length prefix past the end of the input, invalid UTF-8, a state that
// is not JSON text, or bytes left over after the last entry. It is returned wrapped, with the
// entry index and byte offset, and also wraps the lib0 error that found the problem.
var ErrMalformed = errors.New("awareness: malformed update")

// ErrStateTooLarge reports an entry whose JSON text is longer than Options.MaxStateBytes.
var ErrStateTooLarge = errors.New("awareness: state too large")

// ErrTooManyEntries reports an update whose entry count is above Options.MaxUpdateEntries.
var ErrTooManyEntries = errors.New("awareness: too many entries in one update")

// ErrTooManyClients reports an update that would make the State track more client ids than
// Options.MaxClients, or attribute more ids to one owner than Options.MaxClientsPerOwner.
var ErrTooManyClients = errors.New("awareness: too many clients")

// ErrNotOwner reports an update that would change a client id whose state was announced by
// another owner. It is returned as an *OwnerError.
var ErrNotOwner = errors.New("awareness: client id belongs to another owner")

// OwnerError is the error ApplyUpdate returns when an entry that would be applied changes a
// client id that currently holds a state announced by a different owner (and
// Options.AllowTakeover is false). The whole update is rejected. errors.Is(err, ErrNotOwner)
// holds for it.
type OwnerError struct {
	// ClientID is the client id the entry tried to change.
	ClientID ClientID
	// Index is the position of the offending entry in the update, from 0.
	Index int
}

// Error implements error.
func (e *OwnerError) Error() string {
	return fmt.Sprintf("%v: client %d (entry %d)", ErrNotOwner, e.ClientID, e.Index)
}

// Unwrap returns ErrNotOwner.
func (e *OwnerError) Unwrap() error { return ErrNotOwner }
