package nats

import (
	"bytes"
	"encoding/json"
)

// plainEvent is an event with only the known attributes, decoded in one
// pass (decodePlain).
type plainEvent struct {
	SpecVersion     string  `json:"specversion"`
	ID              string  `json:"id"`
	Source          string  `json:"source"`
	Type            Type    `json:"type"`
	Time            string  `json:"time"`
	Subject         string  `json:"subject"`
	DataContentType string  `json:"datacontenttype"`
	Sequence        *uint64 `json:"sequence"`
	Data            Data    `json:"data"`
}

// decodePlain decodes the usual event in one pass, where decodeAny makes
// a map and decodes each attribute again. It applies only where both
// read the same: an object of known attributes, each once, none null,
// data present; ok is false otherwise, and whenever the decoding fails,
// so that decodeAny says why.
func decodePlain(b []byte) (e *Event, timeStr string, ok bool) {
	if !plainAttrs(b) {
		return nil, "", false
	}
	var p plainEvent
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // only data can hold one: plainAttrs saw every attribute
	if err := dec.Decode(&p); err != nil {
		return nil, "", false
	}
	return &Event{
		SpecVersion: p.SpecVersion, ID: p.ID, Source: p.Source, Type: p.Type,
		Subject: p.Subject, DataContentType: p.DataContentType, Sequence: p.Sequence, Data: p.Data,
	}, p.Time, true
}

// attrBits gives each attribute plainEvent knows a bit.
var attrBits = map[string]uint16{
	"specversion": 1 << 0, "id": 1 << 1, "source": 1 << 2, "type": 1 << 3, "time": 1 << 4,
	"subject": 1 << 5, "datacontenttype": 1 << 6, "sequence": 1 << 7, "data": 1 << 8,
}

// plainAttrs reports whether b is one JSON object whose keys are
// attributes plainEvent knows, spelt exactly (no escapes), each once, with
// data among them and no null value, and nothing after it but space. It
// finds where values end without checking them: the decoder does.
func plainAttrs(b []byte) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	var seen uint16
	for i = skipSpace(b, i+1); ; i = skipSpace(b, i+1) {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end := bytes.IndexByte(b[i+1:], '"')
		if end < 0 {
			return false
		}
		bit := attrBits[string(b[i+1:i+1+end])] // a key with an escape matches none
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		if i = skipSpace(b, i+end+2); i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		if bytes.HasPrefix(b[i:], []byte("null")) {
			return false
		}
		if i = skipSpace(b, skipValue(b, i)); i < 0 || i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return seen&attrBits["data"] != 0 && skipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
	}
}

// skipSpace returns the index of the first non-space byte at or after i;
// a negative i stays as it is.
func skipSpace(b []byte, i int) int {
	for i >= 0 && i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				j := skipString(b, i)
				if j < 0 {
					return -1
				}
				i = j - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default: // number, true, false
		for i < len(b) && bytes.IndexByte([]byte(",}] \t\n\r"), b[i]) < 0 {
			i++
		}
		return i
	}
}

// skipString returns the index after the string whose opening quote is
// b[i], or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}
