package worker

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// ProjectAccess grants a rule's or override's Lightdash group a role on a
// project, named by name or uuid. An empty Role takes the role from the
// directory group's name through the rule's RoleRegex.
type ProjectAccess struct {
	Project string
	Role    string
}

// SpaceAccess shares a space (by name or uuid, within Project) with the
// group at a space role.
type SpaceAccess struct {
	Project string
	Space   string
	Role    string
}

// AccessMode says which grants of an owned group the worker may revoke.
type AccessMode string

// The access modes, named like the membership modes.
const (
	// AccessAuthoritative: on the projects and spaces the configuration
	// names, an owned group has exactly the grants the configuration gives.
	AccessAuthoritative AccessMode = "authoritative"
	// AccessPreserveManual: only grants the worker made are revoked, so
	// grants made by hand in Lightdash stay (a configured role still wins).
	AccessPreserveManual AccessMode = "preserve-manual"
)

// GroupAccess is the access a desired group should have: plain data, the
// roles rendered, projects and spaces as the configuration names them.
type GroupAccess struct {
	Projects []WantProject `json:"projects,omitempty"`
	Spaces   []WantSpace   `json:"spaces,omitempty"`
}

// WantProject is one wanted project role.
type WantProject struct {
	Project string `json:"project"`
	Role    string `json:"role"`
}

// WantSpace is one wanted space share.
type WantSpace struct {
	Project string `json:"project"`
	Space   string `json:"space"`
	Role    string `json:"role"`
}

// accessSpec is a rule's or override's compiled access configuration.
type accessSpec struct {
	projects []ProjectAccess
	spaces   []SpaceAccess
	roleRe   *regexp.Regexp
}

func (a *accessSpec) empty() bool { return a == nil || len(a.projects) == 0 && len(a.spaces) == 0 }

// compileAccess checks one rule's or override's access keys. roleRegex is
// "" for overrides; target is set for rules with a Target, whose one
// group cannot take a role from each directory group's name.
func compileAccess(key string, projects []ProjectAccess, spaces []SpaceAccess, roleRegex string, target bool) (*accessSpec, []error) {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, &sources.ConfigError{Key: key + "." + k, Msg: fmt.Sprintf(format, args...)})
	}
	a := &accessSpec{projects: projects, spaces: spaces}
	if roleRegex != "" {
		re, err := regexp.Compile(roleRegex)
		switch {
		case err != nil:
			bad("role_regex", "invalid regular expression: %v", err)
		case re.NumSubexp() == 0:
			bad("role_regex", "needs a capture group: the role is its first group, or the group named \"role\"")
		case target:
			bad("role_regex", "a target rule maps many directory groups to one Lightdash group; give its projects a fixed role")
		default:
			a.roleRe = re
			for _, lit := range roleLiterals(roleRegex) {
				if !slices.Contains(lightdash.ProjectRoles, lit) {
					bad("role_regex", "can capture %q, which is not a project role (want one of %s)", lit, strings.Join(lightdash.ProjectRoles, ", "))
				}
			}
		}
	}
	for i, p := range projects {
		k := fmt.Sprintf("projects[%d]", i)
		if strings.TrimSpace(p.Project) == "" {
			bad(k+".project", "required: the project's name or uuid")
		}
		switch {
		case p.Role == "" && roleRegex == "":
			bad(k+".role", "required: one of %s (or set the rule's role_regex to take it from the group's name)", strings.Join(lightdash.ProjectRoles, ", "))
		case p.Role != "" && !slices.Contains(lightdash.ProjectRoles, p.Role):
			bad(k+".role", "%q is not a project role (want one of %s)", p.Role, strings.Join(lightdash.ProjectRoles, ", "))
		}
	}
	for i, s := range spaces {
		k := fmt.Sprintf("spaces[%d]", i)
		if strings.TrimSpace(s.Project) == "" || strings.TrimSpace(s.Space) == "" {
			bad(k, "required: project and space (each a name or uuid)")
		}
		if !slices.Contains(lightdash.SpaceRoles, s.Role) {
			bad(k+".role", "%q is not a space role (want one of %s)", s.Role, strings.Join(lightdash.SpaceRoles, ", "))
		}
	}
	if roleRegex != "" && !slices.ContainsFunc(projects, func(p ProjectAccess) bool { return p.Role == "" }) {
		bad("role_regex", "no project takes its role from the name (leave a project's role empty to use it)")
	}
	return a, errs
}

