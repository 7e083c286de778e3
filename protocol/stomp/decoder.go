package stomp

import (
	"bytes"
	"strconv"
	"strings"
)

type decState uint8

const (
	stIdle    decState = iota // between frames: EOLs are heart-beats
	stCommand                 // reading the command line
	stHeaders                 // reading header lines
	stBody                    // reading the body up to its NUL
)

// hdrPos locates one header inside the current frame, as offsets from the
// frame's first byte, so it survives the buffer being compacted.
type hdrPos struct {
	ks, ke, vs, ve int
	escaped        bool // key or value holds a backslash to unescape
}

// Decoder turns a byte stream into frames and heart-beats. Feed it bytes as
// they arrive (frames may be split across or joined within calls), then
// call Next until it reports that it needs more. It is not safe for
// concurrent use. After an error it keeps returning that error.
type Decoder struct {
	lim     Limits
	version Version

	buf   []byte
	start int // first byte of the current frame (or pending EOL) in buf
	pos   int // first byte of the current line
	scan  int // where to resume searching for '\n' or NUL
	state decState

	cmd       Command
	hdrs      []hdrPos
	hdrStart  int // offset of the first header line from start
	bodyStart int // offset of the body from start
	clen      int // content-length, or -1
	err       error
}

// NewDecoder returns a decoder with limits l (zero fields are defaults)
// that unescapes headers as STOMP 1.2 until SetVersion says otherwise.
func NewDecoder(l Limits) *Decoder {
	return &Decoder{lim: l.withDefaults(), version: V12, clen: -1}
}

// SetVersion sets the version whose header escaping applies to the
// following frames (1.0 has none; CONNECT and CONNECTED never have any).
// Call it once a version has been negotiated.
func (d *Decoder) SetVersion(v Version) { d.version = v }

// Buffered is the number of bytes fed but not yet returned as frames.
func (d *Decoder) Buffered() int { return len(d.buf) - d.start }

// Feed appends p to the bytes to decode. p is copied.
func (d *Decoder) Feed(p []byte) {
	if d.err != nil {
		return
	}
	if d.start > 0 {
		if d.start == len(d.buf) {
			d.buf = d.buf[:0]
		} else {
			n := copy(d.buf, d.buf[d.start:])
			d.buf = d.buf[:n]
		}
		d.pos -= d.start
		d.scan -= d.start
		d.start = 0
	}
	if len(d.buf) == 0 && cap(d.buf) > 2*d.lim.MaxFrameSize {
		d.buf = nil // let a burst's buffer go
	}
	d.buf = append(d.buf, p...)
}

// Next returns the next frame, or heartBeat true for one EOL between
// frames. When both are zero and err is nil, Next needs more bytes. err is a
// *ProtocolError.
func (d *Decoder) Next() (f *Frame, heartBeat bool, err error) {
	if d.err != nil {
		return nil, false, d.err
	}
	f, heartBeat, err = d.next()
	if err != nil {
		d.err = err
		d.buf = nil
	}
	return f, heartBeat, err
}

func (d *Decoder) next() (*Frame, bool, error) {
	for {
		switch d.state {
		case stIdle:
			if d.start >= len(d.buf) {
				return nil, false, nil
			}
			switch d.buf[d.start] {
			case '\n':
				d.start++
				return nil, true, nil
			case '\r':
				if d.start+1 >= len(d.buf) {
					return nil, false, nil
				}
				if d.buf[d.start+1] != '\n' {
					return nil, false, protoErr(ErrMalformed, "CR without LF between frames")
				}
				d.start += 2
				return nil, true, nil
			}
			d.state = stCommand
			d.pos, d.scan = d.start, d.start
			d.hdrs = d.hdrs[:0]
			d.clen = -1
		case stCommand, stHeaders:
			i := bytes.IndexByte(d.buf[d.scan:], '\n')
			if i < 0 {
				d.scan = len(d.buf)
				if len(d.buf)-d.pos > d.lim.MaxLineSize+1 { // +1: a CR may precede the LF
					return nil, false, protoErr(ErrLineTooLong, "over "+strconv.Itoa(d.lim.MaxLineSize)+" bytes")
				}
				if len(d.buf)-d.start > d.lim.MaxFrameSize {
					return nil, false, protoErr(ErrFrameTooLarge, "over "+strconv.Itoa(d.lim.MaxFrameSize)+" bytes")
				}
				return nil, false, nil
			}
			end := d.scan + i
			next := end + 1
			line := d.buf[d.pos:end]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > d.lim.MaxLineSize {
				return nil, false, protoErr(ErrLineTooLong, "over "+strconv.Itoa(d.lim.MaxLineSize)+" bytes")
			}
			if next-d.start > d.lim.MaxFrameSize {
				return nil, false, protoErr(ErrFrameTooLarge, "over "+strconv.Itoa(d.lim.MaxFrameSize)+" bytes")
			}
			if d.state == stCommand {
				if !validCommand(line) {
					return nil, false, protoErr(ErrMalformed, "bad command line")
				}
				d.cmd = internCommand(line)
				d.state = stHeaders
				d.hdrStart = next - d.start
			} else if len(line) == 0 {
				if err := d.endHeaders(next); err != nil {
					return nil, false, err
				}
			} else if err := d.header(line); err != nil {
				return nil, false, err
			}
			d.pos, d.scan = next, next
		case stBody:
			body := d.start + d.bodyStart
			var end int // index of the NUL in buf
			if d.clen >= 0 {
				end = body + d.clen
				if end >= len(d.buf) {
					return nil, false, nil
				}
				if d.buf[end] != 0 {
					return nil, false, protoErr(ErrMalformed, "no NUL after content-length bytes")
				}
			} else {
				i := bytes.IndexByte(d.buf[d.scan:], 0)
				if i < 0 {
					d.scan = len(d.buf)
					if len(d.buf)-body > d.lim.MaxBodySize {
						return nil, false, protoErr(ErrBodyTooLarge, "over "+strconv.Itoa(d.lim.MaxBodySize)+" bytes")
					}
					if len(d.buf)-d.start > d.lim.MaxFrameSize {
						return nil, false, protoErr(ErrFrameTooLarge, "over "+strconv.Itoa(d.lim.MaxFrameSize)+" bytes")
					}
					return nil, false, nil
				}
				end = d.scan + i
				if end-body > d.lim.MaxBodySize {
					return nil, false, protoErr(ErrBodyTooLarge, "over "+strconv.Itoa(d.lim.MaxBodySize)+" bytes")
				}
				if end+1-d.start > d.lim.MaxFrameSize {
					return nil, false, protoErr(ErrFrameTooLarge, "over "+strconv.Itoa(d.lim.MaxFrameSize)+" bytes")
				}
			}
			f := d.build(body, end)
			d.start = end + 1
			d.state = stIdle
			return f, false, nil
		}
	}
}

