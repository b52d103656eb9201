package nats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
)

// Default limits. The JSON Schema states the same numbers.
const (
	DefaultMaxBytes   = 1 << 20
	DefaultMaxMembers = 10000
	maxIDLen          = 1024
	maxNameLen        = 512
	maxEmailLen       = 254
	maxAltEmails      = 32
	maxMemberGroups   = 1000
	maxSequence       = 1<<53 - 1 // largest integer every JSON parser keeps exact
	// DefaultMaxClockSkew bounds how far an event's time may be ahead of
	// the consumer's clock: an event from the far future would make every
	// later event for its group stale until then.
	DefaultMaxClockSkew = 5 * time.Minute
)

// Decoder turns bytes into a validated Event. Its zero value uses the
// default limits.
type Decoder struct {
	// MaxBytes is the largest event accepted; 0 means DefaultMaxBytes.
	MaxBytes int
	// MaxMembers bounds data.members; 0 means DefaultMaxMembers.
	MaxMembers int
	// MaxClockSkew bounds how far time may be ahead of Now; 0 means
	// DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// Now is the clock time is checked against; nil means time.Now.
	Now func() time.Time
}

// Decode decodes with the default limits.
func Decode(b []byte) (*Event, error) { return Decoder{}.Decode(b) }

var topLevel = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "time": true,
	"subject": true, "datacontenttype": true, "sequence": true, "data": true,
}

// extensionName is the CloudEvents rule for attribute names.
var extensionName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

// Decode parses b as a CloudEvents structured-mode event and validates it
// strictly. Unknown extension attributes are allowed (CloudEvents says so);
// unknown fields inside data are not. The error is always a *DecodeError.
func (d Decoder) Decode(b []byte) (*Event, error) {
	if err := d.checkBytes(b); err != nil {
		return nil, err
	}
	e, timeStr, ok := decodePlain(b)
	if !ok {
		var err error
		if e, timeStr, err = decodeAny(b); err != nil {
			return nil, err
		}
	}
	return d.validate(e, timeStr)
}

// checkBytes refuses b before it is parsed: too big, or not UTF-8.
func (d Decoder) checkBytes(b []byte) error {
	maxBytes := d.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if len(b) > maxBytes {
		return &DecodeError{Kind: ErrOversize, Detail: fmt.Sprintf("%d bytes, limit %d", len(b), maxBytes)}
	}
	if !utf8.Valid(b) {
		return &DecodeError{Kind: ErrMalformed, Detail: "not valid UTF-8"}
	}
	return nil
}

// decodeAny reads the attributes of any event, extension attributes and
// all, one at a time, so that an error names the attribute at fault.
func decodeAny(b []byte) (*Event, string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, "", &DecodeError{Kind: ErrMalformed, Detail: "not a JSON object"}
	}
	e := &Event{}
	// The id first, so later errors can name the event.
	if err := field(raw, "id", &e.ID); err != nil {
		return nil, "", err
	}
	for k := range raw {
		if !topLevel[k] && !extensionName.MatchString(k) {
			return fail(e, ErrMalformed, "", "attribute name is not a CloudEvents name")
		}
	}
	var timeStr string
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"specversion", &e.SpecVersion}, {"source", &e.Source}, {"type", &e.Type},
		{"time", &timeStr}, {"subject", &e.Subject}, {"datacontenttype", &e.DataContentType},
		{"sequence", &e.Sequence},
	} {
		if err := field(raw, f.name, f.dst); err != nil {
			err.(*DecodeError).EventID = e.ID
			return nil, "", err
		}
	}
	rd, ok := raw["data"]
	if !ok {
		return fail(e, ErrMissingField, "data", "required")
	}
	dec := json.NewDecoder(bytes.NewReader(rd))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e.Data); err != nil {
		return fail(e, ErrMalformed, "data", "not the data object of an event")
	}
	return e, timeStr, nil
}

