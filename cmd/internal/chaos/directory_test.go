package chaos

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

const (
	peopleDN = "ou=people,dc=example,dc=com"
	groupsDN = "ou=groups,dc=example,dc=com"
	prefix   = "ldap-" // the mapping rule's prefix
)

func userUID(i int) string     { return fmt.Sprintf("user%04d", i) }
func userEmail(i int) string   { return userUID(i) + "@example.com" }
func userDN(i int) string      { return "uid=" + userUID(i) + "," + peopleDN }
func groupCN(i int) string     { return fmt.Sprintf("team-%03d", i) }
func groupDN(cn string) string { return "cn=" + cn + "," + groupsDN }

// seedLDIF is the starting directory: sc.Users people and sc.Groups
// groupOfNames with 1 to 12 members each, drawn from rng. It returns the
// membership model the driver starts from.
func seedLDIF(sc scenario, rng *mrand.Rand) ([]byte, map[string]map[int]bool) {
	var b strings.Builder
	for i := range sc.Users {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %d\nsn: %d\nmail: %s\n\n",
			userDN(i), userUID(i), i, i, userEmail(i))
	}
	model := map[string]map[int]bool{}
	for g := range sc.Groups {
		cn := groupCN(g)
		members := map[int]bool{}
		for n := min(1+rng.IntN(12), sc.Users); len(members) < n; {
			members[rng.IntN(sc.Users)] = true
		}
		model[cn] = members
		fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: %s\n", groupDN(cn), cn)
		for _, m := range sortedKeys(members) {
			fmt.Fprintf(&b, "member: %s\n", userDN(m))
		}
		b.WriteString("\n")
	}
	return []byte(b.String()), model
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// driver writes the stream of directory changes straight to slapd (not
// through the proxy: the directory keeps changing while the daemon's path
// to it is cut). Only it writes, so its model is the directory's truth;
// the final check reads slapd again anyway.
type driver struct {
	slapd *ldaptest.Server
	rng   *mrand.Rand
	users int
	model map[string]map[int]bool
	conn  *goldap.Conn

	mu              sync.Mutex
	adds, removes   int
	created, errors int
}

func (d *driver) counts() (adds, removes, created, retried int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.adds, d.removes, d.created, d.errors
}

// run makes sc.Changes membership changes and sc.NewGroups new groups,
// evenly spaced over span, until done or ctx ends.
func (d *driver) run(ctx context.Context, sc scenario, span time.Duration) {
	defer func() {
		if d.conn != nil {
			d.conn.Close()
		}
	}()
	total := sc.Changes + sc.NewGroups
	every := span / time.Duration(total)
	createAt := map[int]bool{}
	for i := range sc.NewGroups {
		createAt[(i+1)*total/(sc.NewGroups+1)] = true
	}
	next := time.Now()
	newGroup := sc.Groups
	for i := range total {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		next = next.Add(every)
		if createAt[i] {
			d.createGroup(ctx, groupCN(newGroup))
			newGroup++
			continue
		}
		d.change(ctx)
	}
}

// change adds a random user to, or removes a random member from, a random
// group (never its last member: groupOfNames needs one).
func (d *driver) change(ctx context.Context) {
	names := make([]string, 0, len(d.model))
	for cn := range d.model {
		names = append(names, cn)
	}
	sort.Strings(names)
	cn := names[d.rng.IntN(len(names))]
	members := d.model[cn]
	add := len(members) <= 1 || (len(members) < d.users && d.rng.IntN(2) == 0)
	req := goldap.NewModifyRequest(groupDN(cn), nil)
	var u int
	if add {
		for u = d.rng.IntN(d.users); members[u]; u = d.rng.IntN(d.users) {
		}
		req.Add("member", []string{userDN(u)})
	} else {
		keys := sortedKeys(members)
		u = keys[d.rng.IntN(len(keys))]
		req.Delete("member", []string{userDN(u)})
	}
	// A modify whose answer was lost to a slapd restart may have happened:
	// re-sending it then fails with exactly these codes.
	if !d.do(ctx, func(c *goldap.Conn) error { return c.Modify(req) }, goldap.LDAPResultAttributeOrValueExists, goldap.LDAPResultNoSuchAttribute) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if add {
		members[u] = true
		d.adds++
	} else {
		delete(members, u)
		d.removes++
	}
}

