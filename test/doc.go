// Package test holds black-box tests: each starts the real eventara binary
// on a free loopback port with a temporary data directory and talks to it as
// clients do (HTTP, real STOMP/SockJS clients under Node and Python).
//
// The binary is EVENTARA_BIN when set (make test sets it), else it is built
// once into a temporary directory by TestMain.
package test
