package notify

import (
	"net/netip"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	self := Self{Ports: []int{8080, 443}, Hosts: []string{"eventara.example.com", "box1"}, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}}
	cases := []struct {
		url  string
		want string // substring of the error; "" for accepted
	}{
		{"https://receiver.example.com/hook", ""},
		{"http://127.0.0.1:9000/hook", ""},          // another local service
		{"http://localhost:3000/hook", ""},          // ditto
		{"https://eventara.example.com:8443/x", ""}, // same name, another port
		{"http://10.0.0.6:8080/x", ""},
		{"http://127.0.0.1:8080/api/v1/events", "itself"},
		{"http://127.1.2.3:8080/x", "itself"},
		{"http://localhost:8080/x", "itself"},
		{"http://LOCALHOST.:8080/x", "itself"},
		{"http://api.localhost:8080/x", "itself"},
		{"https://localhost/x", "itself"}, // https default port 443 is one of Ports
		{"http://[::1]:8080/x", "itself"},
		{"http://[::ffff:7f00:1]:8080/x", "itself"},
		{"http://0.0.0.0:8080/x", "itself"},
		{"http://[::]:8080/x", "itself"},
		{"http://10.0.0.5:8080/x", "itself"},
		{"http://BOX1:8080/x", "itself"},
		{"https://eventara.example.com/x", "itself"},
		{"http://2130706433:8080/x", "numeric"},
		{"http://0x7f.1:80/x", "numeric"},
		{"http://127.1/x", "numeric"},
		{"ftp://a.example/x", "scheme"},
		{"javascript:alert(1)", "scheme"},
		{"gopher://a.example", "scheme"},
		{"//a.example/x", "absolute"},
		{"http:///x", "host"},
		{"http://a.example:0/x", "port"},
		{"http://a.example:99999/x", "port"},
		{"http://[::1/x", "absolute"},
	}
	for _, c := range cases {
		err := self.CheckURL(c.url)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.url, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.url, err, c.want)
		}
	}
	// With no ports known, every loopback port counts as the service's.
	if err := (Self{}).CheckURL("http://127.0.0.1:9000/x"); err == nil {
		t.Error("empty Self accepted loopback")
	}
}

func TestSelfFromListen(t *testing.T) {
	t.Parallel()
	s, err := SelfFromListen(":8080", "10.1.2.3:9090", "[::1]:8080", "eventara.internal:7000")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Ports) != 3 || len(s.Addrs) != 2 || len(s.Hosts) != 1 || s.Hosts[0] != "eventara.internal" {
		t.Fatalf("%+v", s)
	}
	if err := s.CheckURL("http://10.1.2.3:9090/"); err == nil {
		t.Error("own listen address accepted")
	}
	if _, err := SelfFromListen("no-port"); err == nil {
		t.Error("bad listen address accepted")
	}
}

func TestDialControl(t *testing.T) {
	t.Parallel()
	self := Self{Ports: []int{8080}}
	for addr, refused := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "0.0.0.0:8080": true,
		"127.0.0.1:8081": false, "93.184.216.34:8080": false, "/tmp/sock": false,
	} {
		if err := self.DialControl("tcp", addr, nil); (err != nil) != refused {
			t.Errorf("%s: %v", addr, err)
		}
	}
}
