// Package join joins member clusters to the federation and removes them: the identity kfed uses
// in the member (ServiceAccount, ClusterRole, binding, token) and, in the host, the credential
// Secret and the FederatedCluster.
package join

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// Namespace is where join writes kfed's identity in a member, and the credential Secret in the
// host (the operator's namespace).
const Namespace = "kfed-system"

// LabelJoinedAs names, on what join writes, the cluster it was written for.
const LabelJoinedAs = "federation.kfed.io/joined-as"

// Access is how much kfed may do in a member.
type Access string

const (
	// AccessFederated (the default) covers the built-in federated kinds, namespaces, reads of
	// nodes and pods, and the health endpoints: not RBAC, not impersonation, not "*".
	AccessFederated Access = ""
	// AccessAll grants every verb on every resource, for FederatedObjects of any kind.
	AccessAll Access = "all"
)

// MemberObjects are what join writes into a member, in the order they are written.
type MemberObjects struct {
	Namespace          *corev1.Namespace
	ServiceAccount     *corev1.ServiceAccount
	ClusterRole        *rbacv1.ClusterRole
	ClusterRoleBinding *rbacv1.ClusterRoleBinding
	TokenSecret        *corev1.Secret
}

// All returns the objects in the order they are written.
func (m MemberObjects) All() []client.Object {
	return []client.Object{m.Namespace, m.ServiceAccount, m.ClusterRole, m.ClusterRoleBinding, m.TokenSecret}
}

// identityName is the name of the ServiceAccount, ClusterRole and binding of cluster name.
func identityName(cluster string) string { return "kfed-member-" + cluster }

// tokenSecretName is the name of the service-account-token Secret of cluster name.
func tokenSecretName(cluster string) string { return identityName(cluster) + "-token" }

func labels(cluster string) map[string]string {
	return map[string]string{v1alpha1.LabelManaged: "true", LabelJoinedAs: cluster}
}

// readWrite are the verbs kfed uses on the kinds it federates.
var (
	readOnly  = []string{"get", "list", "watch"}
	readWrite = append(slices.Clone(readOnly), "create", "update", "patch", "delete")
)

// Rules returns the ClusterRole rules of kfed's identity in a member.
func Rules(access Access) []rbacv1.PolicyRule {
	health := rbacv1.PolicyRule{NonResourceURLs: []string{"/readyz", "/livez", "/version"}, Verbs: []string{"get"}}
	if access == AccessAll {
		return []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}, health}
	}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets", "services", "namespaces"}, Verbs: readWrite},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets", "daemonsets"}, Verbs: readWrite},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: readWrite},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: readWrite},
		{APIGroups: []string{""}, Resources: []string{"nodes", "pods"}, Verbs: readOnly},
		// The DNS controller counts the ready endpoints of the Services kfed writes.
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: readOnly},
		health,
	}
}

// NewMemberObjects returns what join writes into a member for cluster name.
func NewMemberObjects(name string, access Access) MemberObjects {
	id := identityName(name)
	meta := func(namespace, n string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: namespace, Name: n, Labels: labels(name)}
	}
	nsMeta := meta("", Namespace)
	nsMeta.Labels = map[string]string{v1alpha1.LabelManaged: "true"}
	secret := &corev1.Secret{ObjectMeta: meta(Namespace, tokenSecretName(name)), Type: corev1.SecretTypeServiceAccountToken}
	secret.Annotations = map[string]string{corev1.ServiceAccountNameKey: id}
	return MemberObjects{
		Namespace:      &corev1.Namespace{ObjectMeta: nsMeta},
		ServiceAccount: &corev1.ServiceAccount{ObjectMeta: meta(Namespace, id)},
		ClusterRole:    &rbacv1.ClusterRole{ObjectMeta: meta("", id), Rules: Rules(access)},
		ClusterRoleBinding: &rbacv1.ClusterRoleBinding{
			ObjectMeta: meta("", id),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: id},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: Namespace, Name: id}},
		},
		TokenSecret: secret,
	}
}

// HostObjects returns the credential Secret and the FederatedCluster join writes into the host.
// The Secret holds token and ca.crt.
func HostObjects(o Options, endpoint string, token, ca []byte) (*corev1.Secret, *v1alpha1.FederatedCluster) {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: o.Name, Labels: map[string]string{LabelJoinedAs: o.Name}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{v1alpha1.SecretKeyToken: token, v1alpha1.SecretKeyCA: ca},
	}
	fc := &v1alpha1.FederatedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
		Spec: v1alpha1.FederatedClusterSpec{
			SecretRef:   v1alpha1.ObjectReference{Name: secret.Name, Namespace: secret.Namespace},
			APIEndpoint: endpoint,
			Region:      o.Region,
			Zones:       o.Zones,
		},
	}
	return secret, fc
}
