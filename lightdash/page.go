package lightdash

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// page is the results of a list endpoint: GET /api/v1/org/groups
// (groupPage) or GET /api/v1/org/users (userPage). It is streamed: items
// are decoded one at a time from the body, each checked as it arrives and
// its strings interned, so a list is never held as raw JSON too.
type page[T any, PT item[T]] struct {
	Data *[]T `json:"data"`
}

// item is what a page needs of its element type.
type item[T any] interface {
	*T
	check() error
	intern(in *interner)
}

type (
	groupPage = page[GroupWithMembers, *GroupWithMembers]
	userPage  = page[OrgMember, *OrgMember]
)

// check: a list answer without its list is not an empty list. The items
// were checked while streaming.
func (p *page[T, PT]) check() error {
	if p.Data == nil {
		return errors.New("no data list")
	}
	return nil
}

// decodeStream reads {"data":[...], ...}; other members (pagination) are
// skipped. The last "data" wins, as with json.Unmarshal.
func (p *page[T, PT]) decodeStream(dec *json.Decoder) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return false, fmt.Errorf("json: cannot unmarshal %s into a list page", describe(tok))
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false, err
		}
		if k, _ := key.(string); !strings.EqualFold(k, "data") {
			if err := skipValue(dec); err != nil {
				return false, err
			}
			continue
		}
		if err := p.decodeData(dec); err != nil {
			return false, fmt.Errorf("data: %w", err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return false, err
	}
	return true, nil
}

func (p *page[T, PT]) decodeData(dec *json.Decoder) error {
	p.Data = nil
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // data null: check says "no data list"
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("json: cannot unmarshal %s into a list", describe(tok))
	}
	in := newInterner()
	items := make([]T, 0, 64)
	for i := 0; dec.More(); i++ {
		var zero T
		items = append(items, zero)
		it := PT(&items[i])
		if err := dec.Decode(it); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
		if err := it.check(); err != nil {
			return err
		}
		it.intern(in)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return err
	}
	p.Data = &items
	return nil
}
