package nats

import "strconv"

// decodePlain decodes the usual event by hand, in one pass and with
// little garbage, where decodeAny goes through a map and encoding/json's
// reflection for each attribute (most of the source's CPU per event in a
// burst). It reads only the plainest form: an object of known attributes,
// each once, data among them; strings without escapes; the known data
// fields, spelt exactly. ok is false for anything else, and decodeAny,
// which reads every form, decides.
func decodePlain(b []byte) (e *Event, timeStr string, ok bool) {
	p := plain{b: b}
	e = &Event{}
	var seen uint16
	ok = p.object(func(key []byte) bool {
		bit, known := attrBits[string(key)]
		if !known || seen&bit != 0 {
			return false
		}
		seen |= bit
		switch string(key) {
		case "sequence":
			n, ok := p.uint()
			e.Sequence = &n
			return ok
		case "data":
			return p.data(&e.Data)
		case "time":
			return p.stringTo(&timeStr)
		case "type":
			return p.stringTo((*string)(&e.Type))
		}
		return p.stringTo(attrString(e, string(key)))
	})
	if !ok || seen&attrBits["data"] == 0 || p.space() != len(b) {
		return nil, "", false
	}
	return e, timeStr, true
}

// attrBits gives each attribute decodePlain reads a bit.
var attrBits = map[string]uint16{
	"specversion": 1 << 0, "id": 1 << 1, "source": 1 << 2, "type": 1 << 3, "time": 1 << 4,
	"subject": 1 << 5, "datacontenttype": 1 << 6, "sequence": 1 << 7, "data": 1 << 8,
}

// dataBits gives each data field decodePlain reads a bit.
var dataBits = map[string]uint8{
	"id": 1 << 0, "name": 1 << 1, "email": 1 << 2, "displayName": 1 << 3,
	"enabled": 1 << 4, "memberGroups": 1 << 5, "altEmails": 1 << 6, "members": 1 << 7,
}

// attrString is the field of e for a string attribute.
func attrString(e *Event, key string) *string {
	switch key {
	case "specversion":
		return &e.SpecVersion
	case "id":
		return &e.ID
	case "source":
		return &e.Source
	case "subject":
		return &e.Subject
	default: // datacontenttype
		return &e.DataContentType
	}
}

// data reads the data object. A field seen twice is left to decodeAny.
func (p *plain) data(d *Data) bool {
	var seen uint8
	return p.object(func(key []byte) bool {
		bit, known := dataBits[string(key)]
		if !known || seen&bit != 0 {
			return false
		}
		seen |= bit
		switch string(key) {
		case "id":
			return p.stringTo(&d.ID)
		case "name":
			return p.stringTo(&d.Name)
		case "email":
			return p.stringTo(&d.Email)
		case "displayName":
			return p.stringTo(&d.DisplayName)
		case "enabled":
			v, ok := p.bool()
			d.Enabled = &v
			return ok
		case "memberGroups":
			return p.strings(&d.MemberGroups)
		case "altEmails":
			return p.strings(&d.AltEmails)
		case "members":
			d.Members = []Member{} // [] is "no members", not absent
			return p.array(func() bool {
				var m Member
				ok := p.member(&m)
				d.Members = append(d.Members, m)
				return ok
			})
		}
		return false
	})
}

// member reads {"id": ..., "email": ...}, either or both or neither.
func (p *plain) member(m *Member) bool {
	var seen [2]bool
	return p.object(func(key []byte) bool {
		switch {
		case string(key) == "id" && !seen[0]:
			seen[0] = true
			return p.stringTo(&m.ID)
		case string(key) == "email" && !seen[1]:
			seen[1] = true
			return p.stringTo(&m.Email)
		}
		return false
	})
}

func (p *plain) strings(dst *[]string) bool {
	*dst = []string{}
	return p.array(func() bool {
		var s string
		ok := p.stringTo(&s)
		*dst = append(*dst, s)
		return ok
	})
}

// plain is a cursor over JSON in the plainest form decodePlain reads.
type plain struct {
	b []byte
	i int
}

// space skips JSON white space and returns the position after it.
func (p *plain) space() int {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
	return p.i
}

// next skips white space and consumes c if it comes next.
func (p *plain) next(c byte) bool {
	if p.space() < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object reads an object, calling value for each key with the cursor on
// its value; value reads it and says whether it could.
func (p *plain) object(value func(key []byte) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	for {
		key, ok := p.raw()
		if !ok || !p.next(':') {
			return false
		}
		p.space()
		if !value(key) {
			return false
		}
		if p.next('}') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}

// array reads an array, calling elem with the cursor on each element.
func (p *plain) array(elem func() bool) bool {
	if !p.next('[') {
		return false
	}
	if p.next(']') {
		return true
	}
	for {
		p.space()
		if !elem() {
			return false
		}
		if p.next(']') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}

// stringTo reads a string without escapes into dst.
func (p *plain) stringTo(dst *string) bool {
	s, ok := p.raw()
	*dst = string(s)
	return ok
}

// raw reads a string without escapes and returns its bytes, which are its
// value (the input is valid UTF-8).
func (p *plain) raw() ([]byte, bool) {
	if !p.next('"') {
		return nil, false
	}
	for j := p.i; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[p.i:j]
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// uint reads a non-negative integer as JSON writes it (no sign, no leading
// zero, no fraction or exponent) that fits in a uint64.
func (p *plain) uint() (uint64, bool) {
	j := p.i
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		j++
	}
	digits := p.b[p.i:j]
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') || (j < len(p.b) && (p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E')) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	p.i = j
	return n, err == nil
}

func (p *plain) bool() (bool, bool) {
	for _, lit := range []string{"true", "false"} {
		if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
			p.i += len(lit)
			return lit == "true", true
		}
	}
	return false, false
}
