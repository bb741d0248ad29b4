package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/tandemsync/tandem/docsync"
	"github.com/tandemsync/tandem/persistence"
	"github.com/tandemsync/tandem/web"
)

// shutdownTimeout bounds the graceful part of `tandem serve`'s shutdown.
const shutdownTimeout = 15 * time.Second

// runServe runs the sync server until ctx ends (SIGINT/SIGTERM), then shuts down in order:
// the HTTP server stops accepting, the sync server closes its peers with 1001 and flushes,
// and the store is closed.
func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	dbPath := fs.String("db", "./tandem.db", "bbolt database file (\":memory:\" keeps everything in memory)")
	memory := fs.Bool("memory", false, "keep everything in memory (same as --db :memory:)")
	idle := fs.Duration("idle", 30*time.Second, "unload a document this long after its last peer leaves")
	maxMsg := fs.Int64("max-message", 32<<20, "largest WebSocket message accepted, in bytes")
	echo := fs.Bool("echo", false, "echo each durable update to its sender too (y-websocket v14 sync status)")
	verbose := fs.Bool("v", false, "debug logging")
	debugAddr := fs.String("debug-addr", "", "serve Go's profiles (net/http/pprof, /debug/pprof/) on this address, e.g. 127.0.0.1:6060; keep it private (default: off)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS and wss://")
	tlsKey := fs.String("tls-key", "", "TLS private key file (PEM)")
	tokens := fs.String("tokens", "", "token file: one `TOKEN PRINCIPAL rw|ro` per line; clients send ?token=, a Bearer header or the tandem_token cookie (default: no authentication)")
	origins := fs.String("allow-origin", "", "comma-separated browser origins allowed to open WebSockets, e.g. https://app.example.com,https://*.example.com (default: any)")
	maxDoc := fs.Int64("max-doc-bytes", 256<<20, "largest document, in bytes")
	maxConns := fs.Int("max-conns", 0, "most WebSocket connections in total (0: no limit)")
	maxConnsDoc := fs.Int("max-conns-per-doc", 0, "most WebSocket connections per document (0: no limit)")
	msgRate := fs.Float64("max-msg-rate", 0, "messages per second per connection, bursts of twice that (0: no limit)")
	byteRate := fs.Float64("max-byte-rate", 0, "bytes per second per connection, bursts of twice that (0: no limit)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: tandem serve [--addr 127.0.0.1:8080] [--db ./tandem.db | --memory] [--tls-cert F --tls-key F] [--tokens F]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("serve: --tls-cert and --tls-key go together")
	}
	var auth docsync.AuthenticateFunc
	if *tokens != "" {
		table, err := readTokens(*tokens)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		auth = table.authenticate
	}
	var allowed []string
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			allowed = append(allowed, o)
		}
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	var store interface {
		docsync.Store
		Close() error
	}
	if *memory || *dbPath == ":memory:" {
		store = persistence.NewMemoryStoreWith(persistence.Options{Logger: log})
		log.Warn("in-memory store: documents are lost when the server stops")
	} else {
		s, err := persistence.Open(*dbPath, persistence.Options{Logger: log})
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		store = s
	}

	srv, err := docsync.New(docsync.Options{
		Store:           store,
		Logger:          log,
		IdleTimeout:     *idle,
		MaxMessageBytes: *maxMsg,
		EchoUpdates:     *echo,

		Authenticate:         auth,
		AllowedOrigins:       allowed,
		MaxDocumentBytes:     *maxDoc,
		MaxConnections:       *maxConns,
		MaxConnectionsPerDoc: *maxConnsDoc,
		MaxMessageRate:       *msgRate,
		MaxByteRate:          *byteRate,
	})
	if err != nil {
		return errors.Join(fmt.Errorf("serve: %w", err), store.Close())
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return errors.Join(fmt.Errorf("serve: %w", err), srv.Close(), store.Close())
	}
	// The sync server owns its routes; everything else is the embedded editor.
	mux := http.NewServeMux()
	mux.Handle("/sync/", srv)
	mux.Handle("/api/", srv)
	mux.Handle("/healthz", srv)
	mux.Handle("/metrics", srv)
	mux.Handle("/", web.Handler())
	httpSrv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	var debugSrv *http.Server
	if *debugAddr != "" {
		dln, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			return errors.Join(fmt.Errorf("serve: --debug-addr: %w", err), ln.Close(), srv.Close(), store.Close())
		}
		debugSrv = &http.Server{Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = debugSrv.Serve(dln) }()
		log.Info("profiles", "addr", dln.Addr().String(), "path", "/debug/pprof/")
	}
	scheme := "ws"
	if *tlsCert != "" {
		scheme = "wss"
	}
	log.Info("listening", "addr", ln.Addr().String(), "ws", scheme+"://"+ln.Addr().String()+"/sync/<doc>",
		"auth", *tokens != "", "metrics", "/metrics")

	serveErr := make(chan error, 1)
	// The HTTP server stops when httpSrv.Shutdown runs below; this function waits for it via
	// serveErr.
	go func() {
		if *tlsCert != "" {
			serveErr <- httpSrv.ServeTLS(ln, *tlsCert, *tlsKey)
			return
		}
		serveErr <- httpSrv.Serve(ln)
	}()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}

	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// 1. Stop accepting HTTP requests (hijacked WebSockets are left to the sync server).
	if err := httpSrv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if debugSrv != nil {
		_ = debugSrv.Close() // a running CPU profile is cut short
	}
	if runErr == nil {
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	// 2. Close peers with 1001, wait until every accepted update is durable.
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("sync server shutdown", "err", err)
		runErr = errors.Join(runErr, err)
	}
	// 3. Flush and close the store.
	if err := store.Close(); err != nil {
		log.Error("store close", "err", err)
		runErr = errors.Join(runErr, fmt.Errorf("serve: closing store: %w", err))
	}
	log.Info("stopped")
	return runErr
}

// pprofMux serves net/http/pprof's handlers under /debug/pprof/ (registered here, not on
// http.DefaultServeMux).
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
