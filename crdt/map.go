package crdt

// Map is a shared map (Y.Map; SPEC §2.8, §3.8.3; yjs/yjs: src/types/YMap.js).
type Map struct{ b *branch }

// NewMap returns a map that is not yet part of a document; set it into a map or array to
// integrate it. Entries set before then are written right after it.
func NewMap() *Map {
	m := &Map{b: newBranch(typeMap, "")}
	m.b.w = m
	return m
}

// Get returns the value of key: a lib0 value, []byte, *SubDoc or a shared type.
func (m *Map) Get(key string) (any, bool) {
	if !m.b.integrated() {
		v, ok := m.b.prelimVals[key]
		return v, ok
	}
	return m.b.mapGet(key)
}

// Keys returns the keys with a value, in JavaScript object order.
func (m *Map) Keys() []string {
	if !m.b.integrated() {
		return jsOrder(m.b.prelimKeys)
	}
	return m.b.mapKeys()
}

// Len returns the number of keys with a value.
func (m *Map) Len() int { return len(m.Keys()) }

// Set sets key to value. Numbers become float64; []byte is stored as binary content;
// *Text, *Map, *Array and the Xml types must be new (NewText, NewMap, …).
func (m *Map) Set(tx *Transaction, key string, value any) {
	b := m.b
	if !b.integrated() {
		setPrelim(b, key, value)
		return
	}
	b.mapSetValue(tx, key, value)
}

func setPrelim(b *branch, key string, value any) {
	if b.prelimVals == nil {
		b.prelimVals = map[string]any{}
	}
	if _, ok := b.prelimVals[key]; !ok {
		b.prelimKeys = append(b.prelimKeys, key)
	}
	b.prelimVals[key] = value
}

// Delete removes key.
func (m *Map) Delete(tx *Transaction, key string) {
	b := m.b
	if !b.integrated() {
		if _, ok := b.prelimVals[key]; ok {
			delete(b.prelimVals, key)
			for i, k := range b.prelimKeys {
				if k == key {
					b.prelimKeys = append(b.prelimKeys[:i:i], b.prelimKeys[i+1:]...)
					break
				}
			}
		}
		return
	}
	b.mapDelete(tx, key)
}

// ToJSON returns the map with nested types converted to their JSON.
func (m *Map) ToJSON() map[string]any {
	if !m.b.integrated() {
		out := map[string]any{}
		for k, v := range m.b.prelimVals {
			out[k] = valueJSON(v)
		}
		return out
	}
	return m.b.mapToJSON()
}
