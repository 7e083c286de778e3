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
	"strings"
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

	// STOMP through wscat: -x sends one text message. A command-line
	// argument cannot carry the NUL that ends a STOMP frame (and typed lines
	// lose their EOLs), so this needs the server to take the end of a text
	// message as the end of a frame that lacks its NUL. -s offers a STOMP
	// subprotocol; the second case offers none, as the document's command.
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"stomp-connect-without-nul-v12", []string{"-s", "v12.stomp"}},
		{"stomp-connect-without-nul-no-subprotocol", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"-c", "ws://" + s.addr + "/ws"}, tc.args...)
			args = append(args, "-x", "CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n\n", "-w", "2")
			out, stderr, stdin, wait := wscat(t, ctx, args...)
			b, _ := io.ReadAll(out)
			stdin.Close()
			werr := wait()
			if !strings.HasPrefix(strings.TrimLeft(string(b), "\r\n"), "CONNECTED\n") || !strings.Contains(string(b), "version:1.2") {
				t.Errorf("wscat -x CONNECT (no NUL: argv cannot hold one) printed %q, want a CONNECTED frame with version:1.2 (exit %v)\nstderr: %s\nserver log (tail):\n%s",
					b, werr, stderr, tail(s.logs.String(), 30))
			}
		})
	}
}
