package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/sync/errgroup"

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

// pagesFloor is the warm floor: fetching exactly the Lightdash pages a
// warm full run reads, as the client reads them (users page 1, then the
// other pages ListConcurrency at a time, beside the groups list with every
// member), each body read to the end and nothing decoded. users is how
// many users the organization holds. The median of three passes.
func pagesFloor(ctx context.Context, url, token string, users int) (time.Duration, error) {
	var runs []time.Duration
	for range 3 {
		d, err := fetchPages(ctx, url, token, users)
		if err != nil {
			return 0, fmt.Errorf("pages floor: %w", err)
		}
		runs = append(runs, d)
	}
	slices.Sort(runs)
	return runs[1], nil
}

func fetchPages(ctx context.Context, url, token string, users int) (time.Duration, error) {
	size := lightdash.DefaultUserPageSize
	pages := max(1, (users+size-1)/size)
	get := func(ctx context.Context, path string) error { return fetch(ctx, url+path, token) }
	userPage := func(ctx context.Context, n int) error {
		return get(ctx, fmt.Sprintf("/api/v1/org/users?page=%d&pageSize=%d", n, size))
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return get(gctx, fmt.Sprintf("/api/v1/org/groups?includeMembers=%d", lightdash.DefaultListLimit))
	})
	g.Go(func() error {
		if err := userPage(gctx, 1); err != nil {
			return err
		}
		rest, rctx := errgroup.WithContext(gctx)
		rest.SetLimit(lightdash.DefaultListConcurrency)
		for n := 2; n <= pages; n++ {
			rest.Go(func() error { return userPage(rctx, n) })
		}
		return rest.Wait()
	})
	err := g.Wait()
	return time.Since(start), err
}

// fetch GETs url with the token and reads the body to the end.
func fetch(ctx context.Context, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "ApiKey "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	}
	return nil
}
