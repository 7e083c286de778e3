package sockjs

import "errors"

var (
	// errHixieFrame: a Hixie-76 client sent a frame that is neither text
	// (0x00 ... 0xFF) nor the closing 0xFF 0x00, or one over
	// Config.MaxMessageSize. The connection ends.
	errHixieFrame = errors.New("hixie-76: bad frame")

	// errCompressedOnCoderWire: a compressed message reached coderWire,
	// which cannot send one (a bug: the connection's deflate stays off on
	// that wire). The connection ends rather than send a corrupt frame.
	errCompressedOnCoderWire = errors.New("sockjs: compressed message on a coder/websocket writer")
)
