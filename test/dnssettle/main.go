// Command dnssettle measures DNS settle time through the whole of kfed: from a member Service
// losing its load-balancer address (the status write returning) to the provider's DNS server
// answering the federated Service's global name without that member's address, and back, for
// kfed's builtin server, CoreDNS over etcd and BIND 9 with TSIG updates side by side in one run
// (a host, two members, the manager in this process). Figures, not pass/fail:
//
//	go run ./test/dnssettle -rounds 10
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/test/framework"
)

const (
	zone       = "example.com"
	federation = "myfed"
	namespace  = "kfed-system"
	ns         = "settle"
)

func main() {
	rounds := flag.Int("rounds", 10, "address removals and restorations per provider")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	if err := run(*rounds); err != nil {
		fmt.Fprintln(os.Stderr, "dnssettle:", err)
		os.Exit(1)
	}
}

type provider struct {
	name, addr string
	spec       v1alpha1.DNSProvider
	removed    []time.Duration
	restored   []time.Duration
}

func run(rounds int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "kfed-dnssettle-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	fed, err := framework.Start(ctx, framework.Options{Members: 2})
	if err != nil {
		return err
	}
	defer func() { _ = fed.Stop() }()
	for _, d := range []string{"etcd", "coredns", "named"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	etcd, err := framework.StartEtcd(ctx, filepath.Join(dir, "etcd"))
	if err != nil {
		return err
	}
	defer etcd.Stop()
	coreDNS, err := framework.StartCoreDNS(ctx, filepath.Join(dir, "coredns"), zone, "/skydns", etcd.ClientURL)
	if err != nil {
		return err
	}
	defer coreDNS.Stop()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	named, err := framework.StartNamed(ctx, filepath.Join(dir, "named"), zone, "kfed-key", base64.StdEncoding.EncodeToString(key))
	if err != nil {
		return err
	}
	defer named.Stop()
	port, err := framework.FreePort()
	if err != nil {
		return err
	}
	builtinAddr := "127.0.0.1:" + strconv.Itoa(port)

	mgr, err := framework.StartManager(ctx, fed.Host, controllers.Options{Namespace: namespace, DNSProviders: controllers.DefaultDNSProviders()})
	if err != nil {
		return err
	}
	defer func() { _ = mgr.Stop() }()
	host := fed.Host.Client
	if err := join(ctx, fed, mgr); err != nil {
		return err
	}
	tsig := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "tsig"},
		Data: map[string][]byte{v1alpha1.SecretKeyTSIG: []byte(named.KeySecret), v1alpha1.SecretKeyTSIGName: []byte(named.KeyName)}}
	if err := host.Create(ctx, tsig); err != nil {
		return err
	}
	if err := host.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	providers := []*provider{
		{name: "builtin", addr: builtinAddr, spec: v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: builtinAddr}}},
		{name: "coredns", addr: coreDNS.Addr, spec: v1alpha1.DNSProvider{CoreDNS: &v1alpha1.CoreDNSProvider{EtcdEndpoints: []string{etcd.ClientURL}}}},
		{name: "bind", addr: named.Addr, spec: v1alpha1.DNSProvider{RFC2136: &v1alpha1.RFC2136Provider{Server: named.Addr,
			TSIGSecretRef: v1alpha1.ObjectReference{Name: "tsig"}}}},
	}
	addrs := []string{"192.0.2.10", "192.0.2.11"}
	if err := createServices(ctx, fed, providers, addrs); err != nil {
		return err
	}
	// The framework's clients allow 5 requests/s; the member writes here must not wait for that.
	cfg := rest.CopyConfig(fed.Members[1].Config)
	cfg.QPS = -1
	m1, err := client.New(cfg, client.Options{Scheme: fed.Members[1].Client.Scheme()})
	if err != nil {
		return err
	}
	for range rounds {
		for _, p := range providers {
			global := kdns.Names(p.name, ns, federation, zone, "", "").Global
			if err := setLoadBalancer(ctx, m1, p.name, ""); err != nil {
				return err
			}
			t0 := time.Now()
			if _, _, err := framework.WaitForAnswer(p.addr, global, dns.TypeA, addrs[:1], 2*time.Millisecond, time.Minute); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			p.removed = append(p.removed, time.Since(t0))
			if err := setLoadBalancer(ctx, m1, p.name, addrs[1]); err != nil {
				return err
			}
			t0 = time.Now()
			if _, _, err := framework.WaitForAnswer(p.addr, global, dns.TypeA, addrs, 2*time.Millisecond, time.Minute); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			p.restored = append(p.restored, time.Since(t0))
		}
	}
	fmt.Printf("DNS settle time, member load-balancer address removed (status write returned) → global name answers without it,"+
		" and restored; %d rounds, 1 host + 2 members\n", rounds)
	fmt.Printf("%-8s %12s %12s %12s %12s\n", "provider", "removed p50", "removed max", "restored p50", "restored max")
	for _, p := range providers {
		fmt.Printf("%-8s %12s %12s %12s %12s\n", p.name, pct(p.removed, 50), pct(p.removed, 100), pct(p.restored, 50), pct(p.restored, 100))
	}
	return nil
}

