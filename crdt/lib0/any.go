package lib0

import (
	"math"
	"reflect"
)

// Tags of the `any` encoding (SPEC §1.2).
const (
	tagUndefined = 127
	tagNull      = 126
	tagInteger   = 125
	tagFloat32   = 124
	tagFloat64   = 123
	tagBigInt    = 122
	tagFalse     = 121
	tagTrue      = 120
	tagString    = 119
	tagObject    = 118
	tagArray     = 117
	tagBytes     = 116
)

// WriteAny writes v in lib0's `any` encoding (SPEC §1.2), as lib0's writeAny writes the
// corresponding JavaScript value. Numbers are tagged by value (§1.2.1): an integer with
// |x| ≤ 2^31−1 (−0 included) as a var-int, a value float32 holds exactly (±Infinity
// included, NaN never) as float32, anything else as float64 with its bits kept. Object keys are
// written in JavaScript property order (§1.2.2).
//
// Besides the value model (nil, Undefined, bool, float64, BigInt, string, []byte, []any,
// Object) it accepts Go conveniences: all integer and float types as numbers, map[string]T as
// an object (array-index keys ascending, then the other keys sorted), other slices and arrays as
// arrays (of bytes as a Uint8Array), named types by their kind, and pointers as what they point
// to (nil as null). Anything else (structs, funcs, channels, complex numbers) is written as
// undefined, and so is a container nested deeper than MaxDepth (each conversion of a Go
// convenience value counts as one level too, so cyclic Go values terminate).
func (e *Encoder) WriteAny(v any) { e.writeAny(v, 0) }

func (e *Encoder) writeAny(v any, depth int) {
	switch v := v.(type) {
	case nil:
		e.WriteUint8(tagNull)
	case Undefined:
		e.WriteUint8(tagUndefined)
	case bool:
		if v {
			e.WriteUint8(tagTrue)
		} else {
			e.WriteUint8(tagFalse)
		}
	case float64:
		e.writeNumber(v)
	case string:
		e.WriteUint8(tagString)
		e.WriteVarString(v)
	case BigInt:
		e.WriteUint8(tagBigInt)
		e.WriteBigInt64(int64(v))
	case []byte:
		e.WriteUint8(tagBytes)
		e.WriteVarUint8Array(v)
	case []any:
		if depth >= MaxDepth {
			e.WriteUint8(tagUndefined)
			return
		}
		e.WriteUint8(tagArray)
		e.WriteVarUint(uint64(len(v)))
		for _, x := range v {
			e.writeAny(x, depth+1)
		}
	case Object:
		if depth >= MaxDepth {
			e.WriteUint8(tagUndefined)
			return
		}
		v = jsOrder(v, false)
		e.WriteUint8(tagObject)
		e.WriteVarUint(uint64(len(v)))
		for _, f := range v {
			e.WriteVarString(f.Key)
			e.writeAny(f.Value, depth+1)
		}
	case int:
		e.writeNumber(float64(v))
	case int64:
		e.writeNumber(float64(v))
	case uint64:
		e.writeNumber(float64(v))
	case float32:
		e.writeNumber(float64(v))
	default:
		if depth >= MaxDepth {
			e.WriteUint8(tagUndefined)
			return
		}
		e.writeAny(fromGo(v), depth+1) // +1: a self-referencing pointer cannot loop for ever
	}
}

// writeNumber writes the JavaScript number f with the tag lib0 chooses (SPEC §1.2.1).
func (e *Encoder) writeNumber(f float64) {
	a := math.Abs(f)
	switch {
	case a <= math.MaxInt32 && math.Trunc(f) == f: // false for NaN and ±Inf
		e.WriteUint8(tagInteger)
		e.WriteVarIntSign(uint64(a), math.Signbit(f))
	case isFloat32(f):
		e.WriteUint8(tagFloat32)
		e.WriteFloat32(float32(f))
	default:
		e.WriteUint8(tagFloat64)
		e.WriteFloat64(f)
	}
}

// isFloat32 reports whether converting f to float32 and back gives f again. NaN never does;
// finite values beyond the float32 range are excluded before converting, since Go leaves that
// conversion to the implementation.
func isFloat32(f float64) bool {
	if math.IsInf(f, 0) {
		return true
	}
	if f != f || math.Abs(f) > math.MaxFloat32 {
		return false
	}
	return float64(float32(f)) == f
}

