package ldaptest

import (
	"bufio"
	"net"
	"testing"
)

// ldapMessage is a minimal LDAPMessage: an empty SEQUENCE with a message
// id (the proxy only looks at the framing).
var ldapMessage = []byte{0x30, 0x03, 0x02, 0x01, 0x01}

// answering listens on loopback and answers each byte a connection sends
// with one ldapMessage.
func answering(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 1)
				for {
					if _, err := c.Read(b); err != nil {
						return
					}
					if _, err := c.Write(ldapMessage); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// ask sends one byte through the proxy connection c and reads the message
// it brings back.
func ask(t *testing.T, c net.Conn, r *bufio.Reader) error {
	t.Helper()
	if _, err := c.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	_, err := readMessage(r)
	return err
}

// TestCutProxyCountsBeforeTheClientSees: tests read Messages and Cuts as
// soon as their client has the server's answer, so the proxy must have
// counted a message (and a cut) before the client can read it.
func TestCutProxyCountsBeforeTheClientSees(t *testing.T) {
	p := NewCutProxy(t, answering(t))
	c, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for n := 1; n <= 2000; n++ {
		if err := ask(t, c, r); err != nil {
			t.Fatal(err)
		}
		if got := p.Messages(); len(got) != 1 || got[0] != n {
			t.Fatalf("the client has read message %d; the proxy counted %v", n, got)
		}
	}
	for i := range 200 {
		p.Arm(Cut{After: 1})
		c, err := net.Dial("tcp", p.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		err = ask(t, c, bufio.NewReader(c))
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Cuts(); got != 1 {
			t.Fatalf("connection %d: the client has read the message it was cut after; the proxy counted %d cuts", i, got)
		}
	}
}
