package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/cli/kubeconfig"
	"github.com/kfed-io/kfed/test/framework"
)

// crdNames returns the names of the CRDs in config/crd/bases, from their files.
func crdNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(framework.CRDDir(), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s: %v", framework.CRDDir(), err)
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		group, plural, ok := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".yaml"), "_")
		if !ok {
			t.Fatalf("unexpected CRD file name %s", f)
		}
		names = append(names, plural+"."+group)
	}
	return names
}

func TestInitDryRunPrintsEveryCRD(t *testing.T) {
	// A dry run needs no cluster: the host context is dead.
	r := kfed(t, "", "--kubeconfig", writeDeadContext(t), "init", "--dry-run")
	wantOK(t, r)
	for _, name := range crdNames(t) {
		if !strings.Contains(r.out, "\n  name: "+name+"\n") {
			t.Errorf("init --dry-run lacks CRD %s", name)
		}
	}
	for _, want := range []string{"kind: ClusterRole\n", "kind: ValidatingAdmissionPolicy\n", "kind: Deployment\n", "name: kfed-manager\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("init --dry-run lacks %q", want)
		}
	}
}

// TestInitDNSFlags: kfed init --dns-domain renders the FederatedDomain of each provider, and
// refuses flags that do not make one, naming the flag.
func TestInitDNSFlags(t *testing.T) {
	dead := writeDeadContext(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--dns-provider", "builtin", "--dns-listen", "127.0.0.1:5353"}, []string{"builtin:\n      listen: 127.0.0.1:5353\n"}},
		{[]string{"--dns-provider", "coredns", "--dns-etcd-endpoints", "http://etcd:2379"},
			[]string{"coreDNS:\n      etcdEndpoints:\n      - http://etcd:2379\n      prefix: /skydns\n"}},
		{[]string{"--dns-provider", "rfc2136", "--dns-server", "10.0.0.53:53", "--dns-tsig-secret", "tsig"},
			[]string{"rfc2136:\n      server: 10.0.0.53:53\n", "tsigSecretRef:\n        name: tsig\n"}},
		{[]string{"--dns-provider", "externaldns"}, []string{"externalDNS: {}\n", "name: dnsendpoints.externaldns.k8s.io\n"}},
	} {
		t.Run(tc.args[1], func(t *testing.T) {
			r := kfed(t, "", append([]string{"--kubeconfig", dead, "init", "--dry-run", "--dns-domain", "example.com"}, tc.args...)...)
			wantOK(t, r)
			for _, w := range append(tc.want, "kind: FederatedDomain\n", "  domain: example.com\n", "  federationName: myfed\n", "  ttl: 30\n") {
				if !strings.Contains(r.out, w) {
					t.Errorf("init --dry-run %v lacks %q", tc.args, w)
				}
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--dns-domain", "example.com"}, "--dns-domain needs --dns-provider"},
		{[]string{"--dns-provider", "builtin"}, "--dns-provider needs --dns-domain"},
		{[]string{"--dns-domain", "example.com", "--dns-provider", "route53"}, `--dns-provider "route53" is not one of builtin, coredns, rfc2136, externaldns`},
		{[]string{"--dns-domain", "example.com", "--dns-provider", "coredns"}, "--dns-provider coredns needs --dns-etcd-endpoints"},
		{[]string{"--dns-domain", "example.com", "--dns-provider", "rfc2136", "--dns-server", "h:53"}, "--dns-provider rfc2136 needs --dns-tsig-secret"},
	} {
		wantError(t, kfed(t, "", append([]string{"--kubeconfig", dead, "init", "--dry-run"}, tc.args...)...), tc.want)
	}
}

// TestInitInstallsIntoABareCluster runs init against a cluster without kfed. No images exist
// here, so it checks that the objects are created, then that waiting for the manager fails with
// a clear message.
func TestInitInstallsIntoABareCluster(t *testing.T) {
	ctx := t.Context()
	c, err := framework.StartCluster(ctx, framework.ClusterOptions{Topology: framework.Topology{Name: "bare"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop() }()
	scheme, err := kubeconfig.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bare.kubeconfig")
	if err := os.WriteFile(path, c.Kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	// Before init, join says to run it: the host does not serve FederatedCluster.
	both := filepath.Join(t.TempDir(), "both.kubeconfig")
	merged, err := clientcmd.LoadFromFile(kubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	bare, err := clientcmd.Load(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	bctx := bare.Contexts[bare.CurrentContext]
	merged.Clusters["bare"], merged.AuthInfos["bare"] = bare.Clusters[bctx.Cluster], bare.AuthInfos[bctx.AuthInfo]
	merged.Contexts["bare"] = &clientcmdapi.Context{Cluster: "bare", AuthInfo: "bare"}
	if err := clientcmd.WriteToFile(*merged, both); err != nil {
		t.Fatal(err)
	}
	m := fed.Members[2].Name
	wantError(t, kfed(t, "", "--kubeconfig", both, "join", m, "--host-context", "bare", "--cluster-context", m),
		`the host (context "bare") does not serve FederatedCluster: run `+"`kfed init --host-context bare`")

	r := kfed(t, "", "--kubeconfig", path, "init", "--wait", "0", "--image", "registry.example/kfed:test",
		"--dns-domain", "example.com", "--dns-provider", "externaldns")
	wantOK(t, r)
	fd := &v1alpha1.FederatedDomain{}
	if err := cl.Get(ctx, client.ObjectKey{Name: "example.com"}, fd); err != nil {
		t.Errorf("FederatedDomain example.com: %v", err)
	} else if fd.Spec.Provider.ExternalDNS == nil || fd.Spec.FederationName != "myfed" {
		t.Errorf("FederatedDomain example.com: %+v", fd.Spec)
	}
	if err := cl.Get(ctx, client.ObjectKey{Name: "dnsendpoints.externaldns.k8s.io"}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
		t.Errorf("the DNSEndpoint CRD: %v", err)
	}
	for _, name := range crdNames(t) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := cl.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			t.Errorf("CRD %s: %v", name, err)
		}
	}
	if err := cl.Get(ctx, client.ObjectKey{Name: "kfed-manager"}, &rbacv1.ClusterRole{}); err != nil {
		t.Errorf("ClusterRole kfed-manager: %v", err)
	}
	var policies admissionregistrationv1.ValidatingAdmissionPolicyList
	if err := cl.List(ctx, &policies); err != nil || len(policies.Items) == 0 {
		t.Errorf("want the admission policies, got %d (%v)", len(policies.Items), err)
	}
	d := &appsv1.Deployment{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "kfed-system", Name: "kfed-manager"}, d); err != nil {
		t.Fatalf("Deployment kfed-system/kfed-manager: %v", err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example/kfed:test" {
		t.Errorf("want the --image, got %s", img)
	}
	// Applying again changes nothing and succeeds; waiting for a manager that cannot start fails clearly.
	r = kfed(t, "", "--kubeconfig", path, "init", "--wait", "2s")
	wantError(t, r, "kfed-system/kfed-manager not available after 2s")
}
