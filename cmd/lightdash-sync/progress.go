package main

import (
	"context"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/progress"
)

// isTerminal reports whether w is a terminal. Tests replace it.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressEvery is how often the progress line is drawn again.
const progressEvery = 250 * time.Millisecond

// startProgress shows a one-shot run's progress on stderr when stderr is
// a terminal: the log then goes through o.progress, which keeps the
// progress line under it. Elsewhere it does nothing, so the log stays
// plain JSON lines. stop erases the line.
func startProgress(ctx context.Context, o *options) (stop func()) {
	if !isTerminal(o.stderr) {
		return func() {}
	}
	o.progress = &progress.Terminal{W: o.stderr}
	o.stderr = o.progress
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.progress.Run(ctx, progressEvery)
	}()
	return func() {
		cancel()
		<-done
	}
}

// followProgress shows t's runs on the terminal, if there is one.
func (o *options) followProgress(t *progress.Tracker) {
	if o.progress != nil {
		o.progress.Follow(t)
	}
}

// clearProgress erases the progress line before output to stdout, which
// may be the same terminal.
func (o *options) clearProgress() {
	if o.progress != nil {
		o.progress.Clear()
	}
}
