package dvm

import (
	"fmt"
	"net"
	"os"
	"strconv"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// rankListener opens a TCP listening socket for a rank's direct
// connections on the IP the peer's libp2p host listens on (so a peer bound
// to loopback never exposes its ranks further), and returns it as a file
// for the child with the addresses other ranks should dial.
func (p *Peer) rankListener() (*os.File, []string, error) {
	bind := "127.0.0.1"
	for _, a := range p.h.Network().ListenAddresses() {
		if ip, err := manet.ToIP(a); err == nil {
			if _, err := a.ValueForProtocol(ma.P_TCP); err == nil {
				bind = ip.String()
				break
			}
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(bind, "0"))
	if err != nil {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("rank listener: %w", err)
		}
	}
	tl := l.(*net.TCPListener)
	port := strconv.Itoa(tl.Addr().(*net.TCPAddr).Port)
	var addrs []string
	if ip := tl.Addr().(*net.TCPAddr).IP; !ip.IsUnspecified() {
		addrs = []string{net.JoinHostPort(ip.String(), port)}
	} else {
		// Bound to every interface: advertise what the host advertises.
		seen := map[string]bool{}
		for _, a := range p.h.Addrs() {
			if ip, err := manet.ToIP(a); err == nil && !ip.IsUnspecified() && !seen[ip.String()] {
				seen[ip.String()] = true
				addrs = append(addrs, net.JoinHostPort(ip.String(), port))
			}
		}
	}
	f, err := tl.File()
	tl.Close() // f is a duplicate that keeps the socket open
	if err != nil {
		return nil, nil, err
	}
	return f, addrs, nil
}
