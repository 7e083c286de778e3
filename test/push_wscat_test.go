package test

// The document's `wscat -c ws://localhost:8080/ws`, with the wscat pinned in
// test/js.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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
		{"typed-json-subscribe", nil, `{"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0"}`},
		{"x-json-subscribe", []string{"-x", `{"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0"}`, "-w", "4"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, stderr, stdin, wait := wscat(t, ctx, append([]string{"-c", "ws://" + s.addr + "/ws"}, tc.args...)...)
			if tc.typed != "" {
				time.Sleep(time.Second) // wscat prints nothing on connect when not on a terminal
				if _, err := io.WriteString(stdin, tc.typed+"\n"); err != nil {
					t.Fatal(err)
				}
			}
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			var got [][]byte
			for len(got) < 2 && sc.Scan() {
				line := bytes.TrimSpace(bytes.TrimLeft(sc.Bytes(), "> ")) // readline's prompt
				if len(line) > 0 && line[0] == '{' {
					got = append(got, append([]byte(nil), line...))
				}
			}
			stdin.Close()
			werr := wait()
			if len(got) < 2 {
				t.Fatalf("wscat printed %d snapshots, want 2 (exit %v)\nstderr: %s\nserver log (tail):\n%s", len(got), werr, stderr, tail(s.logs.String(), 30))
			}
			for i, b := range got {
				checkSnapshotBody(t, fmt.Sprintf("wscat snapshot %d", i), b, apiShape)
			}
		})
	}
	// STOMP through wscat is not tested: a command-line argument cannot carry
	// the NUL that ends a STOMP frame and each typed line is its own message,
	// so wscat users speak the JSON form above.
}
