package config

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	natssource "github.com/lightdash-sync/lightdash-sync/sources/nats"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// streamCommand is a `nats stream add` the docs tell an operator to run.
type streamCommand struct {
	where    string // file:line
	text     string
	name     string
	subjects []string
}

// docsStreamCommands finds every `nats stream add` (or `nats str add`) in
// the repository's Markdown files.
func docsStreamCommands(t *testing.T) []streamCommand {
	t.Helper()
	var out []streamCommand
	for _, c := range docsCommands(t, "nats stream add ", "nats str add ") {
		out = append(out, parseStreamAdd(c.where, c.text))
	}
	return out
}

// docCommand is a command line in the docs, continued lines joined.
type docCommand struct{ where, text string }

// docsCommands finds the command lines starting with one of prefixes in
// the repository's Markdown files, up to the end of the line or of the
// inline code span.
func docsCommands(t *testing.T, prefixes ...string) []docCommand {
	t.Helper()
	const root = "../../.."
	var out []docCommand
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			line, at := lines[i], i+1
			for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
				i++
				line = strings.TrimSuffix(line, "\\") + " " + lines[i]
			}
			for _, prefix := range prefixes {
				j := strings.Index(line, prefix)
				if j < 0 {
					continue
				}
				text, _, _ := strings.Cut(line[j:], "`")
				out = append(out, docCommand{rel + ":" + strconv.Itoa(at), strings.TrimSpace(text)})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseStreamAdd reads the stream name and the --subjects values (repeated
// or comma-separated) of a `nats stream add` command line.
func parseStreamAdd(where, text string) streamCommand {
	c := streamCommand{where: where, text: text}
	args := shellFields(text)[3:]
	for k := 0; k < len(args); k++ {
		a := args[k]
		switch {
		case a == "--subjects" && k+1 < len(args):
			k++
			c.subjects = append(c.subjects, splitSubjects(args[k])...)
		case strings.HasPrefix(a, "--subjects="):
			c.subjects = append(c.subjects, splitSubjects(strings.TrimPrefix(a, "--subjects="))...)
		case !strings.HasPrefix(a, "-") && c.name == "":
			c.name = a
		}
	}
	return c
}

func splitSubjects(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// shellFields splits a command line into words as a POSIX shell does for
// plain words and single- or double-quoted ones (no escapes, no expansion).
func shellFields(s string) []string {
	var out []string
	var word strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			word.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out = append(out, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, word.String())
	}
	return out
}

// defaultEventServer starts a NATS server holding the event stream that a
// minimal configuration describes, and returns that configuration's NATS
// section, a JetStream client and a context for the test's calls.
func defaultEventServer(t *testing.T) (*NATSSource, jetstream.JetStream, context.Context) {
	t.Helper()
	cfg := loadDocsMinimal(t)
	var n *NATSSource
	for _, s := range cfg.Sources {
		if s.NATS != nil {
			n = s.NATS
		}
	}
	srv := natstest.RunServer(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: n.Stream, Subjects: n.Subjects}); err != nil {
		t.Fatalf("the default event stream %s on %v: %v", n.Stream, n.Subjects, err)
	}
	return n, js, ctx
}

// TestDocsNATSStreamsAreAccepted creates, on a real NATS server, the event
// stream a minimal configuration describes and then every stream the docs'
// `nats stream add` commands create: NATS refuses a stream whose subjects
// overlap another's, so an example that collides with the default event
// subjects fails here. The default dead-letter subject must then land in a
// stream the docs create, not in the event stream.
func TestDocsNATSStreamsAreAccepted(t *testing.T) {
	cmds := docsStreamCommands(t)
	if len(cmds) == 0 {
		t.Fatal("no `nats stream add` in the docs: the dead-letter stream example is gone")
	}

	n, js, ctx := defaultEventServer(t)
	created := map[string]bool{}
	for _, c := range cmds {
		if c.name == "" || len(c.subjects) == 0 {
			t.Errorf("%s: %s: give the stream's name and --subjects (the CLI would prompt)", c.where, c.text)
			continue
		}
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: c.name, Subjects: c.subjects}); err != nil {
			t.Errorf("%s: %s: NATS refuses it beside the default event stream on %v: %v", c.where, c.text, n.Subjects, err)
			continue
		}
		created[c.name] = true
	}

	ack, err := js.Publish(ctx, n.DeadLetterSubject, []byte("dead letter"))
	if err != nil {
		t.Fatalf("publish to the default dead_letter_subject %q: %v", n.DeadLetterSubject, err)
	}
	if !created[ack.Stream] {
		t.Errorf("the default dead_letter_subject %q is kept by stream %s, not by one the docs create", n.DeadLetterSubject, ack.Stream)
	}
}

// TestDocsNATSPublishExamplesAreEvents publishes every `nats pub` example
// of the docs as the CLI would: it must land in the default event stream
// and decode as a valid event whose id is its Nats-Msg-Id.
func TestDocsNATSPublishExamplesAreEvents(t *testing.T) {
	cmds := docsCommands(t, "nats pub ")
	if len(cmds) == 0 {
		t.Fatal("no `nats pub` example in the docs")
	}

	n, js, ctx := defaultEventServer(t)
	for _, c := range cmds {
		args := shellFields(c.text)[2:]
		msg := &nats.Msg{Header: nats.Header{}}
		var positional []string
		for k := 0; k < len(args); k++ {
			switch a := args[k]; {
			case (a == "--header" || a == "-H") && k+1 < len(args):
				k++
				name, value, _ := strings.Cut(args[k], ":")
				msg.Header.Set(name, value)
			case strings.HasPrefix(a, "-"):
				t.Errorf("%s: %s: this test does not know the flag %s", c.where, c.text, a)
			default:
				positional = append(positional, a)
			}
		}
		if len(positional) != 2 {
			t.Errorf("%s: %s: want a subject and a body, got %q", c.where, c.text, positional)
			continue
		}
		msg.Subject, msg.Data = positional[0], []byte(positional[1])
		ack, err := js.PublishMsg(ctx, msg)
		if err != nil {
			t.Errorf("%s: %s: not kept by the default event stream on %v: %v", c.where, c.text, n.Subjects, err)
			continue
		}
		if ack.Stream != n.Stream {
			t.Errorf("%s: kept by stream %s, want %s", c.where, ack.Stream, n.Stream)
		}
		e, err := natssource.Decode(msg.Data)
		if err != nil {
			t.Errorf("%s: the body is not a valid event: %v", c.where, err)
			continue
		}
		if id := msg.Header.Get("Nats-Msg-Id"); id != e.ID {
			t.Errorf("%s: Nats-Msg-Id %q, event id %q: de-duplication needs them equal", c.where, id, e.ID)
		}
	}
}
