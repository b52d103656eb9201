package sources

// ConfigError is a configuration problem found by a source's or the
// worker's Validate: Key is the option's configuration key within its
// section (urls[0], bind_dn), Msg what is wrong with it. The caller that
// read the key from a file adds the file, line and section.
type ConfigError struct {
	Key string
	Msg string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Msg }
