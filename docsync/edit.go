package docsync

import (
	"context"

	"github.com/tandemsync/tandem/crdt"
)

// principalKey is the context key of WithPrincipal.
type principalKey struct{}

// WithPrincipal returns a context that makes ApplyUpdate and Edit record their update as made
// by principal (persistence.Record.User, UpdateEvent.Principal).
func WithPrincipal(ctx context.Context, principal string) context.Context {
	return context.WithValue(ctx, principalKey{}, principal)
}

// PrincipalFrom returns the principal set by WithPrincipal, or "".
func PrincipalFrom(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(string)
	return p
}

// Edit runs fn in one crdt transaction on doc's actor, loading the document if needed, then
// stores the update the transaction produced and sends it to every peer, like a peer's edit.
// It returns once that update is durable and broadcast (at once if fn changed nothing).
//
// fn must not keep tx, d or anything from them after returning, and must not block: the
// document's peers wait while it runs. An edit cannot be rolled back, so check what you need
// (with Read, or inside fn before the first change) before changing anything. A panic in fn
// fails the document (peers are closed with 1011 and it reloads from the store, without the
// edit) and Edit returns an error. ErrTooLarge: the document is already at
// Options.MaxDocumentBytes. If ctx ends first the edit may still be applied. The update is
// recorded as PrincipalFrom(ctx).
//
//	err := srv.Edit(ctx, "notes", func(tx *crdt.Transaction, d *crdt.Doc) {
//		d.Text("t").Insert(tx, 0, "Hello ", nil)
//	})
func (s *Server) Edit(ctx context.Context, doc string, fn func(tx *crdt.Transaction, d *crdt.Doc)) error {
	user := PrincipalFrom(ctx)
	return s.call(ctx, doc, func(reply chan error) any {
		return editMsg{user: user, fn: fn, reply: reply}
	})
}

// ReadJSON returns doc's content as the JSON value Yjs's doc.toJSON() would give (every root
// by name), read through the document's actor.
func (s *Server) ReadJSON(ctx context.Context, doc string) (map[string]any, error) {
	var out map[string]any
	err := s.Read(ctx, doc, func(d *crdt.Doc) error {
		out = d.ToJSON()
		return nil
	})
	return out, err
}

// ReadText returns the text of root (a Y.Text, or an XML fragment as its string form) of doc.
// It returns ErrNoRoot if doc has no such root or it holds no text.
func (s *Server) ReadText(ctx context.Context, doc, root string) (string, error) {
	var out string
	err := s.Read(ctx, doc, func(d *crdt.Doc) error {
		v, ok := d.ToJSON()[root]
		str, isText := v.(string)
		if !ok || !isText {
			return ErrNoRoot
		}
		out = str
		return nil
	})
	return out, err
}

// SetAccess changes the access of every open connection of principal to doc ("" for every
// loaded document): AccessReadOnly or AccessReadWrite take effect at once without reconnecting;
// AccessDenied closes them with 4403 (the provider stops retrying). It returns how many connections it changed. Documents not in memory have no
// connections and are not loaded. Future connections are decided by Options.Authenticate:
// update what it consults first.
func (s *Server) SetAccess(ctx context.Context, doc, principal string, access Access) (int, error) {
	var actors []*actor
	s.mu.Lock()
	if doc == "" {
		for _, a := range s.docs {
			actors = append(actors, a)
		}
	} else if a := s.docs[doc]; a != nil {
		actors = append(actors, a)
	}
	s.mu.Unlock()
	total := 0
	for _, a := range actors {
		n := make(chan int, 1)
		if !a.post(ctx, accessMsg{principal: principal, access: access, n: n}) {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			continue // the actor exited: no connections left
		}
		select {
		case k := <-n:
			total += k
		case <-a.done:
			select {
			case k := <-n:
				total += k
			default:
			}
		case <-ctx.Done():
			return total, ctx.Err()
		}
	}
	return total, nil
}

// Revoke closes every open connection of principal to doc ("" for every loaded document)
// with 4403; it is SetAccess with AccessDenied.
func (s *Server) Revoke(ctx context.Context, doc, principal string) (int, error) {
	return s.SetAccess(ctx, doc, principal, AccessDenied)
}
