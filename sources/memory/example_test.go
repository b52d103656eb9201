package memory_test

import (
	"context"
	"fmt"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
)

func Example() {
	dir := memory.New("demo")
	dir.SetUser(sources.DirUser{ID: "u1", Email: "ada@example.com"})
	dir.SetGroup(sources.DirGroup{ID: "g1", Name: "Analysts", MemberUsers: []string{"u1"}})
	snap, _ := dir.Snapshot(context.Background())
	fmt.Println(snap.Source, len(snap.Groups), snap.Groups[0].Name, snap.Complete)
	// Output: demo 1 Analysts true
}
