package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// searcher is the part of *ldap.Conn the readers use; tests of AD-only
// behaviour (range retrieval) replay recorded responses through it.
type searcher interface {
	Search(*goldap.SearchRequest) (*goldap.SearchResult, error)
}

// reader performs one read over one connection and remembers why the
// result might be incomplete.
type reader struct {
	s       *Source
	conn    searcher
	reasons []string
	// keepEntries keeps each record's decoded entry: DirSync merges its
	// deltas (changed attributes only) into the last full entry. Other
	// reads drop them, since an entry's values hold its packet alive.
	keepEntries bool
	// progress, when set, is called as entries arrive.
	progress func()
	// keys holds one copy of each member key and DN decoded in this read:
	// 500,000 member values name ~110,000 entries, so sharing them keeps a
	// full read's records at a fraction of the size.
	keys map[string]string
}

// intern returns the read's canonical copy of s.
func (r *reader) intern(s string) string {
	if c, ok := r.keys[s]; ok {
		return c
	}
	if r.keys == nil {
		r.keys = map[string]string{}
	}
	r.keys[s] = s
	return s
}

func (r *reader) incomplete(format string, args ...any) {
	r.reasons = append(r.reasons, fmt.Sprintf(format, args...))
}

func classFilter(classes []string) string {
	var b strings.Builder
	b.WriteString("(|")
	for _, c := range classes {
		b.WriteString("(objectClass=" + goldap.EscapeFilter(c) + ")")
	}
	b.WriteString(")")
	return b.String()
}

func (s *Source) groupFilter(extra string) string {
	return "(&" + classFilter(s.cfg.GroupObjectClasses) + s.cfg.GroupFilter + extra + ")"
}

func (s *Source) userFilter(extra string) string {
	return "(&" + classFilter(s.cfg.UserObjectClasses) + s.cfg.UserFilter + extra + ")"
}

// search runs a paged search and returns every entry. Limits, referrals
// and partial results are recorded as incompleteness with whatever was
// read; other failures are returned as errors. For the full reads, which
// can be the whole directory, searchRecords decodes page by page instead.
func (r *reader) search(kind, base, scope, filter string) ([]*goldap.Entry, error) {
	var entries []*goldap.Entry
	err := r.searchPages(kind, base, scope, filter, func(page []*goldap.Entry) {
		entries = append(entries, page...)
	})
	return entries, err
}

// searchRecords is search followed by decodeAll, one page at a time, so
// that the decoded entries of a page (and the packets their values are
// sliced from) are garbage before the next page arrives: collecting every
// entry first would hold every packet of a full read. The records keep no
// entry unless r.keepEntries.
func (r *reader) searchRecords(kind, base, scope, filter string, group bool) ([]*record, error) {
	var out []*record
	err := r.searchPages(kind, base, scope, filter, func(page []*goldap.Entry) {
		for _, rec := range r.decodeAll(page, group) {
			if !r.keepEntries {
				rec.entry = nil
			}
			out = append(out, rec)
		}
	})
	return out, err
}

