package ldap

import (
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// TestMain runs the tests in a network namespace of their own, where
// Samba's fixed ports cannot clash (see ldaptest.Main).
func TestMain(m *testing.M) { ldaptest.Main(m) }
