package docsync

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
)

// peerLog logs for one connection: it adds the document's name and the connection's id to
// every record. Unlike slog.Logger.With it builds nothing up front, so an idle connection
// does not carry a handler of its own (a few hundred bytes each); records below the
// handler's level cost one Enabled call.
type peerLog struct {
	base *slog.Logger
	doc  string // "" until the connection is bound to a document
	id   uuid.UUID
}

func (l *peerLog) Debug(msg string, args ...any) { l.log(slog.LevelDebug, msg, args) }
func (l *peerLog) Info(msg string, args ...any)  { l.log(slog.LevelInfo, msg, args) }
func (l *peerLog) Warn(msg string, args ...any)  { l.log(slog.LevelWarn, msg, args) }
func (l *peerLog) Error(msg string, args ...any) { l.log(slog.LevelError, msg, args) }

func (l *peerLog) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	if l.base == nil || !l.base.Enabled(ctx, level) {
		return
	}
	all := make([]any, 0, 4+len(args))
	if l.doc != "" {
		all = append(all, "doc", l.doc)
	}
	all = append(all, "conn", l.id)
	l.base.Log(ctx, level, msg, append(all, args...)...)
}
