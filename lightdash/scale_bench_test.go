package lightdash_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// Full size of docs/benchmarks.md: 100,000 users, 10,000 groups, 500,000
// memberships (50 per group, every user in 5 groups).
const (
	scaleUsers   = 100_000
	scaleGroups  = 10_000
	scalePerGrp  = 50
	scaleMembers = scaleGroups * scalePerGrp
)

// scaleBodies are the users pages and groups list answers of a full-size
// lightdashtest instance, taken once and replayed byte for byte: replaying
// them keeps the fake's own allocations (it encodes 100+ MB per list) out of
// the client's numbers, which is what these benchmarks measure.
var scaleBodies = sync.OnceValues(func() (map[string][]byte, error) {
	srv := lightdashtest.NewServer(lightdashtest.WithSeed(1))
	defer srv.Close()
	uuids := make([]string, scaleUsers)
	for i := range uuids {
		uuids[i] = srv.AddUser(fmt.Sprintf("user%06d@example.com", i), lightdash.RoleMember).UserUUID
	}
	members := make([]string, scalePerGrp)
	for g := range scaleGroups {
		for k := range members {
			members[k] = uuids[(g*scalePerGrp+k)%scaleUsers]
		}
		if _, err := srv.AddGroup(fmt.Sprintf("group-%05d", g), members...); err != nil {
			return nil, err
		}
	}
	bodies := map[string][]byte{}
	lists := []string{"/api/v1/org/groups?includeMembers=1000000"}
	for page := 1; (page-1)*lightdash.DefaultUserPageSize <= scaleUsers; page++ { // the admin is one more
		lists = append(lists, fmt.Sprintf("/api/v1/org/users?page=%d&pageSize=%d", page, lightdash.DefaultUserPageSize))
	}
	for _, p := range lists {
		req, err := http.NewRequest(http.MethodGet, srv.URL()+p, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "ApiKey "+srv.AdminToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d %v", p, resp.StatusCode, err)
		}
		bodies[replayKey(req)] = b
	}
	return bodies, nil
})

// replayKey names a recorded answer: the users list by its page, the
// groups list by its path.
func replayKey(r *http.Request) string {
	if r.URL.Path == "/api/v1/org/users" {
		return r.URL.Path + "?" + r.URL.RawQuery
	}
	return r.URL.Path
}

// scaleClient is a client of a server replaying scaleBodies.
func scaleClient(b *testing.B, m scaleMode) *lightdash.Client {
	b.Helper()
	bodies, err := scaleBodies()
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[replayKey(r)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(ts.Close)
	c := &lightdash.Client{BaseURL: ts.URL, Token: "ldpat_bench", Timeout: -1, MemberUUIDsOnly: m.uuidsOnly, SkipUserNames: m.noNames}
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	return c
}

// heapPeak samples the heap's object bytes (live and not yet swept) while
// running: an indicative peak, since a sample can miss the top.
type heapPeak struct {
	stop chan struct{}
	done chan struct{}
	max  atomic.Uint64
}

func startHeapPeak() *heapPeak {
	p := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > p.max.Load() {
				p.max.Store(v)
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *heapPeak) end() uint64 {
	close(p.stop)
	<-p.done
	return p.max.Load()
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// scaleMode is a client setting the Scale benchmarks compare.
type scaleMode struct {
	name      string
	uuidsOnly bool // MemberUUIDsOnly
	noNames   bool // SkipUserNames
	shared    bool // the lists read with one ShareUUIDs context, knowing an earlier users list
}

// scaleModes: the daemon's is the last.
var scaleModes = []scaleMode{
	{"default", false, false, false},
	{"uuids-only", true, false, false},
	{"daemon", true, true, true},
}

// BenchmarkListGroupsScale reads the full-size group list (10,000 groups
// with 500,000 memberships, an 84 MB body) and reports, besides B/op, what
// the result keeps on the heap (retained-MB: heap after GC with the result
// held, minus before) and the sampled peak heap above that baseline during
// the call (peak-MB).
//
//	go test -run '^$' -bench 'Scale' -benchtime 3x -count 3 ./lightdash/
func BenchmarkListGroupsScale(b *testing.B) {
	for _, m := range scaleModes {
		b.Run(m.name, func(b *testing.B) { benchListGroups(b, scaleClient(b, m)) })
	}
}

func benchListGroups(b *testing.B, c *lightdash.Client) {
	ctx := context.Background()
	benchHeap(b, func() any {
		gs, err := c.ListGroups(ctx)
		if err != nil || len(gs) != scaleGroups {
			b.Fatalf("got %d groups, %v", len(gs), err)
		}
		return gs
	})
}

// BenchmarkReadLightdashScale is what the worker holds after reading
// Lightdash: the users and the groups, both kept.
func BenchmarkReadLightdashScale(b *testing.B) {
	for _, m := range scaleModes {
		b.Run(m.name, func(b *testing.B) { benchReadLightdash(b, scaleClient(b, m), m.shared) })
	}
}

func benchReadLightdash(b *testing.B, c *lightdash.Client, shared bool) {
	var known []lightdash.OrgMember // what the daemon's cached view holds
	if shared {
		var err error
		if known, err = c.ListUsers(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	benchHeap(b, func() any {
		ctx := context.Background()
		if shared {
			ctx = lightdash.ShareUUIDs(ctx, known)
		}
		us, err := c.ListUsers(ctx)
		if err != nil || len(us) != scaleUsers+1 {
			b.Fatalf("got %d users, %v", len(us), err)
		}
		gs, err := c.ListGroups(ctx)
		if err != nil || len(gs) != scaleGroups {
			b.Fatalf("got %d groups, %v", len(gs), err)
		}
		return [2]any{us, gs}
	})
}

// benchHeap runs read once per iteration and reports, besides B/op, what
// its result keeps on the heap (retained-MB) and the sampled peak heap
// during the call (peak-MB), both above the heap after GC before it.
func benchHeap(b *testing.B, read func() (keep any)) {
	b.Helper()
	b.ReportAllocs()
	var retained, peak float64
	for b.Loop() {
		base := heapAfterGC()
		p := startHeapPeak()
		keep := read()
		top := p.end()
		retained += float64(heapAfterGC() - base)
		peak += float64(top - base)
		runtime.KeepAlive(keep)
	}
	b.ReportMetric(retained/float64(b.N)/1e6, "retained-MB")
	b.ReportMetric(peak/float64(b.N)/1e6, "peak-MB")
}

// BenchmarkListGroupsScaleCPU is BenchmarkListGroupsScale without the
// forced collections and the heap sampler, for the time per call.
func BenchmarkListGroupsScaleCPU(b *testing.B) {
	c := scaleClient(b, scaleModes[0])
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if gs, err := c.ListGroups(ctx); err != nil || len(gs) != scaleGroups {
			b.Fatalf("got %d groups, %v", len(gs), err)
		}
	}
}
