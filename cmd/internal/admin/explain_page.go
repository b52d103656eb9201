package admin

import "html/template"

// searchForm is the box on /status and /explain: a plain GET form, so it
// needs no script and the browser re-sends the page's credentials.
const searchForm = `<form action="/explain" method="get"><label>Why can't this person see something? Email:
<input type="email" name="email" value="{{.}}" required size="40"></label> <button type="submit">Explain</button></form>`

// explainPage renders /explain; html/template escapes every directory
// string, as on the status page.
var explainPage = template.Must(template.New("explain").Funcs(template.FuncMap{
	"yesno": func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lightdash-sync explain</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3}.bad{color:#b00}.ok{color:#070}</style></head>
<body><h1>lightdash-sync explain</h1>
{{template "search" .Email}}
{{if .Error}}<p class="bad">{{.Error}}</p>{{end}}
{{range .Answers}}{{if .Target}}<h2>Target {{.Target}}</h2>{{end}}
{{if .Error}}<p class="bad">{{.Error}}</p>{{end}}
{{with .Explanation}}{{template "answer" .}}{{end}}
{{end}}
<p><a href="/status">status</a></p>
</body></html>
{{define "search"}}` + searchForm + `{{end}}
{{define "answer"}}<p><b>{{.Email}}</b>, from the {{.Freshness.From}}: directory read {{.Freshness.Directory.Format "2006-01-02 15:04:05 MST"}},
plan {{.Freshness.Plan.Format "2006-01-02 15:04:05 MST"}}, Lightdash groups {{.Freshness.Lightdash.Format "2006-01-02 15:04:05 MST"}}.</p>
{{range .Notes}}<p class="bad">{{.}}</p>{{end}}
<h3>Directory entries</h3>
{{if .Directory}}<table><tr><th>source</th><th>id</th><th>DN</th><th>email</th><th>disabled</th></tr>
{{range .Directory}}<tr><td>{{.Source}}</td><td>{{.ID}}</td><td>{{.DN}}</td><td>{{.Email}}{{range .AltEmails}}, {{.}}{{end}}</td><td{{if .Disabled}} class="bad"{{end}}>{{yesno .Disabled}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
<h3>Directory groups</h3>
{{if .Groups}}<table><tr><th>source</th><th>group</th><th>how</th><th>mapping</th></tr>
{{range .Groups}}<tr><td>{{.Source}}</td><td>{{.Group.Name}}<br><small>{{.Group.DN}}</small></td>
<td>{{if .Direct}}direct{{else}}nested: {{range $i, $p := .Path}}{{if $i}} &gt; {{end}}{{$p.Name}}{{end}}{{end}}</td>
<td>{{with .Mapping}}{{if eq .Verdict "mapped"}}<span class="ok">{{.LightdashGroup}}</span> ({{.Rule}}){{else}}<span class="bad">not synced: {{.Verdict}}</span>{{end}}{{if .Reason}}: {{.Reason}}{{end}}{{end}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
<h3>Lightdash account</h3>
{{with .Account}}<p><b{{if ne .Status "active"}} class="bad"{{end}}>{{.Status}}</b>{{if .UUID}} · {{.UUID}} · {{.Email}} · {{.Role}}{{end}}{{if .Detail}}: {{.Detail}}{{end}}</p>{{end}}
<h3>Lightdash groups (now / should be)</h3>
{{if .Lightdash}}<table><tr><th>group</th><th>now</th><th>should</th><th>state</th><th>why</th></tr>
{{range .Lightdash}}<tr><td>{{.Name}}</td><td>{{yesno .Now}}</td><td>{{yesno .Should}}</td><td{{if ne .State "ok"}} class="bad"{{end}}>{{.State}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
<h3>Project roles and spaces</h3>
{{if .Grants}}<table><tr><th>group</th><th>kind</th><th>project or space</th><th>role</th><th>now</th><th>should</th><th>state</th><th>why</th></tr>
{{range .Grants}}<tr><td>{{.Group}}</td><td>{{.Kind}}</td><td>{{.Target}}</td><td>{{if .Had}}{{.Had}} &rarr; {{end}}{{.Role}}</td><td>{{yesno .Now}}</td><td>{{yesno .Should}}</td><td{{if ne .State "ok"}} class="bad"{{end}}>{{.State}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
<h3>Held back or pending</h3>
{{if .Pending}}<ul>{{range .Pending}}<li>{{.Kind}}{{if .Group}} {{.Group}}{{end}}: {{.Reason}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
{{end}}`))
