package controllers_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/test/framework"
)

// Fast probes, so that the tests see transitions in seconds: every 2 s with a 1 s timeout.
// fastProbes detect a dead member within seconds; three failures in a row (not two) keep a live
// witness member from flapping on a loaded 2-core machine.
var fastProbes = v1alpha1.HealthCheck{PeriodSeconds: 2, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1}

// join creates the credential Secret and the FederatedCluster of a member, and removes both
// (waiting until the Registry forgets the member) when the test ends.
func join(t *testing.T, name string, data map[string][]byte, spec v1alpha1.FederatedClusterSpec) *v1alpha1.FederatedCluster {
	t.Helper()
	ctx := t.Context()
	host := fed.Host.Client
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: name + "-credentials"}, Data: data}
	if data != nil {
		if err := host.Create(ctx, secret); err != nil {
			t.Fatalf("creating the Secret of %s: %v", name, err)
		}
	}
	if spec.SecretRef.Name == "" {
		spec.SecretRef.Name = secret.Name
	}
	if spec.HealthCheck == (v1alpha1.HealthCheck{}) {
		spec.HealthCheck = fastProbes
	}
	fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	if err := host.Create(ctx, fc); err != nil {
		t.Fatalf("creating FederatedCluster %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = host.Delete(ctx, fc)
		_ = host.Delete(ctx, secret)
		NewWithT(t).Eventually(registry.Members).WithTimeout(30 * time.Second).ShouldNot(ContainElement(name))
	})
	return fc
}

func kubeconfigOf(c *framework.Cluster) map[string][]byte {
	return map[string][]byte{v1alpha1.SecretKeyKubeconfig: c.Kubeconfig}
}

// readyOf returns the Ready condition of a FederatedCluster as the host has it.
func readyOf(g Gomega, name string) metav1.Condition {
	fc := &v1alpha1.FederatedCluster{}
	g.Expect(fed.Host.Client.Get(context.Background(), client.ObjectKey{Name: name}, fc)).To(Succeed())
	c := meta.FindStatusCondition(fc.Status.Conditions, v1alpha1.ConditionReady)
	g.Expect(c).NotTo(BeNil(), "FederatedCluster %s has no Ready condition yet", name)
	return *c
}

func getCluster(t *testing.T, name string) *v1alpha1.FederatedCluster {
	t.Helper()
	fc := &v1alpha1.FederatedCluster{}
	if err := fed.Host.Client.Get(t.Context(), client.ObjectKey{Name: name}, fc); err != nil {
		t.Fatalf("reading FederatedCluster %s: %v", name, err)
	}
	return fc
}

func TestTwoMembersJoinAndBecomeReady(t *testing.T) {
	g := NewWithT(t)
	for _, m := range fed.Members {
		join(t, m.Name, kubeconfigOf(m), v1alpha1.FederatedClusterSpec{})
	}
	for _, m := range fed.Members {
		g.Eventually(func(g Gomega) {
			c := readyOf(g, m.Name)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", c.Reason, c.Message)
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProbeSucceeded))
			fc := &v1alpha1.FederatedCluster{}
			g.Expect(fed.Host.Client.Get(context.Background(), client.ObjectKey{Name: m.Name}, fc)).To(Succeed())
			g.Expect(fc.Status.Nodes).To(Equal(int32(2)))
			_, err := registry.Client(m.Name)
			g.Expect(err).NotTo(HaveOccurred())
		}).WithTimeout(30 * time.Second).Should(Succeed())

		fc := getCluster(t, m.Name)
		g.Expect(fc.Status.Region).To(Equal(m.Region))
		g.Expect(fc.Status.Zones).To(Equal([]string{m.Zone}))
		g.Expect(fc.Status.KubernetesVersion).To(HavePrefix("v1.37."))
		g.Expect(fc.Status.ObservedGeneration).To(Equal(fc.Generation))
		cpu := fc.Status.Allocatable[corev1.ResourceCPU]
		pods := fc.Status.Allocatable[corev1.ResourcePods]
		g.Expect(cpu.String()).To(Equal("64"), "two nodes of 32 cpu")
		g.Expect(pods.String()).To(Equal("1k"), "two nodes of 500 pods")
		memory := fc.Status.Allocatable[corev1.ResourceMemory]
		g.Expect(memory.String()).To(Equal("512Gi"), "two nodes of 256Gi memory")

		c, err := registry.Client(m.Name)
		g.Expect(err).NotTo(HaveOccurred())
		var nodes corev1.NodeList
		g.Expect(c.List(t.Context(), &nodes)).To(Succeed())
		g.Expect(nodes.Items).To(HaveLen(2))
	}

	// Steady state is quiet: over three probe periods of a healthy fleet, no status write.
	versions := map[string]string{}
	for _, m := range fed.Members {
		versions[m.Name] = getCluster(t, m.Name).ResourceVersion
	}
	time.Sleep(3 * time.Duration(fastProbes.PeriodSeconds) * time.Second)
	for _, m := range fed.Members {
		g.Expect(getCluster(t, m.Name).ResourceVersion).To(Equal(versions[m.Name]), "FederatedCluster %s was written while nothing changed", m.Name)
	}
}

