package sockjs

import (
	"encoding/binary"
	"net"
	"sync"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/protocol/sockjs"
)

// frameBuilder assembles WebSocket text messages as a list of buffers for
// one writev: small pieces (frame headers, escaped heads, SockJS framing)
// are copied into scratch, large shared tails are referenced, not copied.
// A wire writes the result (wire.go).
type frameBuilder struct {
	scratch []byte
	segs    []span
	msgs    []int // index in segs of each message's header
	iov     net.Buffers
	hdrSeg  int // index in segs of the current message's header
	msgLen  int // payload bytes of the current message so far
	hixie   bool
	rsv1    bool // the current message is compressed (permessage-deflate)
	one     [1]actors.Outgoing
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
	b.one[0] = actors.Outgoing{}
	b.scratch = b.scratch[:0]
	clear(b.segs) // drop references to shared bytes
	b.segs = b.segs[:0]
	b.msgs = b.msgs[:0]
	clear(b.iov)
	b.iov = b.iov[:0]
}

// begin starts a message, reserving room for its header. hixie selects
// the draft Hixie-76 framing: 0x00, the text, 0xFF.
func (b *frameBuilder) begin(hixie bool) {
	b.hixie = hixie
	b.rsv1 = false
	lo := len(b.scratch)
	b.scratch = append(b.scratch, make([]byte, maxFrameHeader)...)
	b.segs = append(b.segs, span{lo: lo, hi: lo + maxFrameHeader})
	b.hdrSeg = len(b.segs) - 1
	b.msgs = append(b.msgs, b.hdrSeg)
	b.msgLen = 0
}

// beginDeflate starts a permessage-deflate message (RFC 7692): RSV1 set,
// its payload raw DEFLATE blocks without the final 00 00 ff ff.
func (b *frameBuilder) beginDeflate() {
	b.begin(false)
	b.rsv1 = true
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

// stored appends prefix and then p (escaped for a SockJS JSON string when
// esc is set) as DEFLATE stored blocks (RFC 1951 section 3.2.4): BFINAL 0,
// BTYPE 00 padded to a byte, LEN, NLEN, the bytes. It needs no compressor
// and ends on a byte boundary, so shared compressed blocks may follow.
func (b *frameBuilder) stored(prefix string, p []byte, esc bool) {
	lo := len(b.scratch)
	b.scratch = append(b.scratch, 0, 0, 0, 0, 0)
	b.scratch = append(b.scratch, prefix...)
	if esc {
		b.scratch = sockjs.AppendEscaped(b.scratch, p)
	} else {
		b.scratch = append(b.scratch, p...)
	}
	if n := len(b.scratch) - lo - 5; n <= 0xffff {
		putStoredHeader(b.scratch[lo:], n)
	} else { // longer than one stored block holds: split (never for a STOMP head in practice)
		data := append([]byte(nil), b.scratch[lo+5:]...)
		b.scratch = b.scratch[:lo]
		for len(data) > 0 {
			k := min(len(data), 0xffff)
			h := len(b.scratch)
			b.scratch = append(b.scratch, 0, 0, 0, 0, 0)
			putStoredHeader(b.scratch[h:], k)
			b.scratch = append(b.scratch, data[:k]...)
			data = data[k:]
		}
	}
	b.grew(lo)
}

// putStoredHeader writes a non-final stored block's header for n bytes.
func putStoredHeader(h []byte, n int) {
	h[0] = 0x00
	binary.LittleEndian.PutUint16(h[1:], uint16(n))
	binary.LittleEndian.PutUint16(h[3:], ^uint16(n))
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
	hdr[0] = 0x81 // FIN, text
	if b.rsv1 {
		hdr[0] |= 0x40
	}
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

// units holds o as a one-unit batch without allocating.
func (b *frameBuilder) units(o actors.Outgoing) []actors.Outgoing {
	b.one[0] = o
	return b.one[:]
}

// rest copies the built bytes from offset n on.
func (b *frameBuilder) rest(n int) []byte {
	var out []byte
	for _, p := range b.buffers() {
		if n >= len(p) {
			n -= len(p)
			continue
		}
		out = append(out, p[n:]...)
		n = 0
	}
	return out
}

// flat returns the messages as one buffer (for connections without writev,
// such as TLS, where one Write keeps frames whole).
func (b *frameBuilder) flat(dst []byte) []byte {
	for _, p := range b.buffers() {
		dst = append(dst, p...)
	}
	return dst
}

// messages is how many messages are laid out.
func (b *frameBuilder) messages() int { return len(b.msgs) }

// appendPayload appends message i's payload, without its frame header,
// to dst (for a wire whose library frames messages itself).
func (b *frameBuilder) appendPayload(dst []byte, i int) []byte {
	end := len(b.segs)
	if i+1 < len(b.msgs) {
		end = b.msgs[i+1]
	}
	for _, s := range b.segs[b.msgs[i]+1 : end] {
		if s.ext != nil {
			dst = append(dst, s.ext...)
		} else {
			dst = append(dst, b.scratch[s.lo:s.hi]...)
		}
	}
	return dst
}

// compressed reports whether message i is a permessage-deflate one (RSV1).
func (b *frameBuilder) compressed(i int) bool {
	return b.scratch[b.segs[b.msgs[i]].lo]&0x40 != 0
}
