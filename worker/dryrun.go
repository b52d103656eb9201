package worker

import "go.uber.org/zap"

// logDryRun logs, one line each, what the plan would write, and counts it
// in s as if it had been applied.
func (w *Worker) logDryRun(p *Plan, s *Summary) {
	for _, inv := range p.Invites {
		w.log.Info("dry run: would invite", zap.String("email", inv.Email), zap.Strings("groups", inv.Groups))
		s.Invited++
	}
	for _, d := range p.Deletes {
		w.log.Info("dry run: would delete group", zap.String("group", d.Name), zap.String("uuid", d.UUID), zap.String("reason", d.Reason))
		s.Deleted++
	}
	for _, u := range p.Updates {
		w.log.Info("dry run: would update group", zap.String("group", u.Name), zap.String("uuid", u.UUID), zap.String("newName", u.NewName),
			zap.Int("add", len(u.Add)+len(u.Invitees)), zap.Int("remove", len(u.Remove)), zap.Bool("adopt", u.Adopt), zap.String("reason", u.Reason))
		if u.NewName != "" {
			s.Renamed++
		}
		if len(u.Add) > 0 || len(u.Remove) > 0 || len(u.Invitees) > 0 {
			s.Updated++
		}
		if u.Adopt {
			s.Adopted++
		}
		s.MembersAdded += len(u.Add) + len(u.Invitees)
		s.MembersRemoved += len(u.Remove)
	}
	for _, c := range p.Creates {
		w.log.Info("dry run: would create group", zap.String("group", c.Name), zap.Int("members", len(c.Members)+len(c.Invitees)), zap.String("reason", c.Reason))
		s.Created++
		s.MembersAdded += len(c.Members) + len(c.Invitees)
	}
	for _, ch := range p.Access {
		w.log.Info("dry run: would change access", zap.String("group", ch.Group), zap.String("op", ch.Op),
			zap.String("target", describeTarget(ch)), zap.String("role", ch.Role), zap.String("reason", ch.Reason))
		switch ch.Op {
		case AccessGrant:
			s.AccessGranted++
		case AccessChange:
			s.AccessChanged++
		default:
			s.AccessRevoked++
		}
	}
}