func TestSpecRegionAndZonesOverrideDiscovery(t *testing.T) {
	g := NewWithT(t)
	m := fed.Members[0]
	join(t, "pinned-topology", kubeconfigOf(m), v1alpha1.FederatedClusterSpec{Region: "mars-north1", Zones: []string{"mars-north1-b", "mars-north1-a"}})
	g.Eventually(func(g Gomega) {
		fc := &v1alpha1.FederatedCluster{}
		g.Expect(fed.Host.Client.Get(context.Background(), client.ObjectKey{Name: "pinned-topology"}, fc)).To(Succeed())
		g.Expect(fc.Status.Region).To(Equal("mars-north1"))
		g.Expect(fc.Status.Zones).To(Equal([]string{"mars-north1-a", "mars-north1-b"}))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// kubectl get shows the zones as a person writes them, not as JSON.
	out := kubectl(t, "get", "fcl", "pinned-topology")
	g.Expect(tableCell(t, out, "ZONES")).To(Equal("mars-north1-a,mars-north1-b"), "kubectl get fcl:\n%s", out)
	g.Expect(tableCell(t, out, "REGION")).To(Equal("mars-north1"), "kubectl get fcl:\n%s", out)
}

// The bound in which a dead member must be reported: failureThreshold × period + timeout, plus
// a generous margin for a loaded 2-core machine. The measured time is logged.
func detectionBound(hc v1alpha1.HealthCheck) time.Duration {
	return time.Duration(hc.FailureThreshold*hc.PeriodSeconds+hc.TimeoutSeconds)*time.Second + 10*time.Second
}

func TestDeadMemberIsDetectedAndRecovers(t *testing.T) {
	g := NewWithT(t)
	victim, witness := fed.Members[0], fed.Members[1]
	join(t, victim.Name, kubeconfigOf(victim), v1alpha1.FederatedClusterSpec{})
	join(t, witness.Name, kubeconfigOf(witness), v1alpha1.FederatedClusterSpec{})
	for _, name := range []string{victim.Name, witness.Name} {
		g.Eventually(func(g Gomega) {
			g.Expect(readyOf(g, name).Status).To(Equal(metav1.ConditionTrue))
			_, err := registry.Client(name)
			g.Expect(err).NotTo(HaveOccurred())
		}).WithTimeout(30 * time.Second).Should(Succeed())
	}

	// The witness must stay Ready throughout: watch it from the side.
	witnessStayedReady := make(chan error, 1)
	stopWatching := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopWatching:
				witnessStayedReady <- nil
				return
			case <-time.After(200 * time.Millisecond):
			}
			fc := &v1alpha1.FederatedCluster{}
			if err := fed.Host.Client.Get(context.Background(), client.ObjectKey{Name: witness.Name}, fc); err != nil {
				witnessStayedReady <- err
				return
			}
			if !meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady) {
				witnessStayedReady <- fmt.Errorf("witness %s went NotReady: %+v", witness.Name, fc.Status.Conditions)
				return
			}
		}
	}()

	// Timed from the stop request: the server stops answering /readyz as soon as it is told.
	stopped := time.Now()
	restart := stopAPIServer(t, victim)
	defer restart()
	bound := detectionBound(fastProbes)
	g.Eventually(func(g Gomega) {
		c := readyOf(g, victim.Name)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProbeFailed))
	}).WithTimeout(bound).WithPolling(100 * time.Millisecond).Should(Succeed())
	detected := time.Since(stopped)
	t.Logf("dead member reported NotReady/ProbeFailed after %s (bound %s; failureThreshold %d × period %ds + timeout %ds)",
		detected.Round(10*time.Millisecond), bound, fastProbes.FailureThreshold, fastProbes.PeriodSeconds, fastProbes.TimeoutSeconds)
	g.Expect(readyOf(g, victim.Name).Message).To(ContainSubstring(victim.Host()))

	// A dead member answers at once: no worker waits on it.
	_, err := registry.Client(victim.Name)
	g.Expect(err).To(MatchError(member.ErrClusterNotConnected))

	restart()
	started := time.Now()
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, victim.Name).Status).To(Equal(metav1.ConditionTrue))
		_, err := registry.Client(victim.Name)
		g.Expect(err).NotTo(HaveOccurred())
	}).WithTimeout(60 * time.Second).Should(Succeed())
	t.Logf("restarted member Ready again after %s", time.Since(started).Round(10*time.Millisecond))

	close(stopWatching)
	g.Expect(<-witnessStayedReady).To(Succeed())

	// Each transition was an Event: Ready → NotReady (Warning ProbeFailed) and NotReady → Ready
	// (Normal ProbeSucceeded, now twice: at the join and after the recovery).
	uid := getCluster(t, victim.Name).UID
	g.Eventually(func(g Gomega) {
		seen := transitionEvents(t, uid)
		g.Expect(seen).To(HaveKey("Warning ProbeFailed"))
		g.Expect(seen["Normal ProbeSucceeded"]).To(BeNumerically(">=", 2), "%v", seen)
	}).Should(Succeed())

	// The recovered member's client works again, through the cache that outlived the outage.
	c, err := registry.Client(victim.Name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() error {
		var nodes corev1.NodeList
		return c.List(context.Background(), &nodes)
	}).Should(Succeed())
}

