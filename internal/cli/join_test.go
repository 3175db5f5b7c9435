package cli_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/cli/join"
	"github.com/kfed-io/kfed/test/framework"
)

// eventually polls cond every 200 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s (last error: %v)", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestJoinMakesTheMemberReady(t *testing.T) {
	m := fed.Members[0]
	r := joinOnce(t)
	t.Logf("kfed join %s printed:\n%s", m.Name, r.out)
	ready := regexp.MustCompile(`Cluster cluster-us-east1-b is Ready after [0-9.]+m?s: region us-east1, zones us-east1-b, Kubernetes v\S+, 2 nodes`)
	if !ready.MatchString(r.out) {
		t.Errorf("want the Ready line with region, zones, version and nodes, got:\n%s", r.out)
	}
	ctx := t.Context()
	fc := &v1alpha1.FederatedCluster{}
	if err := fed.Host.Client.Get(ctx, client.ObjectKey{Name: m.Name}, fc); err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady) {
		t.Errorf("FederatedCluster is not Ready: %+v", fc.Status.Conditions)
	}
	if fc.Spec.APIEndpoint != strings.TrimSuffix(m.Host(), "/") || fc.Spec.SecretRef.Name != m.Name || fc.Spec.SecretRef.Namespace != "kfed-system" {
		t.Errorf("want apiEndpoint %s and secretRef kfed-system/%s, got %+v", m.Host(), m.Name, fc.Spec)
	}
	secret := &corev1.Secret{}
	if err := fed.Host.Client.Get(ctx, client.ObjectKey{Namespace: "kfed-system", Name: m.Name}, secret); err != nil {
		t.Fatal(err)
	}
	if len(secret.Data["token"]) == 0 || len(secret.Data["ca.crt"]) == 0 || len(secret.Data) != 2 {
		t.Errorf("want a credential Secret with token and ca.crt only, got keys %v", keys(secret.Data))
	}
	if strings.Contains(r.out+r.errOut, string(secret.Data["token"])) {
		t.Errorf("the token was printed")
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kfed-system"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "kfed-system", Name: "kfed-member-" + m.Name}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "kfed-member-" + m.Name}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "kfed-member-" + m.Name}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kfed-system", Name: "kfed-member-" + m.Name + "-token"}},
	} {
		if err := m.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Errorf("member: %v", err)
		} else if obj.GetLabels()[v1alpha1.LabelManaged] != "true" {
			t.Errorf("member: %T %s is not labelled %s", obj, obj.GetName(), v1alpha1.LabelManaged)
		}
	}
	// envtest runs no token controller, so the token came from the TokenRequest API.
	if !strings.Contains(r.out, "minted a token with the TokenRequest API") {
		t.Errorf("want the TokenRequest fallback to be reported, got:\n%s", r.out)
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestJoinTwiceIsRefused(t *testing.T) {
	m := fed.Members[0]
	joinOnce(t)
	r := kfed(t, "", "join", m.Name, "--cluster-context", m.Name)
	wantError(t, r, "cluster "+m.Name+" is already joined; kfed unjoin "+m.Name+" first")
}

func TestUnjoinOfAnUnknownName(t *testing.T) {
	wantError(t, kfed(t, "", "unjoin", "nope"), "no cluster nope is joined")
}

func TestUnjoinRemovesBothSides(t *testing.T) {
	m := fed.Members[1]
	ctx := t.Context()
	wantOK(t, kfed(t, "", "join", m.Name, "--cluster-context", m.Name, "--token-wait", "1s", "--wait", "0"))
	// The member is found through the kubeconfig context whose server is the apiEndpoint.
	r := kfed(t, "", "unjoin", m.Name)
	wantOK(t, r)
	t.Log(r.out)
	for _, c := range []struct {
		cl  client.Client
		obj client.Object
	}{
		{fed.Host.Client, &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: m.Name}}},
		{fed.Host.Client, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kfed-system", Name: m.Name}}},
		{m.Client, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "kfed-system", Name: "kfed-member-" + m.Name}}},
		{m.Client, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "kfed-member-" + m.Name}}},
		{m.Client, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "kfed-member-" + m.Name}}},
		{m.Client, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kfed-system", Name: "kfed-member-" + m.Name + "-token"}}},
	} {
		if err := c.cl.Get(ctx, client.ObjectKeyFromObject(c.obj), c.obj); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s still exists (err %v)", c.obj, c.obj.GetName(), err)
		}
	}
	// The namespace stays, labelled managed: other joins may use it.
	ns := &corev1.Namespace{}
	if err := m.Client.Get(ctx, client.ObjectKey{Name: "kfed-system"}, ns); err != nil || !ns.DeletionTimestamp.IsZero() {
		t.Errorf("want namespace kfed-system of the member kept, got %v (deleting: %v)", err, ns.DeletionTimestamp)
	}
	// And it can be joined again.
	wantOK(t, kfed(t, "", "join", m.Name, "--cluster-context", m.Name, "--token-wait", "1s", "--wait", "0",
		"--region", "europe-west1", "--zones", "europe-west1-b"))
	wantOK(t, kfed(t, "", "unjoin", m.Name, "--cluster-context", m.Name))
}