// roleLiterals returns what the role capture of expr can match when that
// is a fixed list of words (Viewer|Editor), lowercased, so a typo is an
// error at load time; nil when it can match open text.
func roleLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	capture := findCapture(re.Simplify())
	if capture == nil || len(capture.Sub) != 1 {
		return nil
	}
	alts := []*syntax.Regexp{capture.Sub[0]}
	if capture.Sub[0].Op == syntax.OpAlternate {
		alts = capture.Sub[0].Sub
	}
	var out []string
	for _, a := range alts {
		if a.Op != syntax.OpLiteral {
			return nil
		}
		out = append(out, strings.ToLower(string(a.Rune)))
	}
	return out
}

// findCapture returns the capture named "role", else the first one.
func findCapture(re *syntax.Regexp) *syntax.Regexp {
	var first, named *syntax.Regexp
	var walk func(r *syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		if r.Op == syntax.OpCapture {
			if first == nil {
				first = r
			}
			if r.Name == "role" && named == nil {
				named = r
			}
		}
		for _, s := range r.Sub {
			walk(s)
		}
	}
	walk(re)
	if named != nil {
		return named
	}
	return first
}

// render is the access of one directory group called name, or why its
// role cannot be taken from the name (the group is then still synced,
// and its grants are left as they are: see ProjectAccess).
func (a *accessSpec) render(name string) (*GroupAccess, string) {
	if a.empty() {
		return nil, ""
	}
	ga := &GroupAccess{}
	for _, p := range a.projects {
		role := p.Role
		if role == "" {
			var why string
			if role, why = a.roleFromName(name); why != "" {
				return nil, why
			}
		}
		ga.Projects = append(ga.Projects, WantProject{Project: p.Project, Role: role})
	}
	for _, s := range a.spaces {
		ga.Spaces = append(ga.Spaces, WantSpace(s))
	}
	return ga, ""
}

func (a *accessSpec) roleFromName(name string) (string, string) {
	m := a.roleRe.FindStringSubmatch(name)
	if m == nil {
		return "", fmt.Sprintf("role_regex %q does not match the group's name; its project access is left as it is", a.roleRe)
	}
	i := 1
	if j := a.roleRe.SubexpIndex("role"); j > 0 {
		i = j
	}
	role := strings.ToLower(m[i])
	if !slices.Contains(lightdash.ProjectRoles, role) {
		return "", fmt.Sprintf("role %q taken from the group's name is not a project role (want one of %s); its project access is left as it is",
			clipForReport(role), strings.Join(lightdash.ProjectRoles, ", "))
	}
	return role, ""
}

// merge adds b's grants to a (a union of directory groups): the more
// powerful role wins where both name a project or space.
func (a *GroupAccess) merge(b *GroupAccess) *GroupAccess {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := &GroupAccess{Projects: slices.Clone(a.Projects), Spaces: slices.Clone(a.Spaces)}
	for _, p := range b.Projects {
		if i := slices.IndexFunc(out.Projects, func(q WantProject) bool { return q.Project == p.Project }); i < 0 {
			out.Projects = append(out.Projects, p)
		} else if rank(lightdash.ProjectRoles, p.Role) > rank(lightdash.ProjectRoles, out.Projects[i].Role) {
			out.Projects[i].Role = p.Role
		}
	}
	for _, s := range b.Spaces {
		if i := slices.IndexFunc(out.Spaces, func(q WantSpace) bool { return q.Project == s.Project && q.Space == s.Space }); i < 0 {
			out.Spaces = append(out.Spaces, s)
		} else if rank(lightdash.SpaceRoles, s.Role) > rank(lightdash.SpaceRoles, out.Spaces[i].Role) {
			out.Spaces[i].Role = s.Role
		}
	}
	return out
}

func rank(roles []string, r string) int { return slices.Index(roles, r) }

// AccessRefs lists the projects and spaces the mapping names: what a full
// run reads. Both are empty when no rule grants access.
func (m *Mapper) AccessRefs() (projects []string, spaces []WantSpace) {
	add := func(a *accessSpec) {
		if a == nil {
			return
		}
		for _, p := range a.projects {
			if !slices.Contains(projects, p.Project) {
				projects = append(projects, p.Project)
			}
		}
		for _, s := range a.spaces {
			ref := WantSpace{Project: s.Project, Space: s.Space}
			if !slices.Contains(spaces, ref) {
				spaces = append(spaces, ref)
			}
		}
	}
	for i := range m.rules {
		add(m.rules[i].access)
	}
	for _, a := range m.overrides {
		add(a)
	}
	return projects, spaces
}
