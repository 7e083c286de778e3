package sockjs_test

import (
	"fmt"

	"github.com/eventara/eventara/protocol/sockjs"
)

// A transport escapes the bytes shared by every subscriber once, then
// builds each subscriber's frame from its own escaped head and that tail.
func ExampleAppendArray() {
	sharedTail := sockjs.AppendEscaped(nil, []byte("\n{\"total\":1}\x00"))
	head := sockjs.AppendEscaped(nil, []byte("MESSAGE\nsubscription:sub-0"))
	frame := sockjs.AppendArray(nil, append(head, sharedTail...))
	fmt.Println(string(frame))
	// Output: a["MESSAGE\nsubscription:sub-0\n{\"total\":1}\u0000"]
}

func ExampleDecodeMessages() {
	msgs, err := sockjs.DecodeMessages([]byte(`["CONNECT\naccept-version:1.2\n\n\u0000","\n"]`))
	fmt.Printf("%q %v\n", msgs, err)
	_, err = sockjs.DecodeMessages([]byte(`["x`))
	fmt.Println(err)
	// Output:
	// ["CONNECT\naccept-version:1.2\n\n\x00" "\n"] <nil>
	// Broken JSON encoding.
}
