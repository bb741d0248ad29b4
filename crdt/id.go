package crdt

// ID names one unit of content: the clock-th operation of a client (SPEC §2.1). Client ids
// and clocks are at most 2^53−1 on the wire.
type ID struct {
	Client uint64
	Clock  uint64
}
