package worker

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Case is how a rule changes the case of a directory group's name.
type Case string

// The name cases a rule may ask for. The empty string means CaseKeep.
const (
	CaseKeep  Case = "keep"
	CaseLower Case = "lower"
	CaseUpper Case = "upper"
)

// DefaultMaxDepth is how deep nested directory groups are followed when
// Mapping.MaxDepth is zero.
const DefaultMaxDepth = 10

// Mapping turns directory groups into the Lightdash groups that should
// exist. Rules are tried in order and the first that selects a directory
// group names it; a group no rule selects is not synced. Field names are
// the configuration keys.
type Mapping struct {
	Rules []Rule
	// Overrides name single directory groups explicitly. An override selects
	// its group even when no rule does, and its name wins over any template.
	Overrides []Override
	// Exclude lists directory groups (id, DN or name) never synced, whatever
	// the rules say.
	Exclude []string
	// AllowMerge lets two directory groups that are not under one rule's
	// Target produce the same Lightdash name; the Lightdash group then has
	// the union of their members. Off, such a collision is a problem and
	// neither group is sent, because it is usually a template mistake.
	AllowMerge bool
	// MaxDepth bounds how many levels of nested groups are flattened
	// (0 means DefaultMaxDepth). A deeper group is reported and not sent,
	// since its member list would be incomplete.
	MaxDepth int
}

// Rule selects directory groups and names their Lightdash groups. Every
// selector that is set must match (they are ANDed); an empty rule selects
// everything.
type Rule struct {
	// Name identifies the rule in reports.
	Name string
	// Source limits the rule to one source's groups.
	Source string
	// BaseDN selects groups whose DN is BaseDN or below it (compared
	// case-insensitively, ignoring spaces around ',' and '=').
	BaseDN string
	// NameRegex selects groups whose directory name matches (RE2 syntax).
	NameRegex string
	// Include, when not empty, selects only the listed groups (id, DN or name).
	Include []string
	// Exclude drops the listed groups (id, DN or name) from this rule; a
	// later rule may still select them.
	Exclude []string

	// Target, when set, is the one Lightdash group every selected directory
	// group maps to (members are the union). The template fields are then unused.
	Target string

	// The name template: the directory name is rewritten with RewriteRegex
	// and RewriteReplace (regexp.ReplaceAllString, so $1 works), then its
	// case changed, then Prefix and Suffix added, then trimmed.
	RewriteRegex   string
	RewriteReplace string
	Case           Case
	Prefix         string
	Suffix         string

	// Projects and Spaces are the access every selected group gets
	// (access.go). RoleRegex takes a project role from the directory
	// group's name: its group named "role", or its first group, lowercased.
	Projects  []ProjectAccess
	Spaces    []SpaceAccess
	RoleRegex string
}

// Override maps one directory group (id, DN or name; within Source when
// set) to an exact Lightdash name.
type Override struct {
	Source   string
	Group    string
	Name     string
	Projects []ProjectAccess
	Spaces   []SpaceAccess
}

// Validate reports every configuration mistake at once, naming the rule.
func (m Mapping) Validate() error {
	_, err := NewMapper(m)
	return err
}

// Mapper is a compiled Mapping. It is safe for concurrent use.
type Mapper struct {
	m         Mapping
	rules     []compiledRule
	overrides []*accessSpec
	exclude   matcher
}

type compiledRule struct {
	Rule
	baseDN  string
	nameRe  *regexp.Regexp
	rewrite *regexp.Regexp
	include matcher
	exclude matcher
	access  *accessSpec
}

