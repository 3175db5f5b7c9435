// Package deploy_test runs the real manager binary, with the RBAC and manifests from config/,
// against real API servers: what a user gets from `kubectl apply -k config/default`, minus the
// container image (no registry here), with the binary run out of cluster as the ServiceAccount.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/framework"
)

// applyDir creates every object of every YAML file in a folder of config/.
func applyDir(ctx context.Context, t *testing.T, c client.Client, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(framework.RepoRoot(), "config", dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := c.Create(ctx, u); err != nil {
				t.Fatalf("%s: creating %s %s: %v", f, u.GetKind(), u.GetName(), err)
			}
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// lockedBuffer collects a process's output for inspection while it runs.
type lockedBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{mu: make(chan struct{}, 1)} }
func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}
func (b *lockedBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

func TestManagerRunsWithTheShippedRBAC(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	host, err := framework.StartCluster(ctx, framework.ClusterOptions{Topology: framework.Topology{Name: "host"}, CRDDirs: []string{framework.CRDDir()}})
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = host.Stop() }()
	memberCluster, err := framework.StartCluster(ctx, framework.ClusterOptions{Topology: framework.Members[0], Nodes: 1})
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = memberCluster.Stop() }()

	// The namespace, ServiceAccount, roles, bindings and Deployment exactly as shipped.
	applyDir(ctx, t, host.Client, "manager")
	applyDir(ctx, t, host.Client, "rbac")

	// The manager's identity: a token of its ServiceAccount, nothing more.
	cs, err := kubernetes.NewForConfig(host.Config)
	g.Expect(err).NotTo(HaveOccurred())
	tr, err := cs.CoreV1().ServiceAccounts("kfed-system").CreateToken(ctx, "kfed-manager", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	kubeconfig := filepath.Join(t.TempDir(), "manager.kubeconfig")
	g.Expect(clientcmd.WriteToFile(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"host": {Server: host.Host(), CertificateAuthorityData: host.Config.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"kfed-manager": {Token: tr.Status.Token}},
		Contexts:       map[string]*clientcmdapi.Context{"host": {Cluster: "host", AuthInfo: "kfed-manager"}},
		CurrentContext: "host",
	}, kubeconfig)).To(Succeed())

	bin := filepath.Join(t.TempDir(), "manager")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = framework.RepoRoot()
	out, err := build.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))

	metricsAddr, probeAddr := freePort(t), freePort(t)
	logs := newLockedBuffer()
	mgr := exec.Command(bin, "--kubeconfig="+kubeconfig, "--leader-elect", "--namespace=kfed-system",
		"--metrics-bind-address="+metricsAddr, "--health-probe-bind-address="+probeAddr)
	mgr.Stdout, mgr.Stderr = logs, logs
	mgr.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	g.Expect(mgr.Start()).To(Succeed())
	exited := make(chan error, 1)
	go func() { exited <- mgr.Wait() }()
	defer func() {
		_ = mgr.Process.Kill()
		if t.Failed() {
			t.Logf("manager output:\n%s", logs.String())
		}
	}()

	get := func(url string) (int, string) {
		resp, err := http.Get(url) //nolint:noctx // a test poll
		if err != nil {
			return 0, err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	g.Eventually(func() int { code, _ := get("http://" + probeAddr + "/readyz"); return code }).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
	code, _ := get("http://" + probeAddr + "/healthz")
	g.Expect(code).To(Equal(http.StatusOK))

	// Join the member with a token of its own and watch it become Ready.
	memberCS, err := kubernetes.NewForConfig(memberCluster.Config)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = memberCS.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "kfed"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	memberToken, err := memberCS.CoreV1().ServiceAccounts("default").CreateToken(ctx, "kfed", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(host.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kfed-system", Name: memberCluster.Name},
		Data:       map[string][]byte{"token": []byte(memberToken.Status.Token), "ca.crt": memberCluster.Config.CAData},
	})).To(Succeed())
	g.Expect(host.Client.Create(ctx, &v1alpha1.FederatedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: memberCluster.Name},
		Spec: v1alpha1.FederatedClusterSpec{
			SecretRef:   v1alpha1.ObjectReference{Name: memberCluster.Name},
			APIEndpoint: memberCluster.Host(),
			HealthCheck: v1alpha1.HealthCheck{PeriodSeconds: 2, TimeoutSeconds: 1, FailureThreshold: 2, SuccessThreshold: 1},
		},
	})).To(Succeed())
	g.Eventually(func(g Gomega) {
		fc := &v1alpha1.FederatedCluster{}
		g.Expect(host.Client.Get(ctx, client.ObjectKey{Name: memberCluster.Name}, fc)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue(), "%+v", fc.Status.Conditions)
	}).WithTimeout(60 * time.Second).Should(Succeed())

	// Leader election took the lease in the operator namespace.
	lease, err := cs.CoordinationV1().Leases("kfed-system").Get(ctx, "kfed-manager.federation.kfed.io", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())

	// Propagate one object, so that the member write and propagation metrics have a series. The
	// member's identity here is a test one, allowed everything (kfed join grants less).
	_, err = memberCS.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "kfed-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "default", Name: "kfed"}},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(host.Client.Create(ctx, &v1alpha1.FederatedConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "settings"},
		Spec:       v1alpha1.FederatedConfigMapSpec{Template: v1alpha1.ConfigMapTemplate{Data: map[string]string{"k": "v"}}},
	})).To(Succeed())

	// The metrics the issue names, with the member's label.
	var metrics string
	g.Eventually(func() string { _, metrics = get("http://" + metricsAddr + "/metrics"); return metrics }).WithTimeout(30 * time.Second).Should(And(
		ContainSubstring(fmt.Sprintf(`kfed_cluster_ready{cluster=%q} 1`, memberCluster.Name)),
		ContainSubstring(fmt.Sprintf(`kfed_cluster_probe_duration_seconds_count{cluster=%q,result="success"}`, memberCluster.Name)),
		ContainSubstring(fmt.Sprintf(`kfed_member_writes_total{cluster=%q,verb="create"}`, memberCluster.Name)),
		ContainSubstring(`kfed_propagation_duration_seconds_count{kind="FederatedConfigMap"}`),
	))
	// docs/observability.md's table of metrics is what /metrics serves: names, types, labels.
	g.Expect(servedMetrics(metrics)).To(Equal(documentedMetrics(t)), "kfed_* metrics served (got) and in docs/observability.md (want)")

	// The logs are JSON, one object a line, and hold no token.
	g.Expect(mgr.Process.Signal(syscall.SIGTERM)).To(Succeed())
	select {
	case err := <-exited:
		g.Expect(err).NotTo(HaveOccurred(), "the manager exits cleanly on SIGTERM")
	case <-time.After(30 * time.Second):
		t.Fatal("the manager did not exit within 30s of SIGTERM")
	}
	output := logs.String()
	for _, secret := range []string{tr.Status.Token, memberToken.Status.Token} {
		g.Expect(output).NotTo(ContainSubstring(secret))
	}
	sc := bufio.NewScanner(strings.NewReader(output))
	lines := 0
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			lines++
			g.Expect(line).To(HavePrefix("{"), "a JSON log line")
		}
	}
	g.Expect(lines).To(BeNumerically(">", 0))
	// At -v=0 the status writes of the join are not logged (they are at -v=1, below).
	g.Expect(output).NotTo(ContainSubstring("Updated status"))

	// Bad flag values stop the manager before it starts, with the flag named.
	for _, tc := range []struct{ flag, says string }{
		{"--unschedulable-window=0s", "--unschedulable-window must be positive"},
		{"--unschedulable-window=soon", "invalid value \"soon\" for flag -unschedulable-window"},
		{"--log-format=xml", "xml"},
	} {
		out, err := exec.CommandContext(ctx, bin, "--kubeconfig="+kubeconfig, tc.flag).CombinedOutput()
		g.Expect(err).To(HaveOccurred(), "%s was accepted:\n%s", tc.flag, out)
		g.Expect(string(out)).To(ContainSubstring(tc.says), tc.flag)
	}

	// --log-format=console, -v=1 and --unschedulable-window taken: console lines (not JSON), and
	// the status write a spec change causes logged at V(1).
	probeAddr = freePort(t)
	logs = newLockedBuffer()
	mgr = exec.Command(bin, "--kubeconfig="+kubeconfig, "--namespace=kfed-system", "--metrics-bind-address=0",
		"--health-probe-bind-address="+probeAddr, "--log-format=console", "-v=1", "--unschedulable-window=90s")
	mgr.Stdout, mgr.Stderr = logs, logs
	mgr.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	g.Expect(mgr.Start()).To(Succeed())
	defer func() {
		_ = mgr.Process.Kill()
		_ = mgr.Wait()
		if t.Failed() {
			t.Logf("second manager output:\n%s", logs.String())
		}
	}()
	g.Eventually(func() int { code, _ := get("http://" + probeAddr + "/readyz"); return code }).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
	fc := &v1alpha1.FederatedCluster{}
	g.Expect(host.Client.Get(ctx, client.ObjectKey{Name: memberCluster.Name}, fc)).To(Succeed())
	fc.Spec.HealthCheck.PeriodSeconds = 3
	g.Expect(host.Client.Update(ctx, fc)).To(Succeed())
	g.Eventually(logs.String).WithTimeout(30*time.Second).Should(ContainSubstring("Updated status"), "a V(1) line at -v=1")
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		g.Expect(line).NotTo(HavePrefix("{"), "a console log line")
	}
	g.Expect(logs.String()).To(MatchRegexp(`(?m)^\S+\s+(INFO|DEBUG)\s`), "console lines: time, level, message")
}