// searchPages runs a paged search, handing each page's entries to fn as
// it arrives, with the accounting and error classification of search.
func (r *reader) searchPages(kind, base, scope, filter string, fn func([]*goldap.Entry)) error {
	sc, err := parseScope(scope)
	if err != nil {
		return err
	}
	req := goldap.NewSearchRequest(base, sc, goldap.NeverDerefAliases, 0, 0, false, filter, r.s.dec.attributes(), nil)
	n, referrals := 0, 0
	firstReferral := ""
	err = pagedSearch(r.conn, req, r.s.cfg.PageSize, func(res *goldap.SearchResult) {
		n += len(res.Entries)
		if len(res.Referrals) > 0 && referrals == 0 {
			firstReferral = res.Referrals[0]
		}
		referrals += len(res.Referrals)
		if r.progress != nil {
			r.progress()
		}
		fn(res.Entries)
	})
	if referrals > 0 {
		r.incomplete("%s: %d referral(s) not followed (first %s)", kind, referrals, firstReferral)
	}
	r.s.metrics.entries.WithLabelValues(r.s.cfg.Name, kind).Add(float64(n))
	result := "ok"
	defer func() { r.s.metrics.searches.WithLabelValues(r.s.cfg.Name, kind, result).Inc() }()
	if err != nil {
		var le *goldap.Error
		if errors.As(err, &le) {
			switch le.ResultCode {
			case goldap.LDAPResultSizeLimitExceeded, goldap.LDAPResultTimeLimitExceeded,
				goldap.LDAPResultAdminLimitExceeded, goldap.LDAPResultReferral, 9 /* partialResults (LDAPv2, AD) */ :
				result = "incomplete"
				r.incomplete("%s: %s after %d entries (%s)", kind, goldap.LDAPResultCodeMap[le.ResultCode], n, strings.TrimSpace(le.Err.Error()))
				return nil
			}
		}
		result = "error"
		return fmt.Errorf("search %s under %q: %w", kind, base, err)
	}
	return nil
}

