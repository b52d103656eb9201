package admin

import "html/template"

// The status page is plain server-rendered HTML: no scripts, readable in
// any browser or with curl, and html/template escapes every directory
// string (group and user names are untrusted input).
var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"yesno": func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lightdash-sync status</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3}.bad{color:#b00}.ok{color:#070}</style></head>
<body><h1>lightdash-sync</h1>
{{template "search" ""}}
<p>Version {{.Version}} · started {{.StartedAt.Format "2006-01-02 15:04:05 MST"}} · now {{.Now.Format "2006-01-02 15:04:05 MST"}}{{if .DryRun}} · <b>dry run: nothing is written</b>{{end}}</p>
{{if .Targets}}{{range .Targets}}<h2 class="target">Target {{.Target}} ({{.Lightdash}})</h2>
{{template "unit" .}}{{end}}{{else}}{{template "unit" .}}{{end}}
<p><a href="/status.json">status.json</a> · <a href="/metrics">metrics</a> · <a href="/readyz">readyz</a></p>
</body></html>
{{define "search"}}` + searchForm + `{{end}}
{{define "unit"}}<h2>Leadership</h2>
{{if .Leader.Enabled}}<p>This replica ({{.Leader.Identity}}) is {{if .Leader.IsLeader}}<b class="ok">the leader</b>{{else}}a standby; leader: {{.Leader.Holder}}{{end}}.</p>
{{else}}<p>Single instance (no leader election configured).</p>{{end}}
<h2>Sources</h2>
<table><tr><th>source</th><th>type</th><th>connected</th><th>detail</th><th>last event</th></tr>
{{range .Sources}}<tr><td>{{.Name}}</td><td>{{.Type}}</td><td class="{{if .Connected}}ok{{else}}bad{{end}}">{{yesno .Connected}}</td><td>{{.Detail}}</td><td>{{with .LastEvent}}{{.Format "15:04:05"}}{{end}}</td></tr>
{{end}}</table>
<p>Work queue: {{.Queue.Pending}} pending, {{.Queue.InFlight}} in flight.</p>
{{with .Progress}}<h2>Full reconciliation in progress</h2>
<p>Started {{.Started.Format "15:04:05"}}: <b>{{.Phase}}</b></p>
{{if .Reads}}<ul>{{range .Reads}}<li>{{.What}}: {{if .Done}}read, {{.Size}}{{else}}reading…{{end}}</li>{{end}}</ul>{{end}}
{{with .Writes}}<p>Writes {{.Done}} of {{.Total}}{{if .ETA}} · {{printf "%.1f" .PerSecond}}/s · about {{.ETA}} left{{end}}</p>{{end}}
{{end}}<h2>Last full reconciliation</h2>
{{with .LastReconcile}}
<p>Started {{.Started.Format "2006-01-02 15:04:05 MST"}}, took {{.Duration}}, result <b class="{{if eq .Result "ok"}}ok{{else}}bad{{end}}">{{.Result}}</b>{{if .Error}}: {{.Error}}{{end}}</p>
{{if .Blocked}}<p class="bad">Blocked: {{.Blocked}}</p>{{end}}
{{if .DirectoryRead}}<p>Directory read: {{range $k, $v := .DirectoryRead}}{{$k}} <b>{{$v}}</b> {{end}}</p>{{end}}
<table><tr>{{range $k, $v := .Summary}}<th>{{$k}}</th>{{end}}</tr><tr>{{range $k, $v := .Summary}}<td>{{$v}}</td>{{end}}</tr></table>
<h3>Unmatched directory users ({{len .Unmatched}})</h3>
{{if .Unmatched}}<table><tr><th>source</th><th>user</th><th>email</th><th>groups</th><th>why</th></tr>
{{range .Unmatched}}<tr><td>{{.Source}}</td><td>{{.UserID}}</td><td>{{.Email}}</td><td>{{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{end}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
<h3>Conflicts ({{len .Conflicts}})</h3>
{{if .Conflicts}}<table><tr><th>group</th><th>why</th></tr>{{range .Conflicts}}<tr><td>{{.Name}}</td><td>{{.Reason}}</td></tr>{{end}}</table>{{else}}<p>None.</p>{{end}}
<h3>Held-back deletions and removals ({{len .HeldBack}})</h3>
{{if .HeldBack}}<table><tr><th>group</th><th>kind</th><th>why</th></tr>{{range .HeldBack}}<tr><td>{{.Name}}</td><td>{{.Kind}}</td><td>{{.Reason}}</td></tr>{{end}}</table>{{else}}<p>None.</p>{{end}}
<h3>Access changes ({{len .Access}})</h3>
{{if .Access}}<table><tr><th>group</th><th>change</th><th>project</th><th>space</th><th>role</th><th>was</th><th>why</th></tr>{{range .Access}}<tr><td>{{.Group}}</td><td>{{.Op}}</td><td>{{.ProjectName}}</td><td>{{.SpaceName}}</td><td>{{.Role}}</td><td>{{.OldRole}}</td><td>{{.Reason}}</td></tr>{{end}}</table>{{else}}<p>None.</p>{{end}}
<h3>Problems ({{len .Problems}})</h3>
{{if .Problems}}<ul>{{range .Problems}}<li>{{if .Name}}{{.Name}}: {{end}}{{.Reason}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
{{else}}<p>None yet.</p>{{end}}
{{end}}`))