// NewMapper compiles and validates m. Each problem is a
// *sources.ConfigError naming its configuration key within mapping.
func NewMapper(m Mapping) (*Mapper, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &sources.ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	mp := &Mapper{m: m, exclude: newMatcher(m.Exclude)}
	if m.MaxDepth < 0 || m.MaxDepth > maxMaxDepth {
		bad("max_depth", "must be between 1 and %d", maxMaxDepth)
	}
	if len(m.Rules) == 0 && len(m.Overrides) == 0 {
		bad("rules", "required: at least one rule (a rule with no selectors maps every group)")
	}
	for i, r := range m.Rules {
		cr, rerrs := compileRule(fmt.Sprintf("rules[%d]", i), r)
		errs = append(errs, rerrs...)
		mp.rules = append(mp.rules, cr)
	}
	for i, o := range m.Overrides {
		key := fmt.Sprintf("overrides[%d]", i)
		if strings.TrimSpace(o.Group) == "" {
			bad(key+".group", "required: the directory group's id, DN or name")
		}
		if strings.TrimSpace(o.Name) == "" {
			bad(key+".name", "required: the Lightdash group name")
		} else if reason := invalidName(lightdash.TrimName(o.Name)); reason != "" {
			bad(key+".name", "%s", reason)
		}
		acc, aerrs := compileAccess(key, o.Projects, o.Spaces, "", false)
		errs = append(errs, aerrs...)
		mp.overrides = append(mp.overrides, acc)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return mp, nil
}

// maxMaxDepth bounds Mapping.MaxDepth: no directory nests deeper.
const maxMaxDepth = 100

// compileRule compiles rule r, found under key, and checks it.
func compileRule(key string, r Rule) (compiledRule, []error) {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, &sources.ConfigError{Key: key + "." + k, Msg: fmt.Sprintf(format, args...)})
	}
	cr := compiledRule{Rule: r}
	var err error
	if cr.nameRe, err = compileRegexp(r.NameRegex); err != nil {
		bad("name_regex", "invalid regular expression: %v", err)
	}
	if cr.rewrite, err = compileRegexp(r.RewriteRegex); err != nil {
		bad("rewrite_regex", "invalid regular expression: %v", err)
	}
	if r.RewriteReplace != "" && r.RewriteRegex == "" {
		bad("rewrite_replace", "needs rewrite_regex")
	}
	if !slices.Contains([]Case{"", CaseKeep, CaseLower, CaseUpper}, r.Case) {
		bad("case", "%q is not a case rule (want keep, lower or upper)", r.Case)
	}
	if r.Target != "" {
		if reason := invalidName(lightdash.TrimName(r.Target)); reason != "" {
			bad("target", "%s", reason)
		}
		if r.RewriteRegex != "" || r.Prefix != "" || r.Suffix != "" || r.Case != "" {
			bad("target", "target names one Lightdash group; it cannot be combined with a name template (rewrite, case, prefix, suffix)")
		}
	}
	for _, f := range []struct{ key, v string }{{"prefix", r.Prefix}, {"suffix", r.Suffix}, {"rewrite_replace", r.RewriteReplace}} {
		if reason := ident.CheckName(f.v); reason != "" {
			bad(f.key, "%s", reason)
		}
	}
	cr.baseDN = normDN(r.BaseDN)
	cr.include = newMatcher(r.Include)
	cr.exclude = newMatcher(r.Exclude)
	var aerrs []error
	cr.access, aerrs = compileAccess(key, r.Projects, r.Spaces, r.RoleRegex, r.Target != "")
	return cr, append(errs, aerrs...)
}

// compileRegexp compiles expr; empty means none.
func compileRegexp(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	return regexp.Compile(expr)
}

func (m *Mapper) maxDepth() int {
	if m.m.MaxDepth == 0 {
		return DefaultMaxDepth
	}
	return m.m.MaxDepth
}

// nameFor returns the Lightdash name and the ownership key of g, and the
// access of the rule or override that selected it; ok is false when g is
// not synced.
func (m *Mapper) nameFor(source string, g sources.DirGroup) (name, key string, acc *accessSpec, ok bool) {
	sel := m.selectGroup(source, g)
	return sel.name, sel.key, sel.acc, sel.by != ""
}

// selection is how the mapping treats one directory group: by names the
// override or rule that selected it ("" when none did, or when excluded
// is set because mapping.exclude drops it); acc is that rule's access.
type selection struct {
	name, key, by string
	acc           *accessSpec
	excluded      bool
}

// selectGroup decides g: exclusions first, then overrides, then the first
// rule that selects it. nameFor and Explain both read this one decision.
func (m *Mapper) selectGroup(source string, g sources.DirGroup) selection {
	if m.exclude.match(g) {
		return selection{excluded: true}
	}
	for i, o := range m.m.Overrides {
		if (o.Source == "" || o.Source == source) && newMatcher([]string{o.Group}).match(g) {
			return selection{name: lightdash.TrimName(o.Name), key: groupKey(source, g.ID), by: fmt.Sprintf("overrides[%d]", i), acc: m.overrides[i]}
		}
	}
	for i := range m.rules {
		r := &m.rules[i]
		if !r.selects(source, g) {
			continue
		}
		by := r.Name
		if by == "" {
			by = fmt.Sprintf("rules[%d]", i)
		}
		if r.Target != "" {
			t := lightdash.TrimName(r.Target)
			return selection{name: t, key: "target:" + t, by: by, acc: r.access}
		}
		return selection{name: r.render(g.Name), key: groupKey(source, g.ID), by: by, acc: r.access}
	}
	return selection{}
}