func TestJoinPreflight(t *testing.T) {
	m := fed.Members[2]
	ctx := t.Context()
	t.Run("context not found", func(t *testing.T) {
		wantError(t, kfed(t, "", "join", m.Name, "--cluster-context", "nowhere"), `context "nowhere" not found in the kubeconfig`)
	})
	t.Run("member unreachable", func(t *testing.T) {
		dead := writeDeadContext(t)
		r := kfed(t, "", "--kubeconfig", dead, "join", m.Name, "--host-context", framework.HostContext, "--cluster-context", "dead")
		wantError(t, r, `member cluster of context "dead"`, "is unreachable")
	})
	t.Run("loopback endpoint while the manager runs in a pod", func(t *testing.T) {
		d := managerDeployment()
		if err := fed.Host.Client.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = fed.Host.Client.Delete(context.Background(), d) }()
		d.Status.Replicas, d.Status.ReadyReplicas = 1, 1
		if err := fed.Host.Client.Status().Update(ctx, d); err != nil {
			t.Fatal(err)
		}
		r := kfed(t, "", "join", m.Name, "--cluster-context", m.Name)
		wantError(t, r, "is on loopback, but the kfed manager runs in a pod (Deployment kfed-system/kfed-manager)", "--api-endpoint")
		if err := fed.Host.Client.Get(ctx, client.ObjectKey{Name: m.Name}, &v1alpha1.FederatedCluster{}); !apierrors.IsNotFound(err) {
			t.Errorf("a refused join wrote the FederatedCluster (err %v)", err)
		}
	})
	t.Run("dry run writes nothing and prints no secret", func(t *testing.T) {
		r := kfed(t, "", "join", m.Name, "--cluster-context", m.Name, "--dry-run")
		wantOK(t, r)
		for _, want := range []string{"kind: ServiceAccount", "kind: ClusterRole", "kind: ClusterRoleBinding", "type: kubernetes.io/service-account-token",
			"kind: FederatedCluster", "token: <redacted>", "apiEndpoint: " + strings.TrimSuffix(m.Host(), "/")} {
			if !strings.Contains(r.out, want) {
				t.Errorf("dry run output lacks %q:\n%s", want, r.out)
			}
		}
		if err := m.Client.Get(ctx, client.ObjectKey{Namespace: "kfed-system", Name: "kfed-member-" + m.Name}, &corev1.ServiceAccount{}); !apierrors.IsNotFound(err) {
			t.Errorf("a dry run wrote into the member (err %v)", err)
		}
		if err := fed.Host.Client.Get(ctx, client.ObjectKey{Name: m.Name}, &v1alpha1.FederatedCluster{}); !apierrors.IsNotFound(err) {
			t.Errorf("a dry run wrote the FederatedCluster (err %v)", err)
		}
	})
}

// managerDeployment is a kfed manager Deployment as config/manager has it (labels and name).
func managerDeployment() *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": "kfed", "app.kubernetes.io/component": "manager"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kfed-system", Name: "kfed-manager", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: "ghcr.io/kfed-io/kfed:latest"}}},
			},
		},
	}
}

