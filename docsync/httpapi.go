package docsync

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/crdt/lib0"
	"github.com/tandemsync/tandem/persistence"
)

// serveAPI serves the HTTP API; rest is the path after "/api/docs/" ("" for the list).
//
//	GET  /api/docs                      stored documents (JSON)
//	GET  /api/docs/<doc>                the document's content as JSON, read through its actor
//	GET  /api/docs/<doc>?root=R         one root as JSON; &format=text: its text (text/plain)
//	GET  /api/docs/<doc>/update[?sv=…]  the state as a binary v1 update (sv: base64url state vector)
//	POST /api/docs/<doc>/update         apply a binary v1 update; 204 once durable and broadcast
//	GET  /api/docs/<doc>/history        the op log (JSON; ?from=&to= seq bounds)
//	GET  /api/docs/<doc>/history?at=N   the content as of record N (JSON)
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	name, action, _ := strings.Cut(rest, "/")
	if name != "" && !ValidName(name) {
		http.Error(w, ErrInvalidName.Error(), http.StatusBadRequest)
		return
	}
	grant, err := s.authenticate(r.Context(), r, name)
	if err == nil && r.Method == http.MethodPost && grant.Access < AccessReadWrite {
		err = errReadOnly
	}
	if err != nil {
		http.Error(w, err.Error(), refusalStatus(err))
		return
	}
	ctx := WithPrincipal(r.Context(), grant.Principal)
	switch {
	case name == "" && action == "":
		if !allow(w, r, http.MethodGet) {
			return
		}
		s.apiList(ctx, w)
	case action == "":
		if !allow(w, r, http.MethodGet) {
			return
		}
		s.apiJSON(ctx, w, r, name)
	case action == "update" && r.Method == http.MethodPost:
		s.apiPostUpdate(ctx, w, r, name)
	case action == "update":
		if !allow(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		s.apiGetUpdate(ctx, w, r, name)
	case action == "history":
		if !allow(w, r, http.MethodGet) {
			return
		}
		s.apiHistory(ctx, w, r, name)
	default:
		http.NotFound(w, r)
	}
}

// allow answers 405 unless r uses one of methods (HEAD counts as GET).
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// docInfoJSON is one entry of GET /api/docs.
type docInfoJSON struct {
	Name        string    `json:"name"`
	Ops         uint64    `json:"ops"`
	Bytes       int64     `json:"bytes"`
	LastEdit    time.Time `json:"lastEdit"`
	SnapshotSeq uint64    `json:"snapshotSeq"`
	Loaded      bool      `json:"loaded"`
}

func (s *Server) apiList(ctx context.Context, w http.ResponseWriter) {
	infos, err := s.store.Docs(ctx)
	if err != nil {
		s.apiError(w, err)
		return
	}
	loaded := map[string]bool{}
	for _, n := range s.Loaded() {
		loaded[n] = true
	}
	out := make([]docInfoJSON, 0, len(infos))
	for _, d := range infos {
		out = append(out, docInfoJSON{d.Name, d.Ops, d.Bytes, d.LastEdit, d.SnapshotSeq, loaded[d.Name]})
	}
	writeJSON(w, out)
}

func (s *Server) apiJSON(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	root, format := q.Get("root"), q.Get("format")
	if format != "" && format != "json" && format != "text" {
		http.Error(w, "format: want json or text", http.StatusBadRequest)
		return
	}
	if format == "text" && root == "" {
		http.Error(w, "format=text needs root=<name>", http.StatusBadRequest)
		return
	}
	var out string
	err := s.Read(ctx, name, func(d *crdt.Doc) error {
		all := d.ToJSON()
		if root == "" {
			out = lib0.StringifyJSON(all)
			return nil
		}
		v, ok := all[root]
		if !ok {
			return ErrNoRoot
		}
		if format == "text" {
			str, isText := v.(string)
			if !isText {
				return ErrNoRoot
			}
			out = str
			return nil
		}
		out = lib0.StringifyJSON(v)
		return nil
	})
	if err != nil {
		s.apiError(w, err)
		return
	}
	if format == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, out)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, out+"\n")
}

