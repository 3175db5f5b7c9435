package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/config"
)

// dnsFlags are kfed init's flags for the FederatedDomain it creates.
type dnsFlags struct {
	domain, provider, name, federation string
	ttl                                int64
	// builtin
	listen string
	// coredns
	etcdEndpoints []string
	etcdPrefix    string
	// rfc2136
	server, zone, tsigSecret, tsigSecretNamespace, tsigAlgorithm string
	// externaldns
	endpointCRD bool
}

// dnsProviders are the providers kfed init can set up (route53 and googleCloudDNS are not in
// this build).
var dnsProviders = []string{"builtin", "coredns", "rfc2136", "externaldns"}

func (d *dnsFlags) add(f *pflag.FlagSet) {
	f.StringVar(&d.domain, "dns-domain", "", "Create a FederatedDomain for this DNS domain (e.g. example.com), where FederatedServices get their names")
	f.StringVar(&d.provider, "dns-provider", "", "Provider of the FederatedDomain: "+strings.Join(dnsProviders, ", ")+" (required with --dns-domain)")
	f.StringVar(&d.name, "dns-domain-object", "", "Name of the FederatedDomain object (default: the domain)")
	f.StringVar(&d.federation, "federation-name", "myfed", "The federation's label in every name: <svc>.<ns>.<federation>.svc.<domain>")
	f.Int64Var(&d.ttl, "dns-ttl", 30, "TTL of the records, in seconds")
	f.StringVar(&d.listen, "dns-listen", "0.0.0.0:5353", "builtin: host:port kfed's DNS server answers on (UDP and TCP, every manager replica)")
	f.StringSliceVar(&d.etcdEndpoints, "dns-etcd-endpoints", nil, "coredns: etcd client URLs CoreDNS's etcd plugin reads, e.g. http://etcd:2379")
	f.StringVar(&d.etcdPrefix, "dns-etcd-prefix", "/skydns", "coredns: the etcd plugin's path")
	f.StringVar(&d.server, "dns-server", "", "rfc2136: host:port of the server that takes dynamic updates")
	f.StringVar(&d.zone, "dns-zone", "", "rfc2136: the zone the server is authoritative for (default: the domain)")
	f.StringVar(&d.tsigSecret, "dns-tsig-secret", "", "rfc2136: name of the Secret whose key \"secret\" holds the base64 TSIG key (and key \"keyName\" its name)")
	f.StringVar(&d.tsigSecretNamespace, "dns-tsig-secret-namespace", "", "rfc2136: namespace of that Secret (default: kfed-system)")
	f.StringVar(&d.tsigAlgorithm, "dns-tsig-algorithm", "hmac-sha256", "rfc2136: the TSIG key's HMAC")
	f.BoolVar(&d.endpointCRD, "dns-endpoint-crd", true, "externaldns: also install external-dns's DNSEndpoint CRD (config/externaldns)")
}

// objects returns what the flags ask kfed init to create after kfed itself: the FederatedDomain
// and, for externaldns, the DNSEndpoint CRD; none without --dns-domain.
func (d *dnsFlags) objects() (crds, rest []*unstructured.Unstructured, err error) {
	if d.domain == "" {
		if d.provider != "" {
			return nil, nil, errors.New("--dns-provider needs --dns-domain")
		}
		return nil, nil, nil
	}
	spec := v1alpha1.FederatedDomainSpec{Domain: strings.TrimSuffix(strings.ToLower(d.domain), "."), FederationName: d.federation, TTL: &d.ttl}
	var bad []string
	switch d.provider {
	case "builtin":
		spec.Provider.Builtin = &v1alpha1.BuiltinProvider{Listen: d.listen}
	case "coredns":
		if len(d.etcdEndpoints) == 0 {
			bad = append(bad, "--dns-provider coredns needs --dns-etcd-endpoints")
		}
		spec.Provider.CoreDNS = &v1alpha1.CoreDNSProvider{EtcdEndpoints: d.etcdEndpoints, Prefix: d.etcdPrefix}
	case "rfc2136":
		if d.server == "" {
			bad = append(bad, "--dns-provider rfc2136 needs --dns-server")
		}
		if d.tsigSecret == "" {
			bad = append(bad, "--dns-provider rfc2136 needs --dns-tsig-secret (the Secret's name; create it with key \"secret\")")
		}
		spec.Provider.RFC2136 = &v1alpha1.RFC2136Provider{Server: d.server, Zone: d.zone,
			TSIGSecretRef: v1alpha1.ObjectReference{Name: d.tsigSecret, Namespace: d.tsigSecretNamespace},
			TSIGAlgorithm: v1alpha1.TSIGAlgorithm(d.tsigAlgorithm)}
	case "externaldns":
		spec.Provider.ExternalDNS = &v1alpha1.ExternalDNSProvider{}
		if d.endpointCRD {
			if crds, err = externalDNSCRD(); err != nil {
				return nil, nil, err
			}
		}
	case "":
		return nil, nil, fmt.Errorf("--dns-domain needs --dns-provider (%s)", strings.Join(dnsProviders, ", "))
	default:
		return nil, nil, fmt.Errorf("--dns-provider %q is not one of %s", d.provider, strings.Join(dnsProviders, ", "))
	}
	if len(bad) > 0 {
		return nil, nil, errors.New(strings.Join(bad, "; "))
	}
	name := d.name
	if name == "" {
		name = spec.Domain
	}
	fd := &v1alpha1.FederatedDomain{TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "FederatedDomain"},
		ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("rendering FederatedDomain %s: %w", name, err)
	}
	obj := &unstructured.Unstructured{Object: u}
	unstructured.RemoveNestedField(obj.Object, "status")
	unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
	return crds, []*unstructured.Unstructured{obj}, nil
}

// externalDNSCRD is external-dns's DNSEndpoint CRD as config/externaldns holds it.
func externalDNSCRD() ([]*unstructured.Unstructured, error) {
	b, err := fs.ReadFile(config.FS, config.ExternalDNSCRD)
	if err != nil {
		return nil, fmt.Errorf("reading the embedded DNSEndpoint CRD: %w", err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &u.Object); err != nil {
		return nil, fmt.Errorf("parsing the embedded DNSEndpoint CRD: %w", err)
	}
	return []*unstructured.Unstructured{u}, nil
}
