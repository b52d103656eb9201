package lightdash_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// scriptedPages serves users pages of 2 from a script: passes[k][i] are
// the users (by letter) of page i+1 in pass k, all reporting totalResults
// 5. Page 2 answers only after page 3 has, so the pages arrive out of
// order.
func scriptedPages(t *testing.T, passes [][][]string) *lightdash.Client {
	t.Helper()
	var mu sync.Mutex
	pass, served := 0, 0
	page3 := make(chan struct{}, len(passes))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if n == 2 {
			select { // a bound, not an assertion: the order is only what is tried
			case <-page3:
			case <-time.After(5 * time.Second):
			}
		}
		mu.Lock()
		users := passes[min(pass, len(passes)-1)][n-1]
		if served++; served == len(passes[0]) {
			pass, served = pass+1, 0
		}
		mu.Unlock()
		var items []string
		for _, u := range users {
			items = append(items, fmt.Sprintf(`{"userUuid":"%s","email":"%s@x","firstName":"F%s"}`, letterUUID(u), u, u))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","results":{"data":[%s],"pagination":{"page":%d,"pageSize":2,"totalPageCount":3,"totalResults":5}}}`,
			strings.Join(items, ","), n)
		if n == 3 {
			page3 <- struct{}{}
		}
	}))
	t.Cleanup(ts.Close)
	c := &lightdash.Client{BaseURL: ts.URL, Token: "t", UserPageSize: 2, MaxRetries: -1}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func letterUUID(u string) string {
	return strings.Repeat(u, 8) + "-0000-4000-8000-000000000000"
}

func userLetters(us []lightdash.OrgMember) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Email[:1])
	}
	return out
}

// TestListUsersJoinsPagesInPageOrder: pages that arrive out of order are
// joined in page order, the first of each uuid kept, whether each page
// fits the share of the total it stands for or (a user repeated from an
// earlier page) holds more; a pass with a repeated user that does not add
// up is read again.
func TestListUsersJoinsPagesInPageOrder(t *testing.T) {
	exact := [][]string{{"a", "b"}, {"c", "d"}, {"e"}}
	tests := []struct {
		name   string
		passes [][][]string
		want   []string
	}{
		{"exact", [][][]string{exact}, []string{"a", "b", "c", "d", "e"}},
		{"repeat in a full last page", [][][]string{{{"a", "b"}, {"c", "d"}, {"b", "e"}}}, []string{"a", "b", "c", "d", "e"}},
		{"repeat that does not add up, read again", [][][]string{{{"a", "b"}, {"b", "c"}, {"d"}}, exact}, []string{"a", "b", "c", "d", "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scriptedPages(t, tt.passes).ListUsers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if l := userLetters(got); !slices.Equal(l, tt.want) {
				t.Errorf("got users %q, want %q", l, tt.want)
			}
			if got[0].FirstName != "Fa" {
				t.Errorf("first name %q, want Fa", got[0].FirstName)
			}
		})
	}
}

// TestListUsersRepeatTwiceIsIncomplete: a repeated user that makes both
// passes come short fails with ErrIncompleteList.
func TestListUsersRepeatTwiceIsIncomplete(t *testing.T) {
	short := [][]string{{"a", "b"}, {"b", "c"}, {"d"}}
	got, err := scriptedPages(t, [][][]string{short, short}).ListUsers(context.Background())
	if !errors.Is(err, lightdash.ErrIncompleteList) || got != nil {
		t.Fatalf("got %q, %v; want ErrIncompleteList", userLetters(got), err)
	}
	if !strings.Contains(err.Error(), "held 4 distinct users, the server reported 5") {
		t.Errorf("error %q does not say what was read", err)
	}
}

// TestSkipUserNames: SkipUserNames drops the users' names and nothing
// else.
func TestSkipUserNames(t *testing.T) {
	f := pagedFixture(t, &lightdash.Client{})
	full, err := f.c.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lean := &lightdash.Client{BaseURL: f.srv.URL(), Token: f.srv.AdminToken(), UserPageSize: 4, SkipUserNames: true}
	got, err := lean.ListUsers(context.Background())
	if err != nil || len(got) != len(full) {
		t.Fatalf("got %d users, %v; want %d", len(got), err, len(full))
	}
	byUUID := map[string]lightdash.OrgMember{}
	for _, u := range full {
		if u.FirstName == "" {
			t.Fatalf("default client: user %s has no first name: nothing to skip", u.Email)
		}
		u.FirstName, u.LastName = "", ""
		byUUID[u.UserUUID] = u
	}
	for _, u := range got {
		if u != byUUID[u.UserUUID] {
			t.Errorf("got %+v, want %+v", u, byUUID[u.UserUUID])
		}
	}
}

// TestShareUUIDs: users and groups read at once with ShareUUIDs name each
// user with one string, whatever the client's modes; without it each list
// has its own.
func TestShareUUIDs(t *testing.T) {
	for _, uuidsOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("uuids-only=%v", uuidsOnly), func(t *testing.T) {
			f := pagedFixture(t, &lightdash.Client{MemberUUIDsOnly: uuidsOnly})
			if _, err := f.srv.AddGroup("a", f.bob.UserUUID, f.carol.UserUUID); err != nil {
				t.Fatal(err)
			}
			for _, share := range []bool{false, true} {
				ctx := context.Background()
				if share {
					ctx = lightdash.ShareUUIDs(ctx, nil)
				}
				var users []lightdash.OrgMember
				var groups []lightdash.GroupWithMembers
				var uerr, gerr error
				var wg sync.WaitGroup
				wg.Go(func() { users, uerr = f.c.ListUsers(ctx) })
				wg.Go(func() { groups, gerr = f.c.ListGroups(ctx) })
				wg.Wait()
				if uerr != nil || gerr != nil || len(groups) != 1 {
					t.Fatalf("got %d groups, %v, %v", len(groups), uerr, gerr)
				}
				byUUID := map[string]string{}
				for _, u := range users {
					byUUID[u.UserUUID] = u.UserUUID
				}
				for _, m := range groups[0].MemberUUIDs {
					if same := unsafe.StringData(byUUID[m]) == unsafe.StringData(m); same != share {
						t.Errorf("ShareUUIDs %v: member %s is the users list's string: %v", share, m, same)
					}
				}
			}
		})
	}
}

// TestShareUUIDsKnown: users the caller already holds are named, in a new
// users list and groups list, with the caller's strings.
func TestShareUUIDsKnown(t *testing.T) {
	f := pagedFixture(t, &lightdash.Client{MemberUUIDsOnly: true})
	if _, err := f.srv.AddGroup("a", f.bob.UserUUID, f.carol.UserUUID); err != nil {
		t.Fatal(err)
	}
	known, err := f.c.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]*byte{}
	for _, u := range known {
		held[u.UserUUID] = unsafe.StringData(u.UserUUID)
	}
	ctx := lightdash.ShareUUIDs(context.Background(), known)
	users, err := f.c.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := f.c.ListGroups(ctx)
	if err != nil || len(groups) != 1 {
		t.Fatalf("got %d groups, %v", len(groups), err)
	}
	mentions := groups[0].MemberUUIDs
	for _, u := range users {
		mentions = append(mentions, u.UserUUID)
	}
	for _, u := range mentions {
		if unsafe.StringData(u) != held[u] {
			t.Errorf("user %s is a new string, not the one held", u)
		}
	}
}