// randomToken is a bearer token no API server will accept.
func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "kfed-test-" + hex.EncodeToString(b)
}

// serviceAccountToken creates a service account in a member and returns a token for it.
func serviceAccountToken(t *testing.T, m *framework.Cluster, name string) string {
	t.Helper()
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(m.Config)
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token in %s: %v", m.Name, err)
	}
	// Nodes are what kfed reads; grant the service account that, and nothing else.
	for _, obj := range []client.Object{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch"}},
		}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "default", Name: name}}},
	} {
		if err := m.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	return tr.Status.Token
}

func ptr[T any](v T) *T { return &v }

// otherCA is a CA that signed nothing any member serves.
func otherCA(t *testing.T) []byte {
	t.Helper()
	other, err := framework.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return other
}

func TestCredentialProblemsAreReportedWithoutSecrets(t *testing.T) {
	m := fed.Members[1]
	goodToken := serviceAccountToken(t, m, "kfed-probe")
	wrongToken := randomToken()
	ca := m.Config.CAData
	cases := []struct {
		name        string
		data        map[string][]byte
		secretName  string // when the FederatedCluster names a Secret that does not exist
		endpoint    string
		reason      string
		mentions    []string
		mustNotLeak []string
	}{{
		name:       "missing-secret",
		secretName: "no-such-secret",
		reason:     v1alpha1.ReasonSecretNotFound,
		mentions:   []string{"Secret kfed-system/no-such-secret", "not found"},
	}, {
		name:     "secret-without-key",
		data:     map[string][]byte{"unrelated": []byte("value")},
		reason:   v1alpha1.ReasonCredentialsInvalid,
		mentions: []string{"Secret kfed-system/secret-without-key-credentials", `"kubeconfig"`, `"token"`},
	}, {
		name:        "garbage-kubeconfig",
		data:        map[string][]byte{"kubeconfig": []byte("{not: [a kubeconfig " + wrongToken)},
		reason:      v1alpha1.ReasonCredentialsInvalid,
		mentions:    []string{"Secret kfed-system/garbage-kubeconfig-credentials", `key "kubeconfig"`},
		mustNotLeak: []string{wrongToken},
	}, {
		name:        "wrong-token",
		data:        map[string][]byte{"token": []byte(wrongToken), "ca.crt": ca},
		endpoint:    m.Host(),
		reason:      v1alpha1.ReasonUnauthorized,
		mentions:    []string{"Secret kfed-system/wrong-token-credentials", `"token"`, "401"},
		mustNotLeak: []string{wrongToken},
	}, {
		name:        "wrong-ca",
		data:        map[string][]byte{"token": []byte(goodToken), "ca.crt": otherCA(t)},
		endpoint:    m.Host(),
		reason:      v1alpha1.ReasonCertificateInvalid,
		mentions:    []string{"Secret kfed-system/wrong-ca-credentials", `"ca.crt"`, "unknown authority"},
		mustNotLeak: []string{goodToken},
	}, {
		name:        "token-without-ca",
		data:        map[string][]byte{"token": []byte(goodToken)},
		endpoint:    m.Host(),
		reason:      v1alpha1.ReasonCredentialsInvalid,
		mentions:    []string{"Secret kfed-system/token-without-ca-credentials", `"ca.crt"`},
		mustNotLeak: []string{goodToken},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			spec := v1alpha1.FederatedClusterSpec{APIEndpoint: tc.endpoint}
			spec.SecretRef.Name = tc.secretName
			join(t, tc.name, tc.data, spec)
			var c metav1.Condition
			g.Eventually(func(g Gomega) {
				c = readyOf(g, tc.name)
				g.Expect(c.Reason).To(Equal(tc.reason), c.Message)
			}).WithTimeout(30 * time.Second).Should(Succeed())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			for _, s := range tc.mentions {
				g.Expect(c.Message).To(ContainSubstring(s))
			}
			var events []string
			g.Eventually(func() []string {
				events = eventsAbout(t, tc.name)
				return events
			}).ShouldNot(BeEmpty(), "an Event on the transition")
			for _, leak := range append(tc.mustNotLeak, string(ca)) {
				g.Expect(c.Message).NotTo(ContainSubstring(leak))
				for _, e := range events {
					g.Expect(e).NotTo(ContainSubstring(leak))
				}
			}
		})
	}
}

