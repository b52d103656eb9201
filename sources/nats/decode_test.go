package nats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const testdataDir = "../../testdata/nats"

func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("parse schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("event.schema.json", doc); err != nil {
		t.Fatalf("add schema: %v", err)
	}
	s, err := c.Compile("event.schema.json")
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return s
}

func schemaValidate(s *jsonschema.Schema, b []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

func examples(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdataDir, dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", dir, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// TestExamplesAgreeWithSchema keeps the schema, the decoder and the examples
// in docs honest with each other.
func TestExamplesAgreeWithSchema(t *testing.T) {
	s := compileSchema(t)
	for name, b := range examples(t, "good") {
		t.Run("good/"+name, func(t *testing.T) {
			if err := schemaValidate(s, b); err != nil {
				t.Errorf("schema rejects a good example: %v", err)
			}
			if _, err := Decode(b); err != nil {
				t.Errorf("Decode rejects a good example: %v", err)
			}
		})
	}
	for name, b := range examples(t, "bad") {
		t.Run("bad/"+name, func(t *testing.T) {
			if err := schemaValidate(s, b); err == nil {
				t.Errorf("schema accepts a bad example")
			}
			_, err := Decode(b)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("Decode error = %v, want a *DecodeError", err)
			}
		})
	}
}

func TestDecodeGroupUpserted(t *testing.T) {
	b := examples(t, "good")["group-upserted.json"]
	e, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != TypeGroupUpserted || e.ID != "evt-0001" || e.Data.ID != "grp-analysts" || e.Data.Name != "Analysts" {
		t.Errorf("got %+v", e)
	}
	if e.Sequence == nil || *e.Sequence != 1 {
		t.Errorf("sequence = %v, want 1", e.Sequence)
	}
	want := []Member{{ID: "u-ada", Email: "ada@example.com"}, {Email: "grace@example.com"}}
	if fmt.Sprint(e.Data.Members) != fmt.Sprint(want) {
		t.Errorf("members = %v, want %v", e.Data.Members, want)
	}
	if e.Time.IsZero() || e.Time.UTC().Hour() != 10 {
		t.Errorf("time = %v", e.Time)
	}
	// A decoded event encodes back to something that decodes the same.
	again, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := Decode(again)
	if err != nil {
		t.Fatalf("re-decode: %v (%s)", err, again)
	}
	if fmt.Sprint(e2) != fmt.Sprint(e) && !e2.Time.Equal(e.Time) {
		t.Errorf("round trip: got %+v, want %+v", e2, e)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := string(examples(t, "good")["group-upserted.json"])
	manyMembers := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"specversion":"1.0","id":"e","source":"s","type":"io.lightdash-sync.group.upserted","time":"2026-01-01T00:00:00Z","data":{"id":"g","name":"G","members":[`)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"id":"u%d"}`, i)
		}
		b.WriteString("]}}")
		return b.String()
	}
	cases := []struct {
		name    string
		dec     Decoder
		in      string
		want    error
		eventID string
	}{
		{name: "oversize default", in: good + strings.Repeat(" ", DefaultMaxBytes), want: ErrOversize},
		{name: "oversize configured", dec: Decoder{MaxBytes: 100}, in: good, want: ErrOversize},
		{name: "too many members", dec: Decoder{MaxMembers: 3}, in: manyMembers(4), want: ErrTooManyMembers, eventID: "e"},
		{name: "members at limit", dec: Decoder{MaxMembers: 3}, in: manyMembers(3)},
		{name: "subject differs from data.id", in: strings.Replace(good, `"subject":"grp-analysts"`, `"subject":"grp-other"`, 1), want: ErrInvalid, eventID: "evt-0001"},
		{name: "invalid utf-8", in: strings.Replace(good, "Analysts", "Ana\xfflysts", 1), want: ErrMalformed},
		{name: "sequence beyond 2^53", in: strings.Replace(good, `"sequence":1`, `"sequence":9007199254740993`, 1), want: ErrInvalid, eventID: "evt-0001"},
		{name: "sequence beyond uint64", in: strings.Replace(good, `"sequence":1`, `"sequence":99999999999999999999999`, 1), want: ErrMalformed, eventID: "evt-0001"},
		{name: "control char in event id", in: strings.Replace(good, `"evt-0001"`, `"evt\u0007"`, 1), want: ErrBadString},
		{name: "C1 control in member id", in: strings.Replace(good, `"u-ada"`, `"u\u0085ada"`, 1), want: ErrBadString, eventID: "evt-0001"},
		{name: "id too long", in: strings.Replace(good, `"grp-analysts","name"`, `"`+strings.Repeat("g", 1025)+`","name"`, 1), want: ErrBadString, eventID: "evt-0001"},
		{name: "zero-width space in group name", in: strings.Replace(good, `"Analysts"`, `"Ana\u200blysts"`, 1), want: ErrBadString, eventID: "evt-0001"},
		{name: "right-to-left mark in group name", in: strings.Replace(good, `"Analysts"`, `"Analysts\u200f"`, 1), want: ErrBadString, eventID: "evt-0001"},
		{name: "override in group name", in: strings.Replace(good, `"Analysts"`, `"\u202eAnalysts"`, 1), want: ErrBadString, eventID: "evt-0001"},
		{name: "joiner in member id", in: strings.Replace(good, `"u-ada"`, `"u-\u200dada"`, 1), want: ErrBadString, eventID: "evt-0001"},
		{name: "trailing garbage", in: good + "{}", want: ErrMalformed},
		{name: "empty", in: "", want: ErrMalformed},
		{name: "null", in: "null", want: ErrMissingField},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.dec.Decode([]byte(tc.in))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %T, want *DecodeError", err)
			}
			if de.EventID != tc.eventID {
				t.Errorf("EventID = %q, want %q", de.EventID, tc.eventID)
			}
		})
	}
}

