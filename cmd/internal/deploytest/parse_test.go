package deploytest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/deploytest"
)

func TestCheckArgs(t *testing.T) {
	b := &deploytest.Binary{Commands: map[string]map[string]bool{
		"run": {"config": true, "dry-run": true},
	}}
	tests := []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{"flag and value", []string{"run", "--config", "/c.yaml"}, map[string]string{"config": "/c.yaml"}, ""},
		{"flag=value", []string{"run", "-config=/c.yaml", "--dry-run"}, map[string]string{"config": "/c.yaml", "dry-run": ""}, ""},
		{"empty", nil, nil, "no subcommand"},
		{"unknown subcommand", []string{"sync"}, nil, `unknown subcommand "sync"`},
		{"unknown flag", []string{"run", "--conf", "x"}, nil, `unknown flag "--conf"`},
		{"stray argument", []string{"run", "config.yaml"}, nil, `unexpected argument "config.yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.CheckArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	ins, err := deploytest.ParseDockerfile("# c\nFROM a AS b\n\nRUN x \\\n  y\nUSER 1\n")
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, in := range ins {
		got += in.Cmd + "(" + in.Args + ");"
	}
	if want := "FROM(a AS b);RUN(x y);USER(1);"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if _, err := deploytest.ParseDockerfile("RUN x \\\n"); err == nil {
		t.Fatal("a dangling continuation parsed without error")
	}
}

func TestParseUnit(t *testing.T) {
	u, err := deploytest.ParseUnit("[Service]\n# c\nA=1\nA=2\nB=x \\\n y\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := u["Service"]["A"]; len(got) != 2 || u.Get("Service", "A") != "2" {
		t.Fatalf("A = %v, want [1 2]", got)
	}
	if got := u.Get("Service", "B"); got != "x  y" {
		t.Fatalf("B = %q, want %q", got, "x  y")
	}
	for _, bad := range []string{"A=1\n", "[Service\nA=1\n", "[Service]\nnot a directive\n"} {
		if _, err := deploytest.ParseUnit(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

func TestParseLDIF(t *testing.T) {
	es, err := deploytest.ParseLDIF("# c\ndn: cn=a,dc=x\ncn: a\nmember: uid=b,\n dc=x\n\ndn: cn=c,dc=x\ncn: c\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Attrs["member"][0] != "uid=b,dc=x" {
		t.Fatalf("got %+v", es)
	}
	for _, bad := range []string{"cn: a\n", "dn: cn=a\ncn:: YQ==\n", "dn: cn=a\nnovalue\n"} {
		if _, err := deploytest.ParseLDIF(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

func TestRegisteredMetricsThroughHelpers(t *testing.T) {
	dir := t.TempDir()
	src := `package m

import "github.com/prometheus/client_golang/prometheus"

func f() {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ns", Subsystem: "sub", Name: name, Help: help}, nil)
	}
	counter("a_total", "")
	_ = prometheus.NewGauge(prometheus.GaugeOpts{Name: "plain"})
	_ = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h_seconds"})
}
`
	if err := os.WriteFile(filepath.Join(dir, "m.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := deploytest.RegisteredMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ns_sub_a_total", "plain", "h_seconds", "h_seconds_bucket", "h_seconds_sum", "h_seconds_count"}
	for _, w := range want {
		if !got[w] {
			t.Errorf("%s missing", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCheckMetricRefs(t *testing.T) {
	known := map[string]bool{"lightdash_x_seconds": true, "lightdash_x_seconds_bucket": true, "lightdash_x_seconds_sum": true,
		"lightdash_x_seconds_count": true, "lightdash_y_total": true}
	for expr, ok := range map[string]bool{
		`rate(lightdash_y_total[5m])`:                         true,
		`histogram_quantile(0.9, lightdash_x_seconds_bucket)`: true,
		`lightdash_x_seconds_sum / lightdash_x_seconds_count`: true,
		`lightdash_z_total`:                                   false,
		`lightdash_y_total_bucket`:                            false,
		`up == 0`:                                             false,
	} {
		if err := deploytest.CheckMetricRefs(expr, known); (err == nil) != ok {
			t.Errorf("CheckMetricRefs(%q) = %v, want ok=%v", expr, err, ok)
		}
	}
}

func TestParseConfigRejectsMissingVariables(t *testing.T) {
	_, err := deploytest.ParseConfig([]byte("lightdash:\n  token_file: ${NOPE}/t\n"), map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("err %v, want it to name NOPE", err)
	}
}
