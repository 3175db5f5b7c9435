package controllers_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/kinds"
)

// kstatusOf computes kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status, what Flux and
// kpt/cli-utils appliers wait on) from the object as the host has it now, and returns it with
// the object's Ready reason.
func kstatusOf(g Gomega, obj client.Object) (status.Status, string) {
	obj = obj.DeepCopyObject().(client.Object)
	g.Expect(fed.Host.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	g.Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: m})
	g.Expect(err).NotTo(HaveOccurred())
	reason := ""
	for _, c := range conditionsOf(obj) {
		if c.Type == v1alpha1.ConditionReady {
			reason = c.Reason
		}
	}
	return res.Status, reason
}

func conditionsOf(obj client.Object) []metav1.Condition {
	switch o := obj.(type) {
	case *v1alpha1.FederatedCluster:
		return o.Status.Conditions
	case federatedObject:
		return o.GetFederatedStatus().Conditions
	}
	return nil
}

// TestKstatusReadsKfedStatus writes objects that kfed leaves converged, converging, failed in
// a member, invalid, and waiting for a cluster that is not ready, and computes kstatus on the
// status kfed wrote for each: Current, InProgress or Failed as DESIGN.md's status conventions
// say (Reconciling while converging, Stalled when it takes a change by the user).
func TestKstatusReadsKfedStatus(t *testing.T) {
	g := NewWithT(t)
	m := fed.Members[0]
	join(t, m.Name, kubeconfigOf(m), v1alpha1.FederatedClusterSpec{})
	// A joined cluster whose credential Secret does not exist: never Ready.
	down := join(t, "kstatus-no-secret", nil, v1alpha1.FederatedClusterSpec{SecretRef: v1alpha1.ObjectReference{Name: "kstatus-missing"}})
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, m.Name).Status).To(Equal(metav1.ConditionTrue))
		_, err := registry.Client(m.Name)
		g.Expect(err).NotTo(HaveOccurred())
	}).Should(Succeed())

	ns := hostNamespace(t, "kstatus")
	g.Expect(m.Client.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	// An object kfed did not create, in the member, where a federated object wants its copy.
	g.Expect(m.Client.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"}})).To(Succeed())

	configMap := func(name string, p v1alpha1.Placement) *v1alpha1.FederatedConfigMap {
		return &v1alpha1.FederatedConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1alpha1.FederatedConfigMapSpec{
				Template:      v1alpha1.ConfigMapTemplate{Data: map[string]string{"k": "v"}},
				FederatedSpec: v1alpha1.FederatedSpec{Placement: p},
			},
		}
	}
	// Accepted at admission, refused by the label selector parser: Invalid.
	badSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn}}}
	two, zero := int32(2), int32(0)
	unready := &v1alpha1.FederatedDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unready"},
		Spec: v1alpha1.FederatedDeploymentSpec{
			Template: v1alpha1.DeploymentTemplate{Spec: appsv1.DeploymentSpec{Replicas: &zero,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "unready"}}, Template: podTemplate("unready")}},
			FederatedSpec:     v1alpha1.FederatedSpec{Placement: v1alpha1.Placement{Clusters: []string{m.Name}}},
			ReplicaScheduling: &v1alpha1.ReplicaScheduling{TotalReplicas: &two},
		},
	}
	type kstatusCase struct {
		name       string
		obj        client.Object
		want       status.Status
		wantReason string
	}
	objects := []kstatusCase{
		{"converged", configMap("converged", v1alpha1.Placement{Clusters: []string{m.Name}}), status.CurrentStatus, v1alpha1.ReasonPropagated},
		{"replicas not ready (no controller runs them in the member)", unready, status.InProgressStatus, v1alpha1.ReasonPropagating},
		{"placed on a cluster that is not ready", configMap("waiting", v1alpha1.Placement{Clusters: []string{m.Name, down.Name}}),
			status.InProgressStatus, v1alpha1.ReasonPropagating},
		{"a member holds an object kfed did not create", configMap("taken", v1alpha1.Placement{Clusters: []string{m.Name}}),
			status.FailedStatus, v1alpha1.ReasonPropagationFailed},
		{"invalid placement", configMap("invalid", v1alpha1.Placement{ClusterSelector: badSelector}), status.FailedStatus, v1alpha1.ReasonInvalid},
		{"no cluster matches", configMap("nowhere", v1alpha1.Placement{ClusterSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"kstatus": "none"}}}), status.FailedStatus, v1alpha1.ReasonNoClusters},
	}
	for _, tc := range objects {
		g.Expect(fed.Host.Client.Create(t.Context(), tc.obj)).To(Succeed(), tc.name)
		defer deleteAndWait(t, tc.obj)
	}
	// Unjoining the cluster that is not ready releases the deletion of what was placed there.
	defer func() {
		g.Expect(client.IgnoreNotFound(fed.Host.Client.Delete(context.Background(), down))).To(Succeed())
	}()
	clusters := []kstatusCase{
		{"a Ready cluster", getCluster(t, m.Name), status.CurrentStatus, v1alpha1.ReasonProbeSucceeded},
		{"a cluster whose Secret is missing", down, status.FailedStatus, v1alpha1.ReasonSecretNotFound},
	}
	for _, tc := range slices.Concat(objects, clusters) {
		g.Eventually(func(g Gomega) {
			got, reason := kstatusOf(g, tc.obj)
			g.Expect(reason).To(Equal(tc.wantReason), "the Ready reason kfed writes")
			g.Expect(got).To(Equal(tc.want), "kstatus of the status kfed wrote, Ready reason %s", reason)
		}).Should(Succeed(), tc.name)
		got, reason := kstatusOf(g, tc.obj)
		t.Logf("%-60s Ready reason %-18s kstatus %s", tc.name, reason, got)
	}
}