// header records one header line, checking its escapes now so that a bad
// frame fails before its body arrives.
func (d *Decoder) header(line []byte) error {
	if len(d.hdrs) >= d.lim.MaxHeaders {
		return protoErr(ErrTooManyHeaders, "over "+strconv.Itoa(d.lim.MaxHeaders))
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return protoErr(ErrMalformed, "header line without a colon")
	}
	if bytes.IndexByte(line, 0) >= 0 {
		return protoErr(ErrMalformed, "NUL in a header")
	}
	off := d.pos - d.start
	h := hdrPos{ks: off, ke: off + colon, vs: off + colon + 1, ve: off + len(line)}
	if d.escapes() && bytes.IndexByte(line, '\\') >= 0 {
		if !validEscapes(line, d.version) {
			return protoErr(ErrMalformed, "undefined escape sequence in a header")
		}
		h.escaped = true
	}
	if d.clen < 0 && string(line[:colon]) == HdrContentLength { // the first one wins
		n, err := strconv.Atoi(strings.TrimSpace(string(line[colon+1:])))
		if err != nil || n < 0 {
			return protoErr(ErrMalformed, "bad content-length")
		}
		if n > d.lim.MaxBodySize {
			return protoErr(ErrBodyTooLarge, "content-length "+strconv.Itoa(n)+" over "+strconv.Itoa(d.lim.MaxBodySize))
		}
		d.clen = n
	}
	d.hdrs = append(d.hdrs, h)
	return nil
}

func (d *Decoder) endHeaders(next int) error {
	d.bodyStart = next - d.start
	if d.clen >= 0 && d.bodyStart+d.clen+1 > d.lim.MaxFrameSize {
		return protoErr(ErrFrameTooLarge, "over "+strconv.Itoa(d.lim.MaxFrameSize)+" bytes")
	}
	d.state = stBody
	d.scan = next
	return nil
}

func (d *Decoder) escapes() bool {
	return d.version >= V11 && !unescaped(d.cmd)
}

// build makes the frame from buf[start:end]; body starts at body. All the
// header text becomes one string that the headers slice, so a frame costs a
// handful of allocations whatever its header count.
func (d *Decoder) build(body, end int) *Frame {
	f := &Frame{Command: d.cmd}
	if len(d.hdrs) > 0 {
		block := string(d.buf[d.start+d.hdrStart : d.start+d.bodyStart])
		base := d.hdrStart
		f.Headers = make([]Header, len(d.hdrs))
		for i, h := range d.hdrs {
			k, v := block[h.ks-base:h.ke-base], block[h.vs-base:h.ve-base]
			if h.escaped {
				k, v = unescape(k, d.version), unescape(v, d.version)
			}
			f.Headers[i] = Header{Key: k, Value: v}
		}
	}
	if end > body {
		f.Body = bytes.Clone(d.buf[body:end])
	}
	return f
}

// validCommand accepts a non-empty command without control characters;
// whether the command is one the peer understands is the caller's business.
func validCommand(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

func internCommand(b []byte) Command {
	switch string(b) {
	case "CONNECT":
		return CmdConnect
	case "STOMP":
		return CmdStomp
	case "SEND":
		return CmdSend
	case "SUBSCRIBE":
		return CmdSubscribe
	case "UNSUBSCRIBE":
		return CmdUnsubscribe
	case "ACK":
		return CmdAck
	case "NACK":
		return CmdNack
	case "BEGIN":
		return CmdBegin
	case "COMMIT":
		return CmdCommit
	case "ABORT":
		return CmdAbort
	case "DISCONNECT":
		return CmdDisconnect
	case "CONNECTED":
		return CmdConnected
	case "MESSAGE":
		return CmdMessage
	case "RECEIPT":
		return CmdReceipt
	case "ERROR":
		return CmdError
	}
	return Command(b)
}
