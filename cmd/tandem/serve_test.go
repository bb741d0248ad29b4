package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestServe_PersistsAndShutsDownCleanly(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tandem.db")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, []string{"--addr", addr, "--db", db}) }()

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)

	d := crdt.NewDoc(crdt.Options{ClientID: 1})
	var u []byte
	d.OnUpdate(func(b []byte, _ any) { u = b })
	d.Transact(nil, func(tx *crdt.Transaction) { d.Text("t").Insert(tx, 0, "saved", nil) })
	resp, err := http.Post("http://"+addr+"/api/docs/doc/update", "application/octet-stream", bytes.NewReader(u))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}

	store, err := persistence.Open(db, persistence.Options{})
	require.NoError(t, err, "the database was closed and unlocked")
	defer store.Close()
	got, seq, err := persistence.LoadDoc(context.Background(), store, "doc", crdt.Options{})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), seq)
	assert.Equal(t, "saved", got.ToJSON()["t"])
}

func TestServe_DebugAddrServesProfiles(t *testing.T) {
	addr, debug := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, []string{"--addr", addr, "--memory", "--debug-addr", debug}) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	var body []byte
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + debug + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
	assert.Contains(t, string(body), "goroutine profile")
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, "profiles stay off the public address")
}

func TestServe_BadFlags(t *testing.T) {
	assert.Error(t, runServe(context.Background(), []string{"--nope"}))
	assert.Error(t, runServe(context.Background(), []string{"extra"}))
	assert.Error(t, runServe(context.Background(), []string{"--memory", "--addr", "256.0.0.1:1"}))
}
