package nats

import (
	"errors"
	"fmt"
)

// Sentinel kinds of DecodeError, for errors.Is. Each is also the poison
// reason reported in metrics and in the Term reason.
var (
	ErrOversize       = errors.New("oversize")
	ErrMalformed      = errors.New("malformed")
	ErrUnknownType    = errors.New("unknown_type")
	ErrMissingField   = errors.New("missing_field")
	ErrBadString      = errors.New("bad_string")
	ErrTooManyMembers = errors.New("too_many_members")
	ErrBadEmail       = errors.New("bad_email")
	ErrInvalid        = errors.New("invalid")
	// ErrFutureTime: the event's time is further ahead of this host's
	// clock than MaxClockSkew allows.
	ErrFutureTime = errors.New("future_time")
)

// Kinds of RejectError: a well-formed event that the view refuses, given
// what it already holds for the event's group or user.
var (
	// ErrSequenceJump: the sequence is more than MaxSequenceJump above the
	// last one applied (0 when none was).
	ErrSequenceJump = errors.New("sequence_jump")
	// ErrForeignSource: the group or user was first described by another
	// CloudEvents source.
	ErrForeignSource = errors.New("foreign_source")
)

// poisonReasons are every reason an event can be refused for, the label
// values of events_poison_total.
var poisonReasons = []error{
	ErrOversize, ErrMalformed, ErrUnknownType, ErrMissingField, ErrBadString,
	ErrTooManyMembers, ErrBadEmail, ErrInvalid, ErrFutureTime, ErrSequenceJump, ErrForeignSource,
}

// DecodeError says why bytes are not an acceptable event. It never quotes
// the offending value: hostile strings stay out of logs.
type DecodeError struct {
	// Kind is one of the Err* sentinels above.
	Kind error
	// Field is a JSON path ("data.members[3].email"), or empty.
	Field string
	// Detail is a short explanation.
	Detail string
	// EventID is the event's id when it could be read and is itself clean,
	// so the poison can be logged with it.
	EventID string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("decode event: %v: %s", e.Kind, e.Detail)
	}
	return fmt.Sprintf("decode event: %v: %s: %s", e.Kind, e.Field, e.Detail)
}

// Is makes errors.Is(err, ErrBadEmail) and friends work.
func (e *DecodeError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the kind.
func (e *DecodeError) Unwrap() error { return e.Kind }

// Reason is the kind as a short label ("bad_email").
func (e *DecodeError) Reason() string { return e.Kind.Error() }

// RejectError says why the view refuses a well-formed event: applying it
// would let one event or one producer take a group or user over.
type RejectError struct {
	// Kind is ErrSequenceJump or ErrForeignSource.
	Kind error
	// Detail is a short explanation.
	Detail string
}

func (e *RejectError) Error() string { return fmt.Sprintf("reject event: %v: %s", e.Kind, e.Detail) }

// Is makes errors.Is(err, ErrForeignSource) and friends work.
func (e *RejectError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the kind.
func (e *RejectError) Unwrap() error { return e.Kind }

// Reason is the kind as a short label ("foreign_source").
func (e *RejectError) Reason() string { return e.Kind.Error() }