// fromGo converts a Go value outside the value model to the model, one level deep.
func fromGo(v any) any {
	switch v := v.(type) {
	case int8:
		return float64(v)
	case int16:
		return float64(v)
	case int32:
		return float64(v)
	case uint:
		return float64(v)
	case uint8:
		return float64(v)
	case uint16:
		return float64(v)
	case uint32:
		return float64(v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		o := make(Object, len(keys))
		for i, k := range sortedMapKeys(keys) {
			o[i] = Field{k, v[k]}
		}
		return o
	case []string:
		a := make([]any, len(v))
		for i, s := range v {
			a[i] = s
		}
		return a
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return b
		}
		a := make([]any, rv.Len())
		for i := range a {
			a[i] = rv.Index(i).Interface()
		}
		return a
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return Undefined{}
		}
		keys := make([]string, 0, rv.Len())
		vals := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			k := it.Key().String()
			keys = append(keys, k)
			vals[k] = it.Value().Interface()
		}
		o := make(Object, len(keys))
		for i, k := range sortedMapKeys(keys) {
			o[i] = Field{k, vals[k]}
		}
		return o
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return rv.Elem().Interface()
	}
	return Undefined{}
}

// ReadAny reads one value of lib0's `any` encoding (SPEC §1.2) into the value model: nil,
// Undefined, bool, float64 (a var-int becomes ±magnitude, −0 kept; a float32 is widened, NaN
// payloads kept), BigInt, string, []byte (a copy), []any or Object. Objects come back in
// JavaScript property order: array-index keys first, a repeated key at its first position with
// its last value, and no "__proto__" key (SPEC §1.2.2). Unknown tags, invalid UTF-8 and
// nesting deeper than MaxDepth are errors. Claimed element counts are never preallocated
// beyond what the remaining input can hold.
func (d *Decoder) ReadAny() (any, error) { return d.readAny(0) }

func (d *Decoder) readAny(depth int) (any, error) {
	start := d.pos
	tag, err := d.ReadUint8()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagUndefined:
		return Undefined{}, nil
	case tagNull:
		return nil, nil
	case tagInteger:
		m, neg, err := d.ReadVarInt()
		if err != nil {
			return nil, err
		}
		f := float64(m)
		if neg {
			f = -f // −0 when m is 0
		}
		return f, nil
	case tagFloat32:
		f, err := d.ReadFloat32()
		if err != nil {
			return nil, err
		}
		return widenFloat32(f), nil
	case tagFloat64:
		f, err := d.ReadFloat64()
		if err != nil {
			return nil, err
		}
		return f, nil
	case tagBigInt:
		v, err := d.ReadBigInt64()
		if err != nil {
			return nil, err
		}
		return BigInt(v), nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagString:
		s, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		return s, nil
	case tagBytes:
		b, err := d.ReadVarUint8Array()
		if err != nil {
			return nil, err
		}
		return append([]byte{}, b...), nil
	case tagArray:
		if depth >= MaxDepth {
			return nil, malformedAt(start, "any nested deeper than MaxDepth")
		}
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		a := make([]any, 0, min(n, uint64(d.Remaining()), maxPrealloc)) // each element takes ≥1 byte
		for i := uint64(0); i < n; i++ {
			x, err := d.readAny(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, x)
		}
		return a, nil
	case tagObject:
		if depth >= MaxDepth {
			return nil, malformedAt(start, "any nested deeper than MaxDepth")
		}
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		o := make(Object, 0, min(n, uint64(d.Remaining()/2), maxPrealloc)) // each entry takes ≥2 bytes
		for i := uint64(0); i < n; i++ {
			k, err := d.ReadVarString()
			if err != nil {
				return nil, err
			}
			x, err := d.readAny(depth + 1)
			if err != nil {
				return nil, err
			}
			o = append(o, Field{k, x})
		}
		return jsOrder(o, true), nil
	}
	return nil, malformedAt(start, "unknown any tag")
}

// maxPrealloc bounds the capacity ReadAny reserves for an array or object before its elements
// are read. Containers still being read can nest MaxDepth deep, each reserving room for
// elements the input may never deliver, so the reservation must be small whatever the input
// size; longer containers grow as their elements arrive.
const maxPrealloc = 16

// widenFloat32 converts f to float64 as IEEE widening (and V8) does, keeping a NaN's sign and
// payload (shifted into the top of the float64 mantissa, quiet bit set).
func widenFloat32(f float32) float64 {
	if f == f {
		return float64(f)
	}
	b := math.Float32bits(f)
	return math.Float64frombits(uint64(b>>31)<<63 | 0x7ff<<52 | 1<<51 | uint64(b&0x7fffff)<<29)
}
