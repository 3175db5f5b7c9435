package member

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ObjectHandler hears of a change (add, update or delete) of an object a consumer watches in a
// member (WatchSpec.Handler). It must not block.
type ObjectHandler func(cluster string, obj client.Object)

// nudgeMembers asks every member to start the watches it does not run yet.
func (r *Registry) nudgeMembers() {
	r.mu.Lock()
	entries := make([]*entry, 0, len(r.members))
	for _, e := range r.members {
		entries = append(entries, e)
	}
	r.mu.Unlock()
	for _, e := range entries {
		e.nudgeWatches()
	}
}
