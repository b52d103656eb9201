package worker_test

import (
	"context"
	"fmt"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

func Example() {
	ld := lightdashtest.NewServer()
	defer ld.Close()
	ld.AddUser("ada@example.com", lightdash.RoleMember)
	client := &lightdash.Client{BaseURL: ld.URL(), Token: ld.AdminToken(), HTTPClient: ld.Client()}

	dir := memory.New("corp")
	dir.SetUser(sources.DirUser{ID: "u1", Email: "Ada@example.com"})
	dir.SetGroup(sources.DirGroup{ID: "g1", Name: "Analysts", MemberUsers: []string{"u1"}})

	w, err := worker.New([]sources.Source{dir}, client, &worker.MemoryStore{}, worker.Options{
		Mapping: worker.Mapping{Rules: []worker.Rule{{Prefix: "ad-"}}},
	}, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, _ := w.Plan(context.Background())
	for _, c := range plan.Creates {
		fmt.Println("create", c.Name, len(c.Members), "member")
	}
	res, _ := w.Apply(context.Background(), plan)
	fmt.Println("created", res.Summary.Created)
	again, _ := w.Plan(context.Background())
	fmt.Println("changes left:", again.HasChanges())
	// Output:
	// create ad-Analysts 1 member
	// created 1
	// changes left: false
}
