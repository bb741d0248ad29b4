package docsync

import "fmt"

// CloseReason is why the server closes a WebSocket connection. Every close the server initiates
// uses one of these reasons, and each reason maps to exactly one close code through the table
// returned by CloseTable.
//
// The y-websocket provider reconnects after every close code except 4400–4499, where it gives
// up until the application calls connect() again (SPEC §4.1). So reasons that a reconnect
// cannot cure use 4400–4499, and reasons that a reconnect repairs (overload, restart, a
// storage hiccup) use 1001, 1011 or 1013.
type CloseReason uint8

// The close reasons, in the order of the table.
const (
	// CloseGoingAway: the server is shutting down or the document is being unloaded.
	CloseGoingAway CloseReason = iota + 1
	// CloseInternal: the server failed (storage error, load error, recovered panic).
	CloseInternal
	// CloseTryAgain: the peer fell too far behind (its send queue is full) or the server is
	// overloaded; reconnecting resyncs it.
	CloseTryAgain
	// CloseBadMessage: a frame that is not a valid y-websocket message (garbage, truncated,
	// trailing bytes, text frame, unknown message type, malformed state vector or update).
	CloseBadMessage
	// CloseUnauthenticated: the Authorize hook found no valid credentials.
	CloseUnauthenticated
	// CloseForbidden: the Authorize hook refused access to this document.
	CloseForbidden
	// CloseTooLarge: a message above Options.MaxMessageBytes, or an awareness state above
	// Options.MaxAwarenessStateBytes, or too many awareness clients on one connection.
	CloseTooLarge
	// CloseMissingDependencies: the peer's updates wait for dependencies that never arrived
	// and the document's pending structs passed Options.MaxPendingBytes.
	CloseMissingDependencies
	// CloseRateLimited: the peer stayed above Options.MaxMessageRate or MaxByteRate for
	// longer than Options.MaxThrottle. Not permanent: an honest client that pasted a lot
	// should come back, with a full bucket.
	CloseRateLimited
	// CloseTooManyConnections: Options.MaxConnections or MaxConnectionsPerDoc is reached.
	CloseTooManyConnections
	// CloseDocumentTooLarge: the peer's update would make the document larger than
	// Options.MaxDocumentBytes. Permanent: the client would resend the same update.
	CloseDocumentTooLarge
)

// CloseInfo is one row of the close table.
type CloseInfo struct {
	Reason CloseReason
	// Code is the WebSocket close code sent in the close frame.
	Code int
	// Name is a short identifier, also sent as the close frame's reason text.
	Name string
	// Permanent reports whether a stock y-websocket provider stops reconnecting (4400–4499).
	Permanent bool
	// Description says when the server uses it, for the README.
	Description string
}

var closeTable = [...]CloseInfo{
	{CloseGoingAway, 1001, "going away", false, "the server is shutting down; the client reconnects and resyncs"},
	{CloseInternal, 1011, "internal error", false, "storage or load failure on the server; the client reconnects and resyncs"},
	{CloseTryAgain, 1013, "try again later", false, "the client fell too far behind (send queue full); it reconnects and resyncs"},
	{CloseBadMessage, 4400, "bad message", true, "a frame that is not a valid y-websocket message: garbage, truncated, text frame, unknown type, malformed update or state vector"},
	{CloseUnauthenticated, 4401, "unauthenticated", true, "the authentication hook found no valid credentials (also on re-authentication)"},
	{CloseForbidden, 4403, "forbidden", true, "the authentication hook refused access to this document, the browser origin is not allowed, or access was revoked (Server.Revoke, SetAccess, re-authentication)"},
	{CloseTooLarge, 4413, "too large", true, "a message above MaxMessageBytes, an awareness state above MaxAwarenessStateBytes, or too many awareness clients on one connection"},
	{CloseMissingDependencies, 4422, "missing dependencies", true, "updates that wait for dependencies which never arrive, beyond MaxPendingBytes"},
	{CloseRateLimited, 1013, "rate limited", false, "above MaxMessageRate or MaxByteRate for longer than MaxThrottle; the client reconnects"},
	{CloseTooManyConnections, 1013, "too many connections", false, "MaxConnections or MaxConnectionsPerDoc reached; the client reconnects with backoff"},
	{CloseDocumentTooLarge, 4413, "document too large", true, "an update that would make the document larger than MaxDocumentBytes"},
}

// CloseTable returns the table of close reasons and codes, in reason order. The slice is a
// copy; the README's close-code table is generated from it.
func CloseTable() []CloseInfo {
	t := make([]CloseInfo, len(closeTable))
	copy(t, closeTable[:])
	return t
}

// info returns the table row of r. Unknown reasons are an internal bug; they map to 1011.
func (r CloseReason) info() CloseInfo {
	if r >= 1 && int(r) <= len(closeTable) {
		return closeTable[r-1]
	}
	return CloseInfo{Reason: r, Code: 1011, Name: "internal error"}
}

// Code returns the WebSocket close code for r.
func (r CloseReason) Code() int { return r.info().Code }

// Permanent reports whether a y-websocket client gives up reconnecting after r.
func (r CloseReason) Permanent() bool { return r.info().Permanent }

// String returns the reason's name.
func (r CloseReason) String() string {
	if r >= 1 && int(r) <= len(closeTable) {
		return closeTable[r-1].Name
	}
	return fmt.Sprintf("CloseReason(%d)", uint8(r))
}
