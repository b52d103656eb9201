package nats

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// plainInputs are events the one-pass decoder must read as decodeAny
// does, or leave to it.
func plainInputs(t testing.TB) map[string]string {
	good := string(examples(t, "good")["members-added.json"])
	in := map[string]string{
		"extension attribute":        strings.Replace(good, `{`, `{"traceparent":"x",`, 1),
		"upper-case attribute":       strings.Replace(good, `"id":`, `"ID":`, 1),
		"escaped attribute name":     strings.Replace(good, `"source":`, `"sour\u0063e":`, 1),
		"null subject":               strings.Replace(good, `{`, `{"subject":null,`, 1),
		"null data":                  `{"specversion":"1.0","id":"e","source":"s","type":"io.lightdash-sync.group.deleted","time":"2026-01-01T00:00:00Z","data":null}`,
		"data twice":                 strings.Replace(good, `{`, `{"data":{"id":"other","name":"x"},`, 1),
		"no data":                    `{"specversion":"1.0","id":"e","source":"s","type":"io.lightdash-sync.group.deleted","time":"2026-01-01T00:00:00Z"}`,
		"trailing garbage":           good + "{}",
		"trailing space":             good + " \n",
		"unknown data field":         strings.Replace(good, `"data":{`, `"data":{"colour":"red",`, 1),
		"upper-case data field":      strings.Replace(good, `"data":{"id"`, `"data":{"ID"`, 1),
		"braces in a string":         strings.Replace(good, `"id":"`, `"id":"}{\"]`, 1),
		"number type":                strings.Replace(good, `"source":"`, `"source":7,"x":"`, 1),
		"sequence not a number":      strings.Replace(good, `{`, `{"sequence":"7",`, 1),
		"negative sequence":          strings.Replace(good, `{`, `{"sequence":-1,`, 1),
		"data not an object":         `{"specversion":"1.0","id":"e","source":"s","type":"io.lightdash-sync.group.deleted","time":"2026-01-01T00:00:00Z","data":[1]}`,
		"unterminated":               good[:len(good)-3],
		"spaces everywhere":          strings.ReplaceAll(strings.ReplaceAll(good, `":`, `" : `), `,"`, ` , "`),
		"id that is an escape":       strings.Replace(good, `"id":"`, `"id":"\"`, 1),
		"string ends in backslash":   strings.Replace(good, `"source":"`, `"source":"\\`, 1),
		"member email in upper case": strings.Replace(good, `@`, `@EXAMPLE.`, 1),
	}
	for dir := range map[string]bool{"good": true, "bad": true} {
		for name, b := range examples(t, dir) {
			in[dir+"/"+name] = string(b)
		}
	}
	return in
}

// TestDecodePlainAgrees: for every input, Decode (one pass where it
// applies) gives what the attribute-by-attribute decoder gives.
func TestDecodePlainAgrees(t *testing.T) {
	plain := 0
	for name, in := range plainInputs(t) {
		t.Run(name, func(t *testing.T) {
			if _, _, ok := decodePlain([]byte(in)); ok {
				plain++
			}
			comparePaths(t, []byte(in))
		})
	}
	if plain < 10 {
		t.Errorf("the one-pass decoder read %d inputs, want the usual events (at least 10)", plain)
	}
}

func FuzzDecodePlain(f *testing.F) {
	for _, in := range plainInputs(f) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) { comparePaths(t, b) })
}

// comparePaths fails t if Decode and decodeAny disagree on b.
func comparePaths(t *testing.T, b []byte) {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	d := Decoder{Now: now}
	got, gotErr := d.Decode(b)
	want, wantErr := d.slowDecode(b)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("Decode = %+v, %v; decodeAny = %+v, %v\ninput: %q", got, gotErr, want, wantErr, b)
	}
}

// slowDecode is Decode without the one-pass decoder.
func (d Decoder) slowDecode(b []byte) (*Event, error) {
	if err := d.checkBytes(b); err != nil {
		return nil, err
	}
	e, ts, err := decodeAny(b)
	if err != nil {
		return nil, err
	}
	return d.validate(e, ts)
}
