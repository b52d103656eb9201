package lightdashtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// listAnswer is what the list limit tests read of a list answer: the row
// uuids, the pagination, or the error.
type listAnswer struct {
	status int
	ids    []string
	pag    *struct{ Page, PageSize, TotalPageCount, TotalResults int }
	err    string // "Name: message" of an error envelope
}

func getList(t *testing.T, srv *lightdashtest.Server, path string) listAnswer {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL()+path, nil)
	req.Header.Set("Authorization", "ApiKey "+srv.AdminToken())
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	a := listAnswer{status: resp.StatusCode}
	if len(raw) > 1<<20 {
		// 65,535 users: count them instead of decoding them, which
		// takes minutes under -race; keep the pagination.
		for range bytes.Count(raw, []byte(`"userUuid":`)) {
			a.ids = append(a.ids, "")
		}
		if i := bytes.Index(raw, []byte(`"pagination":`)); i >= 0 {
			dec := json.NewDecoder(bytes.NewReader(raw[i+len(`"pagination":`):]))
			if err := dec.Decode(&a.pag); err != nil {
				t.Fatalf("GET %s: pagination: %v", path, err)
			}
		}
		return a
	}
	var body struct {
		Results struct {
			Data []struct {
				UserUUID string `json:"userUuid"`
				UUID     string `json:"uuid"`
			} `json:"data"`
			Pagination *struct{ Page, PageSize, TotalPageCount, TotalResults int } `json:"pagination"`
		} `json:"results"`
		Error struct{ Name, Message string } `json:"error"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	a.pag = body.Results.Pagination
	if body.Error.Name != "" {
		a.err = body.Error.Name + ": " + body.Error.Message
	}
	for _, d := range body.Results.Data {
		a.ids = append(a.ids, d.UserUUID+d.UUID)
	}
	return a
}

// TestUsersListBindParameterLimit holds the users list limits of a real
// Lightdash 0.2340.1 (API-NOTES §10): an answer of more than 65,535 users
// is a 500 (one PostgreSQL bind parameter per user), so the unpaged list
// fails from 65,536 members, and so does a pageSize of 65,536; paging needs
// both page and pageSize, and pageSize=65535 works.
func TestUsersListBindParameterLimit(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	for i := 1; i < lightdashtest.MaxBindParameters; i++ { // the admin is one
		srv.AddUser(fmt.Sprintf("u%05d@example.com", i), lightdash.RoleMember)
	}
	const fail = "UnexpectedServerError: Something went wrong."
	want := func(path string, status, rows int, pag string, errText string) {
		t.Helper()
		a := getList(t, srv, path)
		gotPag := "none"
		if a.pag != nil {
			gotPag = fmt.Sprintf("page %d of %d, %d results", a.pag.Page, a.pag.TotalPageCount, a.pag.TotalResults)
		}
		if a.status != status || len(a.ids) != rows || gotPag != pag || a.err != errText {
			t.Errorf("GET %s: got %d, %d rows, pagination %s, error %q; want %d, %d rows, pagination %s, error %q",
				path, a.status, len(a.ids), gotPag, a.err, status, rows, pag, errText)
		}
	}
	want("/api/v1/org/users", 200, 65_535, "none", "")

	srv.AddUser("one-more@example.com", lightdash.RoleMember) // 65,536 members
	want("/api/v1/org/users", 500, 0, "none", fail)
	want("/api/v1/org/users?page=1", 500, 0, "none", fail)        // not paged without pageSize
	want("/api/v1/org/users?pageSize=5000", 500, 0, "none", fail) // nor without page
	want("/api/v1/org/users?page=0&pageSize=5000", 500, 0, "none", fail)
	want("/api/v1/org/users?page=1&pageSize=65536", 500, 0, "none", fail)
	want("/api/v1/org/users?page=1&pageSize=65535", 200, 65_535, "page 1 of 2, 65536 results", "")
	want("/api/v1/org/users?page=2&pageSize=65535", 200, 1, "page 2 of 2, 65536 results", "")
	want("/api/v1/org/users?page=14&pageSize=5000", 200, 536, "page 14 of 14, 65536 results", "")
	want("/api/v1/org/users?includeGroups=10", 200, 10, "none", "") // includeGroups=N is LIMIT N unpaged
}

// pass reads every page of a list endpoint once, in order.
func pass(t *testing.T, srv *lightdashtest.Server, endpoint string, size int) []string {
	t.Helper()
	var ids []string
	for page, pages := 1, 1; page <= pages; page++ {
		a := getList(t, srv, fmt.Sprintf("%s?page=%d&pageSize=%d", endpoint, page, size))
		if a.status != 200 || a.pag == nil {
			t.Fatalf("%s page %d: %d, pagination %v", endpoint, page, a.status, a.pag)
		}
		pages = a.pag.TotalPageCount
		ids = append(ids, a.ids...)
	}
	return ids
}

func distinct(ids []string) int {
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	return len(seen)
}

// TestPagesAndDrift: Lightdash's pages have no ORDER BY. The fake's pages
// hold every row once per pass, as the real server's did in every pass
// measured, until SetPageDrift moves a row between two page requests:
// that pass holds one row twice and misses another, for users and groups.
func TestPagesAndDrift(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	for i := range 9 {
		u := srv.AddUser(fmt.Sprintf("u%d@example.com", i), lightdash.RoleMember)
		if _, err := srv.AddGroup(fmt.Sprintf("g%d", i), u.UserUUID); err != nil {
			t.Fatal(err)
		}
	}
	for _, ep := range []string{"/api/v1/org/users", "/api/v1/org/groups"} {
		if ids := pass(t, srv, ep, 4); len(ids) != 10-boolInt(ep == "/api/v1/org/groups") || distinct(ids) != len(ids) {
			t.Errorf("%s: a pass got %d rows, %d distinct; want every row once", ep, len(ids), distinct(ids))
		}
		srv.SetPageDrift(1)
		ids := pass(t, srv, ep, 4)
		if distinct(ids) != len(ids)-1 {
			t.Errorf("%s: a drifted pass got %d rows, %d distinct; want one repeated", ep, len(ids), distinct(ids))
		}
		if again := pass(t, srv, ep, 4); distinct(again) != len(again) {
			t.Errorf("%s: the pass after the drift got %d rows, %d distinct; want every row once", ep, len(again), distinct(again))
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCallAndRowCost: with the cost model on, token-authenticated calls
// share WithServerCPUs CPUs for their call cost, and list answers take
// turns on one event loop for their row cost. The assertions are lower
// bounds of sleeps the fake must make, so they cannot fail by load.
func TestCallAndRowCost(t *testing.T) {
	const call, row = 40 * time.Millisecond, 2 * time.Millisecond
	at := func(n int, srv *lightdashtest.Server, path string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() { defer wg.Done(); getList(t, srv, path) }()
		}
		wg.Wait()
		return time.Since(start)
	}
	cpu := lightdashtest.NewServer(lightdashtest.WithCallCost(call), lightdashtest.WithServerCPUs(1))
	defer cpu.Close()
	if d := at(4, cpu, "/api/v1/org/groups"); d < 4*call {
		t.Errorf("4 calls at once on 1 CPU took %s, want at least %s", d, 4*call)
	}
	rows := lightdashtest.NewServer(lightdashtest.WithRowCost(row))
	defer rows.Close()
	for i := range 49 {
		rows.AddUser(fmt.Sprintf("u%d@example.com", i), lightdash.RoleMember)
	}
	if d := at(2, rows, "/api/v1/org/users"); d < 2*50*row {
		t.Errorf("2 lists of 50 users at once took %s, want at least %s", d, 2*50*row)
	}
}

// TestGroupsListIncludeMembersIsNoCap: on 0.2340.1 includeMembers is not a
// per-group cap (API-NOTES §10): includeMembers=1 still lists every member
// of every group, paged or not.
func TestGroupsListIncludeMembersIsNoCap(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	var ids []string
	for i := range 3 {
		ids = append(ids, srv.AddUser(fmt.Sprintf("u%d@example.com", i), lightdash.RoleMember).UserUUID)
	}
	if _, err := srv.AddGroup("g", ids...); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"includeMembers=1", "includeMembers=1&page=1&pageSize=1"} {
		req, _ := http.NewRequest("GET", srv.URL()+"/api/v1/org/groups?"+q, nil)
		req.Header.Set("Authorization", "ApiKey "+srv.AdminToken())
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Results struct {
				Data []struct {
					Members     []json.RawMessage `json:"members"`
					MemberUUIDs []string          `json:"memberUuids"`
				} `json:"data"`
			} `json:"results"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || len(body.Results.Data) != 1 || len(body.Results.Data[0].Members) != 3 || len(body.Results.Data[0].MemberUUIDs) != 3 {
			t.Errorf("?%s: got %+v, %v; want the group with its 3 members", q, body.Results.Data, err)
		}
	}
}
