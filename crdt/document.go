package crdt

import (
	"math/rand/v2"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// Options configures a Doc. The zero value is ready to use.
type Options struct {
	// ClientID is the id this replica writes with; zero picks a random uint32.
	ClientID uint64
	// DisableGC keeps deleted content; zero means garbage collection is on, as in Yjs.
	DisableGC bool
}

// Doc is a Yjs document: a struct store, its root types, pending updates and the open
// transaction (yjs/yjs: src/utils/Doc.js).
//
// A Doc is not safe for concurrent use; its owner serializes every call.
type Doc struct {
	clientID   uint64
	gc         bool
	store      *structStore
	share      map[string]*branch
	shareOrder []string
	tx         *Transaction
	handlers   []*updateHandler

	spareTx    *Transaction    // a finished transaction kept for reuse (newTransaction)
	spareApply *applyScratch   // decoding scratch kept for reuse (ApplyUpdateWithOrigin)
	updateEnc  updateEncoderV1 // reused to encode each transaction's update (cleanup)
}

// applyScratch holds what ApplyUpdateWithOrigin decodes into.
type applyScratch struct {
	dec updateDecoderV1
	ld  lib0.Decoder
	u   decodedUpdate
}

type updateHandler struct {
	f func(update []byte, origin any)
}

// NewDoc returns an empty document.
func NewDoc(opts Options) *Doc {
	id := opts.ClientID
	if id == 0 {
		id = uint64(rand.Uint32())
	}
	return &Doc{
		clientID: id,
		gc:       !opts.DisableGC,
		store:    newStructStore(),
		share:    make(map[string]*branch),
	}
}

// ClientID returns the client id local edits are written with. Like Yjs, a Doc picks a new
// random id when a remote update carries structs with its current id.
func (d *Doc) ClientID() uint64 { return d.clientID }

// OnUpdate registers f, called after every transaction that changed the doc (remote or
// local) with the v1 update Yjs would emit for it and the transaction origin. The returned
// function unregisters f.
func (d *Doc) OnUpdate(f func(update []byte, origin any)) (cancel func()) {
	h := &updateHandler{f: f}
	d.handlers = append(d.handlers, h)
	return func() {
		for i, x := range d.handlers {
			if x == h {
				d.handlers = append(d.handlers[:i:i], d.handlers[i+1:]...)
				return
			}
		}
	}
}

// Transact runs fn inside one transaction; at its end the update is emitted to OnUpdate
// handlers. Nested calls join the open transaction.
func (d *Doc) Transact(origin any, fn func(tx *Transaction)) {
	d.transact(origin, true, fn)
}

// ApplyUpdate applies a v1 update. On error the Doc is unchanged.
func (d *Doc) ApplyUpdate(update []byte) error {
	return d.ApplyUpdateWithOrigin(update, nil)
}

// ApplyUpdateV2 applies a v2 update. On error the Doc is unchanged.
func (d *Doc) ApplyUpdateV2(update []byte) error {
	return d.ApplyUpdateV2WithOrigin(update, nil)
}

// ApplyUpdateWithOrigin applies a v1 update; origin is passed to OnUpdate handlers.
func (d *Doc) ApplyUpdateWithOrigin(update []byte, origin any) error {
	// The decoder and the decoded update live in a scratch the Doc reuses; a nested call
	// (from an update handler) gets its own.
	sc := d.spareApply
	d.spareApply = nil
	if sc == nil {
		sc = &applyScratch{}
	}
	sc.ld = *lib0.NewDecoder(update)
	sc.dec.rest = &sc.ld
	u := &sc.u
	if err := u.read(&sc.dec); err != nil {
		*sc = applyScratch{}
		d.spareApply = sc
		return err
	}
	d.transact(origin, false, func(tx *Transaction) { d.readUpdate(tx, u) })
	*sc = applyScratch{} // drop every reference into the update and its items
	d.spareApply = sc
	return nil
}

// ApplyUpdateV2WithOrigin applies a v2 update; origin is passed to OnUpdate handlers.
func (d *Doc) ApplyUpdateV2WithOrigin(update []byte, origin any) error {
	dec, err := newUpdateDecoderV2(update)
	if err != nil {
		return err
	}
	u, err := readUpdateRefs(dec)
	if err != nil {
		return err
	}
	d.transact(origin, false, func(tx *Transaction) { d.readUpdate(tx, u) })
	return nil
}

// StateVector returns the state of every client (pending structs excluded).
func (d *Doc) StateVector() StateVector { return d.store.stateVector() }

// EncodeStateVector returns the encoded state vector.
func (d *Doc) EncodeStateVector() []byte { return d.store.stateVector().Encode() }

// EncodeStateAsUpdate returns, as a v1 update, everything the holder of the encoded state
// vector sv lacks (sv nil or empty: the whole document), plus pending data.
func (d *Doc) EncodeStateAsUpdate(sv []byte) ([]byte, error) { return d.encodeStateAsUpdate(sv, false) }

// EncodeStateAsUpdateV2 is EncodeStateAsUpdate in the v2 format.
func (d *Doc) EncodeStateAsUpdateV2(sv []byte) ([]byte, error) {
	return d.encodeStateAsUpdate(sv, true)
}

// HasPending reports whether structs or delete ranges wait for missing updates.
func (d *Doc) HasPending() (structs, deleteSet bool) {
	return d.store.pending != nil, d.store.pendingDs != nil
}

// getRoot returns the root named name, creating an untyped placeholder.
func (d *Doc) getRoot(name string) *branch {
	if b, ok := d.share[name]; ok {
		return b
	}
	b := newBranch(typeUntyped, "")
	b.doc = d
	b.rootName = name
	d.share[name] = b
	d.shareOrder = append(d.shareOrder, name)
	return b
}

// typedRoot fixes the type of a root (SPEC §3.4.5).
func (d *Doc) typedRoot(name string, ref uint8) *branch {
	b := d.getRoot(name)
	if b.typeRef == typeUntyped {
		b.typeRef = ref
		b.hasFormatting = false
		b.w = nil
	} else if b.typeRef != ref {
		panic("crdt: root " + name + " already has another type")
	}
	return b
}

// Text returns the root text called name.
func (d *Doc) Text(name string) *Text { return d.typedRoot(name, typeText).wrapper().(*Text) }

// Map returns the root map called name.
func (d *Doc) Map(name string) *Map { return d.typedRoot(name, typeMap).wrapper().(*Map) }

// Array returns the root array called name.
func (d *Doc) Array(name string) *Array { return d.typedRoot(name, typeArray).wrapper().(*Array) }

// XmlFragment returns the root XML fragment called name.
func (d *Doc) XmlFragment(name string) *XmlFragment {
	return d.typedRoot(name, typeXmlFragment).wrapper().(*XmlFragment)
}

// RootNames returns the names of all roots in the order they were first registered.
func (d *Doc) RootNames() []string { return append([]string(nil), d.shareOrder...) }

// ToJSON returns every root: typed roots read by their type, untyped ones by what their
// content looks like (text if it holds strings or formats, a map if it has only keys,
// otherwise an array). Empty untyped roots are left out, as Yjs leaves them undefined.
func (d *Doc) ToJSON() map[string]any {
	out := map[string]any{}
	for _, name := range d.shareOrder {
		b := d.share[name]
		if b.typeRef != typeUntyped {
			out[name] = b.toJSON()
			continue
		}
		switch {
		case b.start != nil:
			isText := false
			for it := b.start; it != nil; it = it.right {
				switch it.content.(type) {
				case contentString, contentASCII, *contentFormat, *contentEmbed:
					isText = true
				}
			}
			if isText {
				out[name] = b.textString()
			} else {
				out[name] = b.listToJSON()
			}
		case len(b.keys) > 0:
			out[name] = b.mapToJSON()
		}
	}
	return out
}
