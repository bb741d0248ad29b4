package crdt

import (
	"github.com/tandemsync/tandem/crdt/lib0"
)

// StateVector maps each client to the next clock expected from it (SPEC §1.3.7, §2.1).
type StateVector map[uint64]uint64

// DecodeStateVector reads a state vector in the one format Yjs uses for v1 and v2.
func DecodeStateVector(b []byte) (StateVector, error) {
	d := lib0.NewDecoder(b)
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, codecError("state vector length", err)
	}
	sv := StateVector{}
	for i := uint64(0); i < n; i++ {
		c, err := d.ReadVarUint()
		if err != nil {
			return nil, codecError("state vector client", err)
		}
		k, err := d.ReadVarUint()
		if err != nil {
			return nil, codecError("state vector clock", err)
		}
		sv[c] = k
	}
	return sv, nil
}

// Encode writes the state vector with clients in descending order.
func (sv StateVector) Encode() []byte {
	var e lib0.Encoder
	sv.write(&e)
	return e.Bytes()
}

func (sv StateVector) write(e *lib0.Encoder) {
	e.WriteVarUint(uint64(len(sv)))
	for _, c := range sortedClientsDesc(sv) {
		e.WriteVarUint(c)
		e.WriteVarUint(sv[c])
	}
}