func (d *driver) createGroup(ctx context.Context, cn string) {
	members := map[int]bool{}
	for n := min(1+d.rng.IntN(5), d.users); len(members) < n; {
		members[d.rng.IntN(d.users)] = true
	}
	req := goldap.NewAddRequest(groupDN(cn), nil)
	req.Attribute("objectClass", []string{"groupOfNames"})
	req.Attribute("cn", []string{cn})
	var dns []string
	for _, m := range sortedKeys(members) {
		dns = append(dns, userDN(m))
	}
	req.Attribute("member", dns)
	if !d.do(ctx, func(c *goldap.Conn) error { return c.Add(req) }, goldap.LDAPResultEntryAlreadyExists) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.model[cn] = members
	d.created++
}

// do runs op on a root connection, reconnecting and retrying through
// slapd restarts until it succeeds (or fails with an "already done" code)
// or ctx ends.
func (d *driver) do(ctx context.Context, op func(*goldap.Conn) error, done ...uint16) bool {
	for ctx.Err() == nil {
		if d.conn == nil {
			c, err := goldap.DialURL(d.slapd.URL(), goldap.DialWithDialer(&netDialer))
			if err == nil {
				if err = c.Bind(d.slapd.BindDN(), d.slapd.Password()); err != nil {
					c.Close()
				}
			}
			if err != nil {
				d.retry(ctx)
				continue
			}
			c.SetTimeout(10 * time.Second)
			d.conn = c
		}
		err := op(d.conn)
		if err == nil {
			return true
		}
		var le *goldap.Error
		if errors.As(err, &le) {
			for _, code := range done {
				if le.ResultCode == code {
					return true
				}
			}
		}
		d.conn.Close()
		d.conn = nil
		d.retry(ctx)
	}
	return false
}

func (d *driver) retry(ctx context.Context) {
	d.mu.Lock()
	d.errors++
	d.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-time.After(200 * time.Millisecond):
	}
}

// readDirectory reads every group and its members' emails from slapd, as
// the expected Lightdash state: "ldap-" + cn → sorted emails.
func readDirectory(slapd *ldaptest.Server) (map[string][]string, error) {
	c, err := goldap.DialURL(slapd.URL(), goldap.DialWithDialer(&netDialer))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Bind(slapd.BindDN(), slapd.Password()); err != nil {
		return nil, err
	}
	people, err := c.SearchWithPaging(goldap.NewSearchRequest(peopleDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"mail"}, nil), 500)
	if err != nil {
		return nil, fmt.Errorf("read people: %w", err)
	}
	mail := map[string]string{}
	for _, e := range people.Entries {
		mail[strings.ToLower(e.DN)] = strings.ToLower(e.GetAttributeValue("mail"))
	}
	groups, err := c.SearchWithPaging(goldap.NewSearchRequest(groupsDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=groupOfNames)", []string{"cn", "member"}, nil), 500)
	if err != nil {
		return nil, fmt.Errorf("read groups: %w", err)
	}
	want := map[string][]string{}
	for _, e := range groups.Entries {
		var emails []string
		for _, m := range e.GetAttributeValues("member") {
			if em, ok := mail[strings.ToLower(m)]; ok {
				emails = append(emails, em)
			}
		}
		sort.Strings(emails)
		want[prefix+e.GetAttributeValue("cn")] = emails
	}
	return want, nil
}

var netDialer = net.Dialer{Timeout: 5 * time.Second}
