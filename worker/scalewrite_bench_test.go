package worker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// BenchmarkLargeGroupWrites times the two write-limit cases of issue 19
// against lightdashtest (which enforces the real server's limits): a new
// 25,000-member group, and a 15,000-member group replaced by another
// 15,000. writes/op is the Lightdash writes each took; the real server's
// cost is ~50 ms of bcrypt per call on top (API-NOTES §8).
func BenchmarkLargeGroupWrites(b *testing.B) {
	b.Run("create-25000", func(b *testing.B) {
		benchGroupWrites(b, 25000, func(dir *memory.Source) { benchGroup(dir, 0, 25000) }, nil)
	})
	b.Run("replace-15000", func(b *testing.B) {
		benchGroupWrites(b, 30000, func(dir *memory.Source) { benchGroup(dir, 0, 15000) },
			func(dir *memory.Source) { benchGroup(dir, 15000, 30000) })
	})
}

// benchGroupWrites times, per iteration, the reconcile after change on a
// fresh fake with n users, reconciled once after setup.
func benchGroupWrites(b *testing.B, n int, setup, change func(*memory.Source)) {
	var writes int
	for range b.N {
		b.StopTimer()
		srv := lightdashtest.NewServer()
		dir := memory.New("corp")
		users := make([]sources.DirUser, n)
		for i := range n {
			email := fmt.Sprintf("u%06d@example.com", i)
			srv.AddUser(email, lightdash.RoleMember)
			users[i] = sources.DirUser{ID: fmt.Sprintf("u%06d", i), Email: email}
		}
		dir.Replace(nil, users)
		c := &lightdash.Client{BaseURL: srv.URL(), Token: srv.AdminToken(), HTTPClient: srv.Client(), RateLimit: 1000, Timeout: time.Minute}
		opts := worker.Options{Mapping: worker.Mapping{Rules: []worker.Rule{{Name: "all"}}}} // no safety limits
		w, err := worker.New([]sources.Source{dir}, c, worker.NewFileStore(filepath.Join(b.TempDir(), "state.json")), opts, zap.NewNop(), prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		setup(dir)
		if change != nil {
			if _, err := w.Reconcile(ctx); err != nil {
				b.Fatal(err)
			}
			change(dir)
		}
		srv.ResetRequests()
		b.StartTimer()
		if _, err := w.Reconcile(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		writes = srv.WriteCount()
		srv.Close()
	}
	b.ReportMetric(float64(writes), "writes/op")
}

func benchGroup(dir *memory.Source, from, to int) {
	ms := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		ms = append(ms, fmt.Sprintf("u%06d", i))
	}
	dir.SetGroup(sources.DirGroup{ID: "g", DN: "cn=g,ou=groups,dc=corp", Name: "big", MemberUsers: ms})
}
