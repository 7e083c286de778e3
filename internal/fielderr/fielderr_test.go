package fielderr

import (
	"fmt"
	"testing"
)

func TestAddKeepsTheFirstAndCaps(t *testing.T) {
	var fe Errors
	fe.Add("name", "is required")
	fe.Add("name", "is too long")
	fe.Add("body", "not JSON")
	if got := fe.String(); got != "body: not JSON; name: is required" {
		t.Fatalf("String() = %q", got)
	}
	for i := range 2 * Max {
		fe.Add(fmt.Sprint("f", i), "bad")
	}
	if len(fe) != Max {
		t.Fatalf("%d errors kept, want %d", len(fe), Max)
	}
}
