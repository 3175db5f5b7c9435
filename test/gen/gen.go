// Package gen builds the federated objects of kfed's tests in one place:
// gen.FederatedDeployment(ns, name, replicas, opts...), gen.FederatedConfigMap(ns, name, data,
// opts...), each changed by options (Placement, Overrides, Annotations, TemplateLabels). Tests
// and benchmarks only (nothing outside test/ imports test/).
package gen

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/propagate"
)

// Image is the container image of the Deployments built here (never pulled: members run no
// kubelet, or kwok's).
const Image = "k8shserver:1.0"

// Option changes a federated object being built.
type Option func(propagate.Federated)

// FederatedDeployment returns a FederatedDeployment ns/name of replicas pods labelled app=name,
// one container "web" of Image, on every cluster.
func FederatedDeployment(ns, name string, replicas int32, opts ...Option) *v1alpha1.FederatedDeployment {
	fd := &v1alpha1.FederatedDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.FederatedDeploymentSpec{Template: v1alpha1.DeploymentTemplate{Spec: DeploymentSpec(name, replicas)}},
	}
	apply(fd, opts)
	return fd
}

// DeploymentSpec is the spec of the Deployments built here: replicas pods labelled app=name.
func DeploymentSpec(name string, replicas int32) appsv1.DeploymentSpec {
	labels := map[string]string{"app": name}
	return appsv1.DeploymentSpec{
		Replicas: &replicas,
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: Image}}},
		},
	}
}

// FederatedConfigMap returns a FederatedConfigMap ns/name with data, on every cluster.
func FederatedConfigMap(ns, name string, data map[string]string, opts ...Option) *v1alpha1.FederatedConfigMap {
	fcm := &v1alpha1.FederatedConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.FederatedConfigMapSpec{Template: v1alpha1.ConfigMapTemplate{Data: data}},
	}
	apply(fcm, opts)
	return fcm
}

func apply(obj propagate.Federated, opts []Option) {
	for _, o := range opts {
		o(obj)
	}
}

// Placement places the object on the clusters named.
func Placement(clusters ...string) Option {
	return func(o propagate.Federated) { o.GetPlacement().Clusters = clusters }
}

// Annotations sets the federated object's own annotations (e.g. federation.kfed.io/orphan).
func Annotations(a map[string]string) Option {
	return func(o propagate.Federated) { o.SetAnnotations(a) }
}

// Overrides sets spec.overrides.
func Overrides(overrides ...v1alpha1.ClusterOverride) Option {
	return func(o propagate.Federated) {
		switch o := o.(type) {
		case *v1alpha1.FederatedDeployment:
			o.Spec.Overrides = overrides
		case *v1alpha1.FederatedConfigMap:
			o.Spec.Overrides = overrides
		default:
			panic("gen.Overrides: not for a " + o.FederatedKind())
		}
	}
}

// TemplateLabels sets the labels of the member objects (spec.template.metadata.labels).
func TemplateLabels(labels map[string]string) Option {
	return func(o propagate.Federated) {
		switch o := o.(type) {
		case *v1alpha1.FederatedDeployment:
			o.Spec.Template.Metadata.Labels = labels
		case *v1alpha1.FederatedConfigMap:
			o.Spec.Template.Metadata.Labels = labels
		default:
			panic("gen.TemplateLabels: not for a " + o.FederatedKind())
		}
	}
}
