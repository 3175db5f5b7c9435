// Package dnscontroller_test runs kfed's DNS controller against real servers: a host and two
// members (API servers), kfed's builtin server, CoreDNS over etcd, BIND 9 taking TSIG-signed
// updates, and DNSEndpoint objects in the host. The servers are shared by the tests; every answer
// is read with a DNS client (or, for externalDNS, from the DNSEndpoints).
package dnscontroller_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/test/framework"
)

const (
	operatorNamespace = "kfed-system"
	zone              = "example.com"
	federation        = "myfed"
	tsigKeyName       = "kfed-key"
)

var (
	fed      *framework.Federation
	operator *framework.Manager
	etcd     *framework.Etcd
	coreDNS  *framework.CoreDNS
	named    *framework.Named
	// fastProbes see a dead member within seconds.
	fastProbes = v1alpha1.HealthCheck{PeriodSeconds: 2, TimeoutSeconds: 1, FailureThreshold: 2, SuccessThreshold: 1}
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	gomega.SetDefaultEventuallyTimeout(30 * time.Second)
	gomega.SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	level := zapcore.ErrorLevel
	if os.Getenv("KFED_TEST_VERBOSE") != "" {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(level)))
	dir, err := os.MkdirTemp("", "kfed-dnsctl-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()

	fed, err = framework.Start(ctx, framework.Options{Members: 2,
		HostCRDDirs: []string{framework.CRDDir(), filepath.Join(framework.RepoRoot(), "config", "externaldns")}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the clusters:", err)
		return 1
	}
	defer func() { _ = fed.Stop() }()
	if err := startServers(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { etcd.Stop(); coreDNS.Stop(); named.Stop() }()

	operator, err = framework.StartManager(ctx, fed.Host, controllers.Options{Namespace: operatorNamespace,
		DNSProviders: controllers.DefaultDNSProviders()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = operator.Stop() }()
	if err := joinMembers(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func startServers(ctx context.Context, dir string) error {
	for _, d := range []string{"etcd", "coredns", "named"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	var err error
	if etcd, err = framework.StartEtcd(ctx, filepath.Join(dir, "etcd")); err != nil {
		return err
	}
	if coreDNS, err = framework.StartCoreDNS(ctx, filepath.Join(dir, "coredns"), zone, "/skydns", etcd.ClientURL); err != nil {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	named, err = framework.StartNamed(ctx, filepath.Join(dir, "named"), zone, tsigKeyName, base64.StdEncoding.EncodeToString(key))
	return err
}

// joinMembers joins both members with fast probes and waits until they are Ready.
func joinMembers(ctx context.Context) error {
	host := fed.Host.Client
	for _, m := range fed.Members {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: m.Name + "-credentials"},
			Data: map[string][]byte{v1alpha1.SecretKeyKubeconfig: m.Kubeconfig}}
		if err := host.Create(ctx, s); err != nil {
			return err
		}
		fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: m.Name},
			Spec: v1alpha1.FederatedClusterSpec{SecretRef: v1alpha1.ObjectReference{Name: s.Name}, HealthCheck: fastProbes}}
		if err := host.Create(ctx, fc); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, m := range fed.Members {
		for {
			h, ok := operator.Registry.Health(m.Name)
			if ok && h.Ready && h.Synced {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("member %s did not become Ready: %+v", m.Name, h)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}
