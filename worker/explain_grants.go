package worker

// grantsFor returns the project roles and space access that follow from
// the person's Lightdash groups: for each group they are in now or
// should be in (ExplainAccess.Now, .Should), its grants as read and as
// planned. It is the hook for access as code (issue 18): until the
// worker reads and plans grants it has none to report, so it returns
// none. Wiring it means passing the full run's desired and current grants
// to the explainer (kept by keepLast for ExplainLast) and filling
// ExplainGrant per group.
func grantsFor(groups []ExplainAccess) []ExplainGrant {
	_ = groups
	return []ExplainGrant{}
}
