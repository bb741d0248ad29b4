// Package fuzz holds Tandem's native Go fuzz targets over the exported decoders that read
// peer or file bytes: updates v1 and v2 (applied to a Doc, and merged without one), state
// vectors, lib0 `any` values, awareness updates and persistence export files (Store.Import).
// y-websocket frames are decoded by unexported docsync code; docsync's own FuzzCore_Receive
// covers them.
//
// Each target checks that hostile input never panics, that a Doc or store is unchanged when
// input is refused, and that accepted input round-trips. What a round trip must keep is
// written on each target; where Yjs itself does not keep more for hostile input (pending
// structs merged into an encoding, items whose origins contradict each other), the target
// checks only what holds in Yjs 13.6.33 as well. Seeds come from the golden Yjs vectors in
// crdt/testdata/yjs and from testdata/fuzz/FuzzXxx/, where every crasher found is kept, named
// for the bug it caught. The seeds run in every `go test`; to fuzz one target:
//
//	go test ./fuzz -run='^$' -fuzz='^FuzzApplyUpdate$' -fuzztime=5m -parallel=1
package fuzz
