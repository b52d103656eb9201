package lightdashtest

import "net/http"

// DeviationKind says how a response departs from the OpenAPI spec.
type DeviationKind int

const (
	// AsDocumented200: the status differs from the spec's 200, the body is
	// the spec's 200 body.
	AsDocumented200 DeviationKind = iota + 1
	// NoBody: a status the spec does not list, sent with no body.
	NoBody
	// NotInSpec: the endpoint is absent from openapi-groups-users.json.
	NotInSpec
	// PlainText: a non-JSON body.
	PlainText
)

// Deviation is one way the real Lightdash, and so the fake, departs from
// its own OpenAPI spec (API-NOTES.md §3, §7, §8). Endpoint is a path template;
// Status 0 means any status. The contract test validates every response
// against the spec except as listed here; this is the one list.
type Deviation struct {
	Method   string
	Endpoint string
	Status   int
	Kind     DeviationKind
	Why      string
}

// Deviations returns the list.
func Deviations() []Deviation {
	return []Deviation{
		{http.MethodPost, "/api/v1/org/groups", http.StatusCreated, AsDocumented200,
			"create answers 201 (controller sets it); the spec says 200"},
		{http.MethodPut, "/api/v1/groups/{groupUuid}/members/{userUuid}", http.StatusCreated, AsDocumented200,
			"a member added answers 201; the spec says 200"},
		{http.MethodPut, "/api/v1/groups/{groupUuid}/members/{userUuid}", http.StatusNoContent, NoBody,
			"already a member, or not in the organization, answers 204"},
		{http.MethodDelete, "/api/v1/groups/{groupUuid}/members/{userUuid}", http.StatusNoContent, NoBody,
			"not a member answers 204"},
		{http.MethodGet, "/api/v1/user", 0, NotInSpec,
			"who-am-i is outside the groups/users subset"},
		{http.MethodGet, "/api/v2/feature-flag/{featureFlagId}", 0, NotInSpec,
			"feature flags are outside the subset; answers {id, enabled}"},
		{http.MethodPost, "/api/v1/invite-links", 0, NotInSpec,
			"an Express route, absent from the spec; answers 201"},
		{"", "", http.StatusUnauthorized, PlainText,
			"no Authorization header, or the Bearer scheme, gets passport's plain-text 401 \"Unauthorized\""},
	}
}
