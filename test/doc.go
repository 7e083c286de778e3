// Package test holds black-box tests: each starts the real eventara binary
// on a free loopback port with a temporary data directory and talks to it as
// clients do (HTTP, real STOMP/SockJS clients under Node and Python).
//
// The binary is EVENTARA_BIN (make test builds bin/eventara and sets it).
// Without EVENTARA_BIN the package is skipped; with it, a missing tool
// (Node, test/js's node_modules, python3-websocket) fails the test that
// needs it. The rule and its helpers are in internal/testutil (tools.go).
//
// Tests wait for what they need (testutil.WaitFor, up to
// testutil.Patience) instead of sleeping a guessed time, and judge live
// pushes by what arrived and in what order rather than by how soon: they
// must pass on a cold, busy machine (scripts/stress-test.sh).
package test
