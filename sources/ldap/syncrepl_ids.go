package ldap

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// syncID is the id a sync control's entry UUID stands for, in the form
// IDAttribute has: entryUUID as is; nsUniqueId (389-DS) is the same 16
// bytes written as four groups of eight hex digits. ok is false for an id
// attribute syncrepl cannot name (objectGUID).
func (s *Source) syncID(u [16]byte) (id string, ok bool) {
	switch strings.ToLower(s.cfg.IDAttribute) {
	case "entryuuid":
		return strings.ToLower(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])), true
	case "nsuniqueid":
		h := hex.EncodeToString(u[:])
		return h[0:8] + "-" + h[8:16] + "-" + h[16:24] + "-" + h[24:32], true
	}
	return "", false
}

// complete returns e, or e read again in full when it lacks the id
// attribute: 389-DS sends an entry changed before a refresh from a cookie
// (after a reconnect or restart) without its operational attributes
// (nsUniqueId, nsAccountLock), so only a read tells its id and whether it
// is locked. nil, nil when the entry is gone since (its delete follows).
func (w *syncWatcher) complete(ctx context.Context, e *goldap.Entry) (*goldap.Entry, error) {
	if attrValue(e, w.s.cfg.IDAttribute) != "" || len(e.GetRawAttributeValue(w.s.cfg.IDAttribute)) > 0 {
		return e, nil
	}
	if w.reader == nil {
		c, err := w.s.dial(ctx, true)
		if err != nil {
			return nil, fmt.Errorf("read %q again for its %s: %w", e.DN, w.s.cfg.IDAttribute, err)
		}
		w.reader = c
	}
	res, err := w.reader.Search(goldap.NewSearchRequest(e.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", w.s.dec.attributes(), nil))
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		w.closeReader()
		return nil, fmt.Errorf("read %q again for its %s: %w", e.DN, w.s.cfg.IDAttribute, err)
	}
	if len(res.Entries) != 1 {
		return nil, nil
	}
	return res.Entries[0], nil
}

func (w *syncWatcher) closeReader() {
	if w.reader != nil {
		w.reader.Close()
		w.reader = nil
	}
}
