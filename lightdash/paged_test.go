package lightdash_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// TestPaginatedListIsIncomplete: the client asks for the whole groups list;
// an answer that says it is one page of several (or holds fewer items than
// its totalResults) is refused as incomplete, never taken as the whole list
// on whose strength members or groups would be removed.
func TestPaginatedListIsIncomplete(t *testing.T) {
	group := `{"uuid":"` + groupUUID + `","name":"g","memberUuids":[],"members":[]}`
	pag := func(page, size, pages, total int) string {
		return fmt.Sprintf(`"pagination":{"page":%d,"pageSize":%d,"totalPageCount":%d,"totalResults":%d}`, page, size, pages, total)
	}
	tests := []struct {
		name    string
		results string
		calls   []call
		wantErr bool
	}{
		{"page 1 of 2, groups", `{"data":[` + group + `],` + pag(1, 1, 2, 2) + `}`, []call{listGroups}, true},
		{"pagination before data", `{` + pag(1, 1, 2, 2) + `,"data":[` + group + `]}`, []call{listGroups}, true},
		{"page 2 of 2", `{"data":[` + group + `],` + pag(2, 1, 2, 2) + `}`, []call{listGroups}, true},
		{"fewer items than totalResults", `{"data":[` + group + `],` + pag(1, 100, 1, 3) + `}`, []call{listGroups}, true},
		{"one page holding everything", `{"data":[` + group + `],` + pag(1, 100, 1, 1) + `}`, []call{listGroups}, false},
		{"no pagination", `{"data":[` + group + `]}`, []call{listGroups}, false},
	}
	for _, tt := range tests {
		for _, cl := range tt.calls {
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				c := canned(t, 200, "application/json", `{"status":"ok","results":`+tt.results+`}`)
				got, err := cl.do(context.Background(), c)
				if !tt.wantErr {
					if err != nil {
						t.Fatalf("got %v, want the list", err)
					}
					return
				}
				if !errors.Is(err, lightdash.ErrIncompleteList) {
					t.Fatalf("got %v (result %+v), want ErrIncompleteList", err, got)
				}
				if !strings.Contains(err.Error(), "total") {
					t.Errorf("error %q does not say what the server reported", err)
				}
			})
		}
	}
}

// TestUserPageNotAsAsked: ListUsers asks for page 1 of DefaultUserPageSize;
// an answer that is another page, of another size, larger than its size or
// with a page count that does not fit its total is a bad answer, not a
// list. A server that does not page at all (no pagination) sent the whole
// list, and one page holding the total is the whole list.
func TestUserPageNotAsAsked(t *testing.T) {
	user := `{"userUuid":"` + userUUID + `","email":"a@example.com","role":"member"}`
	size := lightdash.DefaultUserPageSize
	pag := func(page, size, pages, total int) string {
		return fmt.Sprintf(`,"pagination":{"page":%d,"pageSize":%d,"totalPageCount":%d,"totalResults":%d}`, page, size, pages, total)
	}
	tests := []struct {
		name, results string
		want          error
	}{
		{"page 2 for page 1", `{"data":[` + user + `]` + pag(2, size, 2, size+1) + `}`, lightdash.ErrBadResponse},
		{"another page size", `{"data":[` + user + `]` + pag(1, 1, 2, 2) + `}`, lightdash.ErrBadResponse},
		{"more items than the page size", `{"data":[` + user + `,` + user + `]` + pag(1, 1, 2, 2) + `}`, lightdash.ErrBadResponse},
		{"page count does not fit the total", `{"data":[` + user + `]` + pag(1, size, 1, size+1) + `}`, lightdash.ErrBadResponse},
		{"fewer items than totalResults", `{"data":[` + user + `]` + pag(1, size, 1, 3) + `}`, lightdash.ErrIncompleteList},
		{"one page holding everything", `{"data":[` + user + `]` + pag(1, size, 1, 1) + `}`, nil},
		{"no pagination", `{"data":[` + user + `]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := canned(t, 200, "application/json", `{"status":"ok","results":`+tt.results+`}`)
			got, err := c.ListUsers(context.Background())
			if tt.want == nil {
				if err != nil || len(got) != 1 {
					t.Fatalf("got %+v, %v; want the one user", got, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v (result %+v), want %v", err, got, tt.want)
			}
		})
	}
}