// fail is the *DecodeError for e, naming the event when its id is clean.
func fail(e *Event, kind error, fieldName, detail string) (*Event, string, error) {
	de := &DecodeError{Kind: kind, Field: fieldName, Detail: detail}
	if e.ID != "" && checkString(e.ID, maxIDLen) == "" {
		de.EventID = e.ID
	}
	return nil, "", de
}

// validate checks a decoded event against the schema's rules and d's
// limits. timeStr is its time attribute as sent.
func (d Decoder) validate(e *Event, timeStr string) (*Event, error) {
	bad := func(kind error, fieldName, detail string) (*Event, error) {
		_, _, err := fail(e, kind, fieldName, detail)
		return nil, err
	}
	switch {
	case e.SpecVersion == "":
		return bad(ErrMissingField, "specversion", "required")
	case e.SpecVersion != SpecVersion:
		return bad(ErrInvalid, "specversion", "must be "+SpecVersion)
	case e.Type == "":
		return bad(ErrMissingField, "type", "required")
	case !e.Type.Known():
		return bad(ErrUnknownType, "type", "not one of the io.lightdash-sync types")
	case e.DataContentType != "" && e.DataContentType != ContentType:
		return bad(ErrInvalid, "datacontenttype", "must be "+ContentType)
	case timeStr == "":
		return bad(ErrMissingField, "time", "required")
	case e.Sequence != nil && *e.Sequence > maxSequence:
		return bad(ErrInvalid, "sequence", "larger than 2^53-1")
	}
	t, err := time.Parse(time.RFC3339Nano, timeStr)
	if err != nil {
		return bad(ErrInvalid, "time", "not an RFC 3339 timestamp")
	}
	e.Time = t
	if skew := d.maxClockSkew(); t.After(d.now().Add(skew)) {
		return bad(ErrFutureTime, "time", fmt.Sprintf("more than %s ahead of the consumer's clock", skew))
	}
	for _, s := range []struct{ name, v string }{
		{"id", e.ID}, {"source", e.Source}, {"data.id", e.Data.ID},
	} {
		if s.v == "" {
			return bad(ErrMissingField, s.name, "required")
		}
		if msg := checkString(s.v, maxIDLen); msg != "" {
			return bad(ErrBadString, s.name, msg)
		}
	}
	if e.Subject != "" && e.Subject != e.Data.ID {
		return bad(ErrInvalid, "subject", "must equal data.id")
	}
	if kind, f, msg := validateData(e.Type, &e.Data, d.maxMembers()); kind != nil {
		return bad(kind, f, msg)
	}
	return e, nil
}

func (d Decoder) maxClockSkew() time.Duration {
	if d.MaxClockSkew <= 0 {
		return DefaultMaxClockSkew
	}
	return d.MaxClockSkew
}

func (d Decoder) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func (d Decoder) maxMembers() int {
	if d.MaxMembers <= 0 {
		return DefaultMaxMembers
	}
	return d.MaxMembers
}

