package worker

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Summary counts what one reconciliation did, for the log line and the
// commands' output.
type Summary struct {
	Created          int           `json:"created"`
	Renamed          int           `json:"renamed"`
	Updated          int           `json:"updated"`
	Deleted          int           `json:"deleted"`
	Adopted          int           `json:"adopted"`
	MembersAdded     int           `json:"membersAdded"`
	MembersRemoved   int           `json:"membersRemoved"`
	Invited          int           `json:"invited"`
	AccessGranted    int           `json:"accessGranted,omitempty"`
	AccessChanged    int           `json:"accessChanged,omitempty"`
	AccessRevoked    int           `json:"accessRevoked,omitempty"`
	Unmatched        int           `json:"unmatched"`
	Conflicts        int           `json:"conflicts"`
	HeldBackDeletes  int           `json:"heldBackDeletes"`
	HeldBackRemovals int           `json:"heldBackRemovals"`
	Failed           int           `json:"failed"`
	APICalls         int64         `json:"apiCalls"`
	Duration         time.Duration `json:"duration"`
}

// String is the one-line human form.
func (s Summary) String() string {
	access := ""
	if s.AccessGranted+s.AccessChanged+s.AccessRevoked > 0 {
		access = fmt.Sprintf("access +%d ~%d -%d, ", s.AccessGranted, s.AccessChanged, s.AccessRevoked)
	}
	return access + fmt.Sprintf("created %d, renamed %d, updated %d, deleted %d, adopted %d, members +%d -%d, invited %d, unmatched users %d, conflicts %d, held back %d deletions and %d removals, failed %d, %d API calls in %s",
		s.Created, s.Renamed, s.Updated, s.Deleted, s.Adopted, s.MembersAdded, s.MembersRemoved, s.Invited,
		s.Unmatched, s.Conflicts, s.HeldBackDeletes, s.HeldBackRemovals, s.Failed, s.APICalls, s.Duration.Round(time.Millisecond))
}

func (s Summary) fields() []zap.Field {
	return []zap.Field{
		zap.Int("created", s.Created), zap.Int("renamed", s.Renamed), zap.Int("updated", s.Updated),
		zap.Int("deleted", s.Deleted), zap.Int("adopted", s.Adopted), zap.Int("membersAdded", s.MembersAdded),
		zap.Int("membersRemoved", s.MembersRemoved), zap.Int("invited", s.Invited), zap.Int("unmatched", s.Unmatched),
		zap.Int("conflicts", s.Conflicts), zap.Int("heldBackDeletes", s.HeldBackDeletes),
		zap.Int("heldBackRemovals", s.HeldBackRemovals), zap.Int("failed", s.Failed),
		zap.Int64("apiCalls", s.APICalls), zap.Duration("duration", s.Duration),
		zap.Int("accessGranted", s.AccessGranted), zap.Int("accessChanged", s.AccessChanged), zap.Int("accessRevoked", s.AccessRevoked),
	}
}

// addDone adds o's counts of changes made (not its counts of what the
// plan reported: those come from the later plan).
func (s *Summary) addDone(o Summary) {
	s.Created += o.Created
	s.Renamed += o.Renamed
	s.Updated += o.Updated
	s.Deleted += o.Deleted
	s.Adopted += o.Adopted
	s.MembersAdded += o.MembersAdded
	s.MembersRemoved += o.MembersRemoved
	s.Invited += o.Invited
	s.AccessGranted += o.AccessGranted
	s.AccessChanged += o.AccessChanged
	s.AccessRevoked += o.AccessRevoked
}