// TestKubectlWaitForReadyOnEveryKind runs `kubectl wait --for=condition=Ready` on one object of
// every federated kind and on a FederatedCluster, as a user or a CI job would; and on an object
// that cannot become Ready, which times out while `--for=condition=Stalled` returns.
func TestKubectlWaitForReadyOnEveryKind(t *testing.T) {
	g := NewWithT(t)
	m := fed.Members[0]
	join(t, m.Name, kubeconfigOf(m), v1alpha1.FederatedClusterSpec{})
	ns := hostNamespace(t, "kubectl-wait")
	g.Expect(fed.Host.Client.Create(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "source"},
		Data: map[string][]byte{"k": []byte("v")}})).To(Succeed())

	placed := v1alpha1.FederatedSpec{Placement: v1alpha1.Placement{Clusters: []string{m.Name}}}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "w"}}
	one := int32(1)
	job := podTemplate("w")
	job.Spec.RestartPolicy = corev1.RestartPolicyNever
	objs := []federatedObject{
		&v1alpha1.FederatedDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}, Spec: v1alpha1.FederatedDeploymentSpec{
			Template: v1alpha1.DeploymentTemplate{Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: sel, Template: podTemplate("w")}}, FederatedSpec: placed}},
		&v1alpha1.FederatedReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}, Spec: v1alpha1.FederatedReplicaSetSpec{
			Template: v1alpha1.ReplicaSetTemplate{Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: sel, Template: podTemplate("w")}}, FederatedSpec: placed}},
		&v1alpha1.FederatedDaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}, Spec: v1alpha1.FederatedDaemonSetSpec{
			Template: v1alpha1.DaemonSetTemplate{Spec: appsv1.DaemonSetSpec{Selector: sel, Template: podTemplate("w")}}, FederatedSpec: placed}},
		&v1alpha1.FederatedJob{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}, Spec: v1alpha1.FederatedJobSpec{
			Template: v1alpha1.JobTemplate{Spec: batchv1.JobSpec{Template: job}}, FederatedSpec: placed}},
		&v1alpha1.FederatedConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}, Spec: v1alpha1.FederatedConfigMapSpec{
			Template: v1alpha1.ConfigMapTemplate{Data: map[string]string{"k": "v"}}, FederatedSpec: placed}},
		&v1alpha1.FederatedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}, Spec: v1alpha1.FederatedSecretSpec{
			SecretRef: v1alpha1.SecretReference{Name: "source"}, FederatedSpec: placed}},
		&v1alpha1.FederatedService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}, Spec: v1alpha1.FederatedServiceSpec{
			Template: v1alpha1.ServiceTemplate{Spec: corev1.ServiceSpec{Selector: sel.MatchLabels,
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, FederatedSpec: placed}},
		&v1alpha1.FederatedIngress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}, Spec: v1alpha1.FederatedIngressSpec{
			Template: v1alpha1.IngressTemplate{Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "w", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}, FederatedSpec: placed}},
		&v1alpha1.FederatedObject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}, Spec: v1alpha1.FederatedObjectSpec{
			Template:      rawObject(t, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "w"}}),
			FederatedSpec: placed}},
		&v1alpha1.ClusterFederatedObject{ObjectMeta: metav1.ObjectMeta{Name: "kfed-test-wait"}, Spec: v1alpha1.ClusterFederatedObjectSpec{
			Template: rawObject(t, map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
				"metadata": map[string]any{"name": "kfed-test-wait"}, "rules": []any{}}),
			FederatedSpec: placed}},
	}
	// One object of every kind in the table, so a kind added later fails here until it is added.
	covered := map[string]bool{}
	for _, o := range objs {
		covered[o.FederatedKind()] = true
	}
	for _, k := range kinds.All {
		g.Expect(covered).To(HaveKey(k.Name), "TestKubectlWaitForReadyOnEveryKind has no object of kind %s", k.Name)
	}
	for _, o := range objs {
		g.Expect(fed.Host.Client.Create(t.Context(), o)).To(Succeed(), "creating %s", o.FederatedKind())
		defer deleteAndWait(t, o)
		defer logStatusOnFailure(t, o, o.GetFederatedStatus())
	}

	// The members run no workload controllers: report the one replica of the Deployment and
	// the ReplicaSet ready in the member as its controller would, so that Ready can follow.
	for _, gvk := range []schema.GroupVersionKind{appsv1.SchemeGroupVersion.WithKind("Deployment"), appsv1.SchemeGroupVersion.WithKind("ReplicaSet")} {
		g.Eventually(func(g Gomega) {
			u := memberObject(g, m, gvk, client.ObjectKey{Namespace: ns, Name: "w"})
			g.Expect(u).NotTo(BeNil(), "%s in %s", gvk.Kind, m.Name)
			patch := []byte(`{"status":{"replicas":1,"readyReplicas":1,"availableReplicas":1}}`)
			g.Expect(m.Client.Status().Patch(t.Context(), u, client.RawPatch(types.MergePatchType, patch))).To(Succeed())
		}).Should(Succeed())
	}

	resource := func(o federatedObject) string {
		k, _ := kinds.ByName(o.FederatedKind())
		return k.Plural + "/" + o.GetName()
	}
	for _, o := range objs {
		args := []string{"wait", "--for=condition=Ready", "--timeout=60s", resource(o)}
		if o.GetNamespace() != "" {
			args = append(args, "-n", o.GetNamespace())
		}
		start := time.Now()
		out := kubectl(t, args...)
		g.Expect(out).To(ContainSubstring("condition met"), "kubectl %s", strings.Join(args, " "))
		t.Logf("kubectl %s: %s (%s)", strings.Join(args, " "), strings.TrimSpace(out), time.Since(start).Round(100*time.Millisecond))
	}
	out := kubectl(t, "wait", "--for=condition=Ready", "--timeout=60s", "federatedcluster/"+m.Name)
	g.Expect(out).To(ContainSubstring("condition met"))

	// `kubectl get kfed` (the CRDs' category) lists every kind.
	out = kubectl(t, "get", "kfed", "-A", "-o", "name")
	for _, o := range objs {
		g.Expect(out).To(ContainSubstring(strings.ToLower(o.FederatedKind())+".federation.kfed.io/"+o.GetName()+"\n"), "kubectl get kfed -A:\n%s", out)
	}
	g.Expect(out).To(ContainSubstring("federatedcluster.federation.kfed.io/"+m.Name+"\n"), "kubectl get kfed -A:\n%s", out)

	// A Job's completions in the member flow back into the FederatedJob's status.
	fjob := objs[3].(*v1alpha1.FederatedJob)
	g.Eventually(func(g Gomega) {
		u := memberObject(g, m, batchv1.SchemeGroupVersion.WithKind("Job"), client.ObjectKey{Namespace: ns, Name: "w"})
		g.Expect(u).NotTo(BeNil())
		g.Expect(m.Client.Status().Patch(t.Context(), u, client.RawPatch(types.MergePatchType, []byte(`{"status":{"succeeded":1}}`)))).To(Succeed())
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fjob), fjob)).To(Succeed())
		g.Expect(fjob.Status.Clusters).To(ConsistOf(And(HaveField("Name", m.Name), HaveField("ReadyReplicas", int32(1)))))
		g.Expect(fjob.Status.ReadyReplicas).To(Equal(int32(1)))
	}).Should(Succeed(), "the member Job's succeeded count in status.clusters and status.readyReplicas")

	// kubectl wait waits: on an object that cannot become Ready it times out, and the condition
	// that says why is there to wait for instead.
	stuck := &v1alpha1.FederatedConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stuck"}, Spec: v1alpha1.FederatedConfigMapSpec{
		FederatedSpec: v1alpha1.FederatedSpec{Placement: v1alpha1.Placement{Clusters: []string{"kubectl-wait-nowhere"}}}}}
	g.Expect(fed.Host.Client.Create(t.Context(), stuck)).To(Succeed())
	defer deleteAndWait(t, stuck)
	kubectl(t, "wait", "--for=condition=Stalled", "--timeout=60s", "-n", ns, "federatedconfigmap/stuck")
	out, err := kubectlRun(t, "wait", "--for=condition=Ready", "--timeout=3s", "-n", ns, "federatedconfigmap/stuck")
	g.Expect(err).To(HaveOccurred(), "kubectl wait --for=condition=Ready returned on an object that is not Ready: %s", out)
	g.Expect(out).To(ContainSubstring("timed out"))
}

// TestKstatusOfAnObjectWithoutStatus backs the caveat of docs/federate.md: before kfed writes a
// first status, kstatus calls the object Current (its rule for a custom resource without
// observedGeneration or conditions), so kstatus-based waits should wait for Ready there.
func TestKstatusOfAnObjectWithoutStatus(t *testing.T) {
	fresh := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(), "kind": "FederatedConfigMap",
		"metadata": map[string]any{"name": "fresh", "namespace": "default", "generation": int64(1)},
	}}
	res, err := status.Compute(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != status.CurrentStatus {
		t.Errorf("kstatus of a federated object without status: %s (docs/federate.md says Current; update it)", res.Status)
	}
}
