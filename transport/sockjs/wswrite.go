package sockjs

import (
	"encoding/binary"
	"net"
	"sync"

	"github.com/eventara/eventara/protocol/sockjs"
)

// frameBuilder assembles WebSocket text messages as a list of buffers for
// one writev: small pieces (frame headers, escaped heads, SockJS framing)
// are copied into scratch, large shared tails are referenced, not copied.
type frameBuilder struct {
	scratch []byte
	segs    []span
	iov     net.Buffers
	hdrSeg  int // index in segs of the current message's header
	msgLen  int // payload bytes of the current message so far
	hixie   bool
}

// span is ext, or scratch[lo:hi] when ext is nil.
type span struct {
	ext    []byte
	lo, hi int
}

const (
	maxFrameHeader = 10  // server frames are not masked
	copyBelow      = 512 // shorter external pieces are copied into scratch
)

var builderPool = sync.Pool{New: func() any { return &frameBuilder{scratch: make([]byte, 0, 1024)} }}

func getBuilder() *frameBuilder { return builderPool.Get().(*frameBuilder) }

func putBuilder(b *frameBuilder) {
	if cap(b.scratch) > 1<<20 {
		return
	}
	b.reset()
	builderPool.Put(b)
}

func (b *frameBuilder) reset() {
	b.scratch = b.scratch[:0]
	clear(b.segs) // drop references to shared bytes
	b.segs = b.segs[:0]
	clear(b.iov)
	b.iov = b.iov[:0]
}

// begin starts a message, reserving room for its header. hixie selects
// the draft Hixie-76 framing: 0x00, the text, 0xFF.
func (b *frameBuilder) begin(hixie bool) {
	b.hixie = hixie
	lo := len(b.scratch)
	b.scratch = append(b.scratch, make([]byte, maxFrameHeader)...)
	b.segs = append(b.segs, span{lo: lo, hi: lo + maxFrameHeader})
	b.hdrSeg = len(b.segs) - 1
	b.msgLen = 0
}

// grew records that scratch[lo:] was just appended to the message.
func (b *frameBuilder) grew(lo int) {
	hi := len(b.scratch)
	b.msgLen += hi - lo
	if n := len(b.segs) - 1; n > b.hdrSeg && b.segs[n].ext == nil && b.segs[n].hi == lo {
		b.segs[n].hi = hi
		return
	}
	b.segs = append(b.segs, span{lo: lo, hi: hi})
}

func (b *frameBuilder) lit(s string) {
	lo := len(b.scratch)
	b.scratch = append(b.scratch, s...)
	b.grew(lo)
}

// escaped appends p escaped for a SockJS JSON string.
func (b *frameBuilder) escaped(p []byte) {
	lo := len(b.scratch)
	b.scratch = sockjs.AppendEscaped(b.scratch, p)
	b.grew(lo)
}

// ext appends p by reference (by copy when small); p must stay unchanged
// until the write is done.
func (b *frameBuilder) ext(p []byte) {
	if len(p) < copyBelow {
		lo := len(b.scratch)
		b.scratch = append(b.scratch, p...)
		b.grew(lo)
		return
	}
	b.segs = append(b.segs, span{ext: p})
	b.msgLen += len(p)
}

// end writes the header of the current message (FIN, text, unmasked)
// right-aligned into its reserved room.
func (b *frameBuilder) end() {
	if b.hixie {
		s := &b.segs[b.hdrSeg]
		s.lo = s.hi - 1
		b.scratch[s.lo] = 0x00
		b.lit("\xff")
		return
	}
	var hdr [maxFrameHeader]byte
	hdr[0] = 0x81
	n := 2
	switch l := b.msgLen; {
	case l < 126:
		hdr[1] = byte(l)
	case l <= 0xffff:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(l))
		n = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(l))
		n = 10
	}
	s := &b.segs[b.hdrSeg]
	s.lo = s.hi - n
	copy(b.scratch[s.lo:s.hi], hdr[:n])
}

// buffers resolves the spans; call it after the last append.
func (b *frameBuilder) buffers() net.Buffers {
	b.iov = b.iov[:0]
	for _, s := range b.segs {
		if s.ext != nil {
			b.iov = append(b.iov, s.ext)
		} else {
			b.iov = append(b.iov, b.scratch[s.lo:s.hi])
		}
	}
	return b.iov
}

// flat returns the messages as one buffer (for connections without writev,
// such as TLS, where one Write keeps frames whole).
func (b *frameBuilder) flat(dst []byte) []byte {
	for _, p := range b.buffers() {
		dst = append(dst, p...)
	}
	return dst
}