// transitionEvents counts the Events about one FederatedCluster (by UID: a cluster joined
// again under the same name is another) by "type reason", a series counting as its occurrences.
func transitionEvents(t *testing.T, uid types.UID) map[string]int {
	var list eventsv1.EventList
	if err := fed.Host.Client.List(t.Context(), &list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range list.Items {
		if e.Regarding.Kind != "FederatedCluster" || e.Regarding.UID != uid {
			continue
		}
		n := 1
		if e.Series != nil {
			n = int(e.Series.Count)
		}
		seen[e.Type+" "+e.Reason] += n
	}
	return seen
}

// eventsAbout returns the notes of the Events about a FederatedCluster.
func eventsAbout(t *testing.T, name string) []string {
	var list eventsv1.EventList
	if err := fed.Host.Client.List(t.Context(), &list); err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "FederatedCluster" && e.Regarding.Name == name {
			notes = append(notes, e.Reason+": "+e.Note)
		}
	}
	return notes
}

func TestRotatedCredentialsArePickedUp(t *testing.T) {
	g := NewWithT(t)
	m := fed.Members[1]
	good := serviceAccountToken(t, m, "kfed-rotation")
	fc := join(t, "rotation", map[string][]byte{"token": []byte(randomToken()), "ca.crt": m.Config.CAData},
		v1alpha1.FederatedClusterSpec{APIEndpoint: m.Host()})
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, fc.Name).Reason).To(Equal(v1alpha1.ReasonUnauthorized))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	secret := &corev1.Secret{}
	g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKey{Namespace: operatorNamespace, Name: fc.Spec.SecretRef.Name}, secret)).To(Succeed())
	secret.Data["token"] = []byte(good)
	g.Expect(fed.Host.Client.Update(t.Context(), secret)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, fc.Name).Status).To(Equal(metav1.ConditionTrue))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	// The least-privileged token reads nodes through the member cache.
	g.Eventually(func(g Gomega) {
		g.Expect(getCluster(t, fc.Name).Status.Nodes).To(Equal(int32(2)))
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

func TestInvalidFederatedClustersAreRejected(t *testing.T) {
	valid := func() map[string]any {
		return map[string]any{"secretRef": map[string]any{"name": "s"}}
	}
	cases := []struct {
		name   string
		mutate func(spec map[string]any)
		field  string
	}{
		{"no secretRef", func(s map[string]any) { delete(s, "secretRef") }, "spec.secretRef"},
		{"empty secret name", func(s map[string]any) { s["secretRef"] = map[string]any{"name": ""} }, "spec.secretRef.name"},
		{"timeout equal to period", func(s map[string]any) {
			s["healthCheck"] = map[string]any{"periodSeconds": int64(5), "timeoutSeconds": int64(5)}
		}, "spec.healthCheck.timeoutSeconds"},
		{"timeout above the default period", func(s map[string]any) {
			s["healthCheck"] = map[string]any{"timeoutSeconds": int64(30)}
		}, "spec.healthCheck.timeoutSeconds"},
		{"period of 0", func(s map[string]any) { s["healthCheck"] = map[string]any{"periodSeconds": int64(0)} }, "spec.healthCheck.periodSeconds"},
		{"period above 300", func(s map[string]any) { s["healthCheck"] = map[string]any{"periodSeconds": int64(301)} }, "spec.healthCheck.periodSeconds"},
		{"negative failureThreshold", func(s map[string]any) {
			s["healthCheck"] = map[string]any{"failureThreshold": int64(-1)}
		}, "spec.healthCheck.failureThreshold"},
		{"zero successThreshold", func(s map[string]any) { s["healthCheck"] = map[string]any{"successThreshold": int64(0)} }, "spec.healthCheck.successThreshold"},
		{"http endpoint", func(s map[string]any) { s["apiEndpoint"] = "http://10.1.2.3:6443" }, "spec.apiEndpoint"},
		{"endpoint that is no URL", func(s map[string]any) { s["apiEndpoint"] = "member-1:6443" }, "spec.apiEndpoint"},
		{"taint with an unknown effect", func(s map[string]any) {
			s["taints"] = []any{map[string]any{"key": "k", "effect": "PreferNoSchedule"}}
		}, "spec.taints[0].effect"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := valid()
			tc.mutate(spec)
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": v1alpha1.GroupVersion.String(), "kind": "FederatedCluster",
				"metadata": map[string]any{"name": "invalid-" + strconv.Itoa(i)},
				"spec":     spec,
			}}
			err := fed.Host.Client.Create(t.Context(), u)
			if err == nil {
				_ = fed.Host.Client.Delete(context.Background(), u)
				t.Fatalf("the API server accepted %s", tc.name)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("the error does not name %s: %v", tc.field, err)
			}
		})
	}
	// And the valid base is accepted, so the cases above fail for their own reason.
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(), "kind": "FederatedCluster",
		"metadata": map[string]any{"name": "valid-base"}, "spec": valid(),
	}}
	if err := fed.Host.Client.Create(t.Context(), u); err != nil {
		t.Fatalf("the valid base was rejected: %v", err)
	}
	_ = fed.Host.Client.Delete(t.Context(), u)
}

