package propagate

import (
	"fmt"
	"maps"
	"slices"
)

// HoldShrinks limits the clusters that give replicas up in a move to what the fleet can spare
// now: the ready replicas beyond the requested total. A cluster is scaled down only as the
// clusters that receive its replicas report them ready (not merely written), so the ready
// replicas of the fleet never drop below the request while replicas move.
//
// planned is the replica plan; current what each member copy asks for now; ready the sum of the
// ready replicas the members report; total the request. It returns the counts to write now (the
// plan, with the scale-downs it cannot afford yet raised back) and, for each cluster whose
// scale-down waits, a message saying so. Clusters shrink in name order.
func HoldShrinks(planned map[string]int32, current map[string]int64, ready, total int64) (map[string]int32, map[string]string) {
	spare := max(ready-total, 0)
	write := maps.Clone(planned)
	var held map[string]string
	for _, name := range slices.Sorted(maps.Keys(planned)) {
		want, now := int64(planned[name]), current[name]
		if want >= now {
			continue
		}
		take := min(now-want, spare)
		spare -= take
		if take == now-want {
			continue
		}
		write[name] = int32(now - take) //nolint:gosec // between two replica counts
		if held == nil {
			held = map[string]string{}
		}
		held[name] = fmt.Sprintf("Scaling down to %d waits until the replicas that replace them are ready elsewhere (%d replicas ready for %d requested)",
			want, ready, total)
	}
	return write, held
}
