package ldaptest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// netnsEnv marks a test binary re-executed by Main in a network namespace
// of its own.
const netnsEnv = "LDAPTEST_NETNS"

// ErrNoNetns is returned by StartSamba outside the private network
// namespace Main makes: Samba's ports (389, 636, 88, ...) are fixed, so
// two test binaries, or another LDAP server on the machine, would clash.
var ErrNoNetns = errors.New("ldaptest: Samba runs only in the private network namespace ldaptest.Main makes " +
	"(it needs root, or CAP_SYS_ADMIN, to create one)")

// InNetns reports whether this process runs in the network namespace Main
// made for it.
func InNetns() bool { return os.Getenv(netnsEnv) == "1" }

// Main runs the tests of a package that uses Samba (or any ldaptest
// server): call it from TestMain. Samba listens on fixed ports, so Main
// first re-executes the test binary in a network namespace of its own (a
// fresh loopback, up; nothing else on the machine sees it, and every
// server and client of the tests runs inside); when it cannot (not root),
// the tests run here and StartSamba returns ErrNoNetns. After the tests it
// stops the servers shared by the binary (SharedSamba, Shared389DS).
func Main(m *testing.M) {
	if !InNetns() {
		if code, err := rerunInNetns(); err == nil {
			os.Exit(code)
		} else {
			fmt.Fprintf(os.Stderr, "ldaptest: tests run in the host network namespace: %v\n", err)
		}
	} else if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "ldaptest: bring up loopback in the network namespace: %v: %s\n", err, out)
		os.Exit(2)
	}
	code := m.Run()
	stopShared()
	os.Exit(code)
}

// rerunInNetns runs this binary again, with the same arguments, in a new
// network namespace and returns its exit code.
func rerunInNetns() (int, error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return 0, fmt.Errorf("no ip command (Debian: apt-get install iproute2): %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("create a network namespace: %w", err)
	}
	return 0, nil
}
