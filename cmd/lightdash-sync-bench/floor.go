package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// ldapDump is the directory floor: a bare paged go-ldap search of the same
// users and groups with the same attributes the source asks for, nothing
// decoded. It returns the time and the number of entries.
func ldapDump(url, bindDN, pw, suffix string) (time.Duration, int, error) {
	start := time.Now()
	conn, err := ldap.DialURL(url)
	if err != nil {
		return 0, 0, fmt.Errorf("ldap dump: %w", err)
	}
	defer conn.Close()
	if err := conn.Bind(bindDN, pw); err != nil {
		return 0, 0, fmt.Errorf("ldap dump: bind: %w", err)
	}
	n := 0
	for _, q := range []struct {
		base, filter string
		attrs        []string
	}{
		{"ou=people," + suffix, "(objectClass=inetOrgPerson)", []string{"entryUUID", "uid", "mail", "cn", "displayName"}},
		{"ou=groups," + suffix, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))", []string{"entryUUID", "cn", "member", "uniqueMember"}},
	} {
		req := ldap.NewSearchRequest(q.base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, q.filter, q.attrs, nil)
		res, err := conn.SearchWithPaging(req, 1000)
		if err != nil {
			return 0, 0, fmt.Errorf("ldap dump %s: %w", q.base, err)
		}
		n += len(res.Entries)
	}
	return time.Since(start), n, nil
}

// callFloor measures Lightdash from outside the daemon: one small call
// (median of 5 WhoAmI) and the two list reads a plan needs.
type callFloor struct {
	OneCall time.Duration
	Reads   time.Duration // ListUsers + ListGroups
}

func measureLightdash(ctx context.Context, url, token string) (callFloor, error) {
	c := &lightdash.Client{BaseURL: url, Token: token, RateLimit: 1e6, Burst: 1000, Timeout: 10 * time.Minute}
	if err := c.Validate(); err != nil {
		return callFloor{}, err
	}
	var one []time.Duration
	for range 5 {
		s := time.Now()
		if _, err := c.WhoAmI(ctx); err != nil {
			return callFloor{}, fmt.Errorf("floor: whoami: %w", err)
		}
		one = append(one, time.Since(s))
	}
	sort.Slice(one, func(i, j int) bool { return one[i] < one[j] })
	s := time.Now()
	if _, err := c.ListUsers(ctx); err != nil {
		return callFloor{}, fmt.Errorf("floor: list users: %w", err)
	}
	if _, err := c.ListGroups(ctx); err != nil {
		return callFloor{}, fmt.Errorf("floor: list groups: %w", err)
	}
	return callFloor{OneCall: one[2], Reads: time.Since(s)}, nil
}

// writeFloor is the least time n writes can take: n/concurrency rounds of
// one call, and never faster than the rate limit allows (burst first).
func writeFloor(n, concurrency int, rate float64, one time.Duration) time.Duration {
	if n == 0 {
		return 0
	}
	rounds := (n + concurrency - 1) / concurrency
	byLatency := time.Duration(rounds) * one
	byRate := time.Duration(float64(max(0, n-concurrency)) / rate * float64(time.Second))
	return max(byLatency, byRate)
}
