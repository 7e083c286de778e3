package actors

import "github.com/eventara/eventara/protocol/stomp"

// Authentication of a connection: the token a client presents at CONNECT
// (or in its first JSON command), checked once by SessionConfig.Authorize.

// Headers that carry a client's token.
const (
	hdrAuthorization = "Authorization"
	hdrPasscode      = "passcode"
)

// authHeader returns a frame's Authorization header, in either case.
func authHeader(f *stomp.Frame) string {
	if v, ok := f.Get(hdrAuthorization); ok {
		return v
	}
	return f.Header("authorization")
}

// jsonAuthHeader is authHeader for the JSON command form's headers.
func jsonAuthHeader(h map[string]string) string {
	if v, ok := h[hdrAuthorization]; ok {
		return v
	}
	return h["authorization"]
}

// authorize checks a session's token once, at CONNECT or at the first
// JSON command: the Authorization header value, else the passcode, else
// the transport's credential. Nil means the session may go on. The token
// is never logged.
func (c *connectionActor) authorize(authorization, passcode string) *failure {
	if c.authorized {
		return nil
	}
	token := bearer(authorization)
	if token == "" {
		token = passcode
	}
	if token == "" {
		token = c.credential
	}
	if err := c.cfg.Authorize(token); err != nil {
		return &failure{code: closePolicy, message: err.Error()}
	}
	c.authorized = true
	return nil
}
