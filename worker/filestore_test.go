package worker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFileStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	fs := NewFileStore(path)
	s, err := fs.Load(ctx)
	if err != nil {
		t.Fatalf("Load of a missing file: %v, want an empty state", err)
	}
	if len(s.Groups) != 0 || s.Version != StateVersion {
		t.Fatalf("empty state %+v", s)
	}
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Groups["group:corp/1"] = &OwnedGroup{UUID: "u1", Name: "Eng", AddedMembers: []string{"a", "b"}, AbsentSince: &since, AbsentReads: 2}
	s.Groups["group:corp/2"] = &OwnedGroup{Name: "Creating"}
	s.Cookies["corp"] = []byte{0, 1, 2, 0xff}
	s.Spent = []Spend{{At: since, Deleted: 1, Removed: 3}}
	if err := fs.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := fs.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("loaded %+v, want %+v", got, s)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// A second save replaces the file and leaves no temporary behind.
	delete(s.Groups, "group:corp/2")
	if err := fs.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the state", len(entries))
	}
	got, _ = fs.Load(ctx)
	if len(got.Groups) != 1 {
		t.Errorf("after second save: %d groups, want 1", len(got.Groups))
	}
}

func TestFileStoreBadFiles(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    error
		msg     string
	}{
		{"newer version", `{"version": 99, "groups": {}}`, ErrStateTooNew, "version 99"},
		{"not json", `{"version": 1,`, ErrStateCorrupt, "state.json"},
		{"no version", `{"groups": {}}`, ErrStateCorrupt, "no version"},
		{"zero version", `{"version": 0}`, ErrStateCorrupt, "version 0"},
		{"unknown field", `{"version": 1, "grups": {}}`, ErrStateCorrupt, "grups"},
		{"null group", `{"version": 1, "groups": {"k": null}}`, ErrStateCorrupt, `"k" is null`},
		{"wrong type", `{"version": 1, "groups": []}`, ErrStateCorrupt, "state.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewFileStore(path).Load(context.Background())
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Load: %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestFileStoreSaveErrors(t *testing.T) {
	err := NewFileStore(filepath.Join(t.TempDir(), "missing-dir", "state.json")).Save(context.Background(), NewState())
	if err == nil {
		t.Error("Save into a missing directory: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewFileStore(filepath.Join(t.TempDir(), "s.json")).Save(ctx, NewState()); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with a cancelled context: %v", err)
	}
}

// Saves are compact JSON; a file written indented by an earlier build
// still loads.
func TestFileStoreCompactAndIndentedFiles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	fs := NewFileStore(path)
	s := NewState()
	s.Groups["group:corp/1"] = &OwnedGroup{UUID: "u1", Name: "Eng", AddedMembers: []string{"a"}}
	if err := fs.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "\n"); got != 1 || strings.Contains(string(b), "  ") {
		t.Errorf("saved %q, want one compact line", b)
	}
	indented := "{\n  \"version\": 1,\n  \"groups\": {\n    \"group:corp/1\": {\n      \"uuid\": \"u1\",\n      \"name\": \"Eng\",\n" +
		"      \"addedMembers\": [\n        \"a\"\n      ]\n    }\n  }\n}\n"
	if err := os.WriteFile(path, []byte(indented), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := fs.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("indented file loaded as %+v, want %+v", got, s)
	}
}

// TestDecodeState: what every state store (file, NATS key-value) refuses.
func TestDecodeState(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"current", `{"version":1,"groups":{"k":{"uuid":"u","name":"n"}}}`, nil},
		{"null maps", `{"version":1,"groups":null}`, nil},
		{"no version", `{"groups":{}}`, ErrStateCorrupt},
		{"version zero", `{"version":0,"groups":{}}`, ErrStateCorrupt},
		{"negative version", `{"version":-1}`, ErrStateCorrupt},
		{"version 2 with spending", `{"version":2,"groups":{},"spent":[{"at":"2026-01-01T00:00:00Z","removed":3}]}`, nil},
		{"newer", `{"version":3,"groups":{}}`, ErrStateTooNew},
		{"newer with new fields", `{"version":3,"owners":{}}`, ErrStateTooNew},
		{"unknown field", `{"version":1,"owners":{}}`, ErrStateCorrupt},
		{"null group", `{"version":1,"groups":{"k":null}}`, ErrStateCorrupt},
		{"not json", `{"version":1,`, ErrStateCorrupt},
		{"wrong type", `{"version":"1"}`, ErrStateCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeState([]byte(tt.in), "test")
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("DecodeState = %v, want %v", err, tt.want)
			}
			if err == nil && (s.Version != StateVersion || s.Groups == nil || s.Cookies == nil) {
				t.Errorf("decoded state not normalised: %+v", s)
			}
		})
	}
}
