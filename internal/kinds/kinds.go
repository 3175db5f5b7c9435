// Package kinds is the one table of kfed's federated kinds: the manager sets up a reconciler
// per entry, `kfed status` lists them, `kfed federate` converts native objects to them (each
// entry's FromNative), propagation completes member objects with each entry's Member hook (a
// FederatedSecret's source Secret, a FederatedService's normalisation), and a test checks the
// manager's RBAC against them. Adding a kind is one entry here plus its API type.
package kinds

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/propagate"
)

// Kind is one federated kind.
type Kind struct {
	// Name is the kind, e.g. FederatedDeployment; Plural its resource, e.g. federateddeployments.
	Name, Plural string
	// Typed says the kind has a typed template of one native kind (its TargetGVK): `kfed
	// federate` converts objects of that kind to it (FromNative). FederatedObject and
	// ClusterFederatedObject carry a whole manifest of any kind instead.
	Typed bool
	// Workload says the member objects run replicas that kfed counts (status.replicas).
	Workload bool
	// New returns an empty object of the kind; NewList an empty list of it.
	New     func() propagate.Federated
	NewList func() client.ObjectList

	// FromNative converts a native object of the kind's TargetGVK (server fields already
	// dropped) to the federated kind, refusing fields the template cannot carry; note tells
	// the user what else to do ("" for nothing). Set exactly for the typed kinds.
	FromNative func(native *unstructured.Unstructured) (obj client.Object, note string, err error)
	// TemplateOmits are the top-level fields of the native kind that the typed template cannot
	// carry: a native object that has one becomes a FederatedObject instead (ConfigMap's
	// immutable), unless AlwaysTyped.
	TemplateOmits []string
	// AlwaysTyped says a native object of the kind always becomes this kind, even with fields
	// its template cannot carry: a Secret's data must never live in a custom resource.
	AlwaysTyped bool
	// Member, when set, reads from the host what the member objects are built from besides the
	// federated object, and returns what completes them (propagate.Target.Finish). A source
	// that does not exist is a *SourceNotFoundError.
	Member func(ctx context.Context, host client.Reader, obj propagate.Federated) (finish func(map[string]any) error, err error)
}

// SourceNotFoundError says a federated object names a source that does not exist (status
// reason SourceNotFound).
type SourceNotFoundError struct{ Message string }

func (e *SourceNotFoundError) Error() string { return e.Message }

