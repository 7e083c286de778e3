// Package transport is HTTP: the REST API, the SockJS transports and the raw
// WebSocket at /ws. It turns sockets into messages for connection actors and
// never holds metrics state itself.
package transport
