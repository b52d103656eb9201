package worker

import (
	"errors"
	"fmt"
	"regexp"
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
}

// Override maps one directory group (id, DN or name; within Source when
// set) to an exact Lightdash name.
type Override struct {
	Source string
	Group  string
	Name   string
}

// Validate reports every configuration mistake at once, naming the rule.
func (m Mapping) Validate() error {
	_, err := NewMapper(m)
	return err
}

// Mapper is a compiled Mapping. It is safe for concurrent use.
type Mapper struct {
	m       Mapping
	rules   []compiledRule
	exclude matcher
}

type compiledRule struct {
	Rule
	where   string
	baseDN  string
	nameRe  *regexp.Regexp
	rewrite *regexp.Regexp
	include matcher
	exclude matcher
}

// NewMapper compiles and validates m.
func NewMapper(m Mapping) (*Mapper, error) {
	var errs []error
	mp := &Mapper{m: m, exclude: newMatcher(m.Exclude)}
	if m.MaxDepth < 0 {
		errs = append(errs, fmt.Errorf("mapping.maxDepth: %d is negative", m.MaxDepth))
	}
	if len(m.Rules) == 0 && len(m.Overrides) == 0 {
		errs = append(errs, errors.New("mapping.rules: no rules and no overrides: nothing would be synced"))
	}
	for i, r := range m.Rules {
		cr := compiledRule{Rule: r, where: fmt.Sprintf("mapping.rules[%d]", i)}
		if r.Name != "" {
			cr.where += " (" + r.Name + ")"
		}
		var err error
		if r.NameRegex != "" {
			if cr.nameRe, err = regexp.Compile(r.NameRegex); err != nil {
				errs = append(errs, fmt.Errorf("%s.nameRegex: %w", cr.where, err))
			}
		}
		if r.RewriteRegex != "" {
			if cr.rewrite, err = regexp.Compile(r.RewriteRegex); err != nil {
				errs = append(errs, fmt.Errorf("%s.rewriteRegex: %w", cr.where, err))
			}
		} else if r.RewriteReplace != "" {
			errs = append(errs, fmt.Errorf("%s.rewriteReplace: set without rewriteRegex", cr.where))
		}
		switch r.Case {
		case "", CaseKeep, CaseLower, CaseUpper:
		default:
			errs = append(errs, fmt.Errorf("%s.case: unknown case %q (want keep, lower or upper)", cr.where, r.Case))
		}
		if r.Target != "" {
			if reason := invalidName(lightdash.TrimName(r.Target)); reason != "" {
				errs = append(errs, fmt.Errorf("%s.target: %s", cr.where, reason))
			}
			if r.RewriteRegex != "" || r.Prefix != "" || r.Suffix != "" || (r.Case != "" && r.Case != CaseKeep) {
				errs = append(errs, fmt.Errorf("%s: target and a name template are exclusive", cr.where))
			}
		}
		for _, f := range []struct{ key, v string }{{"prefix", r.Prefix}, {"suffix", r.Suffix}, {"rewriteReplace", r.RewriteReplace}} {
			if reason := ident.CheckName(f.v); reason != "" {
				errs = append(errs, fmt.Errorf("%s.%s: %s", cr.where, f.key, reason))
			}
		}
		cr.baseDN = normDN(r.BaseDN)
		cr.include = newMatcher(r.Include)
		cr.exclude = newMatcher(r.Exclude)
		mp.rules = append(mp.rules, cr)
	}
	for i, o := range m.Overrides {
		if strings.TrimSpace(o.Group) == "" {
			errs = append(errs, fmt.Errorf("mapping.overrides[%d].group: empty", i))
		}
		if reason := invalidName(lightdash.TrimName(o.Name)); reason != "" {
			errs = append(errs, fmt.Errorf("mapping.overrides[%d].name: %s", i, reason))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return mp, nil
}

func (m *Mapper) maxDepth() int {
	if m.m.MaxDepth == 0 {
		return DefaultMaxDepth
	}
	return m.m.MaxDepth
}

// nameFor returns the Lightdash name and the ownership key of g; ok is
// false when g is not synced.
func (m *Mapper) nameFor(source string, g sources.DirGroup) (name, key string, ok bool) {
	if m.exclude.match(g) {
		return "", "", false
	}
	for _, o := range m.m.Overrides {
		if (o.Source == "" || o.Source == source) && newMatcher([]string{o.Group}).match(g) {
			return lightdash.TrimName(o.Name), groupKey(source, g.ID), true
		}
	}
	for _, r := range m.rules {
		if !r.selects(source, g) {
			continue
		}
		if r.Target != "" {
			t := lightdash.TrimName(r.Target)
			return t, "target:" + t, true
		}
		return r.render(g.Name), groupKey(source, g.ID), true
	}
	return "", "", false
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
