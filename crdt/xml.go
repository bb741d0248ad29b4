package crdt

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tandemsync/tandem/crdt/lib0"
)

// XML types (SPEC §2.8; yjs/yjs: src/types/YXmlFragment.js, YXmlElement.js, YXmlText.js,
// YXmlHook.js). Their String and ToJSON render exactly as Yjs's toString.

// XmlFragment is a list of XML children (Y.XmlFragment).
type XmlFragment struct{ b *branch }

// XmlElement is an XML element with a node name, attributes and children (Y.XmlElement).
type XmlElement struct{ b *branch }

// XmlText is a text inside XML; its formatting renders as nested tags (Y.XmlText).
type XmlText struct{ Text }

// XmlHook is a map-like XML node (Y.XmlHook).
type XmlHook struct{ b *branch }

// NewXmlFragment returns a fragment that is not yet part of a document.
func NewXmlFragment() *XmlFragment {
	f := &XmlFragment{b: newBranch(typeXmlFragment, "")}
	f.b.w = f
	return f
}

// NewXmlElement returns an element called name that is not yet part of a document.
func NewXmlElement(name string) *XmlElement {
	e := &XmlElement{b: newBranch(typeXmlElement, name)}
	e.b.w = e
	return e
}

// NewXmlText returns an XML text that is not yet part of a document.
func NewXmlText() *XmlText {
	s := ""
	t := &XmlText{Text{b: newBranch(typeXmlText, "")}}
	t.b.w = t
	if s != "" {
		t.b.prelimTexts = append(t.b.prelimTexts, func(tx *Transaction) { t.Insert(tx, 0, s, nil) })
	}
	return t
}

// NewXmlHook returns a hook called name that is not yet part of a document.
func NewXmlHook(name string) *XmlHook {
	h := &XmlHook{b: newBranch(typeXmlHook, name)}
	h.b.w = h
	return h
}

// String returns the fragment as Yjs's toString.
func (f *XmlFragment) String() string { return f.b.xmlString() }

// ToJSON is String.
func (f *XmlFragment) ToJSON() string { return f.b.xmlString() }

// Len returns the number of children.
func (f *XmlFragment) Len() int { return xmlLen(f.b) }

// Get returns child i.
func (f *XmlFragment) Get(i int) (any, bool) { return xmlGet(f.b, i) }

// Insert inserts new XML children (NewXmlElement, NewXmlText, …) at index.
func (f *XmlFragment) Insert(tx *Transaction, index int, children ...any) {
	xmlInsert(tx, f.b, index, children)
}

// Delete deletes length children from index.
func (f *XmlFragment) Delete(tx *Transaction, index, length int) { xmlDelete(tx, f.b, index, length) }

// NodeName returns the element's name as stored.
func (e *XmlElement) NodeName() string { return e.b.name }

// String returns the element as Yjs's toString.
func (e *XmlElement) String() string { return e.b.xmlString() }

// ToJSON is String.
func (e *XmlElement) ToJSON() string { return e.b.xmlString() }

// Len returns the number of children.
func (e *XmlElement) Len() int { return xmlLen(e.b) }

// Get returns child i.
func (e *XmlElement) Get(i int) (any, bool) { return xmlGet(e.b, i) }

// Insert inserts new XML children at index.
func (e *XmlElement) Insert(tx *Transaction, index int, children ...any) {
	xmlInsert(tx, e.b, index, children)
}

// Delete deletes length children from index.
func (e *XmlElement) Delete(tx *Transaction, index, length int) { xmlDelete(tx, e.b, index, length) }

// SetAttribute sets an attribute.
func (e *XmlElement) SetAttribute(tx *Transaction, key string, value any) {
	if !e.b.integrated() {
		setPrelim(e.b, key, value)
		return
	}
	e.b.mapSetValue(tx, key, value)
}

// RemoveAttribute removes an attribute.
func (e *XmlElement) RemoveAttribute(tx *Transaction, key string) {
	if !e.b.integrated() {
		(&Map{b: e.b}).Delete(tx, key)
		return
	}
	e.b.mapDelete(tx, key)
}

// GetAttribute returns an attribute's value.
func (e *XmlElement) GetAttribute(key string) (any, bool) { return (&Map{b: e.b}).Get(key) }

// Attributes returns all attributes.
func (e *XmlElement) Attributes() map[string]any {
	out := map[string]any{}
	m := &Map{b: e.b}
	for _, k := range m.Keys() {
		out[k], _ = m.Get(k)
	}
	return out
}

// String returns the text with formatting rendered as nested tags.
func (t *XmlText) String() string { return t.b.xmlString() }

// ToJSON is String.
func (t *XmlText) ToJSON() string { return t.b.xmlString() }

// HookName returns the hook's name.
func (h *XmlHook) HookName() string { return h.b.name }

// ToJSON returns the hook's entries.
func (h *XmlHook) ToJSON() map[string]any { return (&Map{b: h.b}).ToJSON() }

// Get returns an entry of the hook.
func (h *XmlHook) Get(key string) (any, bool) { return (&Map{b: h.b}).Get(key) }

