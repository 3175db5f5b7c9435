package controllers_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/gen"
)

// TestDuplicatedModeGivesEveryMemberTheTotal: replicaScheduling mode Duplicated writes the
// total into each of two real members, and the plan says why.
func TestDuplicatedModeGivesEveryMemberTheTotal(t *testing.T) {
	g := NewWithT(t)
	m0, m1 := fed.Members[0], fed.Members[1]
	joinReady(t, m0.Name, m1.Name)
	ns := hostNamespace(t, "duplicated")
	four := int32(4)
	fd := gen.FederatedDeployment(ns, "copies", 1)
	fd.Spec.Placement = v1alpha1.Placement{Clusters: []string{m0.Name, m1.Name}}
	fd.Spec.ReplicaScheduling = &v1alpha1.ReplicaScheduling{Mode: v1alpha1.ReplicaSchedulingDuplicated, TotalReplicas: &four}
	g.Expect(fed.Host.Client.Create(t.Context(), fd)).To(Succeed())
	defer deleteAndWait(t, fd)
	defer logStatusOnFailure(t, fd, &fd.Status)

	g.Eventually(func(g Gomega) {
		for _, m := range []string{m0.Name, m1.Name} {
			d := &appsv1.Deployment{}
			g.Expect(fed.Member(m).Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "copies"}, d)).To(Succeed(), "in %s", m)
			g.Expect(d.Spec.Replicas).To(HaveValue(Equal(four)), "spec.replicas in %s", m)
		}
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fd), fd)).To(Succeed())
		g.Expect(fd.Status.Plan).To(ConsistOf(
			And(HaveField("Cluster", m0.Name), HaveField("Replicas", four), HaveField("Reasons", ContainElement("Duplicated"))),
			And(HaveField("Cluster", m1.Name), HaveField("Replicas", four), HaveField("Reasons", ContainElement("Duplicated")))))
	}).Should(Succeed())
}

// TestMemberOwnedFieldsAreNotFoughtOver: a field the member sets (a Service's clusterIP) and a
// Deployment's replicas under federation.kfed.io/retain-replicas (as an HPA there would set
// them) stay as the member has them when kfed writes a change of the template.
func TestMemberOwnedFieldsAreNotFoughtOver(t *testing.T) {
	g := NewWithT(t)
	m := fed.Members[0]
	joinReady(t, m.Name)
	ns := hostNamespace(t, "member-owned")
	placed := v1alpha1.FederatedSpec{Placement: v1alpha1.Placement{Clusters: []string{m.Name}}}

	fsvc := &v1alpha1.FederatedService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.FederatedServiceSpec{
			Template: v1alpha1.ServiceTemplate{Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}},
			FederatedSpec: placed,
		},
	}
	fd := gen.FederatedDeployment(ns, "web", 2)
	fd.Annotations = map[string]string{v1alpha1.AnnotationRetainReplicas: "true"}
	fd.Spec.FederatedSpec = placed
	for _, o := range []client.Object{fsvc, fd} {
		g.Expect(fed.Host.Client.Create(t.Context(), o)).To(Succeed())
		defer deleteAndWait(t, o)
	}

	key := client.ObjectKey{Namespace: ns, Name: "web"}
	svc, d := &corev1.Service{}, &appsv1.Deployment{}
	g.Eventually(func(g Gomega) {
		g.Expect(m.Client.Get(t.Context(), key, svc)).To(Succeed())
		g.Expect(m.Client.Get(t.Context(), key, d)).To(Succeed())
	}).Should(Succeed())
	clusterIP := svc.Spec.ClusterIP
	g.Expect(clusterIP).NotTo(BeEmpty(), "the member allocated a clusterIP")
	// The member scales its copy, as its HPA would.
	seven := int32(7)
	d.Spec.Replicas = &seven
	g.Expect(m.Client.Update(t.Context(), d)).To(Succeed())

	// A change of both templates, which kfed writes into the member.
	updateHost(t, fsvc, func() { fsvc.Spec.Template.Metadata.Labels = map[string]string{"rev": "2"} })
	updateHost(t, fd, func() { fd.Spec.Template.Metadata.Labels = map[string]string{"rev": "2"} })
	g.Eventually(func(g Gomega) {
		g.Expect(m.Client.Get(t.Context(), key, svc)).To(Succeed())
		g.Expect(m.Client.Get(t.Context(), key, d)).To(Succeed())
		g.Expect(svc.Labels).To(HaveKeyWithValue("rev", "2"))
		g.Expect(d.Labels).To(HaveKeyWithValue("rev", "2"))
	}).Should(Succeed(), "kfed wrote the template change")
	g.Expect(svc.Spec.ClusterIP).To(Equal(clusterIP), "the member's clusterIP")
	g.Expect(d.Spec.Replicas).To(HaveValue(Equal(seven)), "the member's replicas under retain-replicas")
	g.Consistently(func(g Gomega) {
		g.Expect(m.Client.Get(t.Context(), key, d)).To(Succeed())
		g.Expect(d.Spec.Replicas).To(HaveValue(Equal(seven)))
	}).WithTimeout(3*time.Second).Should(Succeed(), "kfed does not come back for the replicas")
}

// TestFieldsDroppedFromTheTemplateLeaveTheMember: a label and a data key kfed wrote into a
// member ConfigMap go from the member when the template drops them (kfed's managedFields say it
// wrote them, so the copy differs and the apply removes them); a label the member's own manager
// set stays.
func TestFieldsDroppedFromTheTemplateLeaveTheMember(t *testing.T) {
	g := NewWithT(t)
	m := fed.Members[0]
	joinReady(t, m.Name)
	ns := hostNamespace(t, "dropped-fields")
	fcm := gen.FederatedConfigMap(ns, "settings", map[string]string{"keep": "1", "drop": "2"},
		gen.Placement(m.Name), gen.TemplateLabels(map[string]string{"keep": "1", "drop": "2"}))
	g.Expect(fed.Host.Client.Create(t.Context(), fcm)).To(Succeed())
	defer deleteAndWait(t, fcm)

	key := client.ObjectKey{Namespace: ns, Name: "settings"}
	cm := &corev1.ConfigMap{}
	g.Eventually(func(g Gomega) {
		g.Expect(m.Client.Get(t.Context(), key, cm)).To(Succeed())
		g.Expect(cm.Data).To(HaveKey("drop"))
		g.Expect(cm.Labels).To(HaveKey("drop"))
	}).Should(Succeed())
	// The member's own label, written by another manager.
	cm.Labels["member"] = "own"
	g.Expect(m.Client.Update(t.Context(), cm)).To(Succeed())

	updateHost(t, fcm, func() {
		fcm.Spec.Template.Data = map[string]string{"keep": "1"}
		fcm.Spec.Template.Metadata.Labels = map[string]string{"keep": "1"}
	})
	g.Eventually(func(g Gomega) {
		g.Expect(m.Client.Get(t.Context(), key, cm)).To(Succeed())
		g.Expect(cm.Data).To(Equal(map[string]string{"keep": "1"}), "data")
		g.Expect(cm.Labels).NotTo(HaveKey("drop"), "labels")
		g.Expect(cm.Labels).To(HaveKeyWithValue("keep", "1"))
		g.Expect(cm.Labels).To(HaveKeyWithValue("member", "own"), "the member's own label")
	}).Should(Succeed(), "the fields the template dropped left the member")
}
