//go:build linux

package sockjs

import (
	"bufio"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// socketWire writes data frames straight to the hijacked socket, around
// coder/websocket: a batch of messages in one writev, with no copy of the
// shared snapshot bytes, and (inlineWire) from Send's caller with one
// non-blocking writev when no writer runs, so a tick's delivery costs no
// goroutine and no wake-up. coder/websocket still reads the connection and
// writes its control frames (pong, close), which come to ctlWriter.
//
// Locking rule: wmu is held while bytes go to the socket, by tryWrite and
// flush (data frames, from the connection's writer role) and by ctlWriter
// (control frames, from coder/websocket: the reader's pongs, a close
// handshake), and is always unlocked by the goroutine that locked it. A
// data frame the socket took only in part leaves its rest in pending,
// under wmu, and whoever takes wmu next writes pending before anything
// else: so a control frame never lands inside a data frame, and data
// frames stay in order. Guarded by TestSocketWireFinishesPartialFrameFirst
// (the rule itself), TestWebSocketFastPathPartialWrite and
// TestRawWebSocketPingDuringLargeWrites (pings against partial and large
// writes, end to end).
type socketWire struct {
	nc      net.Conn
	raw     syscall.RawConn // the non-blocking path; nil without one (TLS)
	writev  bool            // nc takes a batch in one writev (TCP, Unix)
	timeout time.Duration

	wmu     sync.Mutex
	pending []byte // under wmu: the unsent rest of a frame partly on the wire
}

// hijackWire is called in Hijack, before coder/websocket takes the
// connection: on Linux it returns nc's socketWire (and that wire as an
// inlineWire when nc has a non-blocking path), having swapped the buffered
// writer coder/websocket will write its control frames to for a small one
// that writes through the wire's lock. Nil when forcePortableWire is set:
// the connection then uses coderWire.
func hijackWire(nc net.Conn, bw *bufio.Writer, timeout time.Duration) (wire, inlineWire) {
	if forcePortableWire {
		return nil, nil
	}
	return newSocketWire(nc, bw, timeout)
}

// newSocketWire is hijackWire's socketWire, whatever forcePortableWire says.
func newSocketWire(nc net.Conn, bw *bufio.Writer, timeout time.Duration) (*socketWire, inlineWire) {
	w := &socketWire{nc: nc, timeout: timeout}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		w.writev = true
		if sc, ok := nc.(syscall.Conn); ok {
			w.raw, _ = sc.SyscallConn()
		}
	}
	// A control frame is at most 127 bytes: coder/websocket's flush at its
	// end hands ctlWriter the whole frame in one call.
	*bw = *bufio.NewWriterSize(ctlWriter{w}, 256)
	if w.raw == nil {
		return w, nil
	}
	return w, w
}

func (w *socketWire) tryWrite(fb *frameBuilder) (bool, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.pending != nil {
		// Not expected (the writer role is held until drain has flushed
		// a partial write), but order comes first: keep all of it.
		w.pending = append(w.pending, fb.rest(0)...)
		return false, nil
	}
	n, total, err := writevNow(w.raw, fb.buffers())
	if err != nil {
		return false, err
	}
	if n < total {
		w.pending = fb.rest(n)
		return false, nil
	}
	return true, nil
}

func (w *socketWire) flush(fb *frameBuilder) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.pending == nil && (fb == nil || fb.messages() == 0) {
		return nil
	}
	w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	defer w.nc.SetWriteDeadline(time.Time{}) // the non-blocking path would fail on an expired one
	if err := w.writePending(); err != nil || fb == nil {
		return err
	}
	if w.writev {
		bufs := fb.buffers()
		_, err := bufs.WriteTo(w.nc)
		return err
	}
	b := getBuf()
	defer putBuf(b)
	*b = fb.flat((*b)[:0]) // one Write keeps frames whole (TLS: one record)
	_, err := w.nc.Write(*b)
	return err
}

// writePending writes the rest of a partly written frame, if any; wmu is
// held.
func (w *socketWire) writePending() error {
	p := w.pending
	if p == nil {
		return nil
	}
	w.pending = nil
	_, err := w.nc.Write(p)
	return err
}

// ctlWriter is where coder/websocket's control frames go on a socketWire
// connection: whole, under wmu, after the rest of any data frame.
type ctlWriter struct{ w *socketWire }

func (cw ctlWriter) Write(p []byte) (int, error) {
	w := cw.w
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if err := w.writePending(); err != nil {
		return 0, err
	}
	return w.nc.Write(p)
}

// maxIovecs is IOV_MAX on Linux; longer batches are left to flush.
const maxIovecs = 1024

var iovecPool = sync.Pool{New: func() any {
	v := make([]syscall.Iovec, 0, 16)
	return &v
}}

// writevNow writes bufs with one non-blocking writev on raw and says how
// many of their total bytes went out. A full socket buffer is not an
// error: n is then 0.
func writevNow(raw syscall.RawConn, bufs net.Buffers) (n, total int, err error) {
	vp := iovecPool.Get().(*[]syscall.Iovec)
	iov := (*vp)[:0]
	defer func() {
		clear(iov) // drop references to shared bytes
		*vp = iov[:0]
		iovecPool.Put(vp)
	}()
	for _, p := range bufs {
		if len(p) == 0 {
			continue
		}
		v := syscall.Iovec{Base: &p[0]}
		v.SetLen(len(p))
		iov = append(iov, v)
		total += len(p)
	}
	if total == 0 || len(iov) > maxIovecs {
		return 0, total, nil
	}
	var errno syscall.Errno
	first, count := &iov[0], len(iov) // captured by value: iov itself stays off the heap
	err = raw.Write(func(fd uintptr) bool {
		r, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(first)), uintptr(count))
		n, errno = int(r), e
		return true // never wait for the socket: the writer's flush does
	})
	switch {
	case err != nil:
		return 0, total, err
	case errno == syscall.EAGAIN || errno == syscall.EINTR:
		return 0, total, nil
	case errno != 0:
		return 0, total, errno
	}
	return n, total, nil
}
