package actors

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/protocol/stomp"
)

// The seed's JSON command form of a connection, for the Python snippet and
// wscat: one JSON object per transport message instead of STOMP frames.

// jsonCommand is the seed's JSON form: one object per transport message,
// {"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0"}.
// Headers may also come in a "headers" object, as STOMP-minded clients
// write them.
type jsonCommand struct {
	Command     string            `json:"command"`
	Destination string            `json:"destination"`
	ID          string            `json:"id"`
	Receipt     string            `json:"receipt"`
	Headers     map[string]string `json:"headers"`
}

func (c *connectionActor) jsonCommand(ctx actor.Context, data []byte) {
	if len(bytes.TrimSpace(data)) == 0 {
		return // an empty message is a keep-alive
	}
	var cmd jsonCommand
	if err := json.Unmarshal(data, &cmd); err != nil {
		c.fail(ctx, &failure{code: closeProtocolError, message: "malformed command", detail: "want a JSON object with a command field"}, nil)
		return
	}
	fill := func(dst *string, key string) {
		if *dst == "" {
			*dst = cmd.Headers[key]
		}
	}
	fill(&cmd.Destination, stomp.HdrDestination)
	fill(&cmd.ID, stomp.HdrID)
	fill(&cmd.Receipt, stomp.HdrReceipt)
	c.log.Debug().Str("command", cmd.Command).Msg("JSON command")
	if why := c.authorize(jsonAuthHeader(cmd.Headers), cmd.Headers[hdrPasscode]); why != nil {
		c.fail(ctx, why, nil)
		return
	}

	var why *failure
	switch strings.ToUpper(cmd.Command) {
	case "SUBSCRIBE":
		id := cmd.ID
		if id == "" {
			id = cmd.Destination
		}
		why = c.subscribe(ctx, id, cmd.Destination)
	case "UNSUBSCRIBE":
		id := cmd.ID
		if id == "" {
			id = cmd.Destination
		}
		c.unsubscribe(ctx, id)
	case "SEND":
		why = c.sendTo(ctx, cmd.Destination)
	case "CONNECT", "STOMP", "ACK", "NACK":
		// Nothing to negotiate in this form.
	case "DISCONNECT":
		c.jsonReceipt(ctx, cmd.Receipt)
		c.closeWith(ctx, closeNormal, "Normal closure")
		return
	default:
		why = &failure{code: closeProtocolError, message: "unknown command",
			detail: "unknown command " + strconv.Quote(cmd.Command) + "; use SUBSCRIBE, UNSUBSCRIBE or SEND"}
	}
	if why != nil {
		c.fail(ctx, why, nil)
		return
	}
	c.jsonReceipt(ctx, cmd.Receipt)
}

func (c *connectionActor) jsonReceipt(ctx actor.Context, receipt string) {
	if receipt == "" {
		return
	}
	b, _ := json.Marshal(struct {
		ReceiptID string `json:"receipt-id"`
	}{receipt})
	c.send(ctx, Outgoing{Head: b})
}
