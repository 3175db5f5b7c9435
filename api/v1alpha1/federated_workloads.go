package v1alpha1

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The native kinds of the federated workloads.
var (
	deploymentGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")
	replicaSetGVK = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	daemonSetGVK  = appsv1.SchemeGroupVersion.WithKind("DaemonSet")
	jobGVK        = batchv1.SchemeGroupVersion.WithKind("Job")
)

// replicaScheduling returns the spec's scheduling, or the defaults when it has none: a kind
// with replica scheduling never answers nil.
func replicaScheduling(rs *ReplicaScheduling) *ReplicaScheduling {
	if rs == nil {
		return &ReplicaScheduling{Mode: ReplicaSchedulingDivided}
	}
	return rs
}

// DeploymentTemplate is the Deployment each member gets, before replicas and overrides.
type DeploymentTemplate struct {
	// +optional
	Metadata TemplateMeta `json:"metadata,omitempty"`
	// Spec of the member Deployment.
	// +required
	Spec appsv1.DeploymentSpec `json:"spec"`
}

// FederatedDeploymentSpec is a Deployment spread over member clusters.
type FederatedDeploymentSpec struct {
	// Template of the member Deployments.
	// +required
	Template DeploymentTemplate `json:"template"`

	// ReplicaScheduling says how many replicas run and how they are spread; unset means
	// Divided, the template's replicas, equal weights.
	// +optional
	ReplicaScheduling *ReplicaScheduling `json:"replicaScheduling,omitempty"`

	FederatedSpec `json:",inline"`
}

// FederatedDeployment is a Deployment whose replicas are spread over member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fdeploy,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Ready-Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedDeployment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedDeploymentSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedDeploymentList is a list of FederatedDeployment.
//
// +kubebuilder:object:root=true
type FederatedDeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedDeployment `json:"items"`
}

// FederatedKind returns "FederatedDeployment".
func (o *FederatedDeployment) FederatedKind() string { return "FederatedDeployment" }

// TargetGVK returns apps/v1 Deployment.
func (o *FederatedDeployment) TargetGVK() schema.GroupVersionKind { return deploymentGVK }

// GetPlacement returns spec.placement.
func (o *FederatedDeployment) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *FederatedDeployment) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns spec.replicaScheduling, or the defaults when unset.
func (o *FederatedDeployment) GetReplicaScheduling() *ReplicaScheduling {
	return replicaScheduling(o.Spec.ReplicaScheduling)
}

// GetTemplateReplicas returns the template's spec.replicas: the total when
// spec.replicaScheduling.totalReplicas is unset.
func (o *FederatedDeployment) GetTemplateReplicas() *int32 { return o.Spec.Template.Spec.Replicas }

// GetFederatedStatus returns the status.
func (o *FederatedDeployment) GetFederatedStatus() *FederatedStatus { return &o.Status }

// TemplateObject returns the template as a Deployment object.
func (o *FederatedDeployment) TemplateObject() (map[string]any, error) {
	return specTemplate(deploymentGVK, o.Spec.Template.Metadata, o.Spec.Template.Spec)
}

// ReplicaSetTemplate is the ReplicaSet each member gets, before replicas and overrides.
type ReplicaSetTemplate struct {
	// +optional
	Metadata TemplateMeta `json:"metadata,omitempty"`
	// Spec of the member ReplicaSet.
	// +required
	Spec appsv1.ReplicaSetSpec `json:"spec"`
}

// FederatedReplicaSetSpec is a ReplicaSet spread over member clusters.
type FederatedReplicaSetSpec struct {
	// Template of the member ReplicaSets.
	// +required
	Template ReplicaSetTemplate `json:"template"`

	// ReplicaScheduling says how many replicas run and how they are spread; unset means
	// Divided, the template's replicas, equal weights.
	// +optional
	ReplicaScheduling *ReplicaScheduling `json:"replicaScheduling,omitempty"`

	FederatedSpec `json:",inline"`
}

// FederatedReplicaSet is a ReplicaSet whose replicas are spread over member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=frs,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Ready-Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedReplicaSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedReplicaSetSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedReplicaSetList is a list of FederatedReplicaSet.
//
// +kubebuilder:object:root=true
type FederatedReplicaSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedReplicaSet `json:"items"`
}

// FederatedKind returns "FederatedReplicaSet".
func (o *FederatedReplicaSet) FederatedKind() string { return "FederatedReplicaSet" }

// TargetGVK returns apps/v1 ReplicaSet.
func (o *FederatedReplicaSet) TargetGVK() schema.GroupVersionKind { return replicaSetGVK }

