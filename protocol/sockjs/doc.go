// Package sockjs implements the wire format of the SockJS protocol
// (github.com/sockjs/sockjs-protocol): the server frames o, h, a[...] and
// c[code,"reason"], SockJS's JSON string escaping, the decoder of the
// message payloads clients send, and the /info document.
//
// It is stdlib only and does no I/O, so transports can prepare the bytes a
// frame needs once and share them: AppendEscaped turns a STOMP frame into
// the inside of a SockJS JSON string, and AppendArray wraps strings that are
// already escaped without escaping them again.
package sockjs
