package chaos

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the kernel kill the daemon if this test process dies
// first (a -timeout panic or a SIGKILL skips every cleanup).
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
