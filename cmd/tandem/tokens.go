package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/tandemsync/tandem/docsync"
)

// tokenTable is the authentication of `tandem serve --tokens FILE`: a fixed table of bearer
// tokens, each granting one principal read-write or read-only access to every document.
type tokenTable map[string]docsync.Grant

// readTokens parses a token file: one "TOKEN PRINCIPAL rw|ro" per line; blank lines and lines
// starting with # are skipped.
func readTokens(path string) (tokenTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := tokenTable{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want TOKEN PRINCIPAL rw|ro", path, n)
		}
		var access docsync.Access
		switch fields[2] {
		case "rw":
			access = docsync.AccessReadWrite
		case "ro":
			access = docsync.AccessReadOnly
		default:
			return nil, fmt.Errorf("%s:%d: access %q: want rw or ro", path, n, fields[2])
		}
		t[fields[0]] = docsync.Grant{Principal: fields[1], Access: access}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("%s: no tokens", path)
	}
	return t, nil
}

// authenticate is the docsync.AuthenticateFunc of the table.
func (t tokenTable) authenticate(_ context.Context, r *http.Request, _ string) (docsync.Grant, error) {
	tok := docsync.TokenFromRequest(r, docsync.DefaultTokenSource)
	if tok == "" {
		return docsync.Grant{}, docsync.ErrUnauthenticated
	}
	g, ok := t[tok]
	if !ok {
		return docsync.Grant{}, fmt.Errorf("%w: unknown token", docsync.ErrForbidden)
	}
	return g, nil
}
