package ldaptest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// CutProxy forwards LDAP connections from a loopback port to a server and
// counts the whole LDAP messages the server sends on each connection, so
// that a test can cut a connection at an exact point of an answer: cleanly
// between two messages (a load balancer's connection lifetime, a firewall's
// idle timeout, a directory restart) or in the middle of one.
type CutProxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	cut    Cut
	armed  bool
	counts []int // server messages per connection since Arm or Reset
	cuts   int
	gen    int // counts belong to this generation of Arm/Reset
	open   map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// Cut says where to cut. After counts the server's messages on one
// connection from its start (the bind response is message 1): the
// connection is closed right after message After, or with Mid after the
// first half of its bytes. Conn picks the connection, counted from 1 in
// the order they are accepted after Arm; 0 cuts every connection.
type Cut struct {
	After int
	Mid   bool
	Conn  int
}

func (c Cut) String() string {
	where := "after"
	if c.Mid {
		where = "inside"
	}
	if c.Conn == 0 {
		return fmt.Sprintf("%s message %d of every connection", where, c.After)
	}
	return fmt.Sprintf("%s message %d of connection %d", where, c.After, c.Conn)
}

// NewCutProxy listens on 127.0.0.1 and forwards to target, an ldap:// URL
// or host:port. It is closed at the end of the test.
func NewCutProxy(t testing.TB, target string) *CutProxy {
	t.Helper()
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		target = u.Host
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &CutProxy{target: target, ln: ln, open: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// URL is the proxy's ldap:// URL.
func (p *CutProxy) URL() string { return "ldap://" + p.ln.Addr().String() }

// Arm cuts connections accepted from now on as c says, and starts counting
// connections and messages anew.
func (p *CutProxy) Arm(c Cut) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.armed, p.counts, p.cuts = c, true, nil, 0
	p.gen++
}

// Reset stops cutting and starts counting anew.
func (p *CutProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed, p.counts, p.cuts = false, nil, 0
	p.gen++
}

// Messages is how many messages the server sent on each connection
// accepted since Arm or Reset, in the order they were accepted.
func (p *CutProxy) Messages() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.counts...)
}

// Cuts is how many connections were cut since Arm.
func (p *CutProxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

func (p *CutProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *CutProxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.counts = append(p.counts, 0)
		at := slot{gen: p.gen, idx: len(p.counts) - 1}
		cut, armed := p.cut, p.armed && (p.cut.Conn == 0 || p.cut.Conn == at.idx+1)
		p.open[client], p.open[server] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			io.Copy(server, client)
			server.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.forward(client, server, at, cut, armed)
			p.mu.Lock()
			delete(p.open, client)
			delete(p.open, server)
			p.mu.Unlock()
		}()
	}
}

// forward copies the server's answers to the client one whole message at a
// time, counting them, and cuts both sides where an armed cut says. A
// message and a cut are counted before the client can read the message:
// tests read the counts as soon as their read returns.
func (p *CutProxy) forward(client, server net.Conn, at slot, cut Cut, armed bool) {
	defer client.Close()
	defer server.Close()
	r := bufio.NewReader(server)
	for n := 1; ; n++ {
		msg, err := readMessage(r)
		if err != nil {
			return
		}
		here := armed && n == cut.After
		p.counted(at, n, here)
		if here && cut.Mid {
			msg = msg[:len(msg)/2]
		}
		if _, err := client.Write(msg); err != nil || here {
			return
		}
	}
}

// slot names a connection's message count.
type slot struct{ gen, idx int }

// counted records that the server sent message n on the connection at,
// and whether the connection is cut there.
func (p *CutProxy) counted(at slot, n int, cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at.gen != p.gen {
		return
	}
	p.counts[at.idx] = n
	if cut {
		p.cuts++
	}
}

// readMessage reads one BER-encoded LDAPMessage (a SEQUENCE with a
// definite length) whole.
func readMessage(r *bufio.Reader) ([]byte, error) {
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := int(hdr[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 {
			return nil, errors.New("ldaptest: unsupported BER length")
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(r, lb); err != nil {
			return nil, err
		}
		hdr = append(hdr, lb...)
		n = 0
		for _, b := range lb {
			n = n<<8 | int(b)
		}
	}
	msg := make([]byte, len(hdr)+n)
	copy(msg, hdr)
	if _, err := io.ReadFull(r, msg[len(hdr):]); err != nil {
		return nil, err
	}
	return msg, nil
}