// TestUnjoinForceOfADeadMember stops a member's API server: unjoin refuses and names --force;
// --force removes the cluster from the host.
func TestUnjoinForceOfADeadMember(t *testing.T) {
	m := fed.Members[2]
	ctx := t.Context()
	wantOK(t, kfed(t, "", "join", m.Name, "--cluster-context", m.Name, "--token-wait", "1s"))
	if err := m.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.StartAPIServer(); err != nil {
			t.Error(err)
		}
	}()
	r := kfed(t, "", "unjoin", m.Name, "--cluster-context", m.Name)
	wantError(t, r, "is unreachable", "kfed unjoin "+m.Name+" --force")
	if err := fed.Host.Client.Get(ctx, client.ObjectKey{Name: m.Name}, &v1alpha1.FederatedCluster{}); err != nil {
		t.Fatalf("a refused unjoin deleted the FederatedCluster: %v", err)
	}
	r = kfed(t, "", "unjoin", m.Name, "--cluster-context", m.Name, "--force")
	wantOK(t, r)
	if !strings.Contains(r.out, "left in place (--force)") {
		t.Errorf("want unjoin to say the member side is left, got:\n%s", r.out)
	}
	if err := fed.Host.Client.Get(ctx, client.ObjectKey{Name: m.Name}, &v1alpha1.FederatedCluster{}); !apierrors.IsNotFound(err) {
		t.Errorf("FederatedCluster still exists after unjoin --force (err %v)", err)
	}
	if err := fed.Host.Client.Get(ctx, client.ObjectKey{Namespace: join.Namespace, Name: m.Name}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("credential Secret still exists after unjoin --force (err %v)", err)
	}
}

// TestJoinUsesTheTokenControllersToken plays the token controller (envtest runs none): when the
// token Secret is filled, join uses that token and mints none. It also joins with --access=all.
func TestJoinUsesTheTokenControllersToken(t *testing.T) {
	m := fed.Members[1]
	ctx := t.Context()
	done := make(chan result, 1)
	go func() {
		done <- kfed(t, "", "join", m.Name, "--cluster-context", m.Name, "--token-wait", "1m", "--access", "all")
	}()
	key := client.ObjectKey{Namespace: "kfed-system", Name: "kfed-member-" + m.Name + "-token"}
	secret := &corev1.Secret{}
	eventually(t, 30*time.Second, "the token Secret exists", func() (bool, error) {
		err := m.Client.Get(ctx, key, secret)
		return err == nil, err
	})
	cs, err := kubernetes.NewForConfig(m.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts("kfed-system").CreateToken(ctx, "kfed-member-"+m.Name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data = map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": []byte("unused: the context's CA wins")}
	if err := m.Client.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	r := <-done
	wantOK(t, r)
	if strings.Contains(r.out, "minted") {
		t.Errorf("join minted a token though the Secret was filled:\n%s", r.out)
	}
	creds := &corev1.Secret{}
	if err := fed.Host.Client.Get(ctx, client.ObjectKey{Namespace: "kfed-system", Name: m.Name}, creds); err != nil {
		t.Fatal(err)
	}
	if string(creds.Data["token"]) != tr.Status.Token {
		t.Errorf("the credential Secret does not hold the token controller's token")
	}
	role := &rbacv1.ClusterRole{}
	if err := m.Client.Get(ctx, client.ObjectKey{Name: "kfed-member-" + m.Name}, role); err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) == 0 || role.Rules[0].Resources[0] != "*" || role.Rules[0].Verbs[0] != "*" {
		t.Errorf("--access=all: want * on *, got %+v", role.Rules)
	}
	// With that access, a FederatedObject of a kind outside the default role (a Role; see
	// TestFederatedObjectOutsideTheRoleIsForbidden) propagates.
	obj := createRoleReader(t, "access-all", m.Name)
	eventually(t, time.Minute, "FederatedObject role-reader Propagated with --access=all", func() (bool, error) {
		if err := fed.Host.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err
		}
		return len(obj.Status.Clusters) == 1 && obj.Status.Clusters[0].Phase == v1alpha1.PhasePropagated, fmt.Errorf("clusters %+v", obj.Status.Clusters)
	})
	if err := m.Client.Get(ctx, client.ObjectKey{Namespace: "access-all", Name: "reader"}, &rbacv1.Role{}); err != nil {
		t.Errorf("the Role in %s: %v", m.Name, err)
	}
	if err := fed.Host.Client.Delete(ctx, obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "FederatedObject role-reader deleted", func() (bool, error) {
		err := fed.Host.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), nil
	})
	wantOK(t, kfed(t, "", "unjoin", m.Name))
}
