package crdt

// clientTable maps client ids to values. Most updates and transactions touch one or two
// clients, for which a Go map costs more than the work itself, so small tables are a slice
// searched linearly; an index map is built once a table grows past a few entries.
type clientTable[V any] struct {
	entries []clientEntry[V]
	idx     map[uint64]int
}

type clientEntry[V any] struct {
	client uint64
	v      V
}

const clientTableLinear = 8

func (t *clientTable[V]) find(client uint64) int {
	if t.idx != nil {
		if i, ok := t.idx[client]; ok {
			return i
		}
		return -1
	}
	for i := range t.entries {
		if t.entries[i].client == client {
			return i
		}
	}
	return -1
}

// ptr returns a pointer to client's value, or nil. Pointers stay valid until the next put
// of a new client.
func (t *clientTable[V]) ptr(client uint64) *V {
	if i := t.find(client); i >= 0 {
		return &t.entries[i].v
	}
	return nil
}

func (t *clientTable[V]) get(client uint64) (V, bool) {
	if i := t.find(client); i >= 0 {
		return t.entries[i].v, true
	}
	var zero V
	return zero, false
}

// put sets client's value and returns its index.
func (t *clientTable[V]) put(client uint64, v V) int {
	if i := t.find(client); i >= 0 {
		t.entries[i].v = v
		return i
	}
	t.entries = append(t.entries, clientEntry[V]{client, v})
	i := len(t.entries) - 1
	if t.idx != nil {
		t.idx[client] = i
	} else if len(t.entries) > clientTableLinear {
		t.idx = make(map[uint64]int, len(t.entries)*2)
		for j, e := range t.entries {
			t.idx[e.client] = j
		}
	}
	return i
}

func (t *clientTable[V]) len() int { return len(t.entries) }
