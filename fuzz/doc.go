// Package fuzz holds Tandem's native Go fuzz targets over every decoder that reads peer bytes:
// updates v1 and v2 (decoded alone and applied to a Doc), state vectors, lib0 `any` values,
// awareness updates and y-websocket frames.
//
// Each target checks that hostile input never panics, that a Doc is unchanged when an update is
// refused, and that accepted input round-trips. Seeds come from the golden Yjs vectors in
// crdt/testdata/yjs and from testdata/fuzz/FuzzXxx/, where every crasher found is kept, named for
// the bug it caught. The seeds run in every `go test`; to fuzz one target:
//
//	go test ./fuzz -run='^$' -fuzz='^FuzzApplyUpdate$' -fuzztime=5m
package fuzz