// TestDecodeErrorDoesNotQuoteInput: a hostile value must not reach the logs
// through the error text.
func TestDecodeErrorDoesNotQuoteInput(t *testing.T) {
	for name, b := range examples(t, "bad") {
		_, err := Decode(b)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, evil := range []string{"\x00", "\n", "\u202e", "forged", "not-an-email", "root"} {
			if strings.Contains(err.Error(), evil) {
				t.Errorf("%s: error %q quotes input %q", name, err, evil)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		for _, b := range examples(f, dir) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decoder{MaxMembers: 50}.Decode(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			if e != nil {
				t.Fatal("event and error both returned")
			}
			return
		}
		// Whatever is accepted re-encodes to an event that is accepted again.
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("marshal accepted event: %v", err)
		}
		if _, err := (Decoder{MaxMembers: 50, MaxBytes: 4 << 20}).Decode(out); err != nil {
			t.Fatalf("accepted event does not re-decode: %v\n%s", err, out)
		}
	})
}

// TestDecodeUpsertNeedsMembers: group.upserted is a group's full state, so
// an upsert that leaves members out is refused rather than read as "no
// members"; only an explicit [] empties a group.
func TestDecodeUpsertNeedsMembers(t *testing.T) {
	const head = `{"specversion":"1.0","id":"e","source":"/hr","type":"io.lightdash-sync.group.upserted","time":"2026-01-01T00:00:00Z","data":{"id":"g","name":"G"`
	cases := []struct {
		name        string
		data        string
		want        error
		wantMembers int
	}{
		{name: "members absent", data: `}}`, want: ErrMissingField},
		{name: "members null", data: `,"members":null}}`, want: ErrMissingField},
		{name: "only nested groups", data: `,"memberGroups":["h"]}}`, want: ErrMissingField},
		{name: "explicitly none", data: `,"members":[]}}`},
		{name: "one member", data: `,"members":[{"id":"u"}]}}`, wantMembers: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Decode([]byte(head + tc.data))
			if tc.want != nil {
				var de *DecodeError
				if !errors.Is(err, tc.want) || !errors.As(err, &de) || de.Field != "data.members" {
					t.Fatalf("got %v, want %v on data.members", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if e.Data.Members == nil || len(e.Data.Members) != tc.wantMembers {
				t.Errorf("members = %#v, want %d, not nil", e.Data.Members, tc.wantMembers)
			}
		})
	}
}

// TestEmptyMemberListSurvivesEncoding: an upsert built in Go with no
// members encodes "members":[], so Publish sends an event the consumer
// accepts as "no members".
func TestEmptyMemberListSurvivesEncoding(t *testing.T) {
	e := &Event{SpecVersion: SpecVersion, ID: "e", Source: "/hr", Type: TypeGroupUpserted,
		Time: time.Now(), Data: Data{ID: "g", Name: "G", Members: []Member{}}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"members":[]`)) {
		t.Errorf("encoded %s, want an explicit empty member list", b)
	}
	if _, err := Decode(b); err != nil {
		t.Errorf("Decode: %v", err)
	}
}

// TestDecodeRefusesFutureTime: an event dated far ahead would make every
// later event for its group stale until then; beyond MaxClockSkew it is
// poison.
func TestDecodeRefusesFutureTime(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	event := func(at string) []byte {
		return []byte(`{"specversion":"1.0","id":"e","source":"/hr","type":"io.lightdash-sync.group.deleted","time":"` + at + `","data":{"id":"g"}}`)
	}
	cases := []struct {
		name string
		dec  Decoder
		at   string
		want error
	}{
		{name: "past", dec: Decoder{Now: clock}, at: "2020-01-01T00:00:00Z"},
		{name: "within the default skew", dec: Decoder{Now: clock}, at: "2026-12-01T12:04:59Z"},
		{name: "beyond the default skew", dec: Decoder{Now: clock}, at: "2026-12-01T12:05:01Z", want: ErrFutureTime},
		{name: "another time zone, beyond", dec: Decoder{Now: clock}, at: "2026-12-01T13:06:00+01:00", want: ErrFutureTime},
		{name: "year 9999", dec: Decoder{Now: clock}, at: "9999-12-31T23:59:59Z", want: ErrFutureTime},
		{name: "within a configured skew", dec: Decoder{Now: clock, MaxClockSkew: time.Hour}, at: "2026-12-01T12:59:00Z"},
		{name: "beyond a configured skew", dec: Decoder{Now: clock, MaxClockSkew: time.Minute}, at: "2026-12-01T12:02:00Z", want: ErrFutureTime},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.dec.Decode(event(tc.at))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var de *DecodeError
			if !errors.Is(err, tc.want) || !errors.As(err, &de) || de.Field != "time" || de.EventID != "e" {
				t.Fatalf("got %#v, want %v on time of event e", err, tc.want)
			}
		})
	}
}
