package lightdash

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// maxUserPages bounds the pages one pass reads, so a server reporting an
// absurd total cannot send the client off on millions of calls.
const maxUserPages = 10_000

// errPassMismatch is a pass over the pages that did not add up: pages are
// not ordered (API-NOTES §4, §10), so rows can move between two page
// requests, and users can be added or removed during the pass.
var errPassMismatch = errors.New("the pages do not add up")

// ListUsers returns every user of the organization, pending and deactivated
// ones included, read in pages of UserPageSize: page 1 first, which gives
// the total, then the rest at once (ListConcurrency, within RateLimit). An
// organization of one page costs one call. Lightdash does not order its
// pages, so users are de-duplicated by uuid and a pass must hold exactly
// the totalResults every page reported; one that does not is read again
// once, and if that does not add up either the error matches
// ErrIncompleteList: a user missing from the list is not gone. With
// ShareUUIDs, each uuid is the string the context's other lists use.
func (c *Client) ListUsers(ctx context.Context) ([]OrgMember, error) {
	users, err := c.userPass(ctx)
	if errors.Is(err, errPassMismatch) {
		c.log.Info("lightdash users list did not add up; reading it again", zap.Error(err))
		users, err = c.userPass(ctx)
	}
	if errors.Is(err, errPassMismatch) {
		err = fmt.Errorf("%w: read twice, and %w", ErrIncompleteList, err)
	}
	if err != nil {
		return nil, fmt.Errorf("list lightdash users: %w", err)
	}
	return users, nil
}

// userPass reads every page once and checks the pass.
func (c *Client) userPass(ctx context.Context) ([]OrgMember, error) {
	size := c.userPageSize()
	first, err := c.userPage(ctx, 1, size, nil)
	if err != nil {
		return nil, err
	}
	pg := first.pagination
	if pg == nil { // a server that does not page sent the whole list
		return uniqueUsers([][]OrgMember{*first.Data}), nil
	}
	if pg.TotalPageCount > maxUserPages {
		return nil, fmt.Errorf("%w: the server reports %d pages of %d users, more than %d", ErrBadResponse, pg.TotalPageCount, size, maxUserPages)
	}
	pass := newUserPass(max(pg.TotalPageCount, 1), size, pg.TotalResults)
	pass.put(1, *first.Data)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.listConcurrency())
	for i := 2; i <= pg.TotalPageCount; i++ {
		g.Go(func() error {
			p, err := c.userPage(gctx, i, size, pass.slot(i))
			if err != nil {
				return err
			}
			if q := p.pagination; q == nil || q.TotalResults != pg.TotalResults {
				return fmt.Errorf("%w: page 1 reported %d users, page %d %s", errPassMismatch, pg.TotalResults, i, describeTotal(q))
			}
			pass.put(i, *p.Data)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	users := pass.join()
	if len(users) != pg.TotalResults {
		return nil, fmt.Errorf("%w: %d pages of %d held %d distinct users, the server reported %d",
			errPassMismatch, pg.TotalPageCount, size, len(users), pg.TotalResults)
	}
	return users, nil
}

func describeTotal(q *pagination) string {
	if q == nil {
		return "had no pagination"
	}
	return fmt.Sprintf("reported %d", q.TotalResults)
}

// userPage reads one page of the users list.
// into, when it has room, is the array its users are decoded into.
func (c *Client) userPage(ctx context.Context, n, size int, into []OrgMember) (*userPage, error) {
	p := &userPage{asked: &pagination{Page: n, PageSize: size}, into: into, noNames: c.SkipUserNames}
	req := &request{
		method: http.MethodGet, endpoint: "/api/v1/org/users", path: "/api/v1/org/users",
		query: map[string][]string{"page": {strconv.Itoa(n)}, "pageSize": {strconv.Itoa(size)}},
	}
	if _, err := c.do(ctx, req, p); err != nil {
		return nil, fmt.Errorf("page %d: %w", n, err)
	}
	if t := sharedUUIDs(ctx); t != nil {
		t.users(*p.Data)
	}
	return p, nil
}

// uniqueUsers joins the pages, keeping the first of each uuid.
func uniqueUsers(pages [][]OrgMember) []OrgMember {
	n := 0
	for _, p := range pages {
		n += len(p)
	}
	seen := make(map[string]struct{}, n)
	out := make([]OrgMember, 0, n)
	for _, p := range pages {
		for _, u := range p {
			if _, dup := seen[u.UserUUID]; dup {
				continue
			}
			seen[u.UserUUID] = struct{}{}
			out = append(out, u)
		}
	}
	return out
}

// maxPresized bounds the users a pass allocates for before reading them,
// so a server reporting an absurd total costs no more than it sends.
const maxPresized = 1 << 20

// userPass holds the pages of one pass in one array of the reported
// total: page i is decoded straight into its slot, and join removes the
// duplicates in place, so the list is never held twice.
type userPass struct {
	all   []OrgMember   // every slot; nil when the total is not trusted
	pages [][]OrgMember // each page's users: its slot, or an array of its own
	size  int
}

func newUserPass(pages, size, total int) *userPass {
	p := &userPass{pages: make([][]OrgMember, pages), size: size}
	if total > 0 && total <= maxPresized {
		p.all = make([]OrgMember, total)
	}
	return p
}

// slot is page i's part of the array, empty with room for its users.
func (p *userPass) slot(i int) []OrgMember {
	lo := (i - 1) * p.size
	if lo >= len(p.all) {
		return nil
	}
	hi := min(lo+p.size, len(p.all))
	return p.all[lo:lo:hi]
}

// inSlot reports whether users (none, or decoded into page i's slot)
// lie in the slot.
func (p *userPass) inSlot(i int, users []OrgMember) bool {
	s := p.slot(i)
	return len(users) == 0 || len(users) <= cap(s) && &users[0] == &s[:1][0]
}

// put records page i's users, copied into its slot when they were
// decoded elsewhere but fit it (page 1, read before the total was known).
func (p *userPass) put(i int, users []OrgMember) {
	if s := p.slot(i); !p.inSlot(i, users) && len(users) <= cap(s) {
		users = append(s, users...)
	}
	p.pages[i-1] = users
}

// join returns the pages' users in page order, the first of each uuid.
// Each page fills at most its slot, so the users kept so far never reach
// the slot of the page being read, and the array is compacted in place; a
// page that overflowed its slot is joined into a new array instead.
func (p *userPass) join() []OrgMember {
	for i, users := range p.pages {
		if !p.inSlot(i+1, users) {
			return uniqueUsers(p.pages)
		}
	}
	seen := make(map[string]struct{}, len(p.all))
	w := 0
	for _, users := range p.pages {
		for _, u := range users {
			if _, dup := seen[u.UserUUID]; dup {
				continue
			}
			seen[u.UserUUID] = struct{}{}
			p.all[w] = u
			w++
		}
	}
	clear(p.all[w:]) // stale users of retried or shorter pages
	return p.all[:w]
}
