// Package scheduler plans how many replicas of a federated workload each
// member cluster runs.
//
// It is a pure function, Schedule: an Input (the total, the mode, the
// per-cluster preferences, what is known about each cluster, the rebalance
// flag and a key naming the workload) goes in and a Plan comes out. There
// are no clients, no context, no clock and no global state, and the same
// input always gives the same plan, whatever the order of Input.Clusters.
//
// # Eligibility
//
// A cluster is eligible when it is ready, has no NoExecute taint and has a
// preference: its own entry in Input.Preferences or, failing that, the "*"
// entry (an entry replaces "*" as a whole; fields are not merged). An
// ineligible cluster gets 0 and says why: NotReady, NoExecute, NoPreference
// (all that apply). Replicas it ran move to the other clusters.
//
// # Bounds
//
// Each eligible cluster has an upper bound, hi, and a lower bound, lo:
//
//   - its limit is min(maxReplicas, capacity), where a missing maxReplicas or
//     an unknown capacity does not bound it. Capacity counts every replica of
//     the workload the cluster can run, the ones it runs now included;
//   - hi is the limit, lowered to what the cluster runs now when it has a
//     NoSchedule taint (it keeps what it runs but gets no more), and lowered
//     to minReplicas when its weight is 0 (so weight 0 and no minimum means
//     nothing);
//   - lo is min(minReplicas, hi): a minimum the cluster cannot reach is not
//     placed (MinNotMet, plus MaxCap or CapacityCap when the limit is why).
//
// # Divided with rebalance
//
// With Mode Divided (the default) and Rebalance true the plan is the
// proportional plan, built in three steps:
//
//  1. Minimums first: every cluster gets lo. When the total cannot cover the
//     minimums, the total is split in proportion to them instead, and the
//     plan's Message says so.
//  2. NoSchedule clusters keep what they run, up to hi. Only when the rest of
//     the total cannot cover them is it split among them by weight.
//  3. The rest is shared by weight among the other eligible clusters with
//     weight > 0: each gets weight/sum(weights) of it, but no cluster more
//     than hi. A cluster stopped by its hi keeps its hi (MaxCap or
//     CapacityCap) and the excess is shared again among the others
//     (water-filling). Minimums add to the weighted share: with a minimum of 5
//     on a and equal weights, 11 replicas over a and b give a 5 + 3 and b 3.
//
// Shares are rounded by largest remainder: each cluster gets the floor of its
// exact share and the replicas left over go one each to the largest
// fractional remainders, so 10 over 3 equal weights is 4/3/3, never 4/4/2,
// and 1,000 over 5 is 200 each. Equal remainders are broken by a hash of the
// workload key and the cluster name, smallest first, then by name; so a
// single replica of many workloads does not always land on the same cluster.
// The hash is the 64-bit FNV-1a of key + "/" + name, passed through the
// MurmurHash3 64-bit finalizer (FNV-1a alone orders names that differ only in
// their last character, such as member-1 and member-2, almost by that
// character). Changing it would move replicas, so it is part of the contract.
//
// A NoSchedule cluster keeps what it runs also under rebalance: it is not
// shrunk toward its share, so rebalancing never moves replicas away from a
// cluster that could not take them back.
//
// # Divided without rebalance
//
// With Rebalance false the plan moves as few replicas as it can. Each
// cluster starts from what it runs, clamped to [lo, hi]; when the minimums
// cannot all be met, no cluster starts above its own minimum (the start is
// min(current, lo)). The proportional plan above is the target, and:
//
//   - when the starts add up to the total, nothing moves (a plan that is
//     applied is stable);
//   - when they fall short (scale up, a cluster lost), only the difference
//     is placed, on the clusters below their target, in proportion to how
//     far below they are; no cluster loses a replica;
//   - when they are over (scale down, a minimum to meet), only the clusters
//     above their target give back, in proportion to how far above they
//     are; no cluster gains a replica.
//
// Either way each cluster ends between its start and its target. A new
// cluster therefore gets nothing until the total grows or Rebalance is set.
//
// # Duplicated
//
// With Mode Duplicated every eligible cluster gets the whole total, up to
// hi: min(total, maxReplicas, capacity), what it runs under NoSchedule, and
// its minimum under weight 0. minReplicas adds nothing else, and Rebalance
// has no effect. Unplaced is the total minus the largest count: the replicas
// that no cluster runs.
//
// # What could not be placed
//
// In Divided mode the counts add up to min(total, sum of hi); Unplaced is
// the rest. When Unplaced is not 0 the Message says why: every cluster that
// can take replicas is at its limit, or no cluster can take any, with the
// number of clusters blocked by each cause (not ready, NoExecute, no
// preference, a limit of 0, weight 0 without minimum, NoSchedule running
// none). A total below the sum of the minimums is reported in the Message
// too. Otherwise the Message is empty.
//
// # Reasons
//
// Every Assignment lists the reasons that set its count, in this order:
// NotReady, NoExecute and NoPreference (ineligible, 0); ZeroWeight (at most
// the minimum); NoSchedule (keeps what it runs, no more); Kept (rebalance off
// and the cluster keeps replicas it runs); Min (the count includes replicas
// placed for minReplicas); MinNotMet (below minReplicas); Weight (the count
// includes a weighted share, or was moved toward it); Duplicated (a full
// copy); MaxCap and CapacityCap (that limit stopped the cluster from getting
// more, or cut what it ran). Assignments are sorted by cluster name and
// there is one for every input cluster, 0 included.
//
// # Errors
//
// Schedule fails only on malformed input, with an error wrapping
// ErrInvalidInput that names the field: a negative total, weight,
// minReplicas, maxReplicas, capacity or current count; minReplicas above
// maxReplicas; an unknown mode; an empty, "*" or repeated cluster name.
//
// # Cost
//
// Arithmetic is exact and integer: shares are computed as
// weight*amount/sum with 128-bit products and remainders, and sums of
// weights wider than 64 bits fall back to math/big, so any int64 input is
// handled. The cost depends on the number of clusters n, not on the number
// of replicas: names are ordered by a radix sort, only clusters that a cap
// could stop are sorted (O(n log n) at worst), and the clusters that round
// up are found by quickselect. The number of allocations does not grow with
// n: five for a plan without remainders to round, a few more with them or
// with a Message.
package scheduler
