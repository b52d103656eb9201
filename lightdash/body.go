package lightdash

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

var errBodyTooLarge = errors.New("response body too large")

// headSize is how much of a body is kept for error messages: an excerpt
// quotes 60 characters of it and an error text at most 200, so a few KB is
// plenty, and a huge list need not be held to explain why it was refused.
const headSize = 4 << 10

// drainSize is how much unread body is discarded before closing, so the
// connection can be reused when little was left.
const drainSize = 64 << 10

// bodyReader reads a response body through the MaxResponseBytes limit. It
// keeps the first headSize bytes for error messages and remembers a failure
// of the body itself (a dropped connection, a timeout, the limit), so that
// one is not mistaken for bad JSON: the former may be retried, the latter
// is the server's answer and is not.
type bodyReader struct {
	r     io.Reader
	limit int64
	n     int64
	head  []byte
	err   error // the body's own failure (never io.EOF), or errBodyTooLarge
}

func newBodyReader(body io.Reader, limit int64) *bodyReader {
	return &bodyReader{r: io.LimitReader(body, limit+1), limit: limit}
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if room := headSize - len(b.head); room > 0 && n > 0 {
		b.head = append(b.head, p[:min(n, room)]...)
	}
	b.n += int64(n)
	if b.n > b.limit {
		b.err = fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, b.limit)
		return 0, b.err
	}
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

// readError is a failure to read the body, as opposed to a body that says
// something unusable.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// readBody reads a whole (error) body of at most MaxResponseBytes, then
// drains a little more and closes. Error bodies are small; success bodies
// with a result go through decodeBody instead.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b := newBodyReader(resp.Body, c.maxBody())
	data, err := io.ReadAll(b)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainSize))
	return data, nil
}

// decodeBody decodes a 2xx body into out straight from the stream, never
// holding the whole body: a full group list can be a hundred MB of JSON. A
// failure of the body itself comes back as a *readError.
func (c *Client) decodeBody(resp *http.Response, out any) error {
	defer resp.Body.Close()
	b := newBodyReader(resp.Body, c.maxBody())
	err := decodeSuccess(resp.StatusCode, b, out)
	if b.err != nil {
		// Whatever the decoder made of a cut-off body, the cause is the cut.
		return &readError{b.err}
	}
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainSize))
	}
	return err
}
