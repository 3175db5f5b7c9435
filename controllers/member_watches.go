package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/internal/propagate"
)

// copyWatches are propagation's member watches (member.Registry.WatchFor): one per member kind,
// of the copies kfed manages (label federation.kfed.io/managed=true), unstructured, keeping only
// kfed's own managedFields entries (the plan reads them to tell whether a hand-over is needed).
// The reconcilers of every federated kind share them (a FederatedDeployment and a FederatedObject
// of a Deployment read the same member kind); a change of a copy wakes the object its origin
// annotation names, in the reconciler of that object's kind only.
type copyWatches struct {
	reg *member.Registry

	mu      sync.Mutex
	byGVK   map[schema.GroupVersionKind]*member.Watch
	changes map[string]copyHandler // by federated kind
}

// copyHandler hears of a change of a copy in a cluster, with the object its origin names.
type copyHandler func(cluster string, obj client.Object, origin types.NamespacedName)

func newCopyWatches(reg *member.Registry) *copyWatches {
	return &copyWatches{reg: reg, byGVK: map[schema.GroupVersionKind]*member.Watch{}, changes: map[string]copyHandler{}}
}

// managedSelector chooses the member objects kfed manages.
var managedSelector = labels.SelectorFromSet(managedLabels())

// managedLabels are the labels of the member objects kfed manages.
func managedLabels() map[string]string { return map[string]string{v1alpha1.LabelManaged: "true"} }

// of returns the watch of a member kind, starting it in every member the first time.
func (w *copyWatches) of(gvk schema.GroupVersionKind) (*member.Watch, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if mw := w.byGVK[gvk]; mw != nil {
		return mw, nil
	}
	mw, err := w.reg.WatchFor(member.WatchSpec{
		Name:                "propagation/" + gvk.String(),
		GVK:                 gvk,
		Selector:            managedSelector,
		Handler:             w.changed,
		Unstructured:        true,
		KeepManagedFieldsOf: propagate.FieldOwner,
	})
	if err != nil {
		return nil, err
	}
	w.byGVK[gvk] = mw
	return mw, nil
}

// handle registers the handler of the copies of one federated kind's objects.
func (w *copyWatches) handle(kind string, fn copyHandler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.changes[kind] = fn
}

// changed hands a changed copy to the handler of the kind its origin names.
func (w *copyWatches) changed(cluster string, o client.Object) {
	origin, err := propagate.ParseOrigin(o.GetAnnotations()[v1alpha1.AnnotationOrigin])
	if err != nil {
		return
	}
	w.mu.Lock()
	fn := w.changes[origin.Kind]
	w.mu.Unlock()
	if fn != nil {
		fn(cluster, o, types.NamespacedName{Namespace: origin.Namespace, Name: origin.Name})
	}
}