// createServices creates each provider's FederatedDomain and a FederatedService in it, makes
// both members healthy for it, and waits until its server answers both addresses.
func createServices(ctx context.Context, fed *framework.Federation, providers []*provider, addrs []string) error {
	for _, p := range providers {
		d := &v1alpha1.FederatedDomain{ObjectMeta: metav1.ObjectMeta{Name: p.name},
			Spec: v1alpha1.FederatedDomainSpec{Domain: zone, FederationName: federation, Provider: p.spec}}
		if err := fed.Host.Client.Create(ctx, d); err != nil {
			return err
		}
		fs := &v1alpha1.FederatedService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p.name},
			Spec: v1alpha1.FederatedServiceSpec{DNS: &v1alpha1.ServiceDNS{DomainRef: p.name},
				Template: v1alpha1.ServiceTemplate{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
					Ports: []corev1.ServicePort{{Port: 80}}}}}}
		if err := fed.Host.Client.Create(ctx, fs); err != nil {
			return err
		}
	}
	for _, p := range providers {
		for i, m := range fed.Members {
			if err := setLoadBalancer(ctx, m.Client, p.name, addrs[i]); err != nil {
				return err
			}
			ready := true
			es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p.name + "-fake",
				Labels: map[string]string{discoveryv1.LabelServiceName: p.name}}, AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}
			if err := m.Client.Create(ctx, es); err != nil {
				return err
			}
		}
		global := kdns.Names(p.name, ns, federation, zone, "", "").Global
		if _, _, err := framework.WaitForAnswer(p.addr, global, dns.TypeA, addrs, 5*time.Millisecond, 2*time.Minute); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s) - 1) * p / 100
	return s[i].Round(time.Millisecond)
}

// setLoadBalancer plays the cloud's load-balancer controller (a fake): it sets or clears the
// member Service's load-balancer ingress, once the Service exists.
func setLoadBalancer(ctx context.Context, c client.Client, name, ip string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			svc := &corev1.Service{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
				return err
			}
			svc.Status.LoadBalancer.Ingress = nil
			if ip != "" {
				svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
			}
			return c.Status().Update(ctx, svc)
		})
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func join(ctx context.Context, fed *framework.Federation, mgr *framework.Manager) error {
	for _, m := range fed.Members {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: m.Name},
			Data: map[string][]byte{v1alpha1.SecretKeyKubeconfig: m.Kubeconfig}}
		if err := fed.Host.Client.Create(ctx, s); err != nil {
			return err
		}
		fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: m.Name},
			Spec: v1alpha1.FederatedClusterSpec{SecretRef: v1alpha1.ObjectReference{Name: m.Name}}}
		if err := fed.Host.Client.Create(ctx, fc); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(time.Minute)
	for _, m := range fed.Members {
		for {
			fc := &v1alpha1.FederatedCluster{}
			if err := fed.Host.Client.Get(ctx, client.ObjectKey{Name: m.Name}, fc); err == nil &&
				meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady) {
				if h, ok := mgr.Registry.Health(m.Name); ok && h.Synced {
					break
				}
			}
			if time.Now().After(deadline) {
				return errors.New("member " + m.Name + " is not Ready after a minute")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}
