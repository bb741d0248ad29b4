package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/crdt"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and returns their paths
// and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tandem test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile, pool
}

func TestServe_TLSAndTokens(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("# token principal access\nw1 alice rw\nr1 bob ro\n"), 0o600))
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--addr", addr, "--memory", "--tls-cert", certFile, "--tls-key", keyFile,
			"--tokens", tokens, "--max-conns-per-doc", "1"})
	}()
	tlsConf := &tls.Config{RootCAs: pool}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}}
	base := "https://" + addr
	require.Eventually(t, func() bool {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)

	d := crdt.NewDoc(crdt.Options{ClientID: 1})
	var u []byte
	d.OnUpdate(func(b []byte, _ any) { u = b })
	d.Transact(nil, func(tx *crdt.Transaction) { d.Text("t").Insert(tx, 0, "tls", nil) })
	post := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/docs/doc/update", bytes.NewReader(u))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, post(""))
	assert.Equal(t, http.StatusForbidden, post("zz"))
	assert.Equal(t, http.StatusForbidden, post("r1"), "read-only")
	assert.Equal(t, http.StatusNoContent, post("w1"))

	// wss:// with a token; a second connection to the document is over the limit (1013).
	dialer := websocket.Dialer{TLSClientConfig: tlsConf}
	ws, resp, err := dialer.Dial("wss://"+addr+"/sync/doc?token=r1", nil)
	require.NoError(t, err)
	resp.Body.Close()
	_, msg, err := ws.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, byte(0), msg[0], "sync step 1 over wss")
	ws2, resp, err := dialer.Dial("wss://"+addr+"/sync/doc?token=w1", nil)
	require.NoError(t, err)
	resp.Body.Close()
	_, _, err = ws2.ReadMessage()
	var ce *websocket.CloseError
	if assert.ErrorAs(t, err, &ce) {
		assert.Equal(t, 1013, ce.Code)
	}
	ws2.Close()
	ws.Close()

	resp, err = client.Get(base + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServe_BadSecurityFlags(t *testing.T) {
	dir := t.TempDir()
	assert.Error(t, runServe(context.Background(), []string{"--memory", "--tls-cert", "x.pem"}), "cert without key")
	bad := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(bad, []byte("tok alice admin\n"), 0o600))
	assert.Error(t, runServe(context.Background(), []string{"--memory", "--tokens", bad}))
	assert.Error(t, runServe(context.Background(), []string{"--memory", "--tokens", filepath.Join(dir, "missing")}))
}
