// Command snoop is a test program that does what a rank must not: read
// its host peer's identity key and drive its host peer through the
// control socket. It prints what happened and exits 0 either way; the
// test reads the lines.
package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

func main() {
	data := filepath.Dir(os.Getenv("P2PDVM_SOCK")) // the host's data dir
	if _, err := os.ReadFile(filepath.Join(data, "identity.key")); err != nil {
		fmt.Println("identity: denied")
	} else {
		fmt.Println("identity: READ")
	}
	if _, err := os.ReadFile(filepath.Join(data, "ctl.token")); err != nil {
		fmt.Println("token: denied")
	} else {
		fmt.Println("token: READ")
	}
	c, err := net.Dial("unix", filepath.Join(data, "ctl.sock"))
	if err != nil {
		fmt.Println("control: no connection")
		return
	}
	defer c.Close()
	fmt.Fprintln(c, `{"op":"jobs"}`)
	b := make([]byte, 4096)
	n, _ := c.Read(b)
	fmt.Printf("control: %s", b[:n])
}
