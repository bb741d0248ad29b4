package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// assetsPrefix is where the hashed, immutable build outputs live.
const assetsPrefix = "/assets/"

// minGzip is the smallest file worth compressing.
const minGzip = 1024

// file is one servable file, read once from the embedded tree.
type file struct {
	name  string // base name, for the Content-Type
	body  []byte
	gz    []byte // gzip of body, or nil when not worth it
	etag  string
	ctype string
}

// Handler returns an http.Handler that serves the editor: index.html for "/" and for
// "/d/<doc>" (the single-page app routes), and the built files under /assets/ with a year-long
// immutable cache, their names carrying a content hash. Responses are gzipped for clients that
// accept it. Anything else is 404; methods other than GET and HEAD are 405.
func Handler() http.Handler {
	h := &handler{assets: map[string]*file{}}
	err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		f := newFile(path.Base(p), body)
		rel := strings.TrimPrefix(p, "dist")
		switch {
		case rel == "/index.html":
			h.index = f
		case strings.HasPrefix(rel, assetsPrefix):
			h.assets[rel] = f
		}
		return nil
	})
	if err != nil || h.index == nil {
		// The embed pattern guarantees dist/ and the build writes index.html: a build defect.
		panic("web: embedded dist is incomplete")
	}
	return h
}

func newFile(name string, body []byte) *file {
	sum := sha256.Sum256(body)
	f := &file{name: name, body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	f.ctype = mime.TypeByExtension(path.Ext(name))
	if f.ctype == "" {
		f.ctype = http.DetectContentType(body)
	}
	if len(body) >= minGzip {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
		_, _ = zw.Write(body)                                    // writes to a bytes.Buffer do not fail
		_ = zw.Close()
		if buf.Len() < len(body)*9/10 {
			f.gz = buf.Bytes()
		}
	}
	return f
}

type handler struct {
	index  *file
	assets map[string]*file // by URL path, "/assets/…"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	switch {
	case p == "/" || p == "/index.html" || isDocRoute(p):
		// The page names the current hashed assets, so it is revalidated on every load.
		hd.Set("Cache-Control", "no-cache")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; "+
			"img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		serve(w, r, h.index)
	case strings.HasPrefix(p, assetsPrefix):
		f := h.assets[p]
		if f == nil {
			http.NotFound(w, r)
			return
		}
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		serve(w, r, f)
	default:
		http.NotFound(w, r)
	}
}

// isDocRoute reports whether p is "/d/<doc>" or "/d/<doc>/": one non-empty segment.
func isDocRoute(p string) bool {
	rest, ok := strings.CutPrefix(p, "/d/")
	if !ok {
		return false
	}
	rest = strings.TrimSuffix(rest, "/")
	return rest != "" && !strings.Contains(rest, "/")
}

// serve writes f, gzipped when the client accepts it, answering conditional and range
// requests through http.ServeContent.
func serve(w http.ResponseWriter, r *http.Request, f *file) {
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	body := f.body
	if f.gz != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body = f.gz
			hd.Set("Content-Encoding", "gzip")
			hd.Set("ETag", strings.TrimSuffix(f.etag, `"`)+`-gz"`)
			// A range of the compressed bytes is not what a client asking for a range wants.
			r.Header.Del("Range")
		} else {
			hd.Set("ETag", f.etag)
		}
	} else {
		hd.Set("ETag", f.etag)
	}
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
