package docsync

import (
	"errors"
	"fmt"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// The y-websocket framing (SPEC §4.1): one WebSocket binary message carries exactly one
// protocol message, a var-uint message type followed by its body. The constants keep the
// names and numbers of yjs/y-websocket: src/y-websocket.js and yjs/y-protocols: sync.js,
// awareness.js and auth.js.
const (
	messageSync           = 0
	messageAwareness      = 1
	messageAuth           = 2
	messageQueryAwareness = 3

	messageYjsSyncStep1 = 0
	messageYjsSyncStep2 = 1
	messageYjsUpdate    = 2

	messagePermissionDenied = 0
)

// ErrBadMessage is returned, wrapped with the detail, when a frame is not a valid y-websocket
// message.
var ErrBadMessage = errors.New("docsync: malformed message")

// message is one decoded y-websocket message. The byte slices alias the frame.
type message struct {
	// typ is the outer message type (messageSync … messageQueryAwareness).
	typ uint64
	// syncType is the y-protocols sync sub-type when typ is messageSync.
	syncType uint64
	// payload is the state vector (step 1), the v1 update (step 2, update) or the awareness
	// update; nil for auth and query-awareness.
	payload []byte
	// authType and reason are set for messageAuth.
	authType uint64
	reason   string
}

// decodeMessage decodes one frame. It accepts exactly one message: trailing bytes, unknown
// message types and unknown sync sub-types are errors (the reference implementations ignore
// leftovers, but no stock client writes them). The payload is not validated beyond its length.
func decodeMessage(frame []byte) (message, error) {
	d := lib0.NewDecoder(frame)
	var m message
	typ, err := d.ReadVarUint()
	if err != nil {
		return m, fmt.Errorf("%w: message type: %w", ErrBadMessage, err)
	}
	m.typ = typ
	switch typ {
	case messageSync:
		st, err := d.ReadVarUint()
		if err != nil {
			return m, fmt.Errorf("%w: sync type: %w", ErrBadMessage, err)
		}
		if st > messageYjsUpdate {
			return m, fmt.Errorf("%w: unknown sync type %d", ErrBadMessage, st)
		}
		m.syncType = st
		m.payload, err = d.ReadVarUint8Array()
		if err != nil {
			return m, fmt.Errorf("%w: sync payload: %w", ErrBadMessage, err)
		}
	case messageAwareness:
		m.payload, err = d.ReadVarUint8Array()
		if err != nil {
			return m, fmt.Errorf("%w: awareness payload: %w", ErrBadMessage, err)
		}
	case messageAuth:
		m.authType, err = d.ReadVarUint()
		if err != nil {
			return m, fmt.Errorf("%w: auth type: %w", ErrBadMessage, err)
		}
		m.reason, err = d.ReadVarString()
		if err != nil {
			return m, fmt.Errorf("%w: auth reason: %w", ErrBadMessage, err)
		}
	case messageQueryAwareness:
	default:
		return m, fmt.Errorf("%w: unknown message type %d", ErrBadMessage, typ)
	}
	if d.Remaining() != 0 {
		return m, fmt.Errorf("%w: %d trailing bytes at offset %d", ErrBadMessage, d.Remaining(), d.Pos())
	}
	return m, nil
}

// encodeSync writes a sync message of sub-type st around payload.
func encodeSync(st uint64, payload []byte) []byte {
	var e lib0.Encoder
	e.WriteVarUint(messageSync)
	e.WriteVarUint(st)
	e.WriteVarUint8Array(payload)
	return e.Bytes()
}

// encodeSyncStep1 returns the frame `00 00 varUint8Array(sv)`.
func encodeSyncStep1(sv []byte) []byte { return encodeSync(messageYjsSyncStep1, sv) }

// encodeSyncStep2 returns the frame `00 01 varUint8Array(update)`.
func encodeSyncStep2(update []byte) []byte { return encodeSync(messageYjsSyncStep2, update) }

// encodeSyncUpdate returns the frame `00 02 varUint8Array(update)`.
func encodeSyncUpdate(update []byte) []byte { return encodeSync(messageYjsUpdate, update) }

// encodeAwareness returns the frame `01 varUint8Array(update)`.
func encodeAwareness(update []byte) []byte {
	var e lib0.Encoder
	e.WriteVarUint(messageAwareness)
	e.WriteVarUint8Array(update)
	return e.Bytes()
}

// encodeAuthDenied returns the frame `02 00 varString(reason)`.
func encodeAuthDenied(reason string) []byte {
	var e lib0.Encoder
	e.WriteVarUint(messageAuth)
	e.WriteVarUint(messagePermissionDenied)
	e.WriteVarString(reason)
	return e.Bytes()
}

// keepAliveFrame is an awareness update with zero entries (`01 01 00`): a no-op for the
// client that feeds its 30 s watchdog (SPEC §4.5 item 6). Shared, never modified.
var keepAliveFrame = []byte{messageAwareness, 1, 0}
