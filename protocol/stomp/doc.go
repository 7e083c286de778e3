// Package stomp implements the wire format of STOMP 1.0, 1.1 and 1.2
// (https://stomp.github.io): an incremental Decoder with limits, an
// append-style encoder with per-version header escaping, version
// negotiation from accept-version, and heart-beat negotiation.
//
// It depends on the standard library only and knows nothing about
// destinations or subscriptions: the connection actors in package actors
// give frames their meaning.
package stomp
