package stomp

import "strconv"

// AppendFrame appends f, encoded for version v, to dst and returns the
// extended slice. Header names and values are escaped as v requires
// (never for CONNECT and CONNECTED). A frame with a body and no
// content-length header gets one, so bodies may hold NUL. The frame ends
// with its NUL; no EOL follows.
func AppendFrame(dst []byte, f *Frame, v Version) []byte {
	dst = append(dst, f.Command...)
	dst = append(dst, '\n')
	hasLen := false
	for _, h := range f.Headers {
		if h.Key == HdrContentLength {
			hasLen = true
		}
		dst = appendHeader(dst, h.Key, h.Value, v, f.Command)
	}
	if !hasLen && len(f.Body) > 0 {
		dst = append(dst, HdrContentLength+":"...)
		dst = strconv.AppendInt(dst, int64(len(f.Body)), 10)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, f.Body...)
	return append(dst, 0)
}

// AppendHeader appends one "name:value\n" header line, escaped for v, as
// it appears in any frame but CONNECT and CONNECTED.
func AppendHeader(dst []byte, key, value string, v Version) []byte {
	return appendHeader(dst, key, value, v, "")
}

func appendHeader(dst []byte, key, value string, v Version, cmd Command) []byte {
	if unescaped(cmd) {
		dst = appendSanitized(dst, key)
		dst = append(dst, ':')
		dst = appendSanitized(dst, value)
	} else {
		dst = AppendEscaped(dst, key, v)
		dst = append(dst, ':')
		dst = AppendEscaped(dst, value, v)
	}
	return append(dst, '\n')
}

// AppendMessageHead appends the per-subscriber start of a MESSAGE frame:
// "MESSAGE\nsubscription:<subscription>\nmessage-id:<idPrefix><seq>\n",
// escaped for v. The rest of the frame (the headers common to every
// subscriber, the blank line, the body and the NUL) is prepared once and
// written after it.
func AppendMessageHead(dst []byte, v Version, subscription, idPrefix string, seq uint64) []byte {
	dst = append(dst, "MESSAGE\n"+HdrSubscription+":"...)
	dst = AppendEscaped(dst, subscription, v)
	dst = append(dst, "\n"+HdrMessageID+":"...)
	dst = AppendEscaped(dst, idPrefix, v)
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, '\n')
}
