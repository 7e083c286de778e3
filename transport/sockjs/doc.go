// Package sockjs serves the SockJS protocol and the raw WebSocket endpoint
// under one prefix (/ws): the greeting, /info, the iframe page and the
// sockjs.js it loads, and the session transports websocket, xhr,
// xhr_streaming, eventsource, htmlfile and jsonp (with xhr_send and
// jsonp_send), plus plain WebSocket at the prefix itself and at
// prefix/websocket for STOMP clients that need no SockJS.
//
// Every client session is an actors.ClientConn with a bounded outbound
// queue; the connection actor behind actors.Sessions speaks STOMP. The
// transport writes what is queued, never re-encoding shared bytes: a
// SockJS frame is a["  + the escaped per-subscriber head + the escaped
// shared tail + "], a raw WebSocket message is the head plus the shared
// STOMP tail. The framings of a snapshot that only this transport needs
// (the escaped tail, the permessage-deflate tails) are built here once per
// snapshot, by the first connection that needs each, and shared by all
// (framings.go, TestFramingsBuiltOncePerSnapshot).
//
// Files by concern: accept.go (the WebSocket handshake), hijack.go (the
// hijacked connection's buffers), read.go, write.go (the queue and the
// writer role), close.go, frame.go (laying out frames), wire.go and its
// implementations (putting them on the socket), framings.go, session.go and
// http_transports.go (the HTTP transports), hixie76.go.
//
// # Concurrency
//
//   - HTTP sessions (polling and streaming) have no goroutine of their own:
//     the receiving request's handler writes the queue, and between polls a
//     session is a struct and a timer.
//   - A WebSocket connection has one goroutine of its own, the reader: once
//     the handshake is done its HTTP handler starts it and returns, so
//     net/http's per-request state and the handler's stack are freed
//     (TestWebSocketRunsOnAfterHandler). The session keeps the handshake's
//     token (Credential) itself, stays in Handler.conns for Handler.Close
//     (http.Server.Shutdown does not track hijacked connections), and takes
//     over the connection limiter's release (ConnDetacher), which the reader
//     calls once when the connection is over
//     (transport.TestConnLimiterCountsDetachedWebSockets).
//   - One goroutine at a time holds a connection's writer role and writes
//     its data frames, through the connection's wire (wire.go). On Linux
//     (socketWire) frames go straight to the hijacked net.Conn, a whole
//     batch in one writev, and when Send finds the connection idle it
//     writes at once, in the caller, with one non-blocking writev
//     (TestWebSocketFastPathWritesInline); only when the socket takes part
//     of a frame, or units queue up behind one, does a writer goroutine
//     run, and it is gone when the queue is empty again
//     (TestWebSocketFastPathPartialWrite, TestWebSocketWriterGoroutineExits).
//     coder/websocket writes only control frames (pong, close) there, under
//     the wire's lock, after the rest of any partly written data frame, so
//     a control frame never lands inside a data frame
//     (TestSocketWireFinishesPartialFrameFirst,
//     TestRawWebSocketPingDuringLargeWrites). Elsewhere (coderWire) every
//     frame goes through coder/websocket's own writer, from a writer
//     goroutine; TestPortableWire runs the package's tests with it on Linux.
//   - Snapshots to a client that negotiated permessage-deflate go, on
//     socketWire, as the subscriber's head in a deflate stored block plus
//     the tail compressed once per snapshot (RSV1 set); other frames, and
//     every frame on coderWire, go uncompressed (TestDeflateOnlyOnSocketWire).
//   - Lock order: Handler.mu before session.mu; wsConn.mu is never held
//     while a wire writes.
package sockjs
