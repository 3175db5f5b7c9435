// Package conditions holds kfed's status conventions: each writer of a status owns its own
// condition types, and Ready, Reconciling and Stalled are a pure summary of them, so that
// kubectl wait, kstatus, Flux and Argo CD read the same truth whoever wrote last.
package conditions

import (
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// Contributors are the owned condition types that Ready summarises, in order of precedence:
// the first one that is not True speaks for Ready.
var Contributors = []string{v1alpha1.ConditionPropagated, v1alpha1.ConditionDNSPublished, v1alpha1.ConditionGlobalAddressReady}

// stalledReasons are the reasons of an owned condition that say kfed cannot go on without a
// change by the user (kstatus's Stalled); any other False reason is still converging.
var stalledReasons = []string{
	v1alpha1.ReasonInvalid,
	v1alpha1.ReasonSourceNotFound,
	v1alpha1.ReasonNoClusters,
	v1alpha1.ReasonPropagationFailed,
	v1alpha1.ReasonRecordConflict,
	v1alpha1.ReasonDomainNotFound,
	v1alpha1.ReasonStrategyNotSupported,
}

// IsStalledReason tells whether a condition reason means kfed cannot go on without a change.
func IsStalledReason(reason string) bool { return slices.Contains(stalledReasons, reason) }

// Summarize sets Ready, Reconciling and Stalled from the owned conditions present:
//   - Ready is True when every owned condition is True (it takes the first one's reason and
//     message), else False with the reason and message of the first one that is not True;
//   - Stalled is True, with the same reason, when that condition's reason is a stalled reason;
//   - Reconciling is True, with the reason of the first owned condition that is not True and
//     not stalled, when there is one.
//
// Reconciling and Stalled are removed when they are not True, so a converged status carries
// Ready alone. With no owned condition present nothing is changed.
func Summarize(conds *[]metav1.Condition, generation int64) {
	var owned []metav1.Condition
	for _, t := range Contributors {
		if c := meta.FindStatusCondition(*conds, t); c != nil {
			owned = append(owned, *c)
		}
	}
	if len(owned) == 0 {
		return
	}
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: generation,
		Reason: owned[0].Reason, Message: owned[0].Message}
	var stalled, reconciling *metav1.Condition
	for i := range owned {
		c := &owned[i]
		if c.Status == metav1.ConditionTrue {
			continue
		}
		if ready.Status == metav1.ConditionTrue {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, c.Reason, c.Message
		}
		switch {
		case IsStalledReason(c.Reason):
			if stalled == nil {
				stalled = c
			}
		case reconciling == nil:
			reconciling = c
		}
	}
	meta.SetStatusCondition(conds, ready)
	set := func(t string, from *metav1.Condition) {
		if from == nil {
			meta.RemoveStatusCondition(conds, t)
			return
		}
		meta.SetStatusCondition(conds, metav1.Condition{Type: t, Status: metav1.ConditionTrue, ObservedGeneration: generation,
			Reason: from.Reason, Message: from.Message})
	}
	set(v1alpha1.ConditionStalled, stalled)
	set(v1alpha1.ConditionReconciling, reconciling)
}
