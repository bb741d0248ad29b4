package crdt

// Reading an update (SPEC §3.1.1, §1.5). The whole update, structs and delete set, is read
// into memory before the document is touched, so a malformed update leaves the Doc unchanged
// (SPEC "Decisions" 1 and 2).

// clientRefs are the decoded structs of one client, in encoded order, with a read position.
type clientRefs struct {
	refs []*item
	i    int
	gone bool // moved to the rest (integrateStructs)
}

// decodedUpdate is a fully read update.
type decodedUpdate struct {
	refs  clientTable[clientRefs]
	roots []string // root names in the order the items name them
	ds    *decodedDS

	// Inline storage for the common small update (one client, one struct, a few delete
	// ranges), so that decoding it allocates little besides its items.
	refsBuf [1]clientEntry[clientRefs]
	itemBuf [1]*item
	dsBuf   decodedDS
}

// readUpdateRefs reads the struct section and the delete set of an update.
func readUpdateRefs(d updateDecoder) (*decodedUpdate, error) {
	u := &decodedUpdate{}
	if err := u.read(d); err != nil {
		return nil, err
	}
	return u, nil
}

// read reads the struct section and the delete set of an update into u, which must be zero.
func (u *decodedUpdate) read(d updateDecoder) error {
	r := d.restDecoder()
	numClients, err := r.ReadVarUint()
	if err != nil {
		return codecError("client count", err)
	}
	u.refs.entries = u.refsBuf[:0]
	var seenRoot map[string]bool
	for ci := uint64(0); ci < numClients; ci++ {
		numStructs, err := r.ReadVarUint()
		if err != nil {
			return codecError("struct count", err)
		}
		client, err := d.readClient()
		if err != nil {
			return err
		}
		if client > maxSafeInt {
			return codecError("client id beyond 2^53-1", nil)
		}
		clock, err := r.ReadVarUint()
		if err != nil {
			return codecError("first clock", err)
		}
		if u.refs.find(client) >= 0 {
			return codecError("client appears in two blocks", nil)
		}
		ci := u.refs.put(client, clientRefs{})
		if ci == 0 && numStructs == 1 {
			u.refs.entries[0].v.refs = u.itemBuf[:0]
		}
		for si := uint64(0); si < numStructs; si++ {
			info, err := d.readInfo()
			if err != nil {
				return err
			}
			id := ID{client, clock}
			var st *item
			switch ref := info & 0x1f; {
			case ref == refGC:
				n, err := d.readLen()
				if err != nil {
					return err
				}
				st = newGC(id, n)
			case ref == refSkip:
				if info != refSkip {
					return codecError("skip with flag bits", nil)
				}
				n, err := r.ReadVarUint()
				if err != nil {
					return codecError("skip length", err)
				}
				st = newSkip(id, n)
			case ref > refSkip:
				return codecError("content ref", nil)
			default:
				st, err = readItem(d, info, id, u, &seenRoot)
				if err != nil {
					return err
				}
			}
			if st.length == 0 {
				return codecError("zero-length struct", nil)
			}
			if st.length > maxSafeInt || clock+st.length > maxSafeInt {
				return codecError("clock beyond 2^53-1", nil)
			}
			clock += st.length
			cr := &u.refs.entries[ci].v
			cr.refs = append(cr.refs, st)
		}
	}
	if err := readDeleteSetInto(d, &u.dsBuf); err != nil {
		return err
	}
	u.ds = &u.dsBuf
	return nil
}

// readItem reads one Item after its info byte.
func readItem(d updateDecoder, info byte, id ID, u *decodedUpdate, seenRoot *map[string]bool) (*item, error) {
	it := &item{id: id}
	if info&0x80 != 0 {
		o, err := d.readLeftID()
		if err != nil {
			return nil, err
		}
		if o.Client == id.Client && o.Clock >= id.Clock {
			return nil, codecError("origin not before the item", nil)
		}
		it.setOrigin(o)
	}
	if info&0x40 != 0 {
		o, err := d.readRightID()
		if err != nil {
			return nil, err
		}
		if o.Client == id.Client && o.Clock >= id.Clock {
			return nil, codecError("right origin not before the item", nil)
		}
		it.setRightOrigin(o)
	}
	if info&0xc0 == 0 {
		isRoot, err := d.readParentInfo()
		if err != nil {
			return nil, err
		}
		if isRoot {
			name, err := d.readString()
			if err != nil {
				return nil, err
			}
			it.setPref(parentRef{name: name, isRoot: true})
			if !(*seenRoot)[name] {
				if *seenRoot == nil {
					*seenRoot = map[string]bool{}
				}
				(*seenRoot)[name] = true
				u.roots = append(u.roots, name)
			}
		} else {
			p, err := d.readLeftID()
			if err != nil {
				return nil, err
			}
			if p.Client == id.Client && p.Clock >= id.Clock {
				return nil, codecError("parent not before the item", nil)
			}
			it.setPref(parentRef{id: p})
		}
		if info&0x20 != 0 {
			key, err := d.readString()
			if err != nil {
				return nil, err
			}
			it.setParentSub(key, true)
		}
	}
	c, n, err := readItemContent(d, info)
	if err != nil {
		return nil, err
	}
	it.content = c
	it.length = n
	if c.countable() {
		it.flags |= flagCountable
	}
	return it, nil
}
