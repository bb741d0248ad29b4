package persistence_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/persistence"
)

func TestDescribeChange(t *testing.T) {
	tests := []struct {
		name          string
		before, after map[string]any
		want          []string
	}{
		{"nothing", map[string]any{"t": "a"}, map[string]any{"t": "a"}, []string{"no visible change"}},
		{"insert into new root", map[string]any{}, map[string]any{"content": "abc"}, []string{`inserted "abc" at 0 in text "content"`}},
		{"insert middle", map[string]any{"t": "hello"}, map[string]any{"t": "heXYllo"}, []string{`inserted "XY" at 2 in text "t"`}},
		{"delete", map[string]any{"t": "hello"}, map[string]any{"t": "ho"}, []string{`deleted 3 characters at 1 in text "t"`}},
		{"replace", map[string]any{"t": "hello"}, map[string]any{"t": "hEEo"}, []string{`replaced 3 characters with "EE" at 1 in text "t"`}},
		{"utf-16 positions", map[string]any{"t": "😀a"}, map[string]any{"t": "😀ba"}, []string{`inserted "b" at 2 in text "t"`}},
		{"surrogate pair kept whole", map[string]any{"t": "😀"}, map[string]any{"t": "😁"}, []string{`replaced 2 characters with "😁" at 0 in text "t"`}},
		{"map set and delete", map[string]any{"m": map[string]any{"a": 1.0, "b": "x"}}, map[string]any{"m": map[string]any{"a": 2.0, "c": true}},
			[]string{`set key "a" to 2 in map "m"`, `deleted key "b" in map "m"`, `set key "c" to true in map "m"`}},
		{"array", map[string]any{"a": []any{1.0, 2.0, 3.0}}, map[string]any{"a": []any{1.0, "x", "y", 3.0}},
			[]string{`deleted 1 items at 1 in array "a"`, `inserted 2 items ["x","y"] at 1 in array "a"`}},
		{"two roots", map[string]any{"a": "x", "b": "y"}, map[string]any{"a": "xz", "b": ""},
			[]string{`inserted "z" at 1 in text "a"`, `deleted 1 characters at 0 in text "b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, persistence.DescribeChange(tt.before, tt.after))
		})
	}
}

func TestWriteRoots(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, persistence.WriteRoots(&buf, map[string]any{
		"content": "hello\nworld",
		"meta":    map[string]any{"k": 1.0},
	}))
	assert.Equal(t, "== content (text) ==\nhello\nworld\n== meta (map) ==\n{\n  \"k\": 1\n}\n", buf.String())
}