// nodeWatches counts the watches on nodes a member's API server is serving now.
func nodeWatches(t *testing.T, m *framework.Cluster) int {
	t.Helper()
	rc, err := rest.HTTPClientFor(m.Config)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Get(strings.TrimSuffix(m.Host(), "/") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	total := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "apiserver_longrunning_requests{") &&
			strings.Contains(line, `resource="nodes"`) && strings.Contains(line, `verb="WATCH"`) {
			f := strings.Fields(line)
			n, _ := strconv.ParseFloat(f[len(f)-1], 64)
			total += int(n)
		}
	}
	return total
}

func TestDeletingAClusterStopsItsProbesAndWatches(t *testing.T) {
	g := NewWithT(t)
	// Other tests' members are gone when they end; start from an empty Registry.
	g.Eventually(registry.Members).WithTimeout(30 * time.Second).Should(BeEmpty())
	g.Eventually(registry.Goroutines).Should(BeZero())
	m := fed.Members[0]
	// The API server watches nodes itself; count kfed's watches above that baseline.
	baseline := nodeWatches(t, m)

	host := fed.Host.Client
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "deleted-credentials"}, Data: kubeconfigOf(m)}
	g.Expect(host.Create(t.Context(), secret)).To(Succeed())
	defer func() { _ = host.Delete(context.Background(), secret) }()
	fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: "deleted"}, Spec: v1alpha1.FederatedClusterSpec{
		SecretRef: v1alpha1.ObjectReference{Name: secret.Name}, HealthCheck: fastProbes,
	}}
	g.Expect(host.Create(t.Context(), fc)).To(Succeed())
	g.Eventually(func() error { _, err := registry.Client("deleted"); return err }).WithTimeout(30 * time.Second).Should(Succeed())
	g.Expect(registry.Goroutines()).To(BeNumerically(">=", 2), "a prober and a cache")
	g.Eventually(func() int { return nodeWatches(t, m) }).WithTimeout(10 * time.Second).Should(BeNumerically(">", baseline))

	g.Expect(host.Delete(t.Context(), fc)).To(Succeed())
	g.Eventually(registry.Members).WithTimeout(10 * time.Second).ShouldNot(ContainElement("deleted"))
	// Remove forgets the name first, then waits for the member's goroutines to exit.
	g.Eventually(registry.Goroutines).WithTimeout(10*time.Second).Should(BeZero(), "every goroutine of the member has exited")
	_, err := registry.Client("deleted")
	g.Expect(err).To(MatchError(member.ErrClusterNotConnected))
	g.Eventually(func() int { return nodeWatches(t, m) }).WithTimeout(10*time.Second).Should(Equal(baseline), "the member serves no watch of kfed's")
	_, known := registry.Health("deleted")
	g.Expect(known).To(BeFalse())
	g.Expect(slices.Contains(registry.Members(), "deleted")).To(BeFalse())
}

