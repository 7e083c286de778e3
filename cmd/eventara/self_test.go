package main

import "testing"

// TestSelfAddressesRefuseOnlyTheServicePort: the bound port (not the
// configured 0) is the service's; loopback on another port is a receiver
// beside it, and is allowed.
func TestSelfAddressesRefuseOnlyTheServicePort(t *testing.T) {
	t.Parallel()
	self, err := selfAddresses("127.0.0.1:0", "127.0.0.1:43210")
	if err != nil {
		t.Fatal(err)
	}
	for url, refused := range map[string]bool{
		"http://127.0.0.1:43210/hook": true,
		"http://localhost:43210/hook": true,
		"http://127.0.0.1:43211/hook": false,
		"https://hooks.example.com/x": false,
	} {
		if err := self.CheckURL(url); (err != nil) != refused {
			t.Errorf("CheckURL(%s) = %v, want refused %v", url, err, refused)
		}
	}
	if _, err := selfAddresses("nope", "127.0.0.1:1"); err == nil {
		t.Error("a listen address without a port accepted")
	}
}
