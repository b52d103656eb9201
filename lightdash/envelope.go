package lightdash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// streamer is implemented by results too large to hold as raw JSON (the
// list pages): they decode themselves from the token stream, item by item,
// checking each item as it arrives. present is false for a null.
type streamer interface {
	decodeStream(dec *json.Decoder) (present bool, err error)
}

// decodeSuccess reads a 2xx body from r: the envelope
// {"status":"ok","results":T} with non-null results of out's shape, checked
// when out is a checker. It accepts and refuses what decoding the whole body
// with json.Unmarshal would (keys match case-insensitively, the last of a
// repeated key wins, nothing may follow the envelope; envelope_test.go holds
// the two side by side), but results are decoded as they stream past, before
// "status" may have been seen, so results that do not fit out are reported
// as bad results even where "status" says "error". Either way the error
// matches ErrBadResponse.
//
// out is reset first, so nothing from an earlier, failed attempt survives.
func decodeSuccess(status int, r *bodyReader, out any) error {
	reset(out)
	dec := json.NewDecoder(r)
	notEnvelope := func(err error) error {
		return fmt.Errorf("%w: status %d with a body that is not a JSON envelope (%s): %w", ErrBadResponse, status, excerpt(r.head), err)
	}
	badResults := func(err error) error {
		if isSyntax(err) {
			return notEnvelope(unexpectedEOF(err))
		}
		return fmt.Errorf("%w: results: %w", ErrBadResponse, err)
	}
	var (
		envStatus   string
		haveResults bool
		errRaw      json.RawMessage
	)
	tok, err := dec.Token()
	if err != nil {
		return notEnvelope(unexpectedEOF(err))
	}
	if tok != nil { // a JSON null leaves the envelope empty, as Unmarshal does
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return notEnvelope(fmt.Errorf("json: cannot unmarshal %s into the envelope object", describe(tok)))
		}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return notEnvelope(unexpectedEOF(err))
			}
			k, _ := key.(string)
			switch {
			case strings.EqualFold(k, "status"):
				if err := dec.Decode(&envStatus); err != nil {
					return notEnvelope(unexpectedEOF(err))
				}
			case strings.EqualFold(k, "results"):
				reset(out)
				if haveResults, err = decodeResults(dec, out); err != nil {
					return badResults(err)
				}
			case strings.EqualFold(k, "error"):
				errRaw = nil
				if err := dec.Decode(&errRaw); err != nil {
					return notEnvelope(unexpectedEOF(err))
				}
			default:
				if err := skipValue(dec); err != nil {
					return notEnvelope(unexpectedEOF(err))
				}
			}
		}
		if _, err := dec.Token(); err != nil { // the closing '}'
			return notEnvelope(unexpectedEOF(err))
		}
	}
	if extra, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = fmt.Errorf("%s after the envelope", describe(extra))
		}
		return notEnvelope(err)
	}
	switch envStatus {
	case "ok":
	case "error":
		return fmt.Errorf("%w: status %d with an error envelope: %w", ErrBadResponse, status, envelopeError(status, errRaw, r.head))
	default:
		return fmt.Errorf("%w: status %d with envelope status %q, want \"ok\"", ErrBadResponse, status, clip(envStatus, 40))
	}
	if !haveResults {
		return fmt.Errorf("%w: status %d without results", ErrBadResponse, status)
	}
	if c, ok := out.(checker); ok {
		if err := c.check(); err != nil {
			return fmt.Errorf("%w: results: %w", ErrBadResponse, err)
		}
	}
	return nil
}

// decodeResults decodes the value of "results" into out: streamed for
// streamers, otherwise (small single objects) as one raw value.
func decodeResults(dec *json.Decoder, out any) (present bool, err error) {
	if s, ok := out.(streamer); ok {
		return s.decodeStream(dec)
	}
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return false, err
	}
	if bytes.Equal(raw, []byte("null")) {
		return false, nil
	}
	return true, json.Unmarshal(raw, out)
}

// envelopeError is the *APIError of a 2xx body whose envelope says "error":
// from its "error" object, or from the start of the body without one.
func envelopeError(status int, errRaw json.RawMessage, head []byte) *APIError {
	var e *errorObject
	if json.Unmarshal(errRaw, &e) == nil && e != nil {
		return e.apiError(status)
	}
	return parseAPIError(status, head)
}

// skipValue reads past the next value. Unknown members are small
// (pagination); reading them whole keeps json.Unmarshal's limits, such as
// its nesting depth.
func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}

// resetter is implemented by results that keep settings across a reset.
type resetter interface{ reset() }

// reset zeroes what out points to.
func reset(out any) {
	if r, ok := out.(resetter); ok {
		r.reset()
		return
	}
	if v := reflect.ValueOf(out); v.Kind() == reflect.Pointer && !v.IsNil() {
		v.Elem().SetZero()
	}
}

// isSyntax reports a body that is not JSON at all or ends too soon, as
// opposed to JSON of the wrong shape.
func isSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// unexpectedEOF turns the decoder's io.EOF inside a value into
// io.ErrUnexpectedEOF: the body ended before the envelope did.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// describe names a token's kind for an error message, without quoting it.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return "a closing " + t.String()
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}
