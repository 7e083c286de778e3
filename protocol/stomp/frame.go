package stomp

// Command is a STOMP frame command such as SEND or MESSAGE.
type Command string

// Client commands.
const (
	CmdConnect     Command = "CONNECT"
	CmdStomp       Command = "STOMP"
	CmdSend        Command = "SEND"
	CmdSubscribe   Command = "SUBSCRIBE"
	CmdUnsubscribe Command = "UNSUBSCRIBE"
	CmdAck         Command = "ACK"
	CmdNack        Command = "NACK"
	CmdBegin       Command = "BEGIN"
	CmdCommit      Command = "COMMIT"
	CmdAbort       Command = "ABORT"
	CmdDisconnect  Command = "DISCONNECT"
)

// Server commands.
const (
	CmdConnected Command = "CONNECTED"
	CmdMessage   Command = "MESSAGE"
	CmdReceipt   Command = "RECEIPT"
	CmdError     Command = "ERROR"
)

// Header names used by the server.
const (
	HdrAcceptVersion = "accept-version"
	HdrVersion       = "version"
	HdrHeartBeat     = "heart-beat"
	HdrHost          = "host"
	HdrSession       = "session"
	HdrServer        = "server"
	HdrDestination   = "destination"
	HdrID            = "id"
	HdrSubscription  = "subscription"
	HdrMessageID     = "message-id"
	HdrReceipt       = "receipt"
	HdrReceiptID     = "receipt-id"
	HdrMessage       = "message"
	HdrContentType   = "content-type"
	HdrContentLength = "content-length"
	HdrAck           = "ack"
)

// unescaped reports whether the headers of frames with command c are sent
// without escaping: the spec exempts CONNECT and CONNECTED so that a 1.0
// peer can still parse them before a version is agreed.
func unescaped(c Command) bool {
	return c == CmdConnect || c == CmdConnected
}

// Header is one header line. Frames keep headers in wire order, repeats
// included; Frame.Get returns the first, as the spec requires.
type Header struct {
	Key, Value string
}

// Frame is one decoded or to-be-encoded STOMP frame.
type Frame struct {
	Command Command
	Headers []Header
	Body    []byte
}

// Get returns the value of the first header named key.
func (f *Frame) Get(key string) (string, bool) {
	for _, h := range f.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return "", false
}

// Header returns the value of the first header named key, or "".
func (f *Frame) Header(key string) string {
	v, _ := f.Get(key)
	return v
}