// pagedSearch runs req with the simple paged results control (RFC 2696)
// the way go-ldap's SearchWithPaging does, but hands each page to fn as
// it arrives instead of appending every page's entries to one result. fn
// also gets the partial page that came with an error.
//
// Over a real connection (a streamer) fn gets each entry as it is read
// instead: a page held whole (every constructed packet keeps a copy of its
// children's bytes) would be the largest thing alive at the peak of a
// full read.
//
// A page is taken as whole only with proof that the server finished it
// (errNoResultDone); a page after the first must carry the paging
// control, so a server or proxy that drops it cannot end the read early.
func pagedSearch(conn searcher, req *goldap.SearchRequest, size uint32, fn func(*goldap.SearchResult)) error {
	ctl := goldap.NewControlPaging(size)
	req.Controls = append(req.Controls, ctl)
	st, stream := conn.(streamer)
	for page := 1; ; page++ {
		var controls []goldap.Control
		if stream {
			var err error
			if controls, err = streamPage(st, req, fn); err != nil {
				return err
			}
		} else {
			res, err := conn.Search(req)
			if res != nil {
				fn(res)
			}
			if err != nil {
				return err
			}
			if res == nil {
				return errNoResultDone
			}
			controls = res.Controls
		}
		p, ok := goldap.FindControl(controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if !ok && page > 1 {
			return fmt.Errorf("page %d came without the paging control: %w", page, errNoResultDone)
		}
		if !ok || len(p.Cookie) == 0 {
			return nil
		}
		ctl.SetCookie(p.Cookie)
	}
}

// errNoResultDone: a search's answer ended without proof that the server
// sent its SearchResultDone, so the entries read may not be all of them.
// go-ldap ends a search on a closed connection with no error and no
// entries; the read then fails rather than be taken as complete.
var errNoResultDone = errors.New("search ended without the server's final result (connection closed?)")

// streamer is the part of *ldap.Conn that hands a search's entries over
// one at a time as they arrive.
type streamer interface {
	SearchAsync(ctx context.Context, req *goldap.SearchRequest, bufferSize int) goldap.Response
	IsClosing() bool
}

// streamPage runs one page of a paged search, handing fn each entry and
// referral as it arrives, and returns the page's controls. The response
// is always drained: go-ldap ends it when the search is done or the
// connection fails (Snapshot closes the connection when its context
// ends), and reports a result code other than success as the same
// *ldap.Error Search returns.
//
// go-ldap hands over a SearchResultDone only when it carries controls.
// A page with the paging control was therefore finished by the server;
// one without it is trusted only while the connection is still open,
// since a search on a closing connection ends the same way, silently.
//
// An entry with a ranged attribute (AD range retrieval) is handed over
// only once the page is drained, with the page's last entries: fn then
// searches the same connection for the rest of the range, and that
// answer could not be delivered while go-ldap waits for this search's
// next entry to be taken.
func streamPage(st streamer, req *goldap.SearchRequest, fn func(*goldap.SearchResult)) ([]goldap.Control, error) {
	resp := st.SearchAsync(context.Background(), req, 0)
	var controls []goldap.Control
	var later []*goldap.Entry
	one := &goldap.SearchResult{Entries: make([]*goldap.Entry, 1)}
	for resp.Next() {
		if e := resp.Entry(); e != nil {
			if ranged(e) {
				later = append(later, e)
			} else {
				one.Entries[0] = e
				fn(one)
				one.Entries[0] = nil
			}
		}
		if ref := resp.Referral(); ref != "" {
			fn(&goldap.SearchResult{Referrals: []string{ref}})
		}
		controls = append(controls, resp.Controls()...)
	}
	if len(later) > 0 {
		fn(&goldap.SearchResult{Entries: later})
	}
	if err := resp.Err(); err != nil {
		return controls, err
	}
	if goldap.FindControl(controls, goldap.ControlTypePaging) == nil && st.IsClosing() {
		return controls, errNoResultDone
	}
	return controls, nil
}

// ranged reports whether e holds an attribute sent in ranges.
func ranged(e *goldap.Entry) bool {
	for _, a := range e.Attributes {
		if _, _, _, ok := parseRange(a.Name); ok {
			return true
		}
	}
	return false
}

// Snapshot reads every configured user and group with paged searches and
// resolves member DNs against the users read; nested groups appear as
// MemberGroups. After ExpectWatch, the first Snapshot may instead be the
// watcher's own read of the directory (share.go).
//
// Later, where the configuration allows it (watchSnapshots) and while the
// syncrepl or DirSync watcher vouches for its state, Snapshot is built
// from that state instead (watchstate.go; a DirSync watcher polls first);
// when it does not, or its last full read is older than
// WatchSnapshotMaxAge, or ctx asks for a full read (sources.WithFullRead),
// the watcher starts again from a full read, which Snapshot takes.
func (s *Source) Snapshot(ctx context.Context) (*sources.Snapshot, error) {
	snap, err := s.await(ctx)
	if snap == nil && err == nil && s.watchSnapshots() {
		forced := sources.FullReadWanted(ctx)
		if !forced {
			if snap = s.snapshotFromWatcher(ctx); snap != nil {
				return snap, nil
			}
		}
		if restart := s.reseedWatcher(forced); restart != nil {
			snap, err = s.awaitAfter(ctx, restart)
		}
	}
	if snap == nil && err == nil {
		snap, err = s.read(ctx, (*reader).snapshot)
	}
	if err != nil {
		return nil, err
	}
	snap.Read = sources.ReadFull
	s.metrics.snapshots.WithLabelValues(s.cfg.Name, sources.ReadFull).Inc()
	return snap, nil
}

// read runs fn with a reader on a new connection, closed when ctx ends so
// that a read blocked on the server stops too.
func (s *Source) read(ctx context.Context, fn func(*reader) (*sources.Snapshot, error)) (*sources.Snapshot, error) {
	c, err := s.dial(ctx, true)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	snap, err := fn(&reader{s: s, conn: c})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return snap, err
}

// snapshot reads everything and, in in_chain mode, each group's flattened
// users, then assembles the snapshot.
func (r *reader) snapshot() (*sources.Snapshot, error) {
	if r.s.cfg.NestedGroups != NestedInChain {
		return r.streamSnapshot()
	}
	users, groups, err := r.readAll()
	if err != nil {
		return nil, err
	}
	if r.s.cfg.NestedGroups == NestedInChain {
		isUser := map[string]bool{}
		for _, u := range users {
			isUser[u.ndn] = true
		}
		extra, err := r.expandChains(groups, func(ndns []string, _ bool) ([]string, error) {
			var out []string
			for _, n := range ndns {
				if isUser[n] {
					out = append(out, n)
				}
			}
			return out, nil
		})
		if err != nil {
			return nil, err
		}
		for _, u := range extra {
			if !isUser[u.ndn] { // read truncated by a limit: keep the members found
				isUser[u.ndn] = true
				users = append(users, u)
			}
		}
	}
	return r.s.build(users, groups, r.reasons), nil
}

// streamSnapshot is snapshot without in_chain: each user goes into the
// snapshot as it is decoded, so a full read never holds a record per user
// (a DirUser and its id, DNs, name and timestamp again: ~260 bytes each,
// against the DirUser's 96), and the snapshot's users are not a second
// copy made at the end.
func (r *reader) streamSnapshot() (*sources.Snapshot, error) {
	cfg := &r.s.cfg
	b := r.s.newBuilder()
	err := r.searchPages("users", cfg.UserBaseDN, cfg.UserScope, r.s.userFilter(""), func(page []*goldap.Entry) {
		for _, u := range r.decodeAll(page, false) {
			b.addUser(u)
		}
	})
	if err != nil {
		return nil, err
	}
	groups, err := r.searchRecords("groups", cfg.GroupBaseDN, cfg.GroupScope, r.s.groupFilter(""), true)
	if err != nil {
		return nil, err
	}
	return b.finish(groups, r.reasons), nil
}

// readAll reads and decodes every user and group.
func (r *reader) readAll() (users, groups []*record, err error) {
	cfg := &r.s.cfg
	users, err = r.searchRecords("users", cfg.UserBaseDN, cfg.UserScope, r.s.userFilter(""), false)
	if err != nil {
		return nil, nil, err
	}
	groups, err = r.searchRecords("groups", cfg.GroupBaseDN, cfg.GroupScope, r.s.groupFilter(""), true)
	if err != nil {
		return nil, nil, err
	}
	return users, groups, nil
}

func (r *reader) decodeAll(entries []*goldap.Entry, group bool) []*record {
	out := make([]*record, 0, len(entries))
	for _, e := range entries {
		if group {
			if err := r.expandRanges(e); err != nil {
				r.incomplete("group %q: %v", e.DN, err)
				continue
			}
		}
		rec, err := r.s.dec.decode(e, group)
		if err != nil {
			r.incomplete("%v", err)
			continue
		}
		rec.ndn = r.intern(rec.ndn)
		for i, m := range rec.members {
			rec.members[i] = r.intern(m)
		}
		out = append(out, rec)
	}
	return out
}

// build resolves member values to ids and assembles the snapshot.
func (s *Source) build(users, groups []*record, reasons []string) *sources.Snapshot {
	b := s.newBuilder()
	for _, u := range users {
		b.addUser(u)
	}
	return b.finish(groups, reasons)
}

// builder assembles a snapshot: users one at a time (a full read adds each
// as it is decoded), then the groups, whose member values are resolved
// against the users added.
type builder struct {
	s         *Source
	snap      *sources.Snapshot
	userByKey map[string]string // member key → user id
	seen      map[string]bool   // ids taken: the first entry with an id wins; nil when ids are unique
	// prev is an earlier snapshot whose arrays equal ones may share
	// (reuse.go); usersShared says snap.Users is prev's, already sorted.
	prev        *sources.Snapshot
	usersShared bool
	scratch     []string // a group's member users, before they are kept
}

func (s *Source) newBuilder() *builder {
	return &builder{s: s, snap: &sources.Snapshot{Source: s.cfg.Name, Users: []sources.DirUser{}, Groups: []sources.DirGroup{}},
		userByKey: map[string]string{}, seen: map[string]bool{}}
}

// newUniqueBuilder is a builder for users whose ids are known to be
// unique (a tracker's records, or a refresh's users checked against its
// tracker), sized for users users: a 100,000-user array grown by doubling
// held twice its size at the peak. A group with a user's id is left out,
// as a builder that takes ids does.
func (s *Source) newUniqueBuilder(users int) *builder {
	return &builder{s: s, snap: &sources.Snapshot{Source: s.cfg.Name, Users: make([]sources.DirUser, 0, users), Groups: []sources.DirGroup{}},
		userByKey: make(map[string]string, users)}
}

// take reports whether id is new, and records it.
func (b *builder) take(id string) bool {
	if b.seen == nil {
		return true
	}
	if b.seen[id] {
		return false
	}
	b.seen[id] = true
	return true
}

// addUser adds u unless a user or group with its id was added before.
func (b *builder) addUser(u *record) {
	if !b.take(u.id) {
		return
	}
	b.snap.Users = append(b.snap.Users, *u.user)
	b.indexUser(u)
}

// indexUser lets members naming u's key resolve to u.
func (b *builder) indexUser(u *record) {
	if b.s.cfg.MemberValue == MemberValueUID {
		if u.name != "" {
			b.userByKey[u.name] = u.id
		}
	} else {
		b.userByKey[u.ndn] = u.id
	}
}

// finish adds the groups, resolving their members, and sorts the snapshot.
func (b *builder) finish(groups []*record, reasons []string) *sources.Snapshot {
	s, snap := b.s, b.snap
	groupByDN := make(map[string]string, len(groups))
	for _, g := range groups {
		groupByDN[g.ndn] = g.id
	}
	if !b.usersShared {
		slices.SortFunc(snap.Users, func(a, b sources.DirUser) int { return strings.Compare(a.ID, b.ID) })
	}
	snap.Groups = slices.Grow(snap.Groups, len(groups))
	unresolved := 0
	for _, g := range groups {
		if !b.take(g.id) || b.seen == nil && hasUser(snap.Users, g.id) {
			continue
		}
		dg, n := b.group(g, groupByDN)
		unresolved += n
		snap.Groups = append(snap.Groups, dg)
	}
	if unresolved > 0 {
		// Members outside the configured bases or filters are not users of
		// this source; that is configuration, not an incomplete read.
		s.log.Debug("member values matched no user or group read", zap.Int("count", unresolved))
	}
	slices.SortFunc(snap.Groups, func(a, b sources.DirGroup) int { return strings.Compare(a.ID, b.ID) })
	snap.Complete = len(reasons) == 0
	snap.IncompleteReason = strings.Join(reasons, "; ")
	snap.ReadAt = time.Now()
	return snap
}

// hasUser reports whether users (sorted by id) holds id.
func hasUser(users []sources.DirUser, id string) bool {
	_, ok := userIndex(users, id)
	return ok
}

// userIndex finds the user with id in users (sorted by id).
func userIndex(users []sources.DirUser, id string) (int, bool) {
	return slices.BinarySearchFunc(users, id, func(u sources.DirUser, id string) int { return strings.Compare(u.ID, id) })
}

// group resolves g's member values against the users added and the
// groups in groupByDN; n counts the values that matched neither.
func (b *builder) group(g *record, groupByDN map[string]string) (dg sources.DirGroup, n int) {
	dg = sources.DirGroup{ID: g.id, DN: g.dn, Name: g.groupName}
	members := g.members
	if g.chained {
		// Already flat: only users, so MemberGroups stays nil and the
		// worker's flattening has nothing to do.
		members = g.chainUsers
	}
	users, groups := b.scratch[:0], []string(nil)
	for _, m := range members {
		if id, ok := b.userByKey[m]; ok {
			users = append(users, id)
		} else if id, ok := groupByDN[m]; ok {
			if !g.chained && id != g.id {
				groups = append(groups, id)
			}
		} else {
			n++
		}
	}
	slices.Sort(users)
	slices.Sort(groups)
	users = slices.Compact(users)
	b.scratch = users[:0]
	dg.MemberUsers, dg.MemberGroups = b.memberUsers(g.id, users), slices.Compact(groups)
	return dg, n
}
