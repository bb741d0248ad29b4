package main

import (
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf8"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// y-websocket message types and sync sub-types (SPEC §4.1, §4.2).
const (
	messageSync      = 0
	messageAwareness = 1

	syncStep1  = 0
	syncStep2  = 1
	syncUpdate = 2
)

// Frames a fresh, empty client sends: step 1 with an empty state vector, and the step 2 that
// answers the server's step 1 (an update with no structs and an empty delete set).
var (
	emptyStep1 = []byte{messageSync, syncStep1, 1, 0}
	emptyStep2 = []byte{messageSync, syncStep2, 2, 0, 0}
)

// errUnsupported marks an update holding content this tool does not decode (any, doc).
var errUnsupported = errors.New("tandem-load: unsupported content in update")

// syncFrame wraps a v1 update as a y-websocket sync message of sub-type st.
func syncFrame(st byte, update []byte) []byte {
	var e lib0.Encoder
	e.WriteVarUint(messageSync)
	e.WriteVarUint(uint64(st))
	e.WriteVarUint8Array(update)
	return e.Bytes()
}

// parseFrame decodes one incoming y-websocket message far enough for the load tool: the message
// type, and for sync messages the sub-type and payload.
func parseFrame(frame []byte) (msgType, subType uint64, payload []byte, err error) {
	d := lib0.NewDecoder(frame)
	if msgType, err = d.ReadVarUint(); err != nil {
		return 0, 0, nil, err
	}
	if msgType != messageSync {
		return msgType, 0, nil, nil
	}
	if subType, err = d.ReadVarUint(); err != nil {
		return 0, 0, nil, err
	}
	payload, err = d.ReadVarUint8Array()
	return msgType, subType, payload, err
}

// insertRun is one text insertion by a single client: Len UTF-16 units starting at Clock,
// between the characters Origin and RightOrigin (nil when at the start or end of the text).
type insertRun struct {
	Clock       uint64
	Text        string
	Origin      *uint64 // clock of the character to the left, same client
	RightOrigin *uint64 // clock of the character to the right, same client
}

// clockRange is a run of deleted clocks [Clock, Clock+Len) of one client.
type clockRange struct{ Clock, Len uint64 }

// encodeTextUpdate writes the v1 update (SPEC §2.3) of one transaction of client on the root
// text named root: the inserted items in clock order, then the delete set. Every item origin
// refers to the same client, which is all the trace and typing workloads need.
func encodeTextUpdate(client uint64, root string, runs []insertRun, deletes []clockRange) []byte {
	var e lib0.Encoder
	if len(runs) == 0 {
		e.WriteVarUint(0)
	} else {
		e.WriteVarUint(1)
		e.WriteVarUint(uint64(len(runs)))
		e.WriteVarUint(client)
		e.WriteVarUint(runs[0].Clock)
		for _, r := range runs {
			info := byte(4) // ContentString
			if r.Origin != nil {
				info |= 0x80
			}
			if r.RightOrigin != nil {
				info |= 0x40
			}
			e.WriteUint8(info)
			if r.Origin != nil {
				e.WriteVarUint(client)
				e.WriteVarUint(*r.Origin)
			}
			if r.RightOrigin != nil {
				e.WriteVarUint(client)
				e.WriteVarUint(*r.RightOrigin)
			}
			if r.Origin == nil && r.RightOrigin == nil {
				e.WriteVarUint(1) // parent is a root type, named by its key
				e.WriteVarString(root)
			}
			e.WriteVarString(r.Text)
		}
	}
	if len(deletes) == 0 {
		e.WriteVarUint(0)
	} else {
		e.WriteVarUint(1)
		e.WriteVarUint(client)
		e.WriteVarUint(uint64(len(deletes)))
		for _, r := range deletes {
			e.WriteVarUint(r.Clock)
			e.WriteVarUint(r.Len)
		}
	}
	return e.Bytes()
}

// utf16Len returns the length of s in UTF-16 code units, the unit of Yjs clocks for text.
func utf16Len(s string) uint64 {
	n := uint64(0)
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// scanEnds reads the struct section of a v1 update and calls f with each client and the clock
// after its last struct in the update. It decodes the content kinds text traffic produces
// (GC, skip, deleted, JSON, binary, string, embed, format, type); an update with other content
// fails with errUnsupported after reporting the clients read so far.
func scanEnds(update []byte, f func(client, end uint64)) error {
	d := lib0.NewDecoder(update)
	nClients, err := d.ReadVarUint()
	if err != nil {
		return err
	}
	for range nClients {
		nStructs, err := d.ReadVarUint()
		if err != nil {
			return err
		}
		client, err := d.ReadVarUint()
		if err != nil {
			return err
		}
		clock, err := d.ReadVarUint()
		if err != nil {
			return err
		}
		for range nStructs {
			n, err := structLen(d)
			if err != nil {
				return fmt.Errorf("client %d clock %d: %w", client, clock, err)
			}
			clock += n
		}
		f(client, clock)
	}
	return nil
}

// structLen reads one struct and returns its length in clock units.
func structLen(d *lib0.Decoder) (uint64, error) {
	info, err := d.ReadUint8()
	if err != nil {
		return 0, err
	}
	switch info & 0x1f {
	case 0, 10: // GC, Skip
		return d.ReadVarUint()
	}
	readID := func() error {
		if _, err := d.ReadVarUint(); err != nil {
			return err
		}
		_, err := d.ReadVarUint()
		return err
	}
	if info&0x80 != 0 {
		if err := readID(); err != nil {
			return 0, err
		}
	}
	if info&0x40 != 0 {
		if err := readID(); err != nil {
			return 0, err
		}
	}
	if info&0xc0 == 0 {
		isKey, err := d.ReadVarUint()
		if err != nil {
			return 0, err
		}
		if isKey == 1 {
			if _, err := d.ReadVarString(); err != nil {
				return 0, err
			}
		} else if err := readID(); err != nil {
			return 0, err
		}
		if info&0x20 != 0 {
			if _, err := d.ReadVarString(); err != nil {
				return 0, err
			}
		}
	}
	switch info & 0x1f {
	case 1: // deleted
		return d.ReadVarUint()
	case 2: // JSON
		n, err := d.ReadVarUint()
		if err != nil {
			return 0, err
		}
		for range n {
			if _, err := d.ReadVarString(); err != nil {
				return 0, err
			}
		}
		return n, nil
	case 3: // binary
		_, err := d.ReadVarUint8Array()
		return 1, err
	case 4: // string
		s, err := d.ReadVarString()
		if err != nil {
			return 0, err
		}
		if !utf8.ValidString(s) {
			return 0, errors.New("tandem-load: invalid utf-8 in string content")
		}
		return utf16Len(s), nil
	case 5: // embed
		_, err := d.ReadVarString()
		return 1, err
	case 6: // format
		if _, err := d.ReadVarString(); err != nil {
			return 0, err
		}
		_, err := d.ReadVarString()
		return 1, err
	case 7: // type
		ref, err := d.ReadVarUint()
		if err != nil {
			return 0, err
		}
		if ref == 3 || ref == 5 { // XmlElement, XmlHook carry a name
			_, err = d.ReadVarString()
		}
		return 1, err
	default:
		return 0, fmt.Errorf("%w: content ref %d", errUnsupported, info&0x1f)
	}
}

// histogram records durations in microseconds with about 3% precision: values below 64 µs
// exactly, larger ones in 32 sub-buckets per power of two. The zero value is ready to use.
type histogram struct {
	counts []uint64
	n      uint64
	sum    uint64
	max    uint64
}

const histSub = 32 // sub-buckets per power of two

func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	msb := bits.Len64(v) - 1 // ≥ 6
	shift := msb - 5
	sub := v >> shift // in [32, 63]
	return 2*histSub + (msb-6)*histSub + int(sub-histSub)
}

// histValue returns the middle of bucket i.
func histValue(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	j := i - 2*histSub
	msb := j/histSub + 6
	sub := uint64(j%histSub + histSub)
	shift := msb - 5
	return sub<<shift + (uint64(1)<<shift)/2
}

// record adds one sample of us microseconds.
func (h *histogram) record(us uint64) {
	i := histIndex(us)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.sum += us
	h.max = max(h.max, us)
}

// merge adds every sample of o to h.
func (h *histogram) merge(o *histogram) {
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]uint64, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// percentile returns the value (µs) at or below which p percent of the samples fall, using
// the nearest-rank method; 0 when there are no samples.
func (h *histogram) percentile(p float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(p / 100 * float64(h.n))
	if float64(rank) < p/100*float64(h.n) {
		rank++
	}
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(histValue(i), h.max)
		}
	}
	return h.max
}

// mean returns the average sample in µs.
func (h *histogram) mean() float64 {
	if h.n == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.n)
}
