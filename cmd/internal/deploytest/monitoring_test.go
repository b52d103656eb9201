package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// AlertMetrics are the metrics the alert rules must watch: sync failing,
// last success too old, held-back deletions, unmatched users, refused
// emails and group names, events dead-lettered, no leader, sources
// disconnected.
var AlertMetrics = []string{
	"lightdash_sync_reconcile_runs_total",
	"lightdash_sync_last_success_timestamp_seconds",
	"lightdash_sync_held_back",
	"lightdash_sync_unmatched_users",
	"lightdash_sync_invalid_identities",
	"lightdash_sync_nats_events_dead_lettered_total",
	"lightdash_sync_leader",
	"lightdash_sync_ldap_connected",
	"lightdash_sync_nats_connected",
}

// DashboardMetrics are the metrics the dashboard must show.
var DashboardMetrics = []string{
	"lightdash_sync_reconcile_runs_total",
	"lightdash_sync_full_reconcile_duration_seconds",
	"lightdash_sync_last_success_timestamp_seconds",
	"lightdash_sync_events_received_total",
	"lightdash_sync_nats_events_applied_total",
	"lightdash_sync_queue_pending",
	"lightdash_sync_plan_items",
	"lightdash_sync_unmatched_users",
	"lightdash_sync_held_back",
	"lightdash_requests_total",
	"lightdash_request_duration_seconds",
	"lightdash_sync_leader",
	"lightdash_sync_ldap_connected",
	"lightdash_sync_nats_connected",
}

type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// CheckAlerts checks deploy/monitoring/alerts.yaml: a Prometheus rule
// file (strict keys), every rule with a name, an expression over metrics
// the code registers, a valid for:, a severity and a summary; and the
// AlertMetrics all watched.
func CheckAlerts(deploy string, known map[string]bool) error {
	path := filepath.Join(deploy, "monitoring", "alerts.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(rf.Groups) == 0 {
		return fmt.Errorf("%s: no rule groups", path)
	}
	used := map[string]bool{}
	names := map[string]bool{}
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			return fmt.Errorf("%s: a group needs a name and rules", path)
		}
		for _, r := range g.Rules {
			if (r.Alert == "") == (r.Record == "") {
				return fmt.Errorf("%s: a rule needs exactly one of alert and record (expr %q)", path, r.Expr)
			}
			name := r.Alert + r.Record
			if names[name] {
				return fmt.Errorf("%s: %s is defined twice", path, name)
			}
			names[name] = true
			if err := CheckMetricRefs(r.Expr, known); err != nil {
				return fmt.Errorf("%s: %s: %w", path, name, err)
			}
			if err := balanced(r.Expr); err != nil {
				return fmt.Errorf("%s: %s: %w", path, name, err)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					return fmt.Errorf("%s: %s: for: %w", path, name, err)
				}
			}
			if r.Alert != "" && (r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "") {
				return fmt.Errorf("%s: %s needs labels.severity and annotations summary and description", path, name)
			}
			for _, m := range MetricRefs(r.Expr) {
				used[m] = true
			}
		}
	}
	for _, m := range AlertMetrics {
		if !used[m] {
			return fmt.Errorf("%s: no alert watches %s", path, m)
		}
	}
	return nil
}

// balanced catches the commonest PromQL slip, an unclosed bracket.
func balanced(expr string) error {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inStr := false
	for _, c := range expr {
		switch {
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case pairs[c] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return fmt.Errorf("unbalanced %q in %s", c, expr)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 || inStr {
		return fmt.Errorf("unclosed bracket or string in %s", expr)
	}
	return nil
}

type dashboard struct {
	Title  string  `json:"title"`
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	GridPos *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// CheckDashboard checks deploy/monitoring/grafana-dashboard.json: valid
// JSON with a title and uid, unique panel ids, every panel placed and
// titled, every query over metrics the code registers, and the
// DashboardMetrics all shown.
func CheckDashboard(deploy string, known map[string]bool) error {
	path := filepath.Join(deploy, "monitoring", "grafana-dashboard.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if d.Title == "" || d.UID == "" {
		return fmt.Errorf("%s: needs a title and a uid", path)
	}
	ids := map[int]bool{}
	used := map[string]bool{}
	var check func(ps []panel) error
	check = func(ps []panel) error {
		for _, p := range ps {
			if ids[p.ID] || p.ID == 0 {
				return fmt.Errorf("%s: panel %q: id %d is zero or repeated", path, p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Title == "" || p.Type == "" || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
				return fmt.Errorf("%s: panel %d needs a title, a type and a gridPos", path, p.ID)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				return fmt.Errorf("%s: panel %q has no queries", path, p.Title)
			}
			for _, t := range p.Targets {
				if err := CheckMetricRefs(t.Expr, known); err != nil {
					return fmt.Errorf("%s: panel %q: %w", path, p.Title, err)
				}
				if err := balanced(t.Expr); err != nil {
					return fmt.Errorf("%s: panel %q: %w", path, p.Title, err)
				}
				for _, m := range MetricRefs(t.Expr) {
					used[strings.TrimSuffix(m, "_bucket")] = true
				}
			}
			if err := check(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	if err := check(d.Panels); err != nil {
		return err
	}
	for _, m := range DashboardMetrics {
		if !used[m] {
			return fmt.Errorf("%s: no panel shows %s", path, m)
		}
	}
	return nil
}
