// Package testutil is what the tests of every package share: waiting for
// something with a deadline instead of sleeping, a goroutine-leak check
// that gives goroutines on their way out time to go, and the one rule for
// the tools the black-box tests need (tools.go).
//
// Only _test.go files import it.
package testutil

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// Patience is how long a test waits for something that should happen
// soon: a frame to arrive, a session to close, a total to reach a value.
// It is generous on purpose. A passing test never waits it out, while a
// cold, busy machine (race-enabled builds compiling beside the tests, two
// cores shared with other jobs) can take seconds for what takes
// milliseconds alone; it only decides how long a failing test takes to say
// so.
const Patience = 30 * time.Second

// Poll calls check until it returns nil, and returns nil then. If timeout
// passes first it returns check's last error. The first call is at once;
// later ones back off from 1 ms to 50 ms apart.
func Poll(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for {
		err := check()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// WaitFor polls check (see Poll) until it returns nil; if timeout passes
// first, it fails t, saying what it waited for and check's last error.
// Call it from the test's goroutine.
func WaitFor(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	start := time.Now()
	if err := Poll(timeout, check); err != nil {
		t.Fatalf("timed out after %s waiting for %s: %v", time.Since(start).Round(time.Millisecond), what, err)
	}
}

// Eventually is WaitFor with Patience, for a condition with nothing more
// to say than that it does not hold yet.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	WaitFor(t, Patience, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
}

var errNotYet = errors.New("not yet")

// Recv returns the next value from ch; if none comes within timeout it
// fails t, saying what it waited for.
func Recv[T any](t testing.TB, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
		var zero T
		return zero
	}
}

// Settled polls read, interval apart, until it gives the same value n
// times in a row, and returns that value; if that has not happened within
// timeout it fails t. It is for a figure that moves for a while and then
// rests, such as a process's goroutine count after a burst of
// connections: on a busy machine it takes longer to rest, never a fixed
// time.
func Settled(t testing.TB, timeout time.Duration, what string, interval time.Duration, n int, read func() (int, error)) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last, same int
	var err error
	for {
		v, rerr := read()
		switch {
		case rerr != nil:
			err, same = rerr, 0
		case same > 0 && v == last:
			same++
		default:
			last, same, err = v, 1, nil
		}
		if same >= n {
			return last
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("last %d, seen %d times in a row, want %d", last, same, n)
			}
			t.Fatalf("timed out after %s waiting for %s to settle: %v", timeout, what, err)
			return last
		}
		time.Sleep(interval)
	}
}
