package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
	"github.com/lightdash-sync/lightdash-sync/worker/sourcetest"
)

// The daemon tells the source before Watch starts (see share.go).
var _ sources.WatchExpecter = (*Source)(nil)

// TestContract runs the source contract suite against a real slapd, which
// the Env changes with LDAP adds and modifies as root while the source
// reads as the non-root reader and follows with syncrepl.
func TestContract(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Env {
		srv := ldaptest.Start(t)
		cfg := baseConfig(srv)
		cfg.Watch = WatchSyncrepl
		// inetOrgPerson has no "disabled" flag; employeeType stands in.
		cfg.Disabled = DisabledAttribute
		cfg.DisabledAttribute = "employeeType"
		cfg.DisabledValues = []string{"disabled"}
		e := &ldapEnv{srv: srv, conn: srv.Conn(), src: newSource(t, cfg), ready: make(chan struct{}, 1), dns: map[string]string{}}
		e.src.onRefreshDone = func() {
			select {
			case e.ready <- struct{}{}:
			default: // already signalled
			}
		}
		return e
	})
}

// ldapEnv is the contract suite's directory: users are uid=<name> under
// ou=people, groups cn=<name> under ou=groups, groupOfNames with member
// DNs; ids are the entryUUIDs slapd assigns.
type ldapEnv struct {
	srv   *ldaptest.Server
	conn  *goldap.Conn // bound as root
	src   *Source
	ready chan struct{}

	mu  sync.Mutex
	dns map[string]string // entryUUID → DN
}

var (
	_ sourcetest.Env          = (*ldapEnv)(nil)
	_ sourcetest.WatchReadier = (*ldapEnv)(nil)
)

func (e *ldapEnv) Source() sources.Source { return e.src }

func (e *ldapEnv) dn(id string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	dn, ok := e.dns[id]
	if !ok {
		return "", fmt.Errorf("no entry with id %q was added", id)
	}
	return dn, nil
}

func (e *ldapEnv) dnsOf(ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		dn, err := e.dn(id)
		if err != nil {
			return nil, err
		}
		out = append(out, dn)
	}
	return out, nil
}

// members is the member attribute for users and groups; groupOfNames
// requires a value, so an empty group names the empty DN (which matches
// no user or group).
func (e *ldapEnv) members(users, groups []string) ([]string, error) {
	out, err := e.dnsOf(append(append([]string{}, users...), groups...))
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out, nil
}

func userAttrs(u sources.DirUser) map[string][]string {
	disabled := []string{}
	if u.Disabled {
		disabled = []string{"disabled"}
	}
	return map[string][]string{
		"cn":           {u.DisplayName},
		"sn":           {u.DisplayName},
		"mail":         append([]string{u.Email}, u.AltEmails...),
		"employeeType": disabled,
	}
}

// add creates dn and returns the entryUUID slapd gave it.
func (e *ldapEnv) add(dn string, attrs map[string][]string) (string, error) {
	req := goldap.NewAddRequest(dn, nil)
	for n, v := range attrs {
		if len(v) > 0 {
			req.Attribute(n, v)
		}
	}
	if err := e.conn.Add(req); err != nil {
		return "", fmt.Errorf("add %s: %w", dn, err)
	}
	res, err := e.conn.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"entryUUID"}, nil))
	if err != nil {
		return "", fmt.Errorf("read entryUUID of %s: %w", dn, err)
	}
	if len(res.Entries) != 1 {
		return "", fmt.Errorf("read entryUUID of %s: %d entries", dn, len(res.Entries))
	}
	id := strings.ToLower(res.Entries[0].GetAttributeValue("entryUUID"))
	if id == "" {
		return "", errors.New("read entryUUID of " + dn + ": empty")
	}
	e.mu.Lock()
	e.dns[id] = dn
	e.mu.Unlock()
	return id, nil
}

func (e *ldapEnv) AddUser(_ context.Context, u sources.DirUser) (string, error) {
	attrs := userAttrs(u)
	attrs["objectClass"] = []string{"inetOrgPerson"}
	attrs["uid"] = []string{strings.ToLower(u.DisplayName)}
	return e.add("uid="+goldap.EscapeDN(strings.ToLower(u.DisplayName))+","+people, attrs)
}

func (e *ldapEnv) AddGroup(_ context.Context, g sources.DirGroup) (string, error) {
	m, err := e.members(g.MemberUsers, g.MemberGroups)
	if err != nil {
		return "", err
	}
	return e.add("cn="+goldap.EscapeDN(g.Name)+","+groups, map[string][]string{
		"objectClass": {"groupOfNames"},
		"cn":          {g.Name},
		"member":      m,
	})
}

func (e *ldapEnv) modify(id string, attrs map[string][]string) error {
	dn, err := e.dn(id)
	if err != nil {
		return err
	}
	req := goldap.NewModifyRequest(dn, nil)
	for n, v := range attrs {
		req.Replace(n, v)
	}
	if err := e.conn.Modify(req); err != nil {
		return fmt.Errorf("modify %s: %w", dn, err)
	}
	return nil
}

func (e *ldapEnv) SetMembers(_ context.Context, groupID string, users, groups []string) error {
	m, err := e.members(users, groups)
	if err != nil {
		return err
	}
	return e.modify(groupID, map[string][]string{"member": m})
}

func (e *ldapEnv) UpdateUser(_ context.Context, u sources.DirUser) error {
	return e.modify(u.ID, userAttrs(u))
}

func (e *ldapEnv) DeleteGroup(_ context.Context, groupID string) error {
	dn, err := e.dn(groupID)
	if err != nil {
		return err
	}
	if err := e.conn.Del(goldap.NewDelRequest(dn, nil)); err != nil {
		return fmt.Errorf("delete %s: %w", dn, err)
	}
	return nil
}

// WatchReady waits for the syncrepl refresh phase to end: from then on the
// session is persisting and every change is sent.
func (e *ldapEnv) WatchReady(ctx context.Context) error {
	select {
	case <-e.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("syncrepl refresh did not end: %w", ctx.Err())
	}
}
