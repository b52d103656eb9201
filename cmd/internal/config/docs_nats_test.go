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
	const root = "../../.."
	var out []streamCommand
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
			for _, prefix := range []string{"nats stream add ", "nats str add "} {
				j := strings.Index(line, prefix)
				if j < 0 {
					continue
				}
				text, _, _ := strings.Cut(line[j:], "`")
				out = append(out, parseStreamAdd(rel+":"+strconv.Itoa(at), strings.TrimSpace(text)))
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
	args := strings.Fields(text)[3:]
	for k := 0; k < len(args); k++ {
		a := strings.Trim(args[k], `"'`)
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
	for _, p := range strings.Split(strings.Trim(s, `"'`), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// TestDocsNATSStreamsAreAccepted creates, on a real NATS server, the event
// stream a minimal configuration describes and then every stream the docs'
// `nats stream add` commands create: NATS refuses a stream whose subjects
// overlap another's, so an example that collides with the default event
// subjects fails here. The default dead-letter subject must then land in a
// stream the docs create, not in the event stream.
func TestDocsNATSStreamsAreAccepted(t *testing.T) {
	cfg := loadDocsMinimal(t)
	var n *NATSSource
	for _, s := range cfg.Sources {
		if s.NATS != nil {
			n = s.NATS
		}
	}
	cmds := docsStreamCommands(t)
	if len(cmds) == 0 {
		t.Fatal("no `nats stream add` in the docs: the dead-letter stream example is gone")
	}

	srv := natstest.RunServer(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: n.Stream, Subjects: n.Subjects}); err != nil {
		t.Fatalf("the default event stream %s on %v: %v", n.Stream, n.Subjects, err)
	}
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
