package stomp

// Default limits, used for the zero fields of Limits. A browser dashboard
// sends tiny frames (CONNECT, SUBSCRIBE, a SEND of a few bytes), so these
// are generous for it and small enough that a hostile client cannot make a
// connection hold much memory.
const (
	DefaultMaxFrameSize = 64 << 10
	DefaultMaxHeaders   = 64
	DefaultMaxLineSize  = 8 << 10
)

// Limits bound what a Decoder accepts. Exceeding one is a *ProtocolError;
// the decoder never buffers more than MaxFrameSize bytes of one frame plus
// whatever the last Feed call brought. Zero fields take the defaults.
type Limits struct {
	// MaxFrameSize bounds a frame's bytes: command, headers, body and NUL.
	// Zero means DefaultMaxFrameSize.
	MaxFrameSize int
	// MaxHeaders bounds the number of header lines. Zero means
	// DefaultMaxHeaders.
	MaxHeaders int
	// MaxLineSize bounds the command line and each header line, without
	// the EOL. Zero means DefaultMaxLineSize.
	MaxLineSize int
	// MaxBodySize bounds the body. Zero means MaxFrameSize.
	MaxBodySize int
}

func (l Limits) withDefaults() Limits {
	if l.MaxFrameSize <= 0 {
		l.MaxFrameSize = DefaultMaxFrameSize
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxLineSize <= 0 {
		l.MaxLineSize = DefaultMaxLineSize
	}
	if l.MaxBodySize <= 0 {
		l.MaxBodySize = l.MaxFrameSize
	}
	return l
}
