// Package lease elects one leader among lightdash-sync replicas through a
// lease in a NATS JetStream key-value bucket. NATS does the distributed
// work (ordering, compare-and-set, expiry); this package only follows a
// protocol on top of it.
//
// # Protocol
//
// Each unit (one Lightdash target) has its own key in the bucket. The value
// records the holder's identity and the expiry it claims. Every write is a
// compare-and-set on the key's revision, so of two replicas racing for the
// same revision exactly one wins:
//
//   - acquire: write into an absent key (expected revision 0), or take over
//     a key whose holder released it, or whose holder has stopped renewing
//     (see the takeover rule below);
//   - renew: rewrite the value with the revision last written, every
//     Config.RenewEvery;
//   - release (shutdown, or onElected returned): compare-and-set a
//     "released" record, which a standby may take over at once.
//
// The bucket is created with a TTL equal to the lease TTL (and History 1),
// so a lease whose holder died disappears server-side TTL after its last
// renewal; an absent key is free.
//
// # Why two leaders never act at once
//
// A leader measures every interval from the moment BEFORE it sends a write,
// on its own clock. A renewal sent at s makes the lease good until
// s + TTL; the leader's leaderCtx is cancelled at s + TTL - margin (margin =
// TTL/5), unless a later renewal completed before that cutoff. A renewal
// that is rejected (someone else wrote the key), fails, or cannot complete
// before the cutoff therefore ends leadership, and it ends before anybody
// else may take over, because everybody else waits at least TTL from a
// point after s:
//
//   - the server expires the value TTL after it stored it, and it stored
//     it after s;
//   - a standby takes over a live-looking value only after it has seen the
//     same revision unchanged for TTL on its own clock (it first saw it
//     after it was written, so after s), and after the expiry recorded in
//     the value has passed on its clock;
//   - a value deleted behind the leader's back (a delete marker, not our
//     "released" record) is treated like a live value: the standby waits
//     TTL of its own observation before writing over it, so the old leader
//     has noticed (its next renewal fails) or reached its cutoff by then.
//
// The argument compares durations measured on one machine at a time, never
// timestamps from two machines, so it holds under any clock offset between
// replicas; it assumes only that clocks run at about the same rate (drift
// far smaller than the margin over one TTL). The expiry recorded in the
// value is compared with the standby's wall clock as an extra condition and
// for display; the bucket TTL is the backstop that frees a dead leader's
// key. The bucket's TTL must not be shorter than the lease TTL (New refuses
// such a bucket), or the server would free a lease its holder still uses.
//
// onElected must stop writing when leaderCtx is done and return promptly:
// the elector waits for it before releasing or campaigning again, but it
// cannot stop a callback that ignores its context.
//
// # Spreading units
//
// A replica campaigns for every unit's lease. A Spreader, shared by its
// units, sets each one's Config.AcquireDelay from the units it already
// leads, so that M units spread over N replicas instead of one replica
// taking them all.
package lease