// field unmarshals raw[name] into dst when present. null is refused, as
// the schema does: a producer sending null has a bug worth seeing.
func field(raw map[string]json.RawMessage, name string, dst any) error {
	v, ok := raw[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil || string(v) == "null" {
		return &DecodeError{Kind: ErrMalformed, Field: name, Detail: "wrong JSON type"}
	}
	return nil
}

func validateData(t Type, d *Data, maxMembers int) (kind error, fieldName, msg string) {
	group := t.IsGroup()
	if group {
		if d.Email != "" || d.AltEmails != nil || d.DisplayName != "" || d.Enabled != nil {
			return ErrInvalid, "data", "user fields in a group event"
		}
	} else if d.Name != "" || d.Members != nil || d.MemberGroups != nil {
		return ErrInvalid, "data", "group fields in a user event"
	}
	switch t {
	case TypeGroupUpserted:
		if d.Name == "" {
			return ErrMissingField, "data.name", "required"
		}
		if d.Members == nil { // absent or null; [] says "no members"
			return ErrMissingField, "data.members", "required: the full member list, [] for none"
		}
	case TypeGroupDeleted:
		if d.Name != "" || d.Members != nil || d.MemberGroups != nil {
			return ErrInvalid, "data", "group.deleted carries only data.id"
		}
	case TypeMembersAdded, TypeMembersRemoved:
		if len(d.Members) == 0 && len(d.MemberGroups) == 0 {
			return ErrMissingField, "data.members", "a delta needs members or memberGroups"
		}
	case TypeUserUpserted:
		if d.Email == "" {
			return ErrMissingField, "data.email", "required"
		}
	case TypeUserDeleted:
		if d.Email != "" || d.AltEmails != nil || d.DisplayName != "" || d.Enabled != nil {
			return ErrInvalid, "data", "user.deleted carries only data.id"
		}
	}
	if d.Name != "" {
		if m := checkString(d.Name, maxNameLen); m != "" {
			return ErrBadString, "data.name", m
		}
	}
	if d.DisplayName != "" {
		if m := checkText(d.DisplayName, maxNameLen); m != "" {
			return ErrBadString, "data.displayName", m
		}
	}
	if len(d.Members) > maxMembers {
		return ErrTooManyMembers, "data.members", fmt.Sprintf("%d members, limit %d", len(d.Members), maxMembers)
	}
	for i, m := range d.Members {
		if m.ID == "" && m.Email == "" {
			return ErrMissingField, memberPath(i), "needs id or email"
		}
		if m.ID != "" {
			if msg := checkString(m.ID, maxIDLen); msg != "" {
				return ErrBadString, memberPath(i) + ".id", msg
			}
		}
		if m.Email != "" {
			if msg, k := checkEmail(m.Email); k != nil {
				return k, memberPath(i) + ".email", msg
			}
		}
	}
	if len(d.MemberGroups) > maxMemberGroups {
		return ErrTooManyMembers, "data.memberGroups", fmt.Sprintf("%d groups, limit %d", len(d.MemberGroups), maxMemberGroups)
	}
	for i, g := range d.MemberGroups {
		f := "data.memberGroups[" + strconv.Itoa(i) + "]"
		if g == "" {
			return ErrMissingField, f, "empty group id"
		}
		if msg := checkString(g, maxIDLen); msg != "" {
			return ErrBadString, f, msg
		}
	}
	if d.Email != "" {
		if msg, k := checkEmail(d.Email); k != nil {
			return k, "data.email", msg
		}
	}
	if len(d.AltEmails) > maxAltEmails {
		return ErrInvalid, "data.altEmails", fmt.Sprintf("more than %d", maxAltEmails)
	}
	for i, a := range d.AltEmails {
		if msg, k := checkEmail(a); k != nil {
			return k, fmt.Sprintf("data.altEmails[%d]", i), msg
		}
	}
	return nil, "", ""
}

func memberPath(i int) string { return "data.members[" + strconv.Itoa(i) + "]" }

// checkString returns "" when s is acceptable as an id or a name: not too
// long, and free of what ident.CheckName refuses (control, zero-width and
// bidirectional characters), which the worker refuses in group names too.
func checkString(s string, maxLen int) string {
	if utf8.RuneCountInString(s) > maxLen {
		return fmt.Sprintf("longer than %d characters", maxLen)
	}
	return ident.CheckName(s)
}

// checkText is checkString for free text (a display name, an email), by
// the laxer ident.CheckText: emoji joiners and bidirectional marks are
// part of some people's names. The worker matches only plain ASCII emails.
func checkText(s string, maxLen int) string {
	if utf8.RuneCountInString(s) > maxLen {
		return fmt.Sprintf("longer than %d characters", maxLen)
	}
	return ident.CheckText(s)
}

// checkEmail accepts a bare addr-spec (no display name, no angle brackets).
func checkEmail(s string) (msg string, kind error) {
	if len(s) > maxEmailLen {
		return fmt.Sprintf("longer than %d bytes", maxEmailLen), ErrBadEmail
	}
	if m := checkText(s, maxEmailLen); m != "" {
		return m, ErrBadString
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(s, "@") {
		return "not a plain email address", ErrBadEmail
	}
	return "", nil
}
