package persistence_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tandemsync/tandem/persistence"
)

// crashChildEnv names the database file for the child process of the crash test.
const crashChildEnv = "TANDEM_PERSISTENCE_CRASH_CHILD"

const crashDocs = 4

// crashPayload is the update the child stores as record seq of doc.
func crashPayload(doc string, seq uint64) string { return fmt.Sprintf("%s:%d", doc, seq) }

// TestCrashChild is not a test: it is the child process of
// TestStore_CrashKeepsAckedRecords. It appends to crashDocs documents until it is killed,
// printing "ack DOC SEQ" for every acknowledged record.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		return // not started as the child process: nothing to do, nothing to check
	}
	// Background snapshots run too, so kills also land in the middle of snapshot writes.
	s, err := persistence.Open(path, persistence.WithBuilder(persistence.Options{SnapshotEvery: 100, MaxBatch: 32, Logger: testLogger}, concatBuild))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	acks := make(chan string, 4096)
	go func() {
		w := bufio.NewWriter(os.Stdout)
		for line := range acks {
			w.WriteString(line)
			if len(acks) == 0 {
				w.Flush()
			}
		}
	}()
	for d := range crashDocs {
		doc := fmt.Sprintf("doc-%d", d)
		info, err := s.Info(context.Background(), doc)
		next := uint64(1)
		if err == nil {
			next = info.LastSeq + 1
		}
		go func() {
			inflight := make(chan struct{}, 64)
			for seq := next; ; seq++ {
				inflight <- struct{}{}
				s.Append(doc, persistence.Record{Update: []byte(crashPayload(doc, seq))}, func(got uint64, err error) {
					<-inflight
					if err != nil || got != seq {
						acks <- fmt.Sprintf("error %s %d %d %v\n", doc, seq, got, err)
						return
					}
					acks <- fmt.Sprintf("ack %s %d\n", doc, got)
				})
			}
		}()
	}
	select {} // until killed
}

// TestStore_CrashKeepsAckedRecords SIGKILLs a child process that appends records, at a
// random time, then reopens the file: every acknowledged record must be there, intact.
func TestStore_CrashKeepsAckedRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	r := rand.New(rand.NewPCG(seed(t), 2))
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := map[string]uint64{} // the highest acknowledged seq per document, over all runs
	for iter := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		first := make(chan struct{})
		readDone := make(chan error, 1)
		go func() {
			br := bufio.NewReader(out)
			n := 0
			for {
				line, err := br.ReadString('\n')
				if err != nil { // EOF after the kill; a partial last line is ignored
					if err == io.EOF {
						err = nil
					}
					readDone <- err
					return
				}
				f := strings.Fields(line)
				if len(f) != 3 || f[0] != "ack" {
					if strings.HasPrefix(line, "error") || strings.HasPrefix(line, "open") {
						readDone <- fmt.Errorf("child: %s", line)
						return
					}
					continue
				}
				seq, _ := strconv.ParseUint(f[2], 10, 64)
				acked[f[1]] = max(acked[f[1]], seq)
				if n++; n == 1 {
					close(first)
				}
			}
		}()
		select {
		case <-first:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("child acknowledged nothing within 30s")
		}
		time.Sleep(time.Duration(r.IntN(300)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		require.NoError(t, <-readDone)
		_ = cmd.Wait()

		s, err := persistence.Open(path, persistence.Options{SnapshotEvery: -1, Logger: testLogger})
		require.NoError(t, err, "reopen after kill %d", iter)
		total := 0
		for doc, last := range acked {
			recs, err := s.History(context.Background(), doc, 0, 0)
			require.NoError(t, err, "doc %s after kill %d", doc, iter)
			require.GreaterOrEqual(t, uint64(len(recs)), last, "acked records of %s lost after kill %d", doc, iter)
			for i, rec := range recs {
				require.Equal(t, uint64(i+1), rec.Seq)
				assert.Equal(t, crashPayload(doc, rec.Seq), string(rec.Update))
			}
			total += len(recs)

			// Snapshots hold exactly the records up to their seq, and Load agrees.
			snaps, err := s.Snapshots(context.Background(), doc)
			require.NoError(t, err)
			for _, sn := range snaps {
				want, err := concatBuild(nil, recs[:sn.Seq])
				require.NoError(t, err)
				require.Equal(t, string(want), string(sn.State), "snapshot %d of %s", sn.Seq, doc)
			}
			l, err := s.Load(context.Background(), doc)
			require.NoError(t, err)
			want, err := concatBuild(nil, recs)
			require.NoError(t, err)
			require.Equal(t, string(want), content(t, l))
		}
		t.Logf("kill %d: %d records on disk, acked up to %v", iter, total, acked)
		require.NoError(t, s.Close())
	}
}
