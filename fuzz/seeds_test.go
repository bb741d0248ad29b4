package fuzz

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// vectorSeeds returns byte strings from the golden Yjs vectors: "v1" updates, "v2" updates,
// "sv" state vectors, "any" lib0 any values and "frame" y-websocket frames.
func vectorSeeds(tb testing.TB, kind string) [][]byte {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "crdt", "testdata", "yjs", "vectors.jsonl"))
	if err != nil {
		tb.Fatalf("open vectors: %v", err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var c map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			tb.Fatalf("parse vectors: %v", err)
		}
		var k string
		_ = json.Unmarshal(c["kind"], &k)
		switch {
		case kind == "v1" && k == "doc":
			out = append(out, b64list(tb, c["updates"])...)
			out = append(out, b64one(tb, c["merged_update"]))
		case kind == "v2" && k == "doc":
			out = append(out, b64list(tb, c["updates_v2"])...)
			out = append(out, b64one(tb, c["merged_update_v2"]))
		case kind == "sv" && k == "doc":
			var exp struct {
				SV string `json:"state_vector"`
			}
			_ = json.Unmarshal(c["expected"], &exp)
			out = append(out, mustB64(tb, exp.SV))
		case kind == "any" && k == "lib0":
			var name string
			_ = json.Unmarshal(c["name"], &name)
			if name != "lib0_any" {
				continue
			}
			var vals struct {
				Values []struct {
					Hex string `json:"hex"`
				} `json:"values"`
			}
			_ = json.Unmarshal(sc.Bytes(), &vals)
			for _, v := range vals.Values {
				b, err := hex.DecodeString(v.Hex)
				if err != nil {
					tb.Fatalf("hex: %v", err)
				}
				out = append(out, b)
			}
		case kind == "awareness" && k == "awareness":
			collectB64Fields(sc.Bytes(), "update", &out)
		case kind == "frame" && (k == "sync" || k == "awareness"):
			collectB64Fields(sc.Bytes(), "frame", &out)
			collectB64Fields(sc.Bytes(), "frames", &out)
			collectB64Fields(sc.Bytes(), "server_step1", &out)
			collectB64Fields(sc.Bytes(), "server_step2_reply", &out)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read vectors: %v", err)
	}
	if len(out) == 0 {
		tb.Fatalf("no %s seeds in the vectors", kind)
	}
	return out
}

// collectB64Fields walks any JSON value and appends every base64 string (or list of them)
// found under the given key.
func collectB64Fields(line []byte, key string, out *[][]byte) {
	var v any
	if json.Unmarshal(line, &v) != nil {
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == key {
					switch s := e.(type) {
					case string:
						if b, err := base64.StdEncoding.DecodeString(s); err == nil {
							*out = append(*out, b)
						}
					case []any:
						for _, it := range s {
							if str, ok := it.(string); ok {
								if b, err := base64.StdEncoding.DecodeString(str); err == nil {
									*out = append(*out, b)
								}
							}
						}
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

func b64list(tb testing.TB, raw json.RawMessage) [][]byte {
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		tb.Fatalf("updates: %v", err)
	}
	out := make([][]byte, 0, len(ss))
	for _, s := range ss {
		out = append(out, mustB64(tb, s))
	}
	return out
}

func b64one(tb testing.TB, raw json.RawMessage) []byte {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		tb.Fatalf("update: %v", err)
	}
	return mustB64(tb, s)
}

func mustB64(tb testing.TB, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatalf("base64: %v", err)
	}
	return b
}
