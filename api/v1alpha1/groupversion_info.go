// Package v1alpha1 holds the kfed API: federation.kfed.io/v1alpha1.
//
// It imports only k8s.io/apimachinery and k8s.io/api, so that clients can use it cheaply.
//
// +kubebuilder:object:generate=true
// +groupName=federation.kfed.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of every kfed kind.
var GroupVersion = schema.GroupVersion{Group: "federation.kfed.io", Version: "v1alpha1"}

// kinds are the object types of the group; each kind's file adds its own from init.
var kinds []runtime.Object

func register(objects ...runtime.Object) { kinds = append(kinds, objects...) }

// AddToScheme adds the kfed kinds to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, kinds...)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
