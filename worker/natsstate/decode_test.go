package natsstate

import (
	"errors"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

func TestDecodeState(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"current", `{"version":1,"groups":{"k":{"uuid":"u","name":"n"}}}`, nil},
		{"null maps", `{"version":1,"groups":null}`, nil},
		{"no version", `{"groups":{}}`, worker.ErrStateCorrupt},
		{"version zero", `{"version":0,"groups":{}}`, worker.ErrStateCorrupt},
		{"negative version", `{"version":-1}`, worker.ErrStateCorrupt},
		{"version 2 with spending", `{"version":2,"groups":{},"spent":[{"at":"2026-01-01T00:00:00Z","removed":3}]}`, nil},
		{"newer", `{"version":3,"groups":{}}`, worker.ErrStateTooNew},
		{"newer with new fields", `{"version":3,"owners":{}}`, worker.ErrStateTooNew},
		{"unknown field", `{"version":1,"owners":{}}`, worker.ErrStateCorrupt},
		{"null group", `{"version":1,"groups":{"k":null}}`, worker.ErrStateCorrupt},
		{"not json", `{"version":1,`, worker.ErrStateCorrupt},
		{"wrong type", `{"version":"1"}`, worker.ErrStateCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := decodeState([]byte(tt.in), "test")
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("decodeState = %v, want %v", err, tt.want)
			}
			if err == nil && (s.Version != worker.StateVersion || s.Groups == nil || s.Cookies == nil) {
				t.Errorf("decoded state not normalised: %+v", s)
			}
		})
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"version":1,"groups":{"k":{"uuid":"u","name":"n","addedMembers":["a"]}},"cookies":{"c":"AAE="}}`))
	f.Add([]byte(`{"version":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(b, "fuzz")
		if err == nil && (s == nil || s.Groups == nil) {
			t.Fatal("no error and no usable state")
		}
		if err != nil && !errors.Is(err, worker.ErrStateCorrupt) && !errors.Is(err, worker.ErrStateTooNew) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}
