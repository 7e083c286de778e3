package sockjs

import (
	"bytes"
	"context"
	"testing"

	"github.com/eventara/eventara/actors"
)

// benchShared is a realistic ~20 KB snapshot MESSAGE tail.
func benchShared() *actors.Shared {
	body := bytes.Repeat([]byte(`{"type":"page_view","count":12345,"rate":1.25},`), 420)
	tail := append([]byte("content-type:application/json\ncontent-length:20160\n\n"), body...)
	tail = append(tail, 0)
	return &actors.Shared{JSON: body, STOMPTail: tail}
}

var benchHead = []byte("MESSAGE\nsubscription:sub-0\nmessage-id:123456\ndestination:/topic/metrics\ntimestamp:1764349200000\n")

// BenchmarkBuildSockJSFrame measures the per-delivery CPU of laying out
// one SockJS websocket frame (escaping the head only).
func BenchmarkBuildSockJSFrame(b *testing.B) {
	c := &wsConn{sockjs: true}
	units := []actors.Outgoing{{Head: benchHead, Shared: benchShared()}}
	fb := getBuilder()
	b.ReportAllocs()
	for b.Loop() {
		fb.reset()
		c.build(fb, units)
		fb.buffers()
	}
}

// BenchmarkDeliverRawWebSocket measures one delivery end to end over
// loopback: Send, the writer goroutine, one writev, the client's read.
func BenchmarkDeliverRawWebSocket(b *testing.B) {
	benchDeliver(b, "/ws", false)
}

// BenchmarkDeliverSockJSWebSocket is the same over SockJS's websocket
// transport.
func BenchmarkDeliverSockJSWebSocket(b *testing.B) {
	benchDeliver(b, "/ws/000/bench/websocket", true)
}

func benchDeliver(b *testing.B, path string, sockjs bool) {
	ts := newTestSessions(false)
	h := NewHandler(Config{QueueLength: 1 << 16}, ts)
	srv := newBenchServer(b, h)
	ws := dialWSB(b, srv+path)
	ws.SetReadLimit(1 << 20)
	if sockjs {
		ws.Read(context.Background())
	}
	conn := <-ts.opened
	unit := actors.Outgoing{Head: benchHead, Shared: benchShared()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			if _, _, err := ws.Read(context.Background()); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchHead) + len(unit.Shared.STOMPTail)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for !conn.Send(unit) {
			// The queue is bounded: wait for the writer.
		}
		if sockjs {
			// SockJS batches queued units into one frame; keep one
			// message per delivery so the reader's count holds.
			for {
				c := conn.(*wsConn)
				c.mu.Lock()
				idle := len(c.queue) == 0
				c.mu.Unlock()
				if idle {
					break
				}
			}
		}
	}
	<-done
}
