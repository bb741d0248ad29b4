package lib0

import (
	"cmp"
	"slices"
	"sort"
)

// MaxDepth is the deepest nesting of arrays and objects that ReadAny and ParseJSON accept (a
// top-level array or object is depth 1). Deeper input is an error wrapping ErrMalformed, so
// hostile input cannot exhaust the stack. WriteAny and StringifyJSON write containers nested
// deeper than this as undefined, so that everything written can be read back.
const MaxDepth = 10000

// Undefined is the JavaScript value undefined, distinct from null (nil).
type Undefined struct{}

// BigInt is a JavaScript bigint. lib0 writes it as a 64-bit two's complement integer.
type BigInt int64

// Field is one key and value of an Object.
type Field struct {
	Key   string
	Value any
}

// Object is a JavaScript object as an ordered list of fields. Objects produced by ReadAny and
// ParseJSON have unique keys in JavaScript property order (canonical array-index keys
// ascending, then the others in insertion order, SPEC §1.2.2); WriteAny and StringifyJSON put
// the keys of any Object into that order before writing.
type Object []Field

// Get returns the value of the first field named key, and whether there is one.
func (o Object) Get(key string) (any, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// arrayIndex reports whether key is a canonical JavaScript array index (decimal, no sign, no
// leading zero, at most 4294967294) and returns its value.
func arrayIndex(key string) (uint32, bool) {
	n := len(key)
	if n == 0 || n > 10 || (key[0] == '0' && n > 1) {
		return 0, false
	}
	var v uint64
	for i := 0; i < n; i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > 4294967294 {
		return 0, false
	}
	return uint32(v), true
}

// smallObject is the field count up to which duplicate keys are found by a linear scan.
const smallObject = 16

// inJSOrder reports whether fields already have unique keys in JavaScript property order and,
// if dropProto, no "__proto__" key.
func inJSOrder(fields []Field, dropProto bool) bool {
	prev := int64(-1)
	nonIndex := false
	for _, f := range fields {
		if dropProto && f.Key == "__proto__" {
			return false
		}
		if v, ok := arrayIndex(f.Key); ok {
			if nonIndex || int64(v) <= prev {
				return false
			}
			prev = int64(v)
		} else {
			nonIndex = true
		}
	}
	if len(fields) <= smallObject {
		for i := range fields {
			for j := i + 1; j < len(fields); j++ {
				if fields[i].Key == fields[j].Key {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[string]struct{}, len(fields))
	for _, f := range fields {
		if _, dup := seen[f.Key]; dup {
			return false
		}
		seen[f.Key] = struct{}{}
	}
	return true
}

// jsOrder returns fields as a JavaScript object built by assigning them in order would hold
// them: a repeated key keeps its first position and its last value, array-index keys come
// first in ascending order, and "__proto__" is dropped if dropProto (assigning it sets the
// prototype instead). fields is returned unchanged if it is already in that form; otherwise
// the result is a new slice.
func jsOrder(fields []Field, dropProto bool) Object {
	if inJSOrder(fields, dropProto) {
		return fields
	}
	out := make(Object, 0, len(fields))
	var pos map[string]int
	if len(fields) > smallObject {
		pos = make(map[string]int, len(fields))
	}
	for _, f := range fields {
		if dropProto && f.Key == "__proto__" {
			continue
		}
		j := -1
		if pos != nil {
			if p, ok := pos[f.Key]; ok {
				j = p
			}
		} else {
			for k := range out {
				if out[k].Key == f.Key {
					j = k
					break
				}
			}
		}
		if j >= 0 {
			out[j].Value = f.Value
			continue
		}
		if pos != nil {
			pos[f.Key] = len(out)
		}
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b Field) int {
		ai, aok := arrayIndex(a.Key)
		bi, bok := arrayIndex(b.Key)
		switch {
		case aok && bok:
			return cmp.Compare(ai, bi)
		case aok:
			return -1
		case bok:
			return 1
		}
		return 0
	})
	return out
}

// sortedMapKeys returns the keys of a Go map in the order WriteAny and StringifyJSON write
// them: array-index keys ascending, then the others sorted (a Go map has no insertion order).
func sortedMapKeys(keys []string) []string {
	sort.Slice(keys, func(i, j int) bool {
		ai, aok := arrayIndex(keys[i])
		bi, bok := arrayIndex(keys[j])
		switch {
		case aok && bok:
			return ai < bi
		case aok != bok:
			return aok
		}
		return keys[i] < keys[j]
	})
	return keys
}
