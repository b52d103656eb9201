package ldap

import (
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"
)

// chainFilter is the user search that finds every user below the group
// named dn, however deep, with Active Directory's
// LDAP_MATCHING_RULE_IN_CHAIN. The DN is data: it is escaped like any
// other filter value.
func (s *Source) chainFilter(dn string) string {
	return s.userFilter("(memberOf:" + MatchingRuleInChain + ":=" + goldap.EscapeFilter(dn) + ")")
}

// expandChains is nested_groups: in_chain. For each group it runs one
// paged search of the users below it and sets the group's chainUsers, so
// the snapshot carries flat memberships. It returns the users found.
//
// A server that does not know the matching rule may reject the filter
// (the read fails with an error saying so) or, as OpenLDAP does, treat it
// as undefined and return nobody, which would silently empty every group.
// So each group's direct members are checked: users among them
// (directUsers picks them from the missing DNs; foundAny says whether the
// search returned anyone) must be in the result, or the snapshot is
// incomplete and the worker deletes nothing.
func (r *reader) expandChains(groups []*record, directUsers func(missing []string, foundAny bool) ([]string, error)) ([]*record, error) {
	cfg := &r.s.cfg
	var users []*record
	seen := map[string]bool{}
	for _, g := range groups {
		before := len(r.reasons)
		es, err := r.search("members", cfg.UserBaseDN, cfg.UserScope, r.s.chainFilter(g.dn))
		if err != nil {
			return nil, fmt.Errorf("nested_groups in_chain: group %q: %w (the server must support LDAP_MATCHING_RULE_IN_CHAIN %s, which Active Directory does; use nested_groups: walk for other servers)", g.dn, err, MatchingRuleInChain)
		}
		found := map[string]bool{}
		g.chained = true
		g.chainUsers = nil
		for _, u := range r.decodeAll(es, false) {
			if found[u.ndn] {
				continue
			}
			found[u.ndn] = true
			g.chainUsers = append(g.chainUsers, u.ndn)
			if !seen[u.id] {
				seen[u.id] = true
				users = append(users, u)
			}
		}
		if len(r.reasons) > before {
			continue // already incomplete; a short result proves nothing more
		}
		var missing []string
		for _, m := range g.members {
			if !found[m] {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 {
			continue
		}
		direct, err := directUsers(missing, len(found) > 0)
		if err != nil {
			return nil, err
		}
		if len(direct) > 0 {
			r.incomplete("group %q: %d direct member user(s) missing from its LDAP_MATCHING_RULE_IN_CHAIN search (first %q): the server does not evaluate the rule (only Active Directory does; use nested_groups: walk) or the group changed during the read",
				g.dn, len(direct), direct[0])
		}
	}
	return users, nil
}

// directUsers is expandChains' check for ReadGroups, which has not read
// every user: only when the server returned nobody for a group that has
// members (what a server ignoring the rule does) are the members looked
// up, so a working server costs no extra search.
func (r *reader) directUsers(missing []string, foundAny bool) ([]string, error) {
	if foundAny {
		return nil, nil
	}
	us, err := r.lookupDNs("users", r.s.cfg.UserBaseDN, r.s.cfg.UserScope, r.s.userFilter, missing, false)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.ndn)
	}
	return out, nil
}
