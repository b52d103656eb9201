package lightdash

// Limits of a real Lightdash's group writes, measured on release 0.2340.1
// (../shared/lightdash/API-NOTES.md §10). Callers split their writes to stay
// within them; lightdashtest enforces them as the server does.
const (
	// MaxMembersPerInsert is the most member rows one create or one PATCH
	// can insert: more answers 500 and rolls back (three bind parameters
	// per row, PostgreSQL allows 65,535).
	MaxMembersPerInsert = 21845
	// PatchCompareLimit is how many existing members a PATCH compares its
	// list with: it reads only this many (in no defined order), inserts the
	// listed users not among them and deletes only among them.
	PatchCompareLimit = 10000
)
