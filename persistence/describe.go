package persistence

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf16"
)

// DescribeChange says in words what changed between two readings of a document's roots
// (as returned by crdt.Doc.ToJSON: a root reads as a string for text, a map[string]any
// for a map, a []any for an array). Text positions count UTF-16 code units, as Yjs does.
// It never returns an empty slice: an update with no visible effect (formatting, content
// held pending, deleting what was deleted) is reported as such.
func DescribeChange(before, after map[string]any) []string {
	names := make([]string, 0, len(after))
	for name := range after {
		names = append(names, name)
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out []string
	for _, name := range names {
		a, b := before[name], after[name]
		if reflect.DeepEqual(a, b) {
			continue
		}
		switch bv := b.(type) {
		case string:
			av, _ := a.(string)
			out = append(out, describeText(name, av, bv)...)
		case map[string]any:
			av, _ := a.(map[string]any)
			out = append(out, describeMap(name, av, bv)...)
		case []any:
			av, _ := a.([]any)
			out = append(out, describeArray(name, av, bv)...)
		default:
			out = append(out, fmt.Sprintf("changed %s to %s", strconv.Quote(name), short(b)))
		}
	}
	if len(out) == 0 {
		return []string{"no visible change"}
	}
	return out
}

func describeText(name, a, b string) []string {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	p := 0
	for p < len(ua) && p < len(ub) && ua[p] == ub[p] {
		p++
	}
	if p > 0 && ua[p-1] >= 0xD800 && ua[p-1] < 0xDC00 {
		p-- // a high surrogate: do not split its pair
	}
	s := 0
	for s < len(ua)-p && s < len(ub)-p && ua[len(ua)-1-s] == ub[len(ub)-1-s] {
		s++
	}
	if s > 0 && ua[len(ua)-s] >= 0xDC00 && ua[len(ua)-s] < 0xE000 {
		s-- // a low surrogate: do not split its pair
	}
	del := len(ua) - p - s
	ins := string(utf16.Decode(ub[p : len(ub)-s]))
	where := fmt.Sprintf("at %d in text %s", p, strconv.Quote(name))
	switch {
	case del == 0:
		return []string{fmt.Sprintf("inserted %s %s", quoteShort(ins), where)}
	case ins == "":
		return []string{fmt.Sprintf("deleted %d characters %s", del, where)}
	default:
		return []string{fmt.Sprintf("replaced %d characters with %s %s", del, quoteShort(ins), where)}
	}
}

func describeMap(name string, a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range b {
		keys = append(keys, k)
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		av, hadA := a[k]
		bv, hasB := b[k]
		switch {
		case !hasB:
			out = append(out, fmt.Sprintf("deleted key %s in map %s", strconv.Quote(k), strconv.Quote(name)))
		case !hadA || !reflect.DeepEqual(av, bv):
			out = append(out, fmt.Sprintf("set key %s to %s in map %s", strconv.Quote(k), short(bv), strconv.Quote(name)))
		}
	}
	return out
}

func describeArray(name string, a, b []any) []string {
	p := 0
	for p < len(a) && p < len(b) && reflect.DeepEqual(a[p], b[p]) {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && reflect.DeepEqual(a[len(a)-1-s], b[len(b)-1-s]) {
		s++
	}
	del, ins := len(a)-p-s, b[p:len(b)-s]
	var out []string
	if del > 0 {
		out = append(out, fmt.Sprintf("deleted %d items at %d in array %s", del, p, strconv.Quote(name)))
	}
	if len(ins) > 0 {
		out = append(out, fmt.Sprintf("inserted %d items %s at %d in array %s", len(ins), short(ins), p, strconv.Quote(name)))
	}
	return out
}

// maxShown is how much of a value a description shows.
const maxShown = 60

func quoteShort(s string) string {
	r := []rune(s)
	if len(r) > maxShown {
		return strconv.Quote(string(r[:maxShown])) + "…"
	}
	return strconv.Quote(s)
}

func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	if r := []rune(string(b)); len(r) > maxShown {
		return string(r[:maxShown]) + "…"
	}
	return string(b)
}

// WriteRoots prints every root of a document reading (crdt.Doc.ToJSON) in name order:
// a header line "== name (kind) ==", then text as it is, or anything else as indented JSON.
func WriteRoots(w io.Writer, roots map[string]any) error {
	names := make([]string, 0, len(roots))
	for name := range roots {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := roots[name]
		kind := "value"
		switch v.(type) {
		case string:
			kind = "text"
		case map[string]any:
			kind = "map"
		case []any:
			kind = "array"
		}
		if _, err := fmt.Fprintf(w, "== %s (%s) ==\n", name, kind); err != nil {
			return err
		}
		if s, ok := v.(string); ok {
			if _, err := fmt.Fprintln(w, s); err != nil {
				return err
			}
			continue
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("persistence: root %q: %w", name, err)
		}
		if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
			return err
		}
	}
	return nil
}
