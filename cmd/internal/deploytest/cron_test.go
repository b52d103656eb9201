package deploytest

import "github.com/robfig/cron/v3"

// cronSchedule parses a Kubernetes CronJob schedule (standard 5 fields or
// a @descriptor), with the parser the daemon uses for schedule.reconcile.
func cronSchedule(s string) (cron.Schedule, error) {
	return cron.ParseStandard(s)
}
