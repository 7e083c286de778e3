package stomp_test

import (
	"fmt"

	"github.com/eventara/eventara/protocol/stomp"
)

// A connection feeds the decoder whatever each transport message holds and
// drains it; frames may arrive split or several at once.
func ExampleDecoder() {
	d := stomp.NewDecoder(stomp.Limits{})
	for _, msg := range []string{
		"CONNECT\naccept-version:1.2,1.1,1.0\nheart-beat:4000,4000\n\n\x00",
		"\n", // a client heart-beat
		"SUBSCRIBE\nid:sub-0\ndestination:/topic/me",
		"trics\n\n\x00",
	} {
		d.Feed([]byte(msg))
		for {
			f, heartBeat, err := d.Next()
			if err != nil {
				fmt.Println("ERROR:", err)
				return
			}
			if heartBeat {
				fmt.Println("heart-beat")
				continue
			}
			if f == nil {
				break // needs more bytes
			}
			fmt.Println(f.Command, f.Headers)
		}
	}
	v, _ := stomp.NegotiateVersion("1.2,1.1,1.0", true)
	client, _ := stomp.ParseHeartBeat("4000,4000")
	send, receive := stomp.NegotiateHeartBeat(client, stomp.HeartBeat{Send: 10e9, Receive: 10e9})
	fmt.Println(v, send, receive)
	// Output:
	// CONNECT [{accept-version 1.2,1.1,1.0} {heart-beat 4000,4000}]
	// heart-beat
	// SUBSCRIBE [{id sub-0} {destination /topic/metrics}]
	// 1.2 10s 10s
}
