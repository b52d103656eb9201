package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lightdash-sync/lightdash-sync/deploy/demo"
)

// Entry is one LDIF entry: its DN and attributes (lower-case names).
type Entry struct {
	DN    string
	Attrs map[string][]string
}

// ParseLDIF reads plain LDIF content records: "attr: value" lines, blank
// lines between entries, # comments, leading-space continuations.
func ParseLDIF(data string) ([]Entry, error) {
	var out []Entry
	var cur *Entry
	var lines []string
	sc := scanLines(data)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, " ") && len(lines) > 0 {
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if strings.TrimSpace(l) == "" {
			cur = nil
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(v, ":") || strings.HasPrefix(v, "<") {
			return nil, fmt.Errorf("line %d: %q: want attr: value (plain text only)", i+1, l)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if cur == nil {
			if k != "dn" {
				return nil, fmt.Errorf("line %d: an entry must start with dn:", i+1)
			}
			out = append(out, Entry{DN: v, Attrs: map[string][]string{}})
			cur = &out[len(out)-1]
			continue
		}
		cur.Attrs[k] = append(cur.Attrs[k], v)
	}
	return out, nil
}

// CheckSeedLDIF checks that deploy/compose/seed.ldif holds the demo
// directory (deploy/demo/directory.yaml): each user with its e-mail and
// name, each group with the same member users and member groups.
func CheckSeedLDIF(deploy string) error {
	data, err := os.ReadFile(filepath.Join(deploy, "compose", "seed.ldif"))
	if err != nil {
		return err
	}
	entries, err := ParseLDIF(string(data))
	if err != nil {
		return fmt.Errorf("seed.ldif: %w", err)
	}
	d, err := demoDirectory(deploy)
	if err != nil {
		return err
	}
	byDN := map[string]Entry{}
	userDN := map[string]string{}  // demo user id → DN
	groupDN := map[string]string{} // demo group id → DN
	emailDN := map[string]string{}
	cnDN := map[string]string{}
	for _, e := range entries {
		byDN[strings.ToLower(e.DN)] = e
		for _, m := range e.Attrs["mail"] {
			emailDN[m] = e.DN
		}
		if contains(e.Attrs["objectclass"], "groupOfNames") {
			cn := e.Attrs["cn"]
			if len(cn) != 1 {
				return fmt.Errorf("seed.ldif: %s: want one cn, got %v", e.DN, cn)
			}
			cnDN[cn[0]] = e.DN
		}
	}
	for _, u := range d.Users {
		dn, ok := emailDN[u.Email]
		if !ok {
			return fmt.Errorf("seed.ldif: no entry for demo user %s (%s)", u.ID, u.Email)
		}
		if cn := byDN[strings.ToLower(dn)].Attrs["cn"]; len(cn) == 0 || cn[0] != u.Name {
			return fmt.Errorf("seed.ldif: %s has cn %v, the demo directory says %q", dn, cn, u.Name)
		}
		userDN[u.ID] = strings.ToLower(dn)
	}
	for _, g := range d.Groups {
		dn, ok := cnDN[g.Name]
		if !ok {
			return fmt.Errorf("seed.ldif: no groupOfNames for demo group %s", g.Name)
		}
		groupDN[g.ID] = strings.ToLower(dn)
	}
	if len(cnDN) != len(d.Groups) {
		return fmt.Errorf("seed.ldif: %d groups, the demo directory has %d", len(cnDN), len(d.Groups))
	}
	for _, g := range d.Groups {
		var want []string
		for _, m := range g.Members {
			want = append(want, userDN[m])
		}
		for _, m := range g.Groups {
			want = append(want, groupDN[m])
		}
		var got []string
		for _, m := range byDN[groupDN[g.ID]].Attrs["member"] {
			got = append(got, strings.ToLower(m))
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			return fmt.Errorf("seed.ldif: group %s has members %v, the demo directory says %v", g.Name, got, want)
		}
	}
	return nil
}

// demoDirectory reads deploy/demo/directory.yaml from the deploy directory
// being checked (so a broken copy can be checked), decoded as package
// demo decodes the embedded one.
func demoDirectory(deploy string) (*demo.Directory, error) {
	data, err := os.ReadFile(filepath.Join(deploy, "demo", "directory.yaml"))
	if err != nil {
		return nil, err
	}
	var d demo.Directory
	if err := yaml.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("demo/directory.yaml: %w", err)
	}
	return &d, nil
}
