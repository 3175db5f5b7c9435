package scheduler_test

import (
	"fmt"

	"github.com/kfed-io/kfed/internal/scheduler"
)

// The federation walkthrough: 1,000 replicas over five clusters of equal
// weight, one of which capped at 150.
func ExampleSchedule() {
	maxReplicas := int64(150)
	plan, err := scheduler.Schedule(scheduler.Input{
		Key:       "default/frontend",
		Total:     1000,
		Rebalance: true,
		Preferences: map[string]scheduler.Preference{
			"*":              {Weight: 1},
			"asia-east1-a":   {Weight: 1, MaxReplicas: &maxReplicas},
			"europe-west1-b": {Weight: 1, MinReplicas: 10},
		},
		Clusters: []scheduler.Cluster{
			{Name: "us-east1-b", Ready: true},
			{Name: "europe-west1-b", Ready: true},
			{Name: "asia-east1-a", Ready: true},
			{Name: "us-west1-a", Ready: true},
			{Name: "us-central1-c", Ready: false},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range plan.Assignments {
		fmt.Println(a)
	}
	// Output:
	// asia-east1-a: 150 (Weight, MaxCap)
	// europe-west1-b: 290 (Min, Weight)
	// us-central1-c: 0 (NotReady)
	// us-east1-b: 280 (Weight)
	// us-west1-a: 280 (Weight)
}
