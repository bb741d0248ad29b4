package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/tandemsync/tandem/web"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// assetRefs returns the /assets/ paths index.html references.
func assetRefs(t *testing.T, h http.Handler) (js, css string) {
	t.Helper()
	html := body(t, get(t, h, http.MethodGet, "/", nil))
	mjs := regexp.MustCompile(`src="(/assets/[^"]+\.js)"`).FindStringSubmatch(html)
	mcss := regexp.MustCompile(`href="(/assets/[^"]+\.css)"`).FindStringSubmatch(html)
	if mjs == nil || mcss == nil {
		t.Fatalf("index.html does not reference a script and a stylesheet under /assets/:\n%s", html)
	}
	return mjs[1], mcss[1]
}

func TestHandler_Routes(t *testing.T) {
	h := web.Handler()
	js, css := assetRefs(t, h)
	tests := []struct {
		name, method, path string
		code               int
		ctype, cache       string
		contains           string
	}{
		{"start page", "GET", "/", 200, "text/html", "no-cache", `<div id="app">`},
		{"index.html", "GET", "/index.html", 200, "text/html", "no-cache", `<div id="app">`},
		{"editor route", "GET", "/d/my-doc", 200, "text/html", "no-cache", `<div id="app">`},
		{"editor route slash", "GET", "/d/notes.v2_~x/", 200, "text/html", "no-cache", `<div id="app">`},
		{"script", "GET", js, 200, "javascript", "immutable", "prosemirror"},
		{"stylesheet", "GET", css, 200, "text/css", "immutable", ".ProseMirror"},
		{"head", "HEAD", "/d/x", 200, "text/html", "no-cache", ""},
		{"empty doc route", "GET", "/d/", 404, "", "", ""},
		{"nested doc route", "GET", "/d/a/b", 404, "", "", ""},
		{"unknown page", "GET", "/nope", 404, "", "", ""},
		{"unknown asset", "GET", "/assets/missing.js", 404, "", "", ""},
		{"asset directory", "GET", "/assets/", 404, "", "", ""},
		{"asset traversal", "GET", "/assets/../index.html", 404, "", "", ""},
		{"post", "POST", "/", 405, "", "", ""},
		{"delete asset", "DELETE", js, 405, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := get(t, h, tc.method, tc.path, nil)
			b := body(t, res)
			if res.StatusCode != tc.code {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, res.StatusCode, tc.code)
			}
			if tc.code != 200 {
				return
			}
			if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want it to contain %q", ct, tc.ctype)
			}
			if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, tc.cache) {
				t.Errorf("Cache-Control %q, want it to contain %q", cc, tc.cache)
			}
			if tc.method == "HEAD" && b != "" {
				t.Errorf("HEAD answered a body of %d bytes", len(b))
			}
			if !strings.Contains(b, tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
			if res.Header.Get("ETag") == "" {
				t.Errorf("no ETag")
			}
		})
	}
	t.Run("405 names allowed methods", func(t *testing.T) {
		res := get(t, h, http.MethodPut, "/", nil)
		if got := res.Header.Get("Allow"); got != "GET, HEAD" {
			t.Errorf("Allow %q, want \"GET, HEAD\"", got)
		}
	})
}

func TestHandler_Gzip(t *testing.T) {
	h := web.Handler()
	js, _ := assetRefs(t, h)
	plain := get(t, h, http.MethodGet, js, nil)
	plainBody := body(t, plain)
	if plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("gzip sent without Accept-Encoding")
	}
	for _, ae := range []string{"gzip", "br, gzip;q=0.8", "deflate, GZIP"} {
		res := get(t, h, http.MethodGet, js, map[string]string{"Accept-Encoding": ae})
		if res.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q, want gzip", ae, res.Header.Get("Content-Encoding"))
		}
		if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("no Vary: Accept-Encoding")
		}
		zr, err := gzip.NewReader(bytes.NewReader([]byte(body(t, res))))
		if err != nil {
			t.Fatalf("not gzip: %v", err)
		}
		un, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("gunzip: %v", err)
		}
		if string(un) != plainBody {
			t.Fatalf("gunzipped body differs from the plain one (%d vs %d bytes)", len(un), len(plainBody))
		}
		if res.Header.Get("ETag") == plain.Header.Get("ETag") {
			t.Errorf("gzip and plain responses share ETag %s", plain.Header.Get("ETag"))
		}
	}
	if res := get(t, h, http.MethodGet, js, map[string]string{"Accept-Encoding": "gzip;q=0"}); res.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 still got gzip")
	}
}

func TestHandler_ConditionalGet(t *testing.T) {
	h := web.Handler()
	for _, p := range []string{"/", "/d/abc"} {
		first := get(t, h, http.MethodGet, p, nil)
		etag := first.Header.Get("ETag")
		res := get(t, h, http.MethodGet, p, map[string]string{"If-None-Match": etag})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match %s: status %d, want 304", p, etag, res.StatusCode)
		}
	}
	js, _ := assetRefs(t, h)
	etag := get(t, h, http.MethodGet, js, nil).Header.Get("ETag")
	if res := get(t, h, http.MethodGet, js, map[string]string{"If-None-Match": `"other"`}); res.StatusCode != 200 {
		t.Errorf("mismatched If-None-Match: status %d, want 200", res.StatusCode)
	}
	if res := get(t, h, http.MethodGet, js, map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("asset with matching If-None-Match: status %d, want 304", res.StatusCode)
	}
}
