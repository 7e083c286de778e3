package actors

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/stomp"
)

// inflateMessage decodes a permessage-deflate payload (RFC 7692 section
// 7.2.2): append 00 00 ff ff, inflate.
func inflateMessage(t *testing.T, payload []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(payload), strings.NewReader("\x00\x00\xff\xff")))
	b, err := io.ReadAll(r)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("inflate: %v", err)
	}
	return b
}

// storedBlock is p as one non-final DEFLATE stored block, the way the
// transport writes a subscriber's head in front of the shared tail.
func storedBlock(p []byte) []byte {
	n := len(p)
	return append([]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}, p...)
}

// TestStompSharedDeflate: the compressed tails inflate to STOMPTail and to
// SockJSTail plus `"]`, alone and behind a stored block holding a head,
// and are much smaller than what they encode.
func TestStompSharedDeflate(t *testing.T) {
	json := `{"summary":{"totalEvents":15000,"note":"quote \" and \u00e9"},"eventsByType":{` + strings.Repeat(`"page_view":{"count":12345,"rate":1.5},`, 500) + `"x":{}}}`
	sh := buildShared(testSnapshot(json, time.UnixMilli(1764349200000)))
	if sh.STOMPTailDeflate == nil || sh.SockJSTailDeflate == nil {
		t.Fatal("compressed tails missing")
	}
	if got := inflateMessage(t, sh.STOMPTailDeflate); !bytes.Equal(got, sh.STOMPTail) {
		t.Fatalf("STOMPTailDeflate inflates to %d bytes, want STOMPTail's %d", len(got), len(sh.STOMPTail))
	}
	wantSock := string(sh.SockJSTail) + `"]`
	if got := inflateMessage(t, sh.SockJSTailDeflate); string(got) != wantSock {
		t.Fatalf("SockJSTailDeflate inflates to %d bytes, want %d", len(got), len(wantSock))
	}
	head := []byte("MESSAGE\nsubscription:sub-0\nmessage-id:abc-1\n")
	msg := append(storedBlock(head), sh.STOMPTailDeflate...)
	if got := inflateMessage(t, msg); string(got) != string(head)+string(sh.STOMPTail) {
		t.Fatalf("head + tail inflates to %.80q", got)
	}
	if len(sh.STOMPTailDeflate)*4 > len(sh.STOMPTail) {
		t.Fatalf("compressed %d of %d bytes", len(sh.STOMPTailDeflate), len(sh.STOMPTail))
	}
}

// TestSubscriptionHeadMatchesEncoder: the cached head prefix gives the
// bytes stomp.AppendMessageHead would, in every version, escapes included.
func TestSubscriptionHeadMatchesEncoder(t *testing.T) {
	for _, v := range []stomp.Version{stomp.V10, stomp.V11, stomp.V12} {
		s := &subscriptionActor{version: v, id: "sub:0\\x\ny", idPrefix: "a1b2-7-"}
		for _, seq := range []uint64{1, 9, 10, 12345, 1<<64 - 1} {
			s.seq = seq
			got := s.appendHead(nil)
			want := stomp.AppendMessageHead(nil, v, s.id, s.idPrefix, seq)
			if !bytes.Equal(got, want) {
				t.Fatalf("version %v seq %d: %q, want %q", v, seq, got, want)
			}
		}
	}
}