// Set sets an entry of the hook.
func (h *XmlHook) Set(tx *Transaction, key string, value any) { (&Map{b: h.b}).Set(tx, key, value) }

func xmlLen(b *branch) int {
	if !b.integrated() {
		return len(b.prelimList)
	}
	return int(b.length)
}

func xmlGet(b *branch, i int) (any, bool) {
	if !b.integrated() {
		if i < 0 || i >= len(b.prelimList) {
			return nil, false
		}
		return b.prelimList[i], true
	}
	return b.listGet(i)
}

func xmlInsert(tx *Transaction, b *branch, index int, children []any) {
	(&Array{b: b}).Insert(tx, index, children...)
}

func xmlDelete(tx *Transaction, b *branch, index, length int) {
	(&Array{b: b}).Delete(tx, index, length)
}

// xmlString renders an XML type like Yjs's toString.
func (b *branch) xmlString() string {
	var sb strings.Builder
	switch b.typeRef {
	case typeXmlText:
		for _, d := range b.delta() {
			type node struct {
				name  string
				attrs [][2]string
			}
			var nodes []node
			for name, v := range d.Attributes {
				n := node{name: name}
				n.attrs = append(n.attrs, jsEnumerate(v)...)
				slices.SortStableFunc(n.attrs, func(a, b [2]string) int { return compareUTF16(a[0], b[0]) })
				nodes = append(nodes, n)
			}
			slices.SortStableFunc(nodes, func(a, b node) int { return compareUTF16(a.name, b.name) })
			for _, n := range nodes {
				sb.WriteString("<" + n.name)
				for _, a := range n.attrs {
					sb.WriteString(" " + a[0] + "=\"" + a[1] + "\"")
				}
				sb.WriteString(">")
			}
			sb.WriteString(jsString(d.Insert))
			for i := len(nodes) - 1; i >= 0; i-- {
				sb.WriteString("</" + nodes[i].name + ">")
			}
		}
		return sb.String()
	case typeXmlElement:
		keys := b.mapKeys()
		slices.SortStableFunc(keys, compareUTF16)
		name := strings.ToLower(b.name)
		sb.WriteString("<" + name)
		for _, k := range keys {
			sb.WriteString(" ")
			v, _ := b.mapGet(k)
			sb.WriteString(k + "=\"" + jsString(v) + "\"")
		}
		sb.WriteString(">")
		b.writeChildren(&sb)
		sb.WriteString("</" + name + ">")
		return sb.String()
	case typeXmlHook:
		return "[object Object]"
	}
	b.writeChildren(&sb)
	return sb.String()
}

func (b *branch) writeChildren(sb *strings.Builder) {
	for it := b.start; it != nil; it = it.right {
		if it.countable() && !it.deleted() {
			for _, v := range it.content.values(it.length) {
				sb.WriteString(jsString(v))
			}
		}
	}
}

// compareUTF16 orders strings by UTF-16 code units, as JavaScript's default sort.
func compareUTF16(a, b string) int {
	return slices.Compare(lib0.UTF16(a), lib0.UTF16(b))
}

// jsEnumerate returns the enumerable own keys and String() values of a JS value, as
// `for (const key in v)` sees them.
func jsEnumerate(v any) [][2]string {
	var out [][2]string
	switch x := v.(type) {
	case string:
		for i, u := range lib0.UTF16(x) {
			out = append(out, [2]string{strconv.Itoa(i), lib0.StringFromUTF16([]uint16{u})})
		}
	case []any:
		for i, e := range x {
			out = append(out, [2]string{strconv.Itoa(i), jsString(e)})
		}
	case []byte:
		for i, e := range x {
			out = append(out, [2]string{strconv.Itoa(i), strconv.Itoa(int(e))})
		}
	case lib0.Object:
		keys := make([]string, 0, len(x))
		for _, f := range x {
			keys = append(keys, f.Key)
		}
		for _, k := range jsOrder(keys) {
			fv, _ := x.Get(k)
			out = append(out, [2]string{k, jsString(fv)})
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortJSKeys(keys)
		for _, k := range keys {
			out = append(out, [2]string{k, jsString(x[k])})
		}
	}
	return out
}

// jsString is JavaScript's String(v) for the values a document holds.
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case lib0.Undefined:
		return "undefined"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "Infinity"
		case math.IsInf(x, -1):
			return "-Infinity"
		case x == 0:
			return "0"
		}
		return lib0.StringifyJSON(x)
	case lib0.BigInt:
		return strconv.FormatInt(int64(x), 10)
	case string:
		return x
	case []byte:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = strconv.Itoa(int(e))
		}
		return strings.Join(parts, ",")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			switch e.(type) {
			case nil, lib0.Undefined:
			default:
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	}
	if b := branchOf(v); b != nil {
		switch b.typeRef {
		case typeXmlElement, typeXmlFragment, typeXmlText, typeText:
			if b.typeRef == typeText {
				return b.textString()
			}
			return b.xmlString()
		}
	}
	return "[object Object]"
}
