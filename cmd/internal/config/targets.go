package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Target is one Lightdash organization or instance kept in step with the
// shared sources. Each target is an independent unit: its own source
// sessions, worker, state, daemon loop and (with ha.enabled) lease, so
// replicas can share the targets between them.
//
// Mapping, Identity and Sync, when given, override the top-level sections
// for this target: the keys the target sets win, the others keep the
// top-level values (a list such as mapping.rules is replaced whole).
type Target struct {
	// Name identifies the target in state and lease keys, the NATS durable
	// consumer, metrics (label target), logs and /status.
	Name      string    `yaml:"name"`
	Lightdash Lightdash `yaml:"lightdash"`
	Mapping   *Mapping  `yaml:"mapping,omitempty"`
	Identity  *Identity `yaml:"identity,omitempty"`
	Sync      *Sync     `yaml:"sync,omitempty"`

	// node is the target's document, decoded by Parse once the shared
	// sections are known (they are what the overrides start from).
	node *yaml.Node
}

// UnmarshalYAML keeps the document for decodeTargets: a target's
// lightdash section starts from the defaults and its overrides from the
// shared sections, which a plain decode could not express.
func (t *Target) UnmarshalYAML(n *yaml.Node) error {
	t.node = n
	return nil
}

// targetDoc is what a target's document decodes into: pointers so Parse
// can pre-fill them with the values the target inherits.
type targetDoc struct {
	Name      string     `yaml:"name"`
	Lightdash *Lightdash `yaml:"lightdash"`
	Mapping   *Mapping   `yaml:"mapping"`
	Identity  *Identity  `yaml:"identity"`
	Sync      *Sync      `yaml:"sync"`
}

// decodeTargets decodes every target's document over its inherited values.
func (c *Config) decodeTargets(lines map[int]string) error {
	def := Default().Lightdash
	for i := range c.Targets {
		t := &c.Targets[i]
		if t.node == nil {
			continue
		}
		ld, m, id, s := def, c.Mapping, c.Identity, c.Sync
		doc := targetDoc{Lightdash: &ld, Mapping: &m, Identity: &id, Sync: &s}
		if err := t.node.Decode(&doc); err != nil {
			return typeError(err, lines)
		}
		prefix := fmt.Sprintf("targets[%d].", i)
		// A key given with no value ("lightdash:" and nothing after it)
		// decodes as null and sets its pointer to nil: the target then
		// has an empty lightdash section (validation names what is
		// missing) and inherits the others.
		if doc.Lightdash == nil {
			doc.Lightdash = &def
		}
		t.Name, t.Lightdash = doc.Name, *doc.Lightdash
		if _, ok := c.keyLines[prefix+"mapping"]; ok && doc.Mapping != nil {
			t.Mapping = doc.Mapping
		}
		if _, ok := c.keyLines[prefix+"identity"]; ok && doc.Identity != nil {
			t.Identity = doc.Identity
		}
		if _, ok := c.keyLines[prefix+"sync"]; ok && doc.Sync != nil {
			t.Sync = doc.Sync
		}
		t.node = nil
	}
	return nil
}

var targetNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// validateTargets checks the targets' lightdash sections: lightdash and
// targets exclude each other, names are valid and unique, and each
// target's sections are checked under its key (targets[1].lightdash.url).
// validateUnits checks the mappings and policies later, after the sources
// they name.
func (c *Config) validateTargets() error {
	if !c.hasTargets() {
		return c.validateLightdash("", &c.Lightdash)
	}
	if line, ok := c.keyLines["lightdash"]; ok || c.Lightdash.URL != "" || c.Lightdash.Token != "" {
		return &Error{Key: "lightdash", Line: line, Msg: "lightdash and targets cannot both be set: with targets, give each target its own lightdash section"}
	}
	if len(c.Targets) == 0 {
		return c.errorf("targets", "required: at least one target (or remove targets and use lightdash)")
	}
	names := map[string]bool{}
	for i := range c.Targets {
		t := &c.Targets[i]
		key := fmt.Sprintf("targets[%d]", i)
		if err := c.uniqueName(key+".name", "target", t.Name, targetNameRE, "lowercase letters, digits and -, starting with a letter or digit, at most 63", names); err != nil {
			return err
		}
		if err := c.validateLightdash(key+".", &t.Lightdash); err != nil {
			return err
		}
	}
	return nil
}

