package cli_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/framework"
)

// TestFederateTheSeedsManifests: `kfed federate` of the 2016 walkthrough's three manifests as
// written (an extensions/v1beta1 ReplicaSet and Ingress, a LoadBalancer Service) says on stderr
// what it converted, `kubectl apply` of its output to the host succeeds, and the three reach a
// joined member in their current versions.
func TestFederateTheSeedsManifests(t *testing.T) {
	joinOnce(t)
	ctx := t.Context()
	m := fed.Members[0]
	seed := filepath.Join("federate", "testdata", "seed")
	r := kfed(t, "", "federate", "-f", filepath.Join(seed, "replicaset.yaml"), "-f", filepath.Join(seed, "service.yaml"),
		"-f", filepath.Join(seed, "ingress.yaml"))
	wantOK(t, r)
	for _, want := range []string{
		"Note: ReplicaSet k8shserver: converted from extensions/v1beta1 to apps/v1",
		"Note: Ingress k8shserver: converted from extensions/v1beta1 to networking.k8s.io/v1",
	} {
		if !strings.Contains(r.errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
		}
	}

	kubectl := exec.CommandContext(ctx, filepath.Join(framework.ToolsDir(), "kubectl"), "--kubeconfig", kubeconfigPath,
		"--context", "federation", "apply", "-f", "-")
	kubectl.Stdin = strings.NewReader(r.out)
	var out bytes.Buffer
	kubectl.Stdout, kubectl.Stderr = &out, &out
	if err := kubectl.Run(); err != nil {
		t.Fatalf("kubectl apply of kfed federate's output: %v\n%s\ninput:\n%s", err, out.String(), r.out)
	}
	t.Logf("kubectl apply:\n%s", out.String())
	key := client.ObjectKey{Namespace: "default", Name: "k8shserver"}
	federated := []client.Object{&v1alpha1.FederatedReplicaSet{}, &v1alpha1.FederatedService{}, &v1alpha1.FederatedIngress{}}
	t.Cleanup(func() {
		for _, o := range federated {
			o.SetNamespace(key.Namespace)
			o.SetName(key.Name)
			_ = fed.Host.Client.Delete(ctx, o)
		}
	})

	for _, o := range federated {
		eventually(t, time.Minute, o.GetObjectKind().GroupVersionKind().Kind+" k8shserver Propagated in "+m.Name, func() (bool, error) {
			if err := fed.Host.Client.Get(ctx, key, o); err != nil {
				return false, err
			}
			for _, cs := range o.(interface {
				GetFederatedStatus() *v1alpha1.FederatedStatus
			}).GetFederatedStatus().Clusters {
				if cs.Name == m.Name {
					return cs.Phase == v1alpha1.PhasePropagated, nil
				}
			}
			return false, nil
		})
	}
	rs := &appsv1.ReplicaSet{}
	if err := m.Client.Get(ctx, key, rs); err != nil {
		t.Fatalf("the member has no apps/v1 ReplicaSet: %v", err)
	}
	if rs.Spec.Selector == nil || rs.Spec.Selector.MatchLabels["app"] != "k8shserver" || *rs.Spec.Replicas == 0 {
		t.Errorf("member ReplicaSet: selector %v, replicas %d", rs.Spec.Selector, *rs.Spec.Replicas)
	}
	svc := &corev1.Service{}
	if err := m.Client.Get(ctx, key, svc); err != nil {
		t.Fatalf("the member has no Service: %v", err)
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 {
		t.Errorf("member Service: type %s, ports %v", svc.Spec.Type, svc.Spec.Ports)
	}
	ing := &networkingv1.Ingress{}
	if err := m.Client.Get(ctx, key, ing); err != nil {
		t.Fatalf("the member has no networking.k8s.io/v1 Ingress: %v", err)
	}
	if b := ing.Spec.DefaultBackend; b == nil || b.Service == nil || b.Service.Name != "k8shserver" || b.Service.Port.Number != 80 {
		t.Errorf("member Ingress: defaultBackend %+v", ing.Spec.DefaultBackend)
	}
}
