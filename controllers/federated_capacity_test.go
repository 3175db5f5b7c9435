package controllers_test

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestUnschedulablePodsMoveReplicasAway spreads 30 replicas 10/10/10 and then makes one member
// full: of its 10 pods, 6 are placed and 4 have stayed Unschedulable for five minutes (longer than
// the operator's window of 60 s). The plan caps that member at the 6 it runs (CapacityCap) and the
// other two take the rest: 6/12/12.
//
// The members of these tests run no kube-scheduler or controllers, so the test writes what they
// would: the pods, their PodScheduled conditions and the Deployment's status. That is a
// simulation of the member's side; what is under test, the estimate and the plan, is kfed's.
func TestUnschedulablePodsMoveReplicasAway(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "capacity")
	full := fed.Members[0]
	fd, spread := spreadDeployment(t, ns, "batch", 30)
	g.Expect(spread).To(HaveEach(Equal(int32(10))))

	// The member's side: 6 pods placed, 4 Unschedulable for five minutes, 6 of 10 ready.
	ctx := t.Context()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}
	if err := full.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for i := range 10 {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("batch-%d", i), Labels: map[string]string{"app": "batch"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "k8shserver:1.0"}}},
		}
		if i < 6 {
			pod.Spec.NodeName = full.Name + "-node-0"
		}
		g.Expect(full.Client.Create(ctx, pod)).To(Succeed())
		if i >= 6 {
			pod.Status.Conditions = []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
				Message:            "0/2 nodes are available: 2 Insufficient cpu.",
				LastTransitionTime: metav1.NewTime(time.Now().Add(-5 * time.Minute)),
			}}
			g.Expect(full.Client.Status().Update(ctx, pod)).To(Succeed())
		}
	}
	d := &appsv1.Deployment{}
	g.Expect(full.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: fd.Name}, d)).To(Succeed())
	d.Status.Replicas, d.Status.ReadyReplicas, d.Status.UpdatedReplicas, d.Status.UnavailableReplicas = 10, 6, 10, 4
	g.Expect(full.Client.Status().Update(ctx, d)).To(Succeed())

	want := map[string]int32{fed.Members[0].Name: 6, fed.Members[1].Name: 12, fed.Members[2].Name: 12}
	g.Eventually(func(g Gomega) {
		g.Expect(memberReplicas(g, ns, fd.Name)).To(Equal(want))
		g.Expect(fed.Host.Client.Get(ctx, client.ObjectKeyFromObject(fd), fd)).To(Succeed())
		g.Expect(fd.Status.Plan).To(ContainElement(And(HaveField("Cluster", full.Name), HaveField("Replicas", int32(6)),
			HaveField("Reasons", ContainElement("CapacityCap")))))
	}).WithTimeout(30*time.Second).Should(Succeed(), "the full member keeps what it runs, the others take the rest")
	t.Logf("plan: %+v", fd.Status.Plan)

	// Held: the estimate does not flap back while the member still cannot place more.
	g.Consistently(func(g Gomega) {
		g.Expect(memberReplicas(g, ns, fd.Name)).To(Equal(want))
	}).WithTimeout(5 * time.Second).Should(Succeed())
}
