// Package ident holds the rules for the text that identifies people and
// groups: how two emails are compared, and which characters a name may
// hold. lightdash, worker and the sources all apply these rules, so the
// package imports nothing of the module.
package ident
