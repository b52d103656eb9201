package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/deploy/demo"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// demoDirectory is where the demo's directory lives and how its scripted
// changes are made: events on NATS, or entries in a local slapd.
type demoDirectory interface {
	describe() string
	source() config.Source
	// seed puts the whole directory in place (after the daemon started).
	seed(ctx context.Context, d *demo.Directory) error
	addMember(ctx context.Context, group, user string) error
	// rename renames a group in place; members is its full member list.
	rename(ctx context.Context, group, newName string, members []string) error
	disableUser(ctx context.Context, user, email string) error
	deleteGroup(ctx context.Context, group string) error
	close()
}

// natsDemo publishes CloudEvents on an embedded JetStream, as an HR system would.
type natsDemo struct {
	ns  *server.Server
	nc  *natsgo.Conn
	js  jetstream.JetStream
	seq map[string]uint64
	n   int
}

func newNATSDemo(storeDir string) (*natsDemo, error) {
	ns, err := server.NewServer(&server.Options{ServerName: "demo", Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: storeDir, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS did not start")
	}
	nc, err := natsgo.Connect(ns.ClientURL())
	if err != nil {
		ns.Shutdown()
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		ns.Shutdown()
		return nil, err
	}
	return &natsDemo{ns: ns, nc: nc, js: js, seq: map[string]uint64{}}, nil
}

func (n *natsDemo) describe() string {
	return "published as events on an embedded NATS JetStream at " + n.ns.ClientURL()
}

func (n *natsDemo) source() config.Source {
	return config.Source{Name: "hr-events", Type: "nats", NATS: &config.NATSSource{URLs: []string{n.ns.ClientURL()}, CreateStream: true}}
}

func (n *natsDemo) close() {
	n.nc.Close()
	n.ns.Shutdown()
}

func (n *natsDemo) seed(ctx context.Context, d *demo.Directory) error {
	for _, u := range d.Users {
		if err := n.publish(ctx, "user.upserted", u.ID, map[string]any{"id": u.ID, "email": u.Email, "displayName": u.Name}); err != nil {
			return err
		}
	}
	for _, g := range d.Groups {
		if err := n.publish(ctx, "group.upserted", g.ID, map[string]any{"id": g.ID, "name": g.Name, "members": idList(g.Members), "memberGroups": g.Groups}); err != nil {
			return err
		}
	}
	return nil
}

func (n *natsDemo) addMember(ctx context.Context, group, user string) error {
	return n.publish(ctx, "group.members_added", group, map[string]any{"id": group, "members": idList([]string{user})})
}

func (n *natsDemo) rename(ctx context.Context, group, newName string, members []string) error {
	return n.publish(ctx, "group.upserted", group, map[string]any{"id": group, "name": newName, "members": idList(members)})
}

func (n *natsDemo) disableUser(ctx context.Context, user, email string) error {
	return n.publish(ctx, "user.upserted", user, map[string]any{"id": user, "email": email, "enabled": false})
}

func (n *natsDemo) deleteGroup(ctx context.Context, group string) error {
	return n.publish(ctx, "group.deleted", group, map[string]any{"id": group})
}

func idList(ids []string) []map[string]string {
	out := []map[string]string{}
	for _, id := range ids {
		out = append(out, map[string]string{"id": id})
	}
	return out
}

// publish sends one CloudEvents directory event with a per-entity sequence.
func (n *natsDemo) publish(ctx context.Context, typ, id string, data map[string]any) error {
	n.n++
	n.seq[id]++
	evID := fmt.Sprintf("demo-%d", n.n)
	ev := map[string]any{
		"specversion": "1.0", "id": evID, "source": "/demo/hr", "type": "io.lightdash-sync." + typ,
		"time": time.Now().UTC().Format(time.RFC3339Nano), "sequence": n.seq[id], "data": data,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	msg := natsgo.NewMsg("directory." + strings.SplitN(typ, ".", 2)[0] + "s")
	msg.Header.Set("Nats-Msg-Id", evID)
	msg.Data = b
	_, err = n.js.PublishMsg(ctx, msg)
	return err
}

// ldapDemo is a real slapd on a loopback port, seeded with the demo
// directory and followed with syncrepl.
type ldapDemo struct {
	p     *ldaptest.Process
	conn  *goldap.Conn
	names map[string]string // group id → current cn
	users map[string]string // user id → uid
}

func newLDAPDemo(ctx context.Context, dir string, d *demo.Directory) (*ldapDemo, error) {
	if !ldaptest.Installed() {
		return nil, fmt.Errorf("demo --ldap needs OpenLDAP's slapd (Debian: apt-get install slapd ldap-utils); run the demo without --ldap to use NATS events")
	}
	l := &ldapDemo{names: map[string]string{}, users: map[string]string{}}
	var ldif strings.Builder
	for _, u := range d.Users {
		uid := strings.SplitN(u.Email, "@", 2)[0]
		l.users[u.ID] = uid
		fmt.Fprintf(&ldif, "dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s\n\n", uid, ldaptest.DefaultSuffix, uid, u.Name, uid, u.Email)
	}
	for _, g := range d.Groups {
		l.names[g.ID] = g.Name
	}
	for _, g := range d.Groups {
		fmt.Fprintf(&ldif, "dn: %s\nobjectClass: groupOfNames\ncn: %s\n", l.groupDN(g.ID), g.Name)
		for _, m := range g.Members {
			fmt.Fprintf(&ldif, "member: %s\n", l.userDN(m))
		}
		for _, sub := range g.Groups {
			fmt.Fprintf(&ldif, "member: %s\n", l.groupDN(sub))
		}
		ldif.WriteString("\n")
	}
	var err error
	if l.p, err = ldaptest.StartSlapd(ctx, dir+"/slapd", ldaptest.Config{Seed: []byte(ldif.String()), RefInt: true}); err != nil {
		return nil, fmt.Errorf("start slapd: %w", err)
	}
	if l.conn, err = goldap.DialURL(l.p.URL()); err == nil {
		err = l.conn.Bind(ldaptest.DefaultRootDN, ldaptest.DefaultRootPassword)
	}
	if err != nil {
		l.p.Stop()
		return nil, fmt.Errorf("connect to the demo slapd: %w", err)
	}
	return l, nil
}

func (l *ldapDemo) groupDN(id string) string {
	return "cn=" + goldap.EscapeDN(l.names[id]) + ",ou=groups," + ldaptest.DefaultSuffix
}
func (l *ldapDemo) userDN(id string) string {
	return "uid=" + goldap.EscapeDN(l.users[id]) + ",ou=people," + ldaptest.DefaultSuffix
}

func (l *ldapDemo) describe() string {
	return "in a local slapd at " + l.p.URL() + " followed with syncrepl"
}

func (l *ldapDemo) source() config.Source {
	return config.Source{Name: "corp-ldap", Type: "ldap", LDAP: &config.LDAPSource{
		URLs:              []string{l.p.URL()},
		BindDN:            ldaptest.DefaultReaderDN,
		BindPassword:      config.Secret(ldaptest.DefaultReaderPassword),
		UserBaseDN:        "ou=people," + ldaptest.DefaultSuffix,
		GroupBaseDN:       "ou=groups," + ldaptest.DefaultSuffix,
		Disabled:          "attribute",
		DisabledAttribute: "employeeType",
		DisabledValues:    []string{"disabled"},
		Watch:             "syncrepl",
	}}
}

func (l *ldapDemo) close() {
	l.conn.Close()
	l.p.Stop()
}

func (l *ldapDemo) seed(context.Context, *demo.Directory) error { return nil } // slapadd did it

func (l *ldapDemo) addMember(_ context.Context, group, user string) error {
	req := goldap.NewModifyRequest(l.groupDN(group), nil)
	req.Add("member", []string{l.userDN(user)})
	return l.conn.Modify(req)
}

func (l *ldapDemo) rename(_ context.Context, group, newName string, _ []string) error {
	req := goldap.NewModifyDNRequest(l.groupDN(group), "cn="+goldap.EscapeDN(newName), true, "")
	if err := l.conn.ModifyDN(req); err != nil {
		return err
	}
	l.names[group] = newName
	return nil
}

func (l *ldapDemo) disableUser(_ context.Context, user, _ string) error {
	req := goldap.NewModifyRequest(l.userDN(user), nil)
	req.Replace("employeeType", []string{"disabled"})
	return l.conn.Modify(req)
}

func (l *ldapDemo) deleteGroup(_ context.Context, group string) error {
	return l.conn.Del(goldap.NewDelRequest(l.groupDN(group), nil))
}