func (r *compiledRule) selects(source string, g sources.DirGroup) bool {
	if r.Source != "" && r.Source != source {
		return false
	}
	if r.baseDN != "" {
		if !sources.WithinDN(normDN(g.DN), r.baseDN) {
			return false
		}
	}
	if r.nameRe != nil && !r.nameRe.MatchString(g.Name) {
		return false
	}
	if !r.include.empty() && !r.include.match(g) {
		return false
	}
	return !r.exclude.match(g)
}

func (r *compiledRule) render(name string) string {
	if r.rewrite != nil {
		name = r.rewrite.ReplaceAllString(name, r.RewriteReplace)
	}
	switch r.Case {
	case CaseLower:
		name = strings.Map(keepLookalike(unicode.ToLower), name)
	case CaseUpper:
		name = strings.Map(keepLookalike(unicode.ToUpper), name)
	}
	return lightdash.TrimName(r.Prefix + name + r.Suffix)
}

// keepLookalike wraps a case mapping so that it leaves alone a non-ASCII
// rune it would turn into an ASCII one (U+212A KELVIN SIGN to "k", U+017F
// LONG S to "S", U+0131 DOTLESS I to "I"): otherwise a directory group
// named "\u212Aitchen" would take the name, and with allowMerge the
// members, of "kitchen".
func keepLookalike(to func(rune) rune) func(rune) rune {
	return func(r rune) rune {
		if m := to(r); r < utf8.RuneSelf || m >= utf8.RuneSelf {
			return m
		}
		return r
	}
}

// groupKey is the ownership key of a one-to-one mapped group: stable across
// renames because it uses the directory's id, not its name.
func groupKey(source, id string) string { return "group:" + source + "/" + id }

// matcher matches a directory group by id, DN (normalised) or exact name.
type matcher struct{ ids, dns, names map[string]bool }

func newMatcher(list []string) matcher {
	m := matcher{ids: map[string]bool{}, dns: map[string]bool{}, names: map[string]bool{}}
	for _, s := range list {
		m.ids[s] = true
		m.names[s] = true
		if strings.Contains(s, "=") {
			m.dns[normDN(s)] = true
		}
	}
	return m
}

func (m matcher) empty() bool { return len(m.ids) == 0 }

func (m matcher) match(g sources.DirGroup) bool {
	if m.ids[g.ID] || m.names[g.Name] {
		return true
	}
	return g.DN != "" && m.dns[normDN(g.DN)]
}

// normDN is NormalizeDN, for matching rules' DNs.
func normDN(dn string) string { return sources.NormalizeDN(dn) }

// MaxNameLength is Lightdash's limit on group names (varchar(255)); a
// longer name makes the server answer 500.
const MaxNameLength = 255

// invalidName says why Lightdash would reject or mangle name, or why it
// may not be shown to people (ident.CheckName: no control, zero-width or
// bidirectional characters), or "". Every name the worker sends passes it:
// rendered, overridden and target names alike.
func invalidName(name string) string {
	if name == "" {
		return "name is empty"
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return fmt.Sprintf("name is %d characters long (Lightdash allows %d)", n, MaxNameLength)
	}
	if reason := ident.CheckName(name); reason != "" {
		return "name " + reason
	}
	return ""
}

// clipForReport shortens a directory value quoted in a Problem (and from
// there in logs, /status and saved plans): a 10,000-character name is
// reported by its first MaxNameLength characters, not echoed whole.
func clipForReport(s string) string {
	if len(s) <= MaxNameLength { // bytes ≥ runes: the common case costs nothing
		return s
	}
	n := 0
	for i := range s {
		if n == MaxNameLength {
			return s[:i] + fmt.Sprintf("… (%d characters)", utf8.RuneCountInString(s))
		}
		n++
	}
	return s
}
