package worker

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"
)

// StateVersion is the version of the State format this build writes. A
// store refuses a state written by a newer version rather than lose what
// it does not understand. Version 2 added Spent.
const StateVersion = 2

// ErrStateTooNew is returned by a StateStore holding a state written by a
// newer lightdash-sync.
var ErrStateTooNew = errors.New("state was written by a newer lightdash-sync")

// ErrStateCorrupt is returned by a StateStore whose content cannot be read.
var ErrStateCorrupt = errors.New("state is corrupt")

// State is the worker's memory of what it owns. Lightdash groups carry no
// metadata, so this is the only record of which groups lightdash-sync made
// or adopted, and which members it added; the planner never touches a
// group that is not in it.
type State struct {
	Version int `json:"version"`
	// Groups maps a desired group's key (DesiredGroup.Key) to the Lightdash
	// group that serves it.
	Groups map[string]*OwnedGroup `json:"groups"`
	// Cookies is where LDAP watch cookies were kept before they got a
	// store of their own (CookieFile, natsstate.Cookies), which read it to
	// carry them over. Nothing writes it now.
	Cookies map[string][]byte `json:"cookies,omitempty"`
	// Spent records the deletions and member removals applied, by time,
	// so the safety limits hold over Limits.LimitWindow across runs, restarts
	// and leader changes.
	Spent []Spend `json:"spent,omitempty"`
}

// OwnedGroup is one Lightdash group lightdash-sync owns.
type OwnedGroup struct {
	// UUID is empty while a create is in flight: the intent is saved
	// before the call, so that a run interrupted after Lightdash created
	// the group adopts it instead of making a duplicate.
	UUID string `json:"uuid,omitempty"`
	Name string `json:"name"`
	// AddedMembers are the user uuids lightdash-sync put in the group; in
	// preserve-manual mode only these are ever removed. Authoritative mode
	// removes whatever the directory does not want and needs no record, so
	// it keeps none (at 10,000 groups of 50 the record was most of the
	// state's size and of every save). Switching to preserve-manual later
	// therefore starts with no member known as added: none is removed
	// until the worker adds it again, the safe side for manual members.
	AddedMembers []string `json:"addedMembers,omitempty"`
	// Granted are the grants lightdash-sync made ("project:<uuid>",
	// "space:<uuid>"), recorded only in preserve-manual access mode, where
	// only these are ever revoked.
	Granted []string `json:"granted,omitempty"`
	// AbsentSince and AbsentReads count how long the directory group has
	// been missing from complete reads; they drive the deletion grace.
	AbsentSince *time.Time `json:"absentSince,omitempty"`
	AbsentReads int        `json:"absentReads,omitempty"`
}

// same reports whether p records exactly what o does.
func (o *OwnedGroup) same(p *OwnedGroup) bool {
	return p != nil && o.UUID == p.UUID && o.Name == p.Name && o.AbsentReads == p.AbsentReads &&
		slices.Equal(o.AddedMembers, p.AddedMembers) && slices.Equal(o.Granted, p.Granted) &&
		(o.AbsentSince == nil) == (p.AbsentSince == nil) && (o.AbsentSince == nil || o.AbsentSince.Equal(*p.AbsentSince))
}

// Creating reports whether the group's create was started but never confirmed.
func (o *OwnedGroup) Creating() bool { return o.UUID == "" }

// NewState returns an empty state of the current version.
func NewState() *State {
	return &State{Version: StateVersion, Groups: map[string]*OwnedGroup{}, Cookies: map[string][]byte{}}
}

// Clone returns a deep copy, so a planner's input cannot be changed under it.
func (s *State) Clone() *State {
	if s == nil {
		return NewState()
	}
	c := &State{Version: s.Version, Groups: make(map[string]*OwnedGroup, len(s.Groups)), Cookies: make(map[string][]byte, len(s.Cookies))}
	for k, g := range s.Groups {
		cg := *g
		cg.AddedMembers = append([]string(nil), g.AddedMembers...)
		cg.Granted = append([]string(nil), g.Granted...)
		if g.AbsentSince != nil {
			t := *g.AbsentSince
			cg.AbsentSince = &t
		}
		c.Groups[k] = &cg
	}
	for k, v := range s.Cookies {
		c.Cookies[k] = append([]byte(nil), v...)
	}
	c.Spent = append([]Spend(nil), s.Spent...)
	return c
}

// ownerOf returns the key owning a Lightdash group uuid, or "".
func (s *State) ownerOf(uuid string) string {
	if uuid == "" {
		return ""
	}
	keys := make([]string, 0, len(s.Groups))
	for k := range s.Groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s.Groups[k].UUID == uuid {
			return k
		}
	}
	return ""
}

// StateStore persists State. Load returns an empty State (not an error)
// when nothing was saved yet.
type StateStore interface {
	Load(ctx context.Context) (*State, error)
	Save(ctx context.Context, s *State) error
}

// MemoryStore is a StateStore in memory, for tests and dry runs.
type MemoryStore struct {
	mu    sync.Mutex
	state *State
	saves int
}

// Load returns a copy of the saved state.
func (m *MemoryStore) Load(context.Context) (*State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.Clone(), nil
}

// Save keeps a copy of s.
func (m *MemoryStore) Save(_ context.Context, s *State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = s.Clone()
	m.saves++
	return nil
}

// Saves counts calls to Save.
func (m *MemoryStore) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}
