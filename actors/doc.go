// Package actors is the only package that imports protoactor-go. It owns the
// actor system and its supervision tree: the ingest actor (journal appends
// with group commit), the aggregator and its window actors, the scheduler
// (the per-second tick), the topic of /topic/metrics, and one connection actor
// per client session with one subscription actor per STOMP SUBSCRIBE.
package actors
