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
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
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

	// The metrics the issue names, with the member's label.
	g.Eventually(func() string { _, body := get("http://" + metricsAddr + "/metrics"); return body }).WithTimeout(20 * time.Second).Should(And(
		ContainSubstring(fmt.Sprintf(`kfed_cluster_ready{cluster=%q} 1`, memberCluster.Name)),
		ContainSubstring(fmt.Sprintf(`kfed_cluster_probe_duration_seconds_count{cluster=%q,result="success"}`, memberCluster.Name)),
	))

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
}
