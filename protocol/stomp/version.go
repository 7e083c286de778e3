package stomp

import (
	"strconv"
	"strings"
	"time"
)

// Version is a STOMP protocol version.
type Version uint8

// Supported versions, oldest first. The zero Version is V10.
const (
	V10 Version = iota
	V11
	V12
)

// SupportedVersions is the value of the version header of an ERROR frame
// that answers a failed negotiation.
const SupportedVersions = "1.0,1.1,1.2"

func (v Version) String() string {
	switch v {
	case V10:
		return "1.0"
	case V11:
		return "1.1"
	case V12:
		return "1.2"
	}
	return "unknown"
}

// ParseVersion parses "1.0", "1.1" or "1.2".
func ParseVersion(s string) (Version, bool) {
	switch strings.TrimSpace(s) {
	case "1.0":
		return V10, true
	case "1.1":
		return V11, true
	case "1.2":
		return V12, true
	}
	return 0, false
}

// NegotiateVersion picks the highest version in a CONNECT frame's
// accept-version header (a comma-separated list) that this package supports.
// A frame without the header speaks 1.0 (present is false). It fails with a
// *ProtocolError wrapping ErrVersion when the list names none of ours; the
// ERROR frame should then carry version:SupportedVersions.
func NegotiateVersion(acceptVersion string, present bool) (Version, error) {
	if !present {
		return V10, nil
	}
	best, found := V10, false
	for part := range strings.SplitSeq(acceptVersion, ",") {
		if v, ok := ParseVersion(part); ok && (!found || v > best) {
			best, found = v, true
		}
	}
	if !found {
		return 0, protoErr(ErrVersion, "accept-version "+strconv.Quote(acceptVersion)+"; supported: "+SupportedVersions)
	}
	return best, nil
}

// HeartBeat is one side's heart-beat header. For a CONNECT frame (cx,cy)
// Send is cx, the smallest interval at which the client can send
// heart-beats, and Receive is cy, the interval at which it wants to receive
// them; for a CONNECTED frame (sx,sy) likewise for the server. Zero means
// "cannot send" or "does not want any".
type HeartBeat struct {
	Send, Receive time.Duration
}

// ParseHeartBeat parses a heart-beat header "x,y" (milliseconds). An empty
// value (the header is absent) is 0,0.
func ParseHeartBeat(s string) (HeartBeat, error) {
	if s == "" {
		return HeartBeat{}, nil
	}
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return HeartBeat{}, protoErr(ErrHeartBeat, strconv.Quote(s))
	}
	x, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 31)
	y, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 31)
	if err1 != nil || err2 != nil {
		return HeartBeat{}, protoErr(ErrHeartBeat, strconv.Quote(s))
	}
	return HeartBeat{Send: time.Duration(x) * time.Millisecond, Receive: time.Duration(y) * time.Millisecond}, nil
}

// String formats h as a heart-beat header value, in milliseconds.
func (h HeartBeat) String() string {
	b := strconv.AppendInt(nil, h.Send.Milliseconds(), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, h.Receive.Milliseconds(), 10)
	return string(b)
}

// NegotiateHeartBeat applies the spec's rule to the client's CONNECT
// heart-beat (cx,cy) and the server's CONNECTED heart-beat (sx,sy). send is
// how often the server must send something: 0 if sx or cy is 0, else
// max(sx, cy). receive is how often the client will send something: 0 if cx
// or sy is 0, else max(cx, sy). The server may consider a client dead when
// nothing arrived for a multiple of receive.
func NegotiateHeartBeat(client, server HeartBeat) (send, receive time.Duration) {
	if server.Send > 0 && client.Receive > 0 {
		send = max(server.Send, client.Receive)
	}
	if client.Send > 0 && server.Receive > 0 {
		receive = max(client.Send, server.Receive)
	}
	return send, receive
}