func (s *Server) apiGetUpdate(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) {
	var sv []byte
	if q := r.URL.Query().Get("sv"); q != "" {
		var err error
		sv, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(q, "="))
		if err != nil {
			http.Error(w, "sv: not base64url", http.StatusBadRequest)
			return
		}
	}
	update, err := s.EncodeState(ctx, name, sv)
	if err != nil {
		s.apiError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(update)))
	_, _ = w.Write(update)
}

func (s *Server) apiPostUpdate(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) {
	body, err := readLimited(r.Body, s.opts.MaxMessageBytes)
	if errors.Is(err, errTooLarge) {
		http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.ApplyUpdate(ctx, name, body); err != nil {
		s.apiError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// opJSON is one record of GET /api/docs/<doc>/history.
type opJSON struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Conn    string    `json:"conn,omitempty"`
	User    string    `json:"user,omitempty"`
	Clients []uint64  `json:"clients"`
	Bytes   int       `json:"bytes"`
}

func (s *Server) apiHistory(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	if at := q.Get("at"); at != "" {
		seq, err := strconv.ParseUint(at, 10, 64)
		if err != nil || seq == 0 {
			http.Error(w, "at: want a sequence number ≥ 1", http.StatusBadRequest)
			return
		}
		doc, err := s.docAt(ctx, name, seq)
		if err != nil {
			s.apiError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, lib0.StringifyJSON(doc.ToJSON())+"\n")
		return
	}
	from, err1 := parseSeq(q.Get("from"))
	to, err2 := parseSeq(q.Get("to"))
	if err := errors.Join(err1, err2); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	recs, err := s.store.History(ctx, name, from, to)
	if err != nil {
		s.apiError(w, err)
		return
	}
	out := make([]opJSON, 0, len(recs))
	for _, rec := range recs {
		op := opJSON{Seq: rec.Seq, Time: rec.Time, User: rec.User, Clients: rec.Clients, Bytes: len(rec.Update)}
		if rec.ConnID != uuid.Nil {
			op.Conn = rec.ConnID.String()
		}
		if op.Clients == nil {
			op.Clients = []uint64{}
		}
		out = append(out, op)
	}
	writeJSON(w, out)
}

func parseSeq(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("bad sequence number " + strconv.Quote(s))
	}
	return v, nil
}

// docAt rebuilds name as of record seq from the store, outside the actor.
func (s *Server) docAt(ctx context.Context, name string, seq uint64) (*crdt.Doc, error) {
	if l, ok := s.store.(persistence.Loader); ok {
		d, _, err := persistence.LoadDocAt(ctx, l, name, seq, crdt.Options{})
		return d, err
	}
	recs, err := s.store.History(ctx, name, 1, seq)
	if err != nil {
		return nil, err
	}
	d := crdt.NewDoc(crdt.Options{})
	for _, rec := range recs {
		if err := d.ApplyUpdate(rec.Update); err != nil {
			return nil, &persistence.CorruptError{Doc: name, Seq: rec.Seq, Err: err}
		}
	}
	return d, nil
}

// apiError maps an error to an HTTP status.
func (s *Server) apiError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadUpdate), errors.Is(err, ErrInvalidName), errors.Is(err, persistence.ErrInvalid):
		code = http.StatusBadRequest
	case errors.Is(err, persistence.ErrNotFound), errors.Is(err, ErrNoRoot):
		code = http.StatusNotFound
	case errors.Is(err, ErrTooLarge):
		code = http.StatusRequestEntityTooLarge
	case errors.Is(err, persistence.ErrCompacted):
		code = http.StatusGone
	case errors.Is(err, ErrClosed), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		code = http.StatusServiceUnavailable
	}
	if code == http.StatusInternalServerError || code == http.StatusServiceUnavailable {
		s.log.Error("api request failed", "err", err)
	}
	http.Error(w, err.Error(), code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