// GetPlacement returns spec.placement.
func (o *FederatedReplicaSet) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *FederatedReplicaSet) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns spec.replicaScheduling, or the defaults when unset.
func (o *FederatedReplicaSet) GetReplicaScheduling() *ReplicaScheduling {
	return replicaScheduling(o.Spec.ReplicaScheduling)
}

// GetTemplateReplicas returns the template's spec.replicas: the total when
// spec.replicaScheduling.totalReplicas is unset.
func (o *FederatedReplicaSet) GetTemplateReplicas() *int32 { return o.Spec.Template.Spec.Replicas }

// GetFederatedStatus returns the status.
func (o *FederatedReplicaSet) GetFederatedStatus() *FederatedStatus { return &o.Status }

// TemplateObject returns the template as a ReplicaSet object.
func (o *FederatedReplicaSet) TemplateObject() (map[string]any, error) {
	return specTemplate(replicaSetGVK, o.Spec.Template.Metadata, o.Spec.Template.Spec)
}

// DaemonSetTemplate is the DaemonSet each member gets, before overrides.
type DaemonSetTemplate struct {
	// +optional
	Metadata TemplateMeta `json:"metadata,omitempty"`
	// Spec of the member DaemonSet.
	// +required
	Spec appsv1.DaemonSetSpec `json:"spec"`
}

// FederatedDaemonSetSpec is a DaemonSet run in member clusters.
type FederatedDaemonSetSpec struct {
	// Template of the member DaemonSets.
	// +required
	Template DaemonSetTemplate `json:"template"`

	FederatedSpec `json:",inline"`
}

// FederatedDaemonSet is a DaemonSet run in member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fds,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedDaemonSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedDaemonSetSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedDaemonSetList is a list of FederatedDaemonSet.
//
// +kubebuilder:object:root=true
type FederatedDaemonSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedDaemonSet `json:"items"`
}

// FederatedKind returns "FederatedDaemonSet".
func (o *FederatedDaemonSet) FederatedKind() string { return "FederatedDaemonSet" }

// TargetGVK returns apps/v1 DaemonSet.
func (o *FederatedDaemonSet) TargetGVK() schema.GroupVersionKind { return daemonSetGVK }

// GetPlacement returns spec.placement.
func (o *FederatedDaemonSet) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *FederatedDaemonSet) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns nil: a DaemonSet's replicas follow the member's nodes.
func (o *FederatedDaemonSet) GetReplicaScheduling() *ReplicaScheduling { return nil }

// GetFederatedStatus returns the status.
func (o *FederatedDaemonSet) GetFederatedStatus() *FederatedStatus { return &o.Status }

// TemplateObject returns the template as a DaemonSet object.
func (o *FederatedDaemonSet) TemplateObject() (map[string]any, error) {
	return specTemplate(daemonSetGVK, o.Spec.Template.Metadata, o.Spec.Template.Spec)
}

// JobTemplate is the Job each member gets, before overrides.
type JobTemplate struct {
	// +optional
	Metadata TemplateMeta `json:"metadata,omitempty"`
	// Spec of the member Job.
	// +required
	Spec batchv1.JobSpec `json:"spec"`
}

// FederatedJobSpec is a Job run in member clusters.
type FederatedJobSpec struct {
	// Template of the member Jobs.
	// +required
	Template JobTemplate `json:"template"`

	FederatedSpec `json:",inline"`
}

// FederatedJob is a Job run in each of its member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fjob,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedJobSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedJobList is a list of FederatedJob.
//
// +kubebuilder:object:root=true
type FederatedJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedJob `json:"items"`
}

// FederatedKind returns "FederatedJob".
func (o *FederatedJob) FederatedKind() string { return "FederatedJob" }

// TargetGVK returns batch/v1 Job.
func (o *FederatedJob) TargetGVK() schema.GroupVersionKind { return jobGVK }

// GetPlacement returns spec.placement.
func (o *FederatedJob) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *FederatedJob) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns nil: each member runs the whole Job.
func (o *FederatedJob) GetReplicaScheduling() *ReplicaScheduling { return nil }

// GetFederatedStatus returns the status.
func (o *FederatedJob) GetFederatedStatus() *FederatedStatus { return &o.Status }

// TemplateObject returns the template as a Job object.
func (o *FederatedJob) TemplateObject() (map[string]any, error) {
	return specTemplate(jobGVK, o.Spec.Template.Metadata, o.Spec.Template.Spec)
}

func init() {
	register(&FederatedDeployment{}, &FederatedDeploymentList{},
		&FederatedReplicaSet{}, &FederatedReplicaSetList{},
		&FederatedDaemonSet{}, &FederatedDaemonSetList{},
		&FederatedJob{}, &FederatedJobList{})
}
