package v1alpha1

import (
	"encoding/json"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// FederatedObjectSpec is any namespaced object copied into member clusters.
type FederatedObjectSpec struct {
	// Template is the whole member object: apiVersion, kind, metadata (name required; the
	// namespace, if set, must be the FederatedObject's own), and the kind's other fields.
	// +required
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:EmbeddedResource
	// +kubebuilder:validation:XValidation:rule="has(self.apiVersion) && self.apiVersion != ''",message="template must have an apiVersion"
	// +kubebuilder:validation:XValidation:rule="has(self.kind) && self.kind != ''",message="template must have a kind"
	// +kubebuilder:validation:XValidation:rule="has(self.metadata) && has(self.metadata.name) && self.metadata.name != ''",message="template must have a metadata.name"
	Template runtime.RawExtension `json:"template"`

	FederatedSpec `json:",inline"`
}

// FederatedObject copies an object of any namespaced kind, custom ones included, into member
// clusters, always into its own namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fobj,categories=kfed
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.template.kind`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedObjectSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedObjectList is a list of FederatedObject.
//
// +kubebuilder:object:root=true
type FederatedObjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedObject `json:"items"`
}

// FederatedKind returns "FederatedObject".
func (o *FederatedObject) FederatedKind() string { return "FederatedObject" }

// TargetGVK returns the template's apiVersion and kind; empty when the template has none.
func (o *FederatedObject) TargetGVK() schema.GroupVersionKind { return manifestGVK(o.Spec.Template) }

// GetPlacement returns spec.placement.
func (o *FederatedObject) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *FederatedObject) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns nil: a FederatedObject is copied as it is.
func (o *FederatedObject) GetReplicaScheduling() *ReplicaScheduling { return nil }

// GetFederatedStatus returns the status.
func (o *FederatedObject) GetFederatedStatus() *FederatedStatus { return &o.Status }

// TemplateObject returns spec.template decoded.
func (o *FederatedObject) TemplateObject() (map[string]any, error) {
	return manifestObject(o.Spec.Template)
}

// ClusterFederatedObjectSpec is any cluster-scoped object copied into member clusters.
type ClusterFederatedObjectSpec struct {
	// Template is the whole member object: apiVersion, kind, metadata (name required; no
	// namespace: the admission policy in config/admission rejects one), and the kind's other fields.
	// +required
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:EmbeddedResource
	// +kubebuilder:validation:XValidation:rule="has(self.apiVersion) && self.apiVersion != ''",message="template must have an apiVersion"
	// +kubebuilder:validation:XValidation:rule="has(self.kind) && self.kind != ''",message="template must have a kind"
	// +kubebuilder:validation:XValidation:rule="has(self.metadata) && has(self.metadata.name) && self.metadata.name != ''",message="template must have a metadata.name"
	Template runtime.RawExtension `json:"template"`

	FederatedSpec `json:",inline"`
}

// ClusterFederatedObject copies an object of any cluster-scoped kind (ClusterRoles, CRDs,
// StorageClasses, ...) into member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cfobj,categories=kfed
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.template.kind`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterFederatedObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ClusterFederatedObjectSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// ClusterFederatedObjectList is a list of ClusterFederatedObject.
//
// +kubebuilder:object:root=true
type ClusterFederatedObjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterFederatedObject `json:"items"`
}

// FederatedKind returns "ClusterFederatedObject".
func (o *ClusterFederatedObject) FederatedKind() string { return "ClusterFederatedObject" }

// TargetGVK returns the template's apiVersion and kind; empty when the template has none.
func (o *ClusterFederatedObject) TargetGVK() schema.GroupVersionKind {
	return manifestGVK(o.Spec.Template)
}

// GetPlacement returns spec.placement.
func (o *ClusterFederatedObject) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *ClusterFederatedObject) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns nil: a ClusterFederatedObject is copied as it is.
func (o *ClusterFederatedObject) GetReplicaScheduling() *ReplicaScheduling { return nil }

// GetFederatedStatus returns the status.
func (o *ClusterFederatedObject) GetFederatedStatus() *FederatedStatus { return &o.Status }

// TemplateObject returns spec.template decoded.
func (o *ClusterFederatedObject) TemplateObject() (map[string]any, error) {
	return manifestObject(o.Spec.Template)
}

// manifestRaw returns the encoding of a whole-manifest template.
func manifestRaw(t runtime.RawExtension) ([]byte, error) {
	if len(t.Raw) > 0 {
		return t.Raw, nil
	}
	if t.Object != nil {
		raw, err := json.Marshal(t.Object)
		if err != nil {
			return nil, fmt.Errorf("encoding spec.template: %w", err)
		}
		return raw, nil
	}
	return nil, errors.New("spec.template is empty")
}

// manifestObject decodes a whole-manifest template, with integers as int64.
func manifestObject(t runtime.RawExtension) (map[string]any, error) {
	raw, err := manifestRaw(t)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := utiljson.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decoding spec.template: %w", err)
	}
	return out, nil
}

// manifestGVK returns the apiVersion and kind of a whole-manifest template.
func manifestGVK(t runtime.RawExtension) schema.GroupVersionKind {
	raw, err := manifestRaw(t)
	if err != nil {
		return schema.GroupVersionKind{}
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return schema.GroupVersionKind{}
	}
	return schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
}

func init() {
	register(&FederatedObject{}, &FederatedObjectList{},
		&ClusterFederatedObject{}, &ClusterFederatedObjectList{})
}
