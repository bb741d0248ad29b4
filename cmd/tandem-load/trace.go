package main

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// trace is a sequential editing trace in the josephg/editing-traces format: transactions of
// patches [pos, del, ins], positions and lengths in Unicode code points.
type trace struct {
	StartContent string `json:"startContent"`
	EndContent   string `json:"endContent"`
	Txns         []struct {
		Patches []patch `json:"patches"`
	} `json:"txns"`
}

// patch is one [pos, del, ins] edit.
type patch struct {
	Pos, Del int
	Ins      string
}

// UnmarshalJSON reads the three-element array form.
func (p *patch) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 3 {
		return fmt.Errorf("tandem-load: patch has %d elements, want 3", len(raw))
	}
	if err := json.Unmarshal(raw[0], &p.Pos); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &p.Del); err != nil {
		return err
	}
	return json.Unmarshal(raw[2], &p.Ins)
}

// readTrace reads a gzipped (or plain) JSON trace file.
func readTrace(path string) (*trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("tandem-load: %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	var t trace
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return nil, fmt.Errorf("tandem-load: %s: %w", path, err)
	}
	if t.StartContent != "" {
		return nil, errors.New("tandem-load: traces with start content are not supported")
	}
	return &t, nil
}

// traceUpdate is the y-websocket update one trace transaction turns into.
type traceUpdate struct {
	Update []byte
	End    uint64 // the writer's clock after this transaction
	Insert bool   // whether it inserted anything (only then does End advance)
}

// chunkSize bounds the chunks of textModel; inserts split a chunk at twice this size.
const chunkSize = 512

// textModel is the visible text of a single-client Yjs document as the clock of each
// character, in chunks so that inserts and deletes stay cheap on long texts. Each position is a
// Unicode code point, which equals a UTF-16 unit because buildTraceUpdates refuses characters
// outside the Basic Multilingual Plane.
type textModel struct {
	chunks [][]uint64
	n      int
}

// locate returns the chunk and offset holding position pos (0 ≤ pos < n), or for pos == n the
// end of the last chunk.
func (m *textModel) locate(pos int) (int, int) {
	for i, c := range m.chunks {
		if pos < len(c) {
			return i, pos
		}
		pos -= len(c)
	}
	if len(m.chunks) == 0 {
		m.chunks = append(m.chunks, nil)
	}
	last := len(m.chunks) - 1
	return last, len(m.chunks[last])
}

// at returns the clock of the character at pos.
func (m *textModel) at(pos int) uint64 {
	i, off := m.locate(pos)
	return m.chunks[i][off]
}

// insert places clocks at pos.
func (m *textModel) insert(pos int, clocks []uint64) {
	i, off := m.locate(pos)
	c := slices.Insert(m.chunks[i], off, clocks...)
	if len(c) > 2*chunkSize {
		half := len(c) / 2
		right := slices.Clone(c[half:])
		c = c[:half:half]
		m.chunks = slices.Insert(m.chunks, i+1, right)
	}
	m.chunks[i] = c
	m.n += len(clocks)
}

// remove deletes n characters from pos and returns their clocks.
func (m *textModel) remove(pos, n int) []uint64 {
	out := make([]uint64, 0, n)
	for n > 0 {
		i, off := m.locate(pos)
		c := m.chunks[i]
		k := min(n, len(c)-off)
		out = append(out, c[off:off+k]...)
		m.chunks[i] = slices.Delete(c, off, off+k)
		if len(m.chunks[i]) == 0 && len(m.chunks) > 1 {
			m.chunks = slices.Delete(m.chunks, i, i+1)
		}
		n -= k
		m.n -= k
	}
	return out
}

// clockRanges sorts clocks and merges them into runs.
func clockRanges(clocks []uint64) []clockRange {
	slices.Sort(clocks)
	var out []clockRange
	for _, c := range clocks {
		if k := len(out); k > 0 && out[k-1].Clock+out[k-1].Len == c {
			out[k-1].Len++
			continue
		}
		out = append(out, clockRange{Clock: c, Len: 1})
	}
	return out
}

// buildTraceUpdates turns the first limit transactions of t (all when limit ≤ 0) into the
// updates one Yjs client with id client would send while replaying it into the root text
// root. It also returns the text the model holds at the end, for checking.
func buildTraceUpdates(t *trace, client uint64, root string, limit int) ([]traceUpdate, string, error) {
	txns := t.Txns
	if limit > 0 && limit < len(txns) {
		txns = txns[:limit]
	}
	var (
		m     textModel
		clock uint64
		chars []rune // chars[clock] is the character with that clock
		out   = make([]traceUpdate, 0, len(txns))
	)
	for ti, txn := range txns {
		var runs []insertRun
		var deleted []uint64
		for _, p := range txn.Patches {
			if p.Pos < 0 || p.Del < 0 || p.Pos+p.Del > m.n {
				return nil, "", fmt.Errorf("tandem-load: txn %d: patch %v outside text of %d", ti, p, m.n)
			}
			if p.Del > 0 {
				deleted = append(deleted, m.remove(p.Pos, p.Del)...)
			}
			if p.Ins == "" {
				continue
			}
			rs := []rune(p.Ins)
			for _, r := range rs {
				if r >= 0x10000 {
					return nil, "", fmt.Errorf("tandem-load: txn %d: character %U outside the BMP is not supported", ti, r)
				}
			}
			run := insertRun{Clock: clock, Text: p.Ins}
			if p.Pos > 0 {
				o := m.at(p.Pos - 1)
				run.Origin = &o
			}
			if p.Pos < m.n {
				ro := m.at(p.Pos)
				run.RightOrigin = &ro
			}
			clocks := make([]uint64, len(rs))
			for i := range clocks {
				clocks[i] = clock + uint64(i)
			}
			m.insert(p.Pos, clocks)
			chars = append(chars, rs...)
			clock += uint64(len(rs))
			runs = append(runs, run)
		}
		if len(runs) == 0 && len(deleted) == 0 {
			continue
		}
		out = append(out, traceUpdate{
			Update: encodeTextUpdate(client, root, runs, clockRanges(deleted)),
			End:    clock,
			Insert: len(runs) > 0,
		})
	}
	var sb strings.Builder
	for _, c := range m.chunks {
		for _, k := range c {
			sb.WriteRune(chars[k])
		}
	}
	return out, sb.String(), nil
}