// hasTargets reports whether the configuration uses targets (even an
// empty, invalid list) rather than lightdash. A unit (from Units) never
// does.
func (c *Config) hasTargets() bool {
	if c.TargetName != "" {
		return false
	}
	_, given := c.keyLines["targets"]
	return c.Targets != nil || given
}

// validateUnits checks the mapping, identity and sync sections in force
// for each target; a target's own section is named under its key, a
// shared one under the top-level key.
func (c *Config) validateUnits() error {
	if !c.hasTargets() {
		if err := c.validateMapping("", &c.Mapping); err != nil {
			return err
		}
		return c.validatePolicy("", &c.Identity, "", &c.Sync)
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		key := fmt.Sprintf("targets[%d].", i)
		m, id, s := &c.Mapping, &c.Identity, &c.Sync
		mk, ik, sk := "", "", ""
		if t.Mapping != nil {
			m, mk = t.Mapping, key
		}
		if t.Identity != nil {
			id, ik = t.Identity, key
		}
		if t.Sync != nil {
			s, sk = t.Sync, key
		}
		if err := c.validateMapping(mk, m); err != nil {
			return err
		}
		if err := c.validatePolicy(ik, id, sk, s); err != nil {
			return err
		}
	}
	return nil
}

// Units expands the configuration into its independent units, one per
// target. Each is a complete Config without targets: the target's
// lightdash section, its effective mapping, identity and sync, and the
// shared rest, with TargetName set. Per target, so that units never share
// a durable consumer, a cookie or a state file, the NATS sources' consumer
// gets "-<name>" appended and a file state path gets ".<name>" before its
// extension. A configuration without targets is one unit, itself, with an
// empty TargetName: its keys and names are unchanged.
func (c *Config) Units() []*Config {
	if len(c.Targets) == 0 {
		return []*Config{c}
	}
	out := make([]*Config, 0, len(c.Targets))
	for _, t := range c.Targets {
		out = append(out, c.unit(t))
	}
	return out
}

// ForceDryRun makes every unit a dry run, whatever the file says: the
// --dry-run flag. A target's own sync section was copied from the shared
// one when the file was parsed, so setting the shared one alone left
// such a target writing.
func (c *Config) ForceDryRun() {
	c.Sync.DryRun = true
	for _, t := range c.Targets {
		if t.Sync != nil {
			t.Sync.DryRun = true
		}
	}
}

// unit is target t's unit (see Units).
func (c *Config) unit(t Target) *Config {
	u := *c
	u.Targets = nil
	u.TargetName = t.Name
	u.Lightdash = t.Lightdash
	if t.Mapping != nil {
		u.Mapping = *t.Mapping
	}
	if t.Identity != nil {
		u.Identity = *t.Identity
	}
	if t.Sync != nil {
		u.Sync = *t.Sync
	}
	u.Sources = make([]Source, len(c.Sources))
	for i, s := range c.Sources {
		if s.NATS != nil {
			n := *s.NATS
			n.Consumer += "-" + t.Name
			s.NATS = &n
		}
		if s.LDAP != nil {
			l := *s.LDAP
			s.LDAP = &l
		}
		u.Sources[i] = s
	}
	if u.State.Type == "file" {
		u.State.Path = unitPath(c.State.Path, t.Name)
	}
	return &u
}

// Unit returns the unit named name, or nil. The single unit of a
// configuration without targets is named "". Only that unit is built.
func (c *Config) Unit(name string) *Config {
	if len(c.Targets) == 0 {
		if name == "" {
			return c
		}
		return nil
	}
	for _, t := range c.Targets {
		if t.Name == name {
			return c.unit(t)
		}
	}
	return nil
}

// TargetNames lists the units' names in configuration order ("" for a
// configuration without targets).
func (c *Config) TargetNames() []string {
	if len(c.Targets) == 0 {
		return []string{""}
	}
	out := make([]string, len(c.Targets))
	for i, t := range c.Targets {
		out[i] = t.Name
	}
	return out
}

// unitPath inserts ".name" before path's extension:
// state.json → state.prod.json.
func unitPath(path, name string) string {
	ext := filepath.Ext(path)
	if ext == "" || strings.ContainsAny(ext, `/\`) {
		return path + "." + name
	}
	return strings.TrimSuffix(path, ext) + "." + name + ext
}
