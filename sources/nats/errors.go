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
)

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
