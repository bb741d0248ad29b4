// Package persistence is Tandem's durable op log: one bbolt file holding, per document, an
// append-only log of the updates the server accepted and snapshots of the encoded state at
// points of that log. It also offers an in-memory store with the same behaviour for tests.
//
// # Model
//
// Each document has a log of records numbered 1, 2, 3 … (Record.Seq). Append hands a
// record to one writer goroutine, which commits whatever is queued (for any number of
// documents, up to Options.MaxBatch records) in one bbolt transaction, syncs it, and then
// calls each record's ack. Loading a document reads its newest snapshot and the records
// after it (Load; LoadDoc applies them to a crdt.Doc). A background goroutine takes a
// snapshot when a document has Options.SnapshotEvery records (or Options.SnapshotBytes)
// after its newest one, so loading stays fast however long the log grows. History is kept
// unless Compact is called: it folds the records up to a point into a snapshot there and
// deletes them.
//
// # Durability
//
// An ack without error means the record is on disk (fsync, unless Options.NoSync) and
// will be in every later Load, also after a crash or power loss. Callers broadcast an
// update only after its ack. Records of one document get dense, increasing sequence
// numbers in the order Append was called.
//
// # Layout
//
// The file holds a bucket "docs" with one bucket per document (named by the document).
// A document bucket holds the key "meta" (version byte 1, then uvarints baseSeq, lastSeq,
// snapSeq and varints bytes, tailBytes, lastEdit in Unix nanoseconds) and two buckets,
// "log" and "snap", keyed by the sequence number as 8 bytes big-endian.
//
// # Record format
//
// A record value in "log" is
//
//	version   byte    = 1
//	checksum  uint32  big-endian CRC-32C (Castagnoli) of everything after it
//	seq       uvarint
//	time      varint  Unix nanoseconds (server time)
//	conn      16 bytes connection uuid (all zero: none)
//	user      uvarint length, UTF-8 bytes
//	clients   uvarint count, then one uvarint per Yjs client id
//	update    uvarint length, the v1 update bytes
//
// and must end exactly there. A snapshot value in "snap" is version byte 1, the CRC-32C of
// the rest, seq (uvarint), and then the v1 state update up to the end. A new format gets a
// new version byte; readers refuse versions they do not know.
//
// # Export format
//
// Export writes a document as a portable file: the 7 bytes "TANDEMX", a version byte (1),
// then entries, each a kind byte and, for 'S' (snapshot) and 'R' (record), a uvarint length
// and the value exactly as stored above (so checksums travel with the data). An optional
// 'S' comes first (the base snapshot of a compacted document), then the records in
// sequence order. The file ends with 'E' and a uvarint count of the entries before it;
// nothing may follow.
//
// # Corruption
//
// Every read verifies checksums, formats and that the records of a range are all there.
// A failure is a *CorruptError naming the document and sequence number (errors.Is
// ErrCorrupt). Load refuses such a document rather than return part of it; a snapshot is
// stored only from a state that loaded completely, and Compact deletes nothing unless the
// new snapshot was built from a log that replayed.
//
// # Concurrency
//
// All Store methods may be called from any goroutine. One writer goroutine (group commit)
// and one snapshot goroutine belong to each read-write Store; Close stops both after the
// queue is committed. bbolt locks the file: a second Open of a file in use fails after
// Options.LockTimeout with ErrLocked; read-only opens (Options.ReadOnly) share the lock with
// each other but not with a writer.
//
// # Caveats
//
// Acks run on the writer goroutine: a slow ack delays every later commit. Compact and
// Import hold the write transaction while they delete or write, delaying appends of all
// documents for that long. A corrupt snapshot makes Load refuse the document even if the
// log alone would replay; Verify tells which. Background snapshots are kept only as the
// newest Options.KeepSnapshots (plus the base snapshot of a compacted document), so
// replaying an old point reads the log from there.
package persistence
