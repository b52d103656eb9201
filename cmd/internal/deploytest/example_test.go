package deploytest_test

import (
	"fmt"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/deploytest"
)

// An alert rule or dashboard query may only use metrics the code
// registers; a renamed metric is caught before the alert goes silent.
func ExampleCheckMetricRefs() {
	known := map[string]bool{"lightdash_sync_held_back": true}
	fmt.Println(deploytest.CheckMetricRefs("max(lightdash_sync_held_back) > 0", known))
	fmt.Println(deploytest.CheckMetricRefs("max(lightdash_sync_held_back_total) > 0", known))
	// Output:
	// <nil>
	// metric lightdash_sync_held_back_total is not registered by the code
}
