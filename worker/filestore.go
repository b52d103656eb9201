package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileStore keeps State in one JSON file. Saves are atomic (write to a
// temporary file in the same directory, fsync, rename, fsync the
// directory), so a crash leaves either the old or the new state, never a
// torn one. The file is mode 0600: it names groups and users.
type FileStore struct {
	Path string
}

// NewFileStore returns a store at path. The directory must exist.
func NewFileStore(path string) *FileStore { return &FileStore{Path: path} }

// Load reads the state. A missing file is an empty state; a file written by
// a newer version is ErrStateTooNew; an unreadable one is ErrStateCorrupt.
func (f *FileStore) Load(ctx context.Context) (*State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return DecodeState(b, f.Path)
}

// DecodeState reads the State JSON every store writes: a version is
// required, a newer one is ErrStateTooNew, unknown fields and null groups
// are ErrStateCorrupt. where names the origin in errors. Other stores
// (NATS key-value) share it so that all refuse the same things.
func DecodeState(b []byte, where string) (*State, error) {
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStateCorrupt, where, err)
	}
	if head.Version == nil {
		return nil, fmt.Errorf("%w: %s: no version field", ErrStateCorrupt, where)
	}
	if *head.Version > StateVersion {
		return nil, fmt.Errorf("%w: %s has version %d, this build reads up to %d", ErrStateTooNew, where, *head.Version, StateVersion)
	}
	if *head.Version < 1 {
		return nil, fmt.Errorf("%w: %s: version %d", ErrStateCorrupt, where, *head.Version)
	}
	s := NewState()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStateCorrupt, where, err)
	}
	for k, g := range s.Groups {
		if g == nil {
			return nil, fmt.Errorf("%w: %s: group %q is null", ErrStateCorrupt, where, k)
		}
	}
	if s.Groups == nil {
		s.Groups = map[string]*OwnedGroup{}
	}
	if s.Cookies == nil {
		s.Cookies = map[string][]byte{}
	}
	s.Version = StateVersion
	return s, nil
}

// Save writes s atomically.
func (f *FileStore) Save(ctx context.Context, s *State) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := EncodeState(s)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(f.Path, b); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with b, mode 0600: a temporary file in the
// same directory, fsync, rename, fsync the directory.
func writeFileAtomic(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(b); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("fsync dir: %w", err)
	}
	return nil
}

// EncodeState is the JSON form of s at the current StateVersion. It is
// compact: indenting the state of 10,000 owned groups cost most of a
// save (BenchmarkFileStoreSaveScale), and the file is read by programs.
// DecodeState reads both forms, so files written indented still load.
func EncodeState(s *State) ([]byte, error) {
	if s == nil {
		s = NewState()
	}
	out := *s // a shallow copy: marshalling changes nothing
	out.Version = StateVersion
	b, err := json.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return append(b, '\n'), nil
}
