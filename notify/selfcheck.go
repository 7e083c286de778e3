package notify

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Self is what the service knows about how it can be reached, so that a
// webhook pointing back at it is refused: a notification that triggers
// the service's own API is a loop at best and a confused deputy at worst.
//
// What CheckURL and DialControl catch:
//   - a URL whose host is a loopback or unspecified address (127.0.0.0/8,
//     ::1, 0.0.0.0, ::, IPv4-mapped forms too), "localhost" or a name under
//     .localhost, one of Hosts, or one of Addrs, on one of Ports (the
//     default port of the scheme when the URL has none; every port when
//     Ports is empty);
//   - a host written as a number the OS resolver may read as an address
//     but Go does not (2130706433, 0x7f.1, 127.1): refused whatever the
//     port;
//   - any scheme but http and https;
//   - at send time (DialControl, installed by Sender), the address the
//     name actually resolved to: a name that resolves to loopback or Addrs
//     on one of Ports is refused then, which catches DNS names pointing
//     at 127.0.0.1 and DNS rebinding between validation and delivery;
//   - redirects: the senders never follow one.
//
// What they cannot catch: a proxy, load balancer or NAT address that
// forwards to the service (a public IP or name not listed in Hosts or
// Addrs), the service's own interface addresses when they are not in
// Addrs (LocalAddrs lists them), another port forwarded to the service,
// and a receiver that itself calls the service. Other services on the
// loopback interface (another port) are allowed on purpose: a local
// receiver is a legitimate target.
type Self struct {
	// Ports the service listens on. Empty: every port counts as the service's.
	Ports []int
	// Hosts are names the service is reached by (its public host name, the
	// machine's host name), compared case-insensitively.
	Hosts []string
	// Addrs are addresses of the service besides loopback and unspecified:
	// a specific listen address, the machine's interface addresses when it
	// listens on all of them (LocalAddrs).
	Addrs []netip.Addr
}

// SelfFromListen builds a Self from listen addresses as given to
// net.Listen ("host:port", ":8080", "0.0.0.0:8080", "[::1]:8080",
// "eventara.internal:8080"). Listening on all interfaces adds nothing to
// Addrs by itself: add LocalAddrs() for that.
func SelfFromListen(listen ...string) (Self, error) {
	var s Self
	for _, l := range listen {
		host, port, err := net.SplitHostPort(l)
		if err != nil {
			return Self{}, fmt.Errorf("listen address %q: %w", l, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return Self{}, fmt.Errorf("listen address %q: bad port", l)
		}
		if p > 0 && !slices.Contains(s.Ports, p) {
			s.Ports = append(s.Ports, p)
		}
		switch a, err := netip.ParseAddr(host); {
		case host == "":
		case err == nil:
			if a = a.Unmap().WithZone(""); !slices.Contains(s.Addrs, a) {
				s.Addrs = append(s.Addrs, a)
			}
		default:
			s.Hosts = append(s.Hosts, host)
		}
	}
	return s, nil
}

// LocalAddrs lists the machine's interface addresses, for Self.Addrs when
// the service listens on all interfaces. It reads the host's network
// configuration, so call it once at start.
func LocalAddrs() []netip.Addr {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ia := range ifAddrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil {
			out = append(out, p.Addr().Unmap().WithZone(""))
		}
	}
	return out
}

// errSelf is the message for a URL that points back at the service.
var errSelf = errors.New("points at this Eventara service itself; a notification must go elsewhere")

// CheckURL returns nil when raw is an absolute http or https URL that
// does not point at the service itself (see Self), else an error whose
// text is a field message (it never quotes the URL: it may hold a secret).
func (s Self) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("must be an absolute http or https URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return errors.New("must be an absolute http or https URL")
	default:
		return errors.New("scheme must be http or https")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" || u.Opaque != "" {
		return errors.New("must name a host")
	}
	port := 80
	if strings.EqualFold(u.Scheme, "https") {
		port = 443
	}
	if ps := u.Port(); ps != "" {
		p, err := strconv.Atoi(ps)
		if err != nil || p < 1 || p > 65535 {
			return errors.New("port must be from 1 to 65535")
		}
		port = p
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if s.isSelfAddr(a, port) {
			return errSelf
		}
		return nil
	}
	if numericHost(host) {
		return errors.New("host must be a name or a dotted IPv4 or IPv6 address, not another numeric form")
	}
	if (host == "localhost" || strings.HasSuffix(host, ".localhost") || s.isHost(host)) && s.isPort(port) {
		return errSelf
	}
	return nil
}

func (s Self) isPort(p int) bool { return len(s.Ports) == 0 || slices.Contains(s.Ports, p) }

func (s Self) isHost(h string) bool {
	for _, n := range s.Hosts {
		if strings.EqualFold(strings.TrimSuffix(n, "."), h) {
			return true
		}
	}
	return false
}

func (s Self) isSelfAddr(a netip.Addr, port int) bool {
	a = a.Unmap().WithZone("")
	return (a.IsLoopback() || a.IsUnspecified() || slices.Contains(s.Addrs, a)) && s.isPort(port)
}

// numericHost reports a host made only of digits, dots and hex notation
// (2130706433, 0x7f.0.0.1, 127.1): inet_aton reads these as addresses.
func numericHost(h string) bool {
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" {
			continue
		}
		if _, err := strconv.ParseUint(l, 0, 64); err != nil {
			return false
		}
	}
	return true
}

// DialControl is a net.Dialer Control function refusing a connection to
// the service itself: it sees the address a name resolved to, just before
// connecting. Sender installs it on every dial.
func (s Self) DialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil // not an IP address (a unix socket): nothing to judge
	}
	if s.isSelfAddr(ap.Addr(), int(ap.Port())) {
		return fmt.Errorf("refused to connect to %s: %w", address, errSelf)
	}
	return nil
}
