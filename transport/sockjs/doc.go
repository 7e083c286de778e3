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
// SockJS frame is a["  + the escaped per-subscriber head + the
// pre-escaped shared tail + "], a raw WebSocket message is the head plus
// the shared STOMP tail.
//
// # Concurrency
//
//   - HTTP sessions (polling and streaming) have no goroutine of their own:
//     the receiving request's handler writes the queue, and between polls a
//     session is a struct and a timer.
//   - A WebSocket connection has its handler goroutine (the reader) and at
//     most one writer goroutine, started when Send finds the queue idle and
//     gone when it is empty again (TestWebSocketWriterGoroutineExits).
//   - Data frames are written by that writer straight to the hijacked
//     net.Conn, the whole batch in one writev call; coder/websocket writes
//     only control frames (pong, close), each in one Write. net.Conn
//     serialises whole Write calls, so frames never interleave
//     (TestRawWebSocketPingDuringLargeWrites).
//   - Lock order: Handler.mu before session.mu.
package sockjs
