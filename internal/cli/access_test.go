package cli_test

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/cli/kubeconfig"
)

// memberIdentity returns a client of member 0 with the token join stored in the host: kfed's
// own identity there, nothing impersonated.
func memberIdentity(t *testing.T) client.Client {
	t.Helper()
	scheme, err := kubeconfig.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(memberConfig(t), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// memberConfig reaches member 0 with the token and CA join stored in the host's credential Secret.
func memberConfig(t *testing.T) *rest.Config {
	t.Helper()
	m := fed.Members[0]
	secret := &corev1.Secret{}
	if err := fed.Host.Client.Get(t.Context(), client.ObjectKey{Namespace: "kfed-system", Name: m.Name}, secret); err != nil {
		t.Fatal(err)
	}
	return &rest.Config{Host: m.Host(), BearerToken: string(secret.Data["token"]), TLSClientConfig: rest.TLSClientConfig{CAData: secret.Data["ca.crt"]}}
}

// TestMemberIdentityIsLeastPrivilege: the identity join creates can do what kfed does, and is
// refused RBAC writes and impersonation.
func TestMemberIdentityIsLeastPrivilege(t *testing.T) {
	joinOnce(t)
	ctx := t.Context()
	c := memberIdentity(t)
	if err := c.List(ctx, &corev1.NodeList{}); err != nil {
		t.Errorf("the member identity cannot list nodes: %v", err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "kfed-escalation"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "kfed-system", Name: "kfed-member-" + fed.Members[0].Name}},
	}
	if err := c.Create(ctx, crb); !apierrors.IsForbidden(err) {
		t.Errorf("want the member identity refused a ClusterRoleBinding, got %v", err)
	}
	if err := c.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fed.Members[0].Name + "-node-0"}}); !apierrors.IsForbidden(err) {
		t.Errorf("want the member identity refused deleting a node, got %v", err)
	}
	imp := rest.CopyConfig(memberConfig(t))
	imp.Impersonate = rest.ImpersonationConfig{UserName: "admin", Groups: []string{"system:masters"}}
	ic, err := client.New(imp, client.Options{Scheme: c.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.List(ctx, &corev1.NamespaceList{}); !apierrors.IsForbidden(err) {
		t.Errorf("want the member identity refused impersonation, got %v", err)
	}
}

// TestJoinedIdentityPropagates: with only the ClusterRole join created, kfed propagates a
// FederatedConfigMap and a FederatedDeployment into the member; a FederatedObject of a kind
// outside it fails there with reason Forbidden.
func TestJoinedIdentityPropagates(t *testing.T) {
	joinOnce(t)
	ctx := t.Context()
	m := fed.Members[0]
	placement := v1alpha1.FederatedSpec{Placement: v1alpha1.Placement{Clusters: []string{m.Name}}}
	if err := fed.Host.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "access"}}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "k8shserver"}
	objs := []client.Object{
		&v1alpha1.FederatedConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "access", Name: "settings"},
			Spec: v1alpha1.FederatedConfigMapSpec{Template: v1alpha1.ConfigMapTemplate{Data: map[string]string{"mode": "prod"}}, FederatedSpec: placement}},
		&v1alpha1.FederatedDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "access", Name: "k8shserver"},
			Spec: v1alpha1.FederatedDeploymentSpec{FederatedSpec: placement, Template: v1alpha1.DeploymentTemplate{Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "k8shserver:1.0"}}}},
			}}}},
	}
	for _, o := range objs {
		if err := fed.Host.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	phase := func(o client.Object) (v1alpha1.ClusterStatus, error) {
		if err := fed.Host.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			return v1alpha1.ClusterStatus{}, err
		}
		for _, cs := range o.(interface {
			GetFederatedStatus() *v1alpha1.FederatedStatus
		}).GetFederatedStatus().Clusters {
			if cs.Name == m.Name {
				return cs, nil
			}
		}
		return v1alpha1.ClusterStatus{}, nil
	}
	for _, o := range objs {
		eventually(t, time.Minute, o.GetName()+" Propagated in "+m.Name, func() (bool, error) {
			cs, err := phase(o)
			return cs.Phase == v1alpha1.PhasePropagated, err
		})
	}
	if err := m.Client.Get(ctx, client.ObjectKey{Namespace: "access", Name: "settings"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("the member has no ConfigMap: %v", err)
	}
	if err := m.Client.Get(ctx, client.ObjectKey{Namespace: "access", Name: "k8shserver"}, &appsv1.Deployment{}); err != nil {
		t.Errorf("the member has no Deployment: %v", err)
	}

	// The status command shows the cluster and the objects.
	r := kfed(t, "", "status")
	wantOK(t, r)
	t.Logf("kfed status:\n%s", r.out)
	for _, want := range []string{m.Name + "   True   us-east1   us-east1-b", "FederatedConfigMap ", "settings", "FederatedDeployment ",
		"k8shserver", m.Name + "=0/", "1/1"} {
		if !containsCollapsed(r.out, want) {
			t.Errorf("status lacks %q", want)
		}
	}
}

// TestFederatedObjectOutsideTheRoleIsForbidden: a FederatedObject of a kind the default
// ClusterRole does not cover fails in that cluster with reason Forbidden.
func TestFederatedObjectOutsideTheRoleIsForbidden(t *testing.T) {
	joinOnce(t)
	ctx := t.Context()
	m := fed.Members[0]
	obj := createRoleReader(t, "forbidden", m.Name)
	eventually(t, time.Minute, "FederatedObject role-reader Failed with reason Forbidden", func() (bool, error) {
		if err := fed.Host.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err
		}
		for _, cs := range obj.Status.Clusters {
			if cs.Name == m.Name {
				return cs.Phase == v1alpha1.PhaseFailed && cs.Reason == v1alpha1.ReasonForbidden, fmt.Errorf("phase %s reason %s", cs.Phase, cs.Reason)
			}
		}
		return false, nil
	})
}

// createRoleReader creates, in a new host namespace, a FederatedObject of a Role (a kind kfed's
// default member role does not cover) named role-reader, placed on one cluster.
func createRoleReader(t *testing.T, ns, cluster string) *v1alpha1.FederatedObject {
	t.Helper()
	ctx := t.Context()
	if err := fed.Host.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	obj := &v1alpha1.FederatedObject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "role-reader"},
		Spec: v1alpha1.FederatedObjectSpec{
			FederatedSpec: v1alpha1.FederatedSpec{Placement: v1alpha1.Placement{Clusters: []string{cluster}}},
			Template: runtime.RawExtension{Raw: []byte(`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role",` +
				`"metadata":{"name":"reader"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}`)}}}
	if err := fed.Host.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}
