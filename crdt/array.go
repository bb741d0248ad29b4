package crdt

// Array is a shared array (Y.Array; SPEC §2.8, §3.8.2; yjs/yjs: src/types/YArray.js).
type Array struct{ b *branch }

// NewArray returns an array that is not yet part of a document.
func NewArray() *Array {
	a := &Array{b: newBranch(typeArray, "")}
	a.b.w = a
	return a
}

// Len returns the number of elements.
func (a *Array) Len() int {
	if !a.b.integrated() {
		return len(a.b.prelimList)
	}
	return int(a.b.length)
}

// Get returns element i, or nil when i is out of range.
func (a *Array) Get(i int) any {
	if !a.b.integrated() {
		if i < 0 || i >= len(a.b.prelimList) {
			return nil
		}
		return a.b.prelimList[i]
	}
	v, _ := a.b.listGet(i)
	return v
}

// ToJSON returns the elements with nested types converted to their JSON.
func (a *Array) ToJSON() []any {
	if !a.b.integrated() {
		out := make([]any, len(a.b.prelimList))
		for i, v := range a.b.prelimList {
			out[i] = valueJSON(v)
		}
		return out
	}
	return a.b.listToJSON()
}

// Insert inserts values at index. It panics when index is beyond Len, like Yjs throws.
func (a *Array) Insert(tx *Transaction, index int, values ...any) {
	b := a.b
	if len(values) == 0 {
		return
	}
	if !b.integrated() {
		if index < 0 || index > len(b.prelimList) {
			panic("crdt: array insert beyond length")
		}
		b.prelimList = append(b.prelimList[:index:index], append(append([]any(nil), values...), b.prelimList[index:]...)...)
		return
	}
	if index < 0 {
		panic("crdt: negative array index")
	}
	b.listInsert(tx, uint64(index), values)
}

// Push appends values after the last item (even a deleted one), as Yjs's push.
func (a *Array) Push(tx *Transaction, values ...any) {
	b := a.b
	if len(values) == 0 {
		return
	}
	if !b.integrated() {
		b.prelimList = append(b.prelimList, values...)
		return
	}
	b.listPush(tx, values)
}

// Delete deletes length elements from index (as far as they exist).
func (a *Array) Delete(tx *Transaction, index, length int) {
	b := a.b
	if length <= 0 || index < 0 {
		return
	}
	if !b.integrated() {
		if index >= len(b.prelimList) {
			return
		}
		end := min(index+length, len(b.prelimList))
		b.prelimList = append(b.prelimList[:index:index], b.prelimList[end:]...)
		return
	}
	b.listDelete(tx, uint64(index), uint64(length))
}
