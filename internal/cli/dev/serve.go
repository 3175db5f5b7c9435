package dev

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/config"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/cli/install"
	"github.com/kfed-io/kfed/internal/cli/join"
	"github.com/kfed-io/kfed/internal/cli/kubeconfig"
	"github.com/kfed-io/kfed/internal/localcluster"
)

// Serve is the background process: it starts the host and members, runs the operator against
// the host, joins every member, simulates load balancers, writes the ready file, then runs until
// ctx ends and stops everything. A failure is written to the error file.
func Serve(ctx context.Context, o Options, out io.Writer) (retErr error) {
	defer func() {
		if retErr != nil {
			_ = os.WriteFile(filepath.Join(o.Dir, errorFile), []byte(retErr.Error()+"\n"), 0o600)
		}
		_ = os.Remove(filepath.Join(o.Dir, pidFile))
	}()
	log := ctrl.LoggerFrom(ctx)
	if o.LBPort == 0 {
		o.LBPort = DefaultLBPort
	}
	start := time.Now()
	fed, err := localcluster.Start(ctx, localcluster.Options{
		Members: o.Clusters, Full: true, NodesPerMember: 2, Dir: o.Dir, ToolsDir: o.ToolsDir,
	})
	if fed != nil {
		defer func() {
			if err := fed.Stop(); err != nil {
				log.Error(err, "Stopping the clusters")
			}
		}()
	}
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(out, "Clusters up in %s\n", time.Since(start).Round(100*time.Millisecond))
	kc := filepath.Join(o.Dir, KubeconfigFile)
	if err := fed.WriteKubeconfig(kc); err != nil {
		return err
	}
	loader := kubeconfig.Loader{Path: kc}
	host, err := loader.Cluster(localcluster.HostContext)
	if err != nil {
		return err
	}
	if err := installHost(ctx, host); err != nil {
		return err
	}
	mgr, err := localcluster.StartManager(ctx, fed.Host, controllers.Options{Namespace: join.Namespace,
		DNSProviders: controllers.DefaultDNSProviders()})
	if err != nil {
		return err
	}
	defer func() {
		if err := mgr.Stop(); err != nil {
			log.Error(err, "Stopping the operator")
		}
	}()
	var summary strings.Builder
	_, _ = fmt.Fprintf(&summary, "Local federation: host context %q, operator running against it; members:\n", localcluster.HostContext)
	for _, m := range fed.Members {
		took, err := joinMember(ctx, loader, host, m.Name, out)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(&summary, "  %-32s context %-32s region %-22s zone %-24s joined and Ready in %s\n",
			m.Name, m.Name, m.Region, m.Zone, took.Round(100*time.Millisecond))
	}
	topologies := make([]localcluster.Topology, len(fed.Members))
	for i, m := range fed.Members {
		topologies[i] = m.Topology
	}
	geo := geoTable(topologies)
	if err := createDomain(ctx, host.Client, o.DNSListen, geo); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(&summary, "DNS: FederatedDomain %s (federation %s), kfed's builtin server on %s: dig @%s -p %s <name>\n",
		DNSDomain, DNSFederation, o.DNSListen, hostOf(o.DNSListen), portOf(o.DNSListen))
	_, _ = fmt.Fprintf(&summary, "  geo table (SIMULATED client networks, not any cloud's):")
	for _, g := range geo {
		_, _ = fmt.Fprintf(&summary, " %s %s;", g.Region, strings.Join(g.CIDRs, ","))
	}
	_, _ = fmt.Fprintf(&summary, " a client there: dig +subnet=%s\n", clientIn(geo))
	_, _ = fmt.Fprintf(&summary, "Load balancers (SIMULATION, no cloud here): LoadBalancer Services and Ingresses of member i get 127.0.(10+i).N,\n"+
		"  answering HTTP on port %d with a Ready pod of the backend Service: curl http://127.0.10.1:%d/\n", o.LBPort, o.LBPort)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, m := range fed.Members {
		wg.Go(func() { simulateLoadBalancers(ctx, m, i, o.LBPort, out) })
	}
	wg.Go(func() { serveControl(ctx, o.Dir, fed.Members, out) })
	if err := os.WriteFile(filepath.Join(o.Dir, readyFile), []byte(summary.String()), 0o600); err != nil {
		return fmt.Errorf("writing the ready file: %w", err)
	}
	_, _ = fmt.Fprintf(out, "Ready in %s\n%s", time.Since(start).Round(100*time.Millisecond), summary.String())
	<-ctx.Done()
	_, _ = fmt.Fprintln(out, "Stopping")
	return nil
}

// HostObjects are what `kfed dev` installs into its host: what `kfed init` installs except the
// manager Deployment, since the operator runs in the dev process instead (no images exist here).
func HostObjects() ([]*unstructured.Unstructured, error) {
	objs, err := install.Manifests(config.FS, config.Root)
	if err != nil {
		return nil, err
	}
	keep := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			keep = append(keep, o)
		}
	}
	return keep, nil
}

// installHost applies HostObjects to the host with server-side apply, as `kfed init` does.
func installHost(ctx context.Context, host *kubeconfig.Cluster) error {
	objs, err := HostObjects()
	if err != nil {
		return err
	}
	return install.Install(ctx, host.Client, objs, install.Options{Out: io.Discard})
}

// createDomain creates the local federation's FederatedDomain: example.com in kfed's builtin
// server with the geo table geo, and waits until it is Ready (the server listens).
func createDomain(ctx context.Context, c client.Client, listen string, geo []v1alpha1.GeoRegion) error {
	d := &v1alpha1.FederatedDomain{ObjectMeta: metav1.ObjectMeta{Name: DNSDomain}, Spec: v1alpha1.FederatedDomainSpec{
		Domain: DNSDomain, FederationName: DNSFederation,
		Provider: v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: listen, Geo: geo}}}}
	if err := c.Create(ctx, d); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating FederatedDomain %s: %w", DNSDomain, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if err := c.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return fmt.Errorf("reading FederatedDomain %s: %w", DNSDomain, err)
		}
		ready := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady)
		if ready != nil && ready.Status == metav1.ConditionTrue {
			return nil
		}
		if time.Now().After(deadline) {
			msg := "no Ready condition"
			if ready != nil {
				msg = ready.Reason + ": " + ready.Message
			}
			return fmt.Errorf("FederatedDomain %s is not Ready after a minute (%s): is %s free? pick another with --dns-listen", DNSDomain, msg, listen)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func hostOf(hostport string) string {
	h, _, _ := net.SplitHostPort(hostport)
	if h == "" || h == "0.0.0.0" {
		return "127.0.0.1"
	}
	return h
}

func portOf(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}

func joinMember(ctx context.Context, loader kubeconfig.Loader, host *kubeconfig.Cluster, name string, out io.Writer) (time.Duration, error) {
	member, err := loader.Cluster(name)
	if err != nil {
		return 0, err
	}
	o := join.Options{Name: name, Wait: 2 * time.Minute, TokenWait: time.Second, Out: out}
	endpoint, err := join.Preflight(ctx, host, member, o)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := join.Join(ctx, host, member, endpoint, o); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