// metric is what the docs and /metrics say of one metric family.
type metric struct {
	Type   string
	Labels string // sorted, comma-separated
}

// servedMetrics reads kfed's metric families from a /metrics body in the Prometheus text
// format: their types, and the labels of their samples (a histogram's le left out).
func servedMetrics(body string) map[string]metric {
	got := map[string]metric{}
	labels := map[string]map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" && strings.HasPrefix(f[2], "kfed_") {
			got[f[2]] = metric{Type: f[3]}
			continue
		}
		if !strings.HasPrefix(line, "kfed_") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if _, ok := got[strings.TrimSuffix(name, suffix)]; ok && got[name].Type == "" {
				name = strings.TrimSuffix(name, suffix)
			}
		}
		pairs, _, _ := strings.Cut(rest, "}")
		for _, pair := range strings.Split(pairs, ",") {
			if key, _, ok := strings.Cut(pair, "="); ok && key != "le" {
				if labels[name] == nil {
					labels[name] = map[string]bool{}
				}
				labels[name][key] = true
			}
		}
	}
	for name, m := range got {
		keys := slices.Sorted(maps.Keys(labels[name]))
		m.Labels = strings.Join(keys, ",")
		got[name] = m
	}
	return got
}

// documentedMetrics reads the table of docs/observability.md: | `name` | type | `label`, ... |.
func documentedMetrics(t *testing.T) map[string]metric {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "docs", "observability.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]metric{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`kfed_") {
			continue
		}
		var keys []string
		for _, l := range strings.Split(cells[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				keys = append(keys, l)
			}
		}
		slices.Sort(keys)
		want[strings.Trim(strings.TrimSpace(cells[1]), "`")] = metric{Type: strings.TrimSpace(cells[2]), Labels: strings.Join(keys, ",")}
	}
	if len(want) == 0 {
		t.Fatal("docs/observability.md has no table of kfed_ metrics")
	}
	return want
}
