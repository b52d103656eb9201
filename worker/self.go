package worker

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// selfCache holds the uuid of the token's user, read once and only when an
// interrupted create must be checked, so a warm run makes no extra call.
type selfCache struct {
	mu   sync.Mutex
	uuid string
}

// get returns the token's user uuid, or "" when it cannot be read (then no
// group is adopted on the strength of an intent this time).
func (c *selfCache) get(ctx context.Context, ld Lightdash, log *zap.Logger) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uuid != "" {
		return c.uuid
	}
	me, err := ld.WhoAmI(ctx)
	if err != nil || me == nil || me.UserUUID == "" {
		log.Warn("cannot read the token's user to check an interrupted create; its same-named group is not adopted this time", zap.Error(err))
		return ""
	}
	c.uuid = me.UserUUID
	return c.uuid
}

// withSelf sets cur.Self when the state holds an interrupted create whose
// name Lightdash lists: adopting that group needs proof this token made it.
func (w *Worker) withSelf(ctx context.Context, ld Lightdash, cur *Current, st *State) {
	if st == nil {
		return
	}
	names := map[string]bool{}
	for _, o := range st.Groups {
		if o.Creating() {
			names[o.Name] = true
		}
	}
	if len(names) == 0 {
		return
	}
	for _, g := range cur.Groups {
		if names[g.Name] {
			cur.Self = w.self.get(ctx, ld, w.log)
			return
		}
	}
}

// madeBy reports whether g was made by the user self. A group whose maker
// the server does not name is not provably ours.
func madeBy(g *lightdash.GroupWithMembers, self string) bool {
	return self != "" && g.CreatedByUserUUID == self
}