// All are the federated kinds, in the order `kfed status` shows them.
var All = []Kind{
	kind[v1alpha1.FederatedDeployment, v1alpha1.FederatedDeploymentList]("federateddeployments", workload,
		fromNative(func(n *appsv1.Deployment) propagate.Federated {
			return &v1alpha1.FederatedDeployment{Spec: v1alpha1.FederatedDeploymentSpec{Template: v1alpha1.DeploymentTemplate{
				Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}
		})),
	kind[v1alpha1.FederatedReplicaSet, v1alpha1.FederatedReplicaSetList]("federatedreplicasets", workload,
		fromNative(func(n *appsv1.ReplicaSet) propagate.Federated {
			return &v1alpha1.FederatedReplicaSet{Spec: v1alpha1.FederatedReplicaSetSpec{Template: v1alpha1.ReplicaSetTemplate{
				Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}
		})),
	kind[v1alpha1.FederatedDaemonSet, v1alpha1.FederatedDaemonSetList]("federateddaemonsets", workload,
		fromNative(func(n *appsv1.DaemonSet) propagate.Federated {
			return &v1alpha1.FederatedDaemonSet{Spec: v1alpha1.FederatedDaemonSetSpec{Template: v1alpha1.DaemonSetTemplate{
				Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}
		})),
	kind[v1alpha1.FederatedJob, v1alpha1.FederatedJobList]("federatedjobs", workload,
		fromNative(func(n *batchv1.Job) propagate.Federated {
			return &v1alpha1.FederatedJob{Spec: v1alpha1.FederatedJobSpec{Template: v1alpha1.JobTemplate{
				Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}
		})),
	kind[v1alpha1.FederatedConfigMap, v1alpha1.FederatedConfigMapList]("federatedconfigmaps",
		fromNative(func(n *corev1.ConfigMap) propagate.Federated {
			return &v1alpha1.FederatedConfigMap{Spec: v1alpha1.FederatedConfigMapSpec{Template: v1alpha1.ConfigMapTemplate{
				Metadata: templateMeta(n.ObjectMeta), Data: n.Data, BinaryData: n.BinaryData}}}
		}),
		func(k *Kind) { k.TemplateOmits = []string{"immutable"} }),
	kind[v1alpha1.FederatedSecret, v1alpha1.FederatedSecretList]("federatedsecrets", secretFromNative,
		func(k *Kind) { k.AlwaysTyped, k.Member = true, sourceSecret }),
	kind[v1alpha1.FederatedService, v1alpha1.FederatedServiceList]("federatedservices",
		fromNative(func(n *corev1.Service) propagate.Federated {
			return &v1alpha1.FederatedService{Spec: v1alpha1.FederatedServiceSpec{Template: v1alpha1.ServiceTemplate{
				Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}
		}),
		func(k *Kind) { k.Member = finishWith(propagate.DropUnsetTargetPorts) }),
	kind[v1alpha1.FederatedIngress, v1alpha1.FederatedIngressList]("federatedingresses",
		fromNative(func(n *networkingv1.Ingress) propagate.Federated {
			return &v1alpha1.FederatedIngress{Spec: v1alpha1.FederatedIngressSpec{Template: v1alpha1.IngressTemplate{
				Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}
		})),
	kind[v1alpha1.FederatedObject, v1alpha1.FederatedObjectList]("federatedobjects"),
	kind[v1alpha1.ClusterFederatedObject, v1alpha1.ClusterFederatedObjectList]("clusterfederatedobjects"),
}

// option sets the extras of an entry.
type option func(*Kind)

// workload marks a kind whose member objects run replicas.
func workload(k *Kind) { k.Workload = true }

// kind builds the entry of a federated type O with list type L.
func kind[O, L any, PO interface {
	*O
	propagate.Federated
}, PL interface {
	*L
	client.ObjectList
}](plural string, opts ...option) Kind {
	k := Kind{
		Name:    PO(new(O)).FederatedKind(),
		Plural:  plural,
		New:     func() propagate.Federated { return PO(new(O)) },
		NewList: func() client.ObjectList { return PL(new(L)) },
	}
	for _, o := range opts {
		o(&k)
	}
	k.Typed = k.FromNative != nil
	return k
}

// fromNative makes the FromNative of a typed kind whose template is built from a native object
// of type N by build (which sets the template; the name, namespace and TypeMeta are set here).
func fromNative[N any, PN interface {
	*N
	metav1.Object
}](build func(PN) propagate.Federated) option {
	return func(k *Kind) {
		k.FromNative = func(u *unstructured.Unstructured) (client.Object, string, error) {
			n := PN(new(N))
			if err := decodeStrict(u, n); err != nil {
				return nil, "", err
			}
			obj := build(n)
			named(obj, u)
			return obj, "", nil
		}
	}
}

// named gives a converted object its TypeMeta and the native object's name and namespace.
func named(obj propagate.Federated, u *unstructured.Unstructured) {
	obj.GetObjectKind().SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(obj.FederatedKind()))
	obj.SetName(u.GetName())
	obj.SetNamespace(u.GetNamespace())
}

// secretFromNative makes a FederatedSecret that refers to the Secret by name: its data stays in
// the host's Secret, never in the federated object, and is never printed.
func secretFromNative(k *Kind) {
	k.FromNative = func(u *unstructured.Unstructured) (client.Object, string, error) {
		var n corev1.Secret
		if err := decodeStrict(u, &n); err != nil {
			return nil, "", err
		}
		obj := &v1alpha1.FederatedSecret{Spec: v1alpha1.FederatedSecretSpec{SecretRef: v1alpha1.SecretReference{Name: n.Name}}}
		named(obj, u)
		note := fmt.Sprintf("Secret %s: FederatedSecret %s copies it from the host, so create the Secret itself in the host too "+
			"(secret data never lives in a federated object and is not printed)", qualifiedName(u), n.Name)
		return obj, note, nil
	}
}

// sourceSecret reads the host Secret a FederatedSecret's spec.secretRef names.
func sourceSecret(ctx context.Context, host client.Reader, obj propagate.Federated) (func(map[string]any) error, error) {
	fs, ok := obj.(*v1alpha1.FederatedSecret)
	if !ok {
		return nil, fmt.Errorf("a %s is not a FederatedSecret", obj.FederatedKind())
	}
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: fs.Namespace, Name: fs.Spec.SecretRef.Name}
	if err := host.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &SourceNotFoundError{Message: fmt.Sprintf("Secret %s named by spec.secretRef not found", key)}
		}
		return nil, fmt.Errorf("reading Secret %s: %w", key, err)
	}
	return propagate.SecretData(fs, secret), nil
}

// finishWith is a Member hook that reads nothing and completes member objects with finish.
func finishWith(finish func(map[string]any) error) func(context.Context, client.Reader, propagate.Federated) (func(map[string]any) error, error) {
	return func(context.Context, client.Reader, propagate.Federated) (func(map[string]any) error, error) {
		return finish, nil
	}
}

func templateMeta(m metav1.ObjectMeta) v1alpha1.TemplateMeta {
	return v1alpha1.TemplateMeta{Labels: m.Labels, Annotations: m.Annotations}
}

// decodeStrict decodes u into a typed native object, refusing fields the type does not know
// (they would be lost).
func decodeStrict(u *unstructured.Unstructured, into any) error {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("is not a valid %s: %w", u.GetKind(), err)
	}
	return nil
}

// qualifiedName is namespace/name, or name for a cluster-scoped object.
func qualifiedName(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetName()
	}
	return u.GetNamespace() + "/" + u.GetName()
}

// ByName returns the kind of that name.
func ByName(name string) (Kind, bool) {
	for _, k := range All {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}
