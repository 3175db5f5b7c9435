package scheduler

import (
	"errors"
	"strconv"
	"strings"
)

// Mode says how the total is spread over clusters.
type Mode string

const (
	// ModeDivided splits the total over the clusters; the counts add up to the total.
	ModeDivided Mode = "Divided"
	// ModeDuplicated gives every eligible cluster the whole total.
	ModeDuplicated Mode = "Duplicated"
)

// DefaultPreference is the key in Input.Preferences that applies to every
// cluster without an entry of its own.
const DefaultPreference = "*"

// Preference is what the user asked for one cluster (or, under
// DefaultPreference, for every cluster without its own entry).
type Preference struct {
	// Weight is the cluster's relative share of the replicas left after the
	// minimums; 0 means the cluster gets at most its MinReplicas.
	Weight int64
	// MinReplicas is placed on the cluster before anything is shared by weight.
	MinReplicas int64
	// MaxReplicas caps the cluster; nil means no cap.
	MaxReplicas *int64
}

// TaintEffect is the effect of a cluster taint that the workload does not
// tolerate. Matching taints against tolerations is the caller's job.
type TaintEffect string

const (
	// TaintEffectNoSchedule lets the cluster keep the replicas it runs but
	// gives it no new ones.
	TaintEffectNoSchedule TaintEffect = "NoSchedule"
	// TaintEffectNoExecute moves every replica away from the cluster.
	TaintEffectNoExecute TaintEffect = "NoExecute"
)

// Cluster is what the scheduler knows about one member cluster.
type Cluster struct {
	// Name is the cluster's name; it must be unique, non-empty and not "*".
	Name string
	// Ready is false when the cluster failed its health checks.
	Ready bool
	// Taints lists the effects of the cluster's taints that the workload does
	// not tolerate; effects other than NoSchedule and NoExecute are ignored.
	Taints []TaintEffect
	// Capacity is how many replicas of this workload the cluster can run in
	// all, the ones it runs now included; nil means unknown, which is unbounded.
	Capacity *int64
	// Current is how many replicas the cluster runs now.
	Current int64
}

// Input is everything one scheduling decision depends on.
type Input struct {
	// Key identifies the workload (for example "namespace/name"); it only
	// breaks ties, so that equal shares of different workloads land on
	// different clusters.
	Key string
	// Total is the number of replicas to place.
	Total int64
	// Mode is ModeDivided (the default when empty) or ModeDuplicated.
	Mode Mode
	// Rebalance converges to the proportional plan when true; when false the
	// plan moves as few replicas as it can.
	Rebalance bool
	// Preferences holds one entry per cluster name and optionally a
	// DefaultPreference entry; an entry replaces the default as a whole.
	Preferences map[string]Preference
	// Clusters are the candidate clusters, in any order.
	Clusters []Cluster
}

// Reason is a short machine-readable cause of a cluster's replica count.
type Reason string

// The reasons, in the order in which they are listed on an Assignment.
const (
	// ReasonNotReady: the cluster is not ready, so it gets 0.
	ReasonNotReady Reason = "NotReady"
	// ReasonNoExecute: the cluster has a NoExecute taint, so it gets 0.
	ReasonNoExecute Reason = "NoExecute"
	// ReasonNoPreference: neither the cluster nor "*" has a preference, so it gets 0.
	ReasonNoPreference Reason = "NoPreference"
	// ReasonZeroWeight: the cluster's weight is 0, so it gets at most its minimum.
	ReasonZeroWeight Reason = "ZeroWeight"
	// ReasonNoSchedule: the cluster has a NoSchedule taint; it keeps what it
	// runs (within its limits) and gets no more.
	ReasonNoSchedule Reason = "NoSchedule"
	// ReasonKept: rebalancing is off and the cluster keeps replicas it runs.
	ReasonKept Reason = "Kept"
	// ReasonMin: the count includes replicas placed to meet minReplicas.
	ReasonMin Reason = "Min"
	// ReasonMinNotMet: the count is below minReplicas (the total, the
	// cluster's limits or a NoSchedule taint did not allow more).
	ReasonMinNotMet Reason = "MinNotMet"
	// ReasonWeight: the count includes a share of the replicas split by weight.
	ReasonWeight Reason = "Weight"
	// ReasonDuplicated: the cluster gets a full copy of the total.
	ReasonDuplicated Reason = "Duplicated"
	// ReasonMaxCap: maxReplicas stopped the cluster from getting more.
	ReasonMaxCap Reason = "MaxCap"
	// ReasonCapacityCap: the capacity estimate stopped the cluster from getting more.
	ReasonCapacityCap Reason = "CapacityCap"
)

// allReasons lists the reasons in bit order; reasonSet bit i is allReasons[i].
var allReasons = [...]Reason{
	ReasonNotReady, ReasonNoExecute, ReasonNoPreference, ReasonZeroWeight,
	ReasonNoSchedule, ReasonKept, ReasonMin, ReasonMinNotMet, ReasonWeight,
	ReasonDuplicated, ReasonMaxCap, ReasonCapacityCap,
}

// reasonSet is a set of reasons, one bit each, in the order of allReasons.
type reasonSet uint16

const (
	whyNotReady reasonSet = 1 << iota
	whyNoExecute
	whyNoPreference
	whyZeroWeight
	whyNoSchedule
	whyKept
	whyMin
	whyMinNotMet
	whyWeight
	whyDuplicated
	whyMaxCap
	whyCapacityCap
)

// Assignment is the plan for one cluster.
type Assignment struct {
	// Cluster is the cluster's name.
	Cluster string
	// Replicas is how many replicas the cluster should run.
	Replicas int64
	// Reasons say what set Replicas, in the order of the Reason constants;
	// nil when nothing applied (for example a total of 0).
	Reasons []Reason
}

// String renders the assignment for humans, for example "a: 4 (Weight, MaxCap)".
func (a Assignment) String() string {
	var b strings.Builder
	b.WriteString(a.Cluster)
	b.WriteString(": ")
	b.WriteString(strconv.FormatInt(a.Replicas, 10))
	for i, r := range a.Reasons {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(string(r))
	}
	if len(a.Reasons) > 0 {
		b.WriteString(")")
	}
	return b.String()
}

// Plan is the scheduler's decision.
type Plan struct {
	// Assignments has one entry per input cluster, sorted by cluster name,
	// including the clusters that get 0.
	Assignments []Assignment
	// Unplaced is how many replicas could not be placed.
	Unplaced int64
	// Message says why, when replicas could not be placed or minimums could
	// not be met; it is empty otherwise.
	Message string
}

// ErrInvalidInput is wrapped by every error Schedule returns.
var ErrInvalidInput = errors.New("invalid replica scheduling input")
