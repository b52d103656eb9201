package ldap

import (
	"testing"
	"time"
)

func TestPollWatcher(t *testing.T) {
	srv := startDirectory(t)
	cfg := baseConfig(srv)
	cfg.Watch = WatchPoll
	cfg.PollInterval = 20 * time.Millisecond
	cfg.FullReadInterval = 300 * time.Millisecond
	src := newSource(t, cfg)
	w := startWatch(t, src)
	gid := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }
	sales, platform, eng := gid("sales"), gid("platform"), gid("engineering")
	dave := userIDsByUID(srv, "dave")[0]
	// The first full read is silent; wait until the poller has it by
	// looking for a change we make afterwards.
	sets := [][]string{{"uid=dave," + people, "uid=bob," + people}, {"uid=bob," + people}}
	deadline := time.Now().Add(eventTimeout)
	for i, seen := 0, false; !seen; i++ {
		if time.Now().After(deadline) {
			t.Fatal("poll: no change for a modified group")
		}
		srv.Replace("cn=sales,"+groups, map[string][]string{"uniqueMember": sets[i%2]})
		select {
		case c := <-w.changes:
			seen = len(c.GroupIDs) > 0 && c.GroupIDs[0] == sales
		case <-time.After(100 * time.Millisecond):
		}
	}
	srv.Replace("uid=dave,"+people, map[string][]string{"mail": {"dave@new.example.com"}})
	w.waitChange(t, "user modified", dave)
	// Deletions are found by the periodic full read.
	srv.Delete("cn=platform," + groups)
	w.waitChange(t, "group deleted", "", platform, eng)
}
