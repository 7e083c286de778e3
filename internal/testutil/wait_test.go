package testutil

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeTB records a Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestPoll(t *testing.T) {
	t.Parallel()
	n := 0
	if err := Poll(Patience, func() error {
		if n++; n < 5 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || n != 5 {
		t.Fatalf("Poll = %v after %d checks, want nil after 5", err, n)
	}
	start := time.Now()
	err := Poll(30*time.Millisecond, func() error { return errors.New("never") })
	if err == nil || err.Error() != "never" || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("Poll = %v after %s, want the last error after 30ms", err, time.Since(start))
	}
}

func TestWaitForFailsWithWhatAndTheLastError(t *testing.T) {
	t.Parallel()
	f := &fakeTB{}
	WaitFor(f, 10*time.Millisecond, "the answer", func() error { return errors.New("still 41") })
	if !strings.Contains(f.failed, "the answer") || !strings.Contains(f.failed, "still 41") {
		t.Fatalf("failure %q", f.failed)
	}
}

func TestRecv(t *testing.T) {
	t.Parallel()
	ch := make(chan int, 1)
	ch <- 7
	if v := Recv(t, ch, Patience, "a value"); v != 7 {
		t.Fatalf("Recv = %d", v)
	}
	f := &fakeTB{}
	Recv(f, ch, 10*time.Millisecond, "another value")
	if !strings.Contains(f.failed, "another value") {
		t.Fatalf("failure %q", f.failed)
	}
}

func TestSettled(t *testing.T) {
	t.Parallel()
	vals := []int{9, 7, 7, 5, 4, 4, 4, 4}
	i := 0
	got := Settled(t, Patience, "the count", time.Millisecond, 3, func() (int, error) {
		v := vals[min(i, len(vals)-1)]
		i++
		return v, nil
	})
	if got != 4 || i != 7 {
		t.Fatalf("Settled = %d after %d reads, want 4 after 7", got, i)
	}
	f := &fakeTB{}
	n := 0
	Settled(f, 20*time.Millisecond, "a moving count", time.Millisecond, 3, func() (int, error) { n++; return n, nil })
	if !strings.Contains(f.failed, "a moving count") {
		t.Fatalf("failure %q", f.failed)
	}
}
