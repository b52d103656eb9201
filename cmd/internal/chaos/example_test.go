package chaos_test

import (
	"fmt"
	"net"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/chaos"
)

// A proxy in front of a server: cut the path, then restore it.
func ExampleProxy() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi\n"))
			c.Close()
		}
	}()

	p, err := chaos.NewProxy(ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer p.Close()
	read := func() string {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			return "refused"
		}
		defer c.Close()
		buf := make([]byte, 3)
		n, _ := c.Read(buf)
		if n == 0 {
			return "closed"
		}
		return string(buf[:n])
	}
	fmt.Printf("%q\n", read())
	p.Cut()
	fmt.Printf("%q\n", read())
	p.Restore()
	fmt.Printf("%q\n", read())
	// Output:
	// "hi\n"
	// "closed"
	// "hi\n"
}
