package ldaptest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// foreground is a directory server run in the foreground by the tests
// (slapd, ns-slapd, samba): started, probed until it answers, stopped with
// SIGTERM. Its output is kept for failure messages.
type foreground struct {
	name string // for errors: "slapd", "samba", ...

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *bytes.Buffer
}

// start runs cmd and calls probe until it succeeds, the process exits, ctx
// ends or timeout passes; probe's last error is in the message.
func (f *foreground) start(ctx context.Context, cmd *exec.Cmd, timeout, every time.Duration, probe func() error) error {
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ldaptest: start %s: %w", f.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	f.mu.Lock()
	f.cmd, f.exited, f.out = cmd, exited, out
	f.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("ldaptest: %s exited during start: %s", f.name, tail(out.Bytes()))
		default:
		}
		err := probe()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			f.stop(10 * time.Second)
			return fmt.Errorf("ldaptest: %s did not answer: %v", f.name, err)
		}
		time.Sleep(every)
	}
}

// stop sends SIGTERM and waits for the exit, killing after grace.
// Stopping a stopped server does nothing.
func (f *foreground) stop(grace time.Duration) {
	f.mu.Lock()
	cmd, exited := f.cmd, f.exited
	f.cmd = nil
	f.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// restart stops the server and starts it again with start, retrying while
// the old listener may linger.
func (f *foreground) restart(grace time.Duration, start func() error) error {
	f.stop(grace)
	var err error
	for range 50 {
		if err = start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// pid is the running process's id, or 0 when stopped.
func (f *foreground) pid() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd == nil || f.cmd.Process == nil {
		return 0
	}
	return f.cmd.Process.Pid
}

// log is what the server printed so far.
func (f *foreground) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out == nil {
		return ""
	}
	return f.out.String()
}
