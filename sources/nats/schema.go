package nats

import _ "embed"

//go:embed event.schema.json
var schema []byte

// Schema returns the JSON Schema (draft 2020-12) of the events Decode
// accepts, so producers can validate before publishing. Decode is stricter
// in one respect the schema cannot express: subject must equal data.id.
func Schema() []byte { return append([]byte(nil), schema...) }
