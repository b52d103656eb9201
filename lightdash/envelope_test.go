package lightdash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// unmarshalSuccess is the decoder decodeSuccess replaced: the whole body
// read, then json.Unmarshal. The streamed decoder must accept and refuse the
// same bodies and produce the same results.
func unmarshalSuccess(data []byte, out any) error {
	var env struct {
		Status  string          `json:"status"`
		Results json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("not a JSON envelope: %w", err)
	}
	if env.Status != "ok" {
		return fmt.Errorf("status %q", env.Status)
	}
	if len(env.Results) == 0 || bytes.Equal(env.Results, []byte("null")) {
		return errors.New("without results")
	}
	if err := json.Unmarshal(env.Results, out); err != nil {
		return err
	}
	if c, ok := out.(checker); ok {
		return c.check()
	}
	return nil
}

// unmarshalPage is the old page type: plain json.Unmarshal into a list,
// every item checked afterwards.
type unmarshalPage[T any, PT interface {
	*T
	check() error
}] struct {
	Data *[]T `json:"data"`
}

func (p *unmarshalPage[T, PT]) check() error {
	if p.Data == nil {
		return errors.New("no data list")
	}
	for i := range *p.Data {
		if err := PT(&(*p.Data)[i]).check(); err != nil {
			return err
		}
	}
	return nil
}

const (
	g1 = "11111111-1111-4111-8111-111111111111"
	u1 = "33333333-3333-4333-8333-333333333333"
	u2 = "44444444-4444-4444-8444-444444444444"
)

