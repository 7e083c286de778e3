package sockjs

import "strconv"

// Info is the document served at /info. Clients read it before choosing a
// transport and time the request to estimate the round trip.
type Info struct {
	// WebSocket tells whether the websocket transport is enabled.
	WebSocket bool
	// CookieNeeded asks transports to carry the JSESSIONID cookie (for
	// load balancers with sticky sessions).
	CookieNeeded bool
	// Entropy is a random number that seeds the client's generator.
	Entropy uint32
}

// AppendInfo appends the JSON of info; origins is always ["*:*"], the only
// value clients accept.
func AppendInfo(dst []byte, info Info) []byte {
	dst = append(dst, `{"websocket":`...)
	dst = strconv.AppendBool(dst, info.WebSocket)
	dst = append(dst, `,"origins":["*:*"],"cookie_needed":`...)
	dst = strconv.AppendBool(dst, info.CookieNeeded)
	dst = append(dst, `,"entropy":`...)
	dst = strconv.AppendUint(dst, uint64(info.Entropy), 10)
	return append(dst, '}')
}
