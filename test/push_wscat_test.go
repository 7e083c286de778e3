package test

// The document's `wscat -c ws://localhost:8080/ws`, with the wscat pinned in
// test/js.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

// wscat starts test/js's wscat with args; stdin stays open (wscat exits when
// it closes) until the returned stop is called.
func wscat(t *testing.T, ctx context.Context, args ...string) (stdout io.Reader, stderr *syncBuffer, stdin io.WriteCloser, wait func() error) {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join(jsDir, "node_modules", "wscat", "bin", "wscat"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", append([]string{bin}, args...)...)
	cmd.Dir = jsDir
	stderr = &syncBuffer{}
	cmd.Stderr = stderr
	if stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return out, stderr, stdin, cmd.Wait
}

func TestPushWscat(t *testing.T) {
	t.Parallel()
	requireNodeModules(t)
	s := startServer(t)
	seedEvents(t, s)
	apiShape := shapeOf(s.metrics(t))

	// As a person does it: connect, then (once connected) type the JSON
	// SUBSCRIBE of the document's Python example; or pass it with -x.
	// Snapshots come back as JSON lines.
	for _, tc := range []struct {
		name  string
		args  []string
		typed string
	}{
		{"typed-json-subscribe", []string{"--slash", "--show-ping-pong"}, `{"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0"}`},
		{"x-json-subscribe", []string{"-x", `{"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0"}`, "-w", "-1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
			defer cancel()
			out, stderr, stdin, wait := wscat(t, ctx, append([]string{"-c", "ws://" + s.addr + "/ws"}, tc.args...)...)
			lines := make(chan []byte)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(out)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				for sc.Scan() {
					lines <- bytes.TrimSpace(bytes.TrimLeft(sc.Bytes(), "> ")) // readline's prompt
				}
			}()
			var got [][]byte
			// next waits up to d for wscat's next line; ended says its
			// output has ended, timedOut that d passed first.
			next := func(d time.Duration) (line []byte, ended, timedOut bool) {
				select {
				case l, ok := <-lines:
					if ok && len(l) > 0 && l[0] == '{' {
						got = append(got, append([]byte(nil), l...))
					}
					return l, !ok, false
				case <-time.After(d):
					return nil, false, true
				}
			}
			if tc.typed != "" {
				// wscat takes typed lines only once connected, and says
				// nothing on connect when not on a terminal (a line typed
				// before is dropped). So /ping until a pong shows: then it is
				// connected and reading lines.
				testutil.WaitFor(t, testutil.Patience, "wscat to connect (a pong to /ping)", func() error {
					if _, err := io.WriteString(stdin, "/ping\n"); err != nil {
						return err
					}
					for {
						l, ended, timedOut := next(100 * time.Millisecond)
						switch {
						case ended:
							t.Fatalf("wscat ended before connecting\nstderr: %s", stderr)
						case timedOut:
							return errors.New("no pong yet")
						case bytes.HasPrefix(l, []byte("Received pong")):
							return nil
						}
					}
				})
				if _, err := io.WriteString(stdin, tc.typed+"\n"); err != nil {
					t.Fatal(err)
				}
			}
			for len(got) < 2 {
				if _, ended, timedOut := next(testutil.Patience); ended || timedOut {
					break
				}
			}
			stdin.Close() // wscat closes and exits
			for range lines {
			}
			werr := wait()
			if len(got) < 2 {
				t.Fatalf("wscat printed %d snapshots, want 2 (exit %v)\nstderr: %s\nserver log (tail):\n%s", len(got), werr, stderr, tail(s.logs.String(), 30))
			}
			for i, b := range got[:2] {
				checkSnapshotBody(t, fmt.Sprintf("wscat snapshot %d", i), b, apiShape)
			}
		})
	}
	// STOMP through wscat is not tested: a command-line argument cannot carry
	// the NUL that ends a STOMP frame and each typed line is its own message,
	// so wscat users speak the JSON form above.
}