// decodeCases are bodies both decoders must agree on, good and bad.
var decodeCases = []string{
	`{"status":"ok","results":{"data":[]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","name":"a","members":[{"userUuid":"` + u1 + `","email":"a@x","firstName":"A"}],"memberUuids":["` + u1 + `"]}]}}`,
	// The second group lacks fields the first had: nothing may carry over.
	`{"status":"ok","results":{"data":[` +
		`{"uuid":"` + g1 + `","name":"a","members":[{"userUuid":"` + u1 + `","email":"a@x","firstName":"A","lastName":"B"},{"userUuid":"` + u2 + `","email":"b@x"}],"memberUuids":["` + u1 + `","` + u2 + `"]},` +
		`{"uuid":"` + g1 + `","members":[{"userUuid":"` + u2 + `"}]},` +
		`{"uuid":"` + g1 + `","members":[],"memberUuids":null},` +
		`{"uuid":"` + g1 + `","members":null,"memberUuids":[]},` +
		`{"uuid":"` + g1 + `","memberUuids":["` + u2 + `"],"members":[{"userUuid":"` + u2 + `","email":"other@x"}]}` +
		`]}}`,
	`{"results":{"pagination":{"page":1},"data":[{"uuid":"` + g1 + `"}],"Data":[]},"STATUS":"ok"}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `"}]},"results":{"data":null}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `"}]},"results":null}`,
	`{"status":"error","results":{"data":[]},"status":"ok"}`,
	`{"status":"ok","status":null,"results":{"data":[]}}`,
	`{"status":42,"results":{"data":[]}}`,
	`{"status":"ok","results":{"data":[]}} `,
	`{"status":"ok","results":{"data":[]}} {}`,
	`{"status":"ok","results":{"data":[]}}x`,
	`{"status":"ok","results":{"data":[null]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":["` + u1 + `",null]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":"x"}]}}`,
	// memberUuids of every shape: read from the JSON text in uuids-only mode.
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":[ "` + u1 + `" ,` + "\n\t" + `"` + u2 + `" ]},{"uuid":"` + g1 + `","memberUuids":[ ]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":["\u0033` + u1[1:] + `","` + u1 + `"]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUUIDS":["` + u1 + `"],"memberuuids":["` + u2 + `"]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":["` + u1 + `"],"memberUuids":null}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":[null]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":["` + u1 + `",7]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":[{"userUuid":"` + u1 + `"}]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":[["` + u1 + `"]]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":[true]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":{"a":"` + u1 + `"}}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":5}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":["` + u1 + `"}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":["` + u1 + `""` + u2 + `"]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":["` + u1 + `",]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":["` + u1 + "\xff" + `"]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","memberUuids":["` + u1 + `\"]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `","members":[{"userUuid":7}]}]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `"},]}}`,
	`{"status":"ok","results":{"data":[{"uuid":"` + g1 + `"}`,
	`{"status":"ok","results":{"data":{}}}`,
	`{"status":"ok","results":[]}`,
	`{"status":"ok"}`,
	`null`,
	`[]`,
	`"ok"`,
	``,
	`<html>`,
}

// TestStreamedDecodeMatchesUnmarshal holds decodeSuccess to the behaviour
// of reading the whole body and unmarshalling it.
func TestStreamedDecodeMatchesUnmarshal(t *testing.T) {
	for i, body := range decodeCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) { compareDecoders(t, []byte(body)) })
	}
}

// FuzzStreamedDecode: go test -run '^$' -fuzz FuzzStreamedDecode ./lightdash/
func FuzzStreamedDecode(f *testing.F) {
	for _, body := range decodeCases {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { compareDecoders(t, body) })
}

func compareDecoders(t *testing.T, body []byte) {
	t.Helper()
	if bytes.Count(bytes.ToLower(body), []byte(`"data"`)) > 1 {
		// A repeated "data": json.Unmarshal decodes the second list into
		// the items of the first (merging their fields); the streamed
		// decoder takes the last list as sent.
		return
	}
	compareUUIDsOnly(t, body)
	var want unmarshalPage[GroupWithMembers, *GroupWithMembers]
	wantErr := unmarshalSuccess(body, &want)
	var got groupPage
	if !sameVerdict(t, body, "", &got, wantErr) {
		return
	}
	if !reflect.DeepEqual(*got.Data, *want.Data) {
		t.Fatalf("body %q:\nstreamed  %#v\nunmarshal %#v", body, *got.Data, *want.Data)
	}
	for i := range *got.Data {
		g, w := (*got.Data)[i], (*want.Data)[i]
		if (g.Members == nil) != (w.Members == nil) || (g.MemberUUIDs == nil) != (w.MemberUUIDs == nil) {
			t.Fatalf("body %q: group %d: nil lists differ: streamed %#v, unmarshal %#v", body, i, g, w)
		}
	}
}

// TestListStringsAreInterned: a user named in several groups, in members
// and in memberUuids, is one string in memory, not one per mention.
func TestListStringsAreInterned(t *testing.T) {
	m := `{"userUuid":"` + u1 + `","email":"a@x","firstName":"Ann"}`
	grp := `{"uuid":"` + g1 + `","organizationUuid":"` + u2 + `","members":[` + m + `],"memberUuids":["` + u1 + `"]}`
	body := `{"status":"ok","results":{"data":[` + grp + `,` + grp + `]}}`
	var p groupPage
	if err := decodeSuccess(200, newBodyReader(strings.NewReader(body), 1<<20), &p); err != nil {
		t.Fatal(err)
	}
	gs := *p.Data
	same := func(what, a, b string) {
		t.Helper()
		if a != b || unsafe.StringData(a) != unsafe.StringData(b) {
			t.Errorf("%s: %q and %q are separate copies, want one", what, a, b)
		}
	}
	same("uuid in members and memberUuids", gs[0].Members[0].UserUUID, gs[0].MemberUUIDs[0])
	same("uuid across groups", gs[0].MemberUUIDs[0], gs[1].MemberUUIDs[0])
	same("email across groups", gs[0].Members[0].Email, gs[1].Members[0].Email)
	same("first name across groups", gs[0].Members[0].FirstName, gs[1].Members[0].FirstName)
	same("organization uuid", gs[0].OrganizationUUID, gs[1].OrganizationUUID)
	if cap(gs[0].MemberUUIDs) != 1 || cap(gs[0].Members) != 1 {
		t.Errorf("member lists have capacity %d and %d, want exactly their length 1", cap(gs[0].MemberUUIDs), cap(gs[0].Members))
	}
}

// brokenReader yields data, then fails as a dropped connection does.
type brokenReader struct {
	data []byte
	err  error
}

func (r *brokenReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestBodyReaderTellsCutFromGarbage: a body that breaks off is the
// connection's failure (retryable), not a bad answer; a body over the limit
// is reported as too large however well-formed it is so far.
func TestBodyReaderTellsCutFromGarbage(t *testing.T) {
	half := `{"status":"ok","results":{"data":[{"uuid":"` + g1 + `"`
	b := newBodyReader(&brokenReader{[]byte(half), io.ErrUnexpectedEOF}, 1<<20)
	var p groupPage
	if err := decodeSuccess(200, b, &p); err == nil || !errors.Is(b.err, io.ErrUnexpectedEOF) {
		t.Errorf("cut body: error %v, reader failure %v; want an error and the reader's io.ErrUnexpectedEOF", err, b.err)
	}
	b = newBodyReader(strings.NewReader(`{"status":"ok","results":{"data":[]}}`+strings.Repeat(" ", 100)), 64)
	if err := decodeSuccess(200, b, &p); err == nil || !errors.Is(b.err, errBodyTooLarge) {
		t.Errorf("long body: error %v, reader failure %v; want an error and errBodyTooLarge", err, b.err)
	}
	b = newBodyReader(strings.NewReader("<html>"+strings.Repeat("x", 10<<10)), 1<<20)
	err := decodeSuccess(200, b, &p)
	if err == nil || b.err != nil || !strings.Contains(err.Error(), `"<html>xxx`) || len(b.head) > headSize {
		t.Errorf("HTML body: error %v, reader failure %v, %d bytes kept; want a bad response quoting the start, no reader failure, at most %d bytes kept", err, b.err, len(b.head), headSize)
	}
}

// refUUIDsOnly is what the uuids-only decoder must equal: a group without
// its member summaries, memberUuids unmarshalled as a []string.
type refUUIDsOnly struct {
	Group
	MemberUUIDs []string `json:"memberUuids"`
}

func (r *refUUIDsOnly) check() error {
	return (&GroupWithMembers{Group: r.Group, MemberUUIDs: r.MemberUUIDs}).check()
}

// sameVerdict decodes body into got as the client streams it and fails t
// unless it fails exactly when json.Unmarshal did (wantErr), with an error
// matching ErrBadResponse; it reports whether both decoded.
func sameVerdict(t *testing.T, body []byte, what string, got *groupPage, wantErr error) bool {
	t.Helper()
	gotErr := decodeSuccess(200, newBodyReader(bytes.NewReader(body), 1<<20), got)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("body %q: %sstreamed error %v, unmarshal error %v", body, what, gotErr, wantErr)
	}
	if gotErr != nil && !errors.Is(gotErr, ErrBadResponse) {
		t.Fatalf("body %q: error %v does not match ErrBadResponse", body, gotErr)
	}
	return gotErr == nil
}

// compareUUIDsOnly holds the uuids-only decoder (memberUuids read from the
// JSON text, Client.MemberUUIDsOnly) to json.Unmarshal the same way.
func compareUUIDsOnly(t *testing.T, body []byte) {
	t.Helper()
	var want unmarshalPage[refUUIDsOnly, *refUUIDsOnly]
	wantErr := unmarshalSuccess(body, &want)
	got := groupPage{uuidsOnly: true}
	if !sameVerdict(t, body, "uuids-only ", &got, wantErr) {
		return
	}
	if len(*got.Data) != len(*want.Data) {
		t.Fatalf("body %q: uuids-only streamed %d groups, unmarshal %d", body, len(*got.Data), len(*want.Data))
	}
	for i, g := range *got.Data {
		w := (*want.Data)[i]
		if g.Members != nil || g.Group != w.Group || !reflect.DeepEqual(g.MemberUUIDs, w.MemberUUIDs) || (g.MemberUUIDs == nil) != (w.MemberUUIDs == nil) {
			t.Fatalf("body %q: group %d:\nuuids-only streamed %#v\nunmarshal           %#v", body, i, g, w)
		}
	}
}
