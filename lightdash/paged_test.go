package lightdash_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// TestPaginatedListIsIncomplete: the client asks for whole lists; an answer
// that says it is one page of several (or holds fewer items than its
// totalResults) is refused as incomplete, never taken as the whole list on
// whose strength members or groups would be removed.
func TestPaginatedListIsIncomplete(t *testing.T) {
	group := `{"uuid":"` + groupUUID + `","name":"g","memberUuids":[],"members":[]}`
	user := `{"userUuid":"` + userUUID + `","email":"a@example.com","role":"member"}`
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
		{"page 1 of 2, users", `{"data":[` + user + `],` + pag(1, 1, 2, 2) + `}`, []call{listUsers}, true},
		{"pagination before data", `{` + pag(1, 1, 2, 2) + `,"data":[` + user + `]}`, []call{listUsers}, true},
		{"page 2 of 2", `{"data":[` + user + `],` + pag(2, 1, 2, 2) + `}`, []call{listUsers}, true},
		{"fewer items than totalResults", `{"data":[` + group + `],` + pag(1, 100, 1, 3) + `}`, []call{listGroups}, true},
		{"one page holding everything", `{"data":[` + user + `],` + pag(1, 100, 1, 1) + `}`, []call{listUsers}, false},
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