// TestCredentialsOnlyFromTheOperatorNamespace: a FederatedCluster whose secretRef names a
// Secret in another namespace is not connected, even though that Secret exists and holds good
// credentials: kfed reads member credentials from its own namespace only, and says so.
func TestCredentialsOnlyFromTheOperatorNamespace(t *testing.T) {
	g := NewWithT(t)
	m := fed.Members[0]
	elsewhere := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "planted-credentials"}, Data: kubeconfigOf(m)}
	g.Expect(fed.Host.Client.Create(t.Context(), elsewhere)).To(Succeed())
	defer func() { _ = fed.Host.Client.Delete(context.Background(), elsewhere) }()
	join(t, "other-namespace", nil, v1alpha1.FederatedClusterSpec{SecretRef: v1alpha1.ObjectReference{Name: elsewhere.Name, Namespace: "default"}})
	g.Eventually(func(g Gomega) {
		c := readyOf(g, "other-namespace")
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonSecretNotFound))
		g.Expect(c.Message).To(ContainSubstring("outside namespace " + operatorNamespace))
	}).Should(Succeed())
	g.Consistently(func() error { _, err := registry.Client("other-namespace"); return err }).
		WithTimeout(3*time.Second).ShouldNot(Succeed(), "no connection made from a Secret of another namespace")
	t.Logf("Ready=False %s: %s", v1alpha1.ReasonSecretNotFound, readyOf(g, "other-namespace").Message)
}
