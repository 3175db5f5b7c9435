package externaldns_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/externaldns"
	"github.com/kfed-io/kfed/test/framework"
)

var managed = map[string]string{"federation.kfed.io/domain": "example.com"}

func startHost(t *testing.T, withCRD bool) *framework.Cluster {
	t.Helper()
	o := framework.ClusterOptions{Topology: framework.Topology{Name: "host"}}
	if withCRD {
		o.CRDDirs = []string{filepath.Join(framework.RepoRoot(), "config", "externaldns")}
	}
	c, err := framework.StartCluster(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// owner is an object to own a DNSEndpoint; any namespaced object does, as a FederatedService will.
func owner(t *testing.T, c client.Client, name string) *metav1.OwnerReference {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	if err := c.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	return &metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: name, UID: cm.UID, Controller: ptr(true)}
}

func ptr[T any](v T) *T { return &v }

func newProvider(t *testing.T, host *framework.Cluster, name string, own *metav1.OwnerReference) *externaldns.Provider {
	t.Helper()
	p, err := externaldns.New(externaldns.Config{Client: host.Client, Namespace: "default", Name: name, Owner: own, Labels: managed, Host: host.Host()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func getEndpoint(t *testing.T, c client.Client, name string) (*unstructured.Unstructured, error) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(externaldns.GroupVersionKind)
	return u, c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: name}, u)
}

func TestDNSEndpointsInAHostWithTheCRD(t *testing.T) {
	host := startHost(t, true)
	ctx := t.Context()
	own := owner(t, host.Client, "k8shserver")
	p := newProvider(t, host, "k8shserver", own)
	other := newProvider(t, host, "other", nil)

	global := &kdns.Endpoint{DNSName: "k8shserver.default.myfed.svc.example.com", RecordType: "A", Targets: []string{"192.0.2.2", "192.0.2.1"}, TTL: 30}
	zoneName := &kdns.Endpoint{DNSName: "k8shserver.default.myfed.svc.us-east1-b.us-east1.example.com", RecordType: "CNAME",
		Targets: []string{"k8shserver.default.myfed.svc.us-east1.example.com"}, TTL: 30}
	weighted := &kdns.Endpoint{DNSName: "web.example.com", RecordType: "A", Targets: []string{"192.0.2.7"}, SetIdentifier: "cluster-us-east1-b"}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{global, zoneName, weighted}}); err != nil {
		t.Fatal(err)
	}
	theirs := &kdns.Endpoint{DNSName: "other.example.com", RecordType: "AAAA", Targets: []string{"2001:db8::1"}, TTL: 60}
	if err := other.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{theirs}}); err != nil {
		t.Fatal(err)
	}
	// A DNSEndpoint kfed does not manage (no labels) is not read.
	foreign := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"namespace": "default", "name": "foreign"},
		"spec":     map[string]any{"endpoints": []any{map[string]any{"dnsName": "foreign.example.com", "recordType": "A", "targets": []any{"198.51.100.1"}}}},
	}}
	foreign.SetGroupVersionKind(externaldns.GroupVersionKind)
	if err := host.Client.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}

	u, err := getEndpoint(t, host.Client, "k8shserver")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(managed, u.GetLabels()); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if refs := u.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != own.UID {
		t.Errorf("owner references %v, want the ConfigMap's", refs)
	}
	wantSpec := map[string]any{"endpoints": []any{
		map[string]any{"dnsName": global.DNSName, "recordType": "A", "targets": []any{"192.0.2.1", "192.0.2.2"}, "recordTTL": int64(30)},
		map[string]any{"dnsName": zoneName.DNSName, "recordType": "CNAME", "targets": []any{zoneName.Targets[0]}, "recordTTL": int64(30)},
		map[string]any{"dnsName": "web.example.com", "recordType": "A", "targets": []any{"192.0.2.7"}, "setIdentifier": "cluster-us-east1-b"},
	}}
	if diff := cmp.Diff(wantSpec, u.Object["spec"]); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}

	got, err := p.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []*kdns.Endpoint{global.Normalize(), zoneName.Normalize(), theirs.Normalize(), weighted.Normalize()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Records (-want +got):\n%s", diff)
	}

	// Update one, delete one; the other provider's object is untouched.
	global2 := &kdns.Endpoint{DNSName: global.DNSName, RecordType: "A", Targets: []string{"192.0.2.3"}, TTL: 30}
	if err := p.ApplyChanges(ctx, &kdns.Changes{UpdateOld: []*kdns.Endpoint{global}, UpdateNew: []*kdns.Endpoint{global2},
		Delete: []*kdns.Endpoint{weighted}}); err != nil {
		t.Fatal(err)
	}
	got, err = p.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*kdns.Endpoint{global2.Normalize(), zoneName.Normalize(), theirs.Normalize()}, got); diff != "" {
		t.Errorf("Records after the update (-want +got):\n%s", diff)
	}

	// The last endpoint gone, the object goes.
	if err := p.ApplyChanges(ctx, &kdns.Changes{Delete: []*kdns.Endpoint{global2, zoneName}}); err != nil {
		t.Fatal(err)
	}
	if _, err := getEndpoint(t, host.Client, "k8shserver"); !apierrors.IsNotFound(err) {
		t.Errorf("the empty DNSEndpoint is still there (%v)", err)
	}
	if _, err := getEndpoint(t, host.Client, "other"); err != nil {
		t.Errorf("the other DNSEndpoint: %v", err)
	}

	// Bad input is refused before anything is written.
	for name, ep := range map[string]*kdns.Endpoint{
		"bad name":       {DNSName: "a b.example.com", RecordType: "A", Targets: []string{"192.0.2.1"}},
		"no type":        {DNSName: "a.example.com", Targets: []string{"192.0.2.1"}},
		"lower-case":     {DNSName: "a.example.com", RecordType: "a", Targets: []string{"192.0.2.1"}},
		"no targets":     {DNSName: "a.example.com", RecordType: "A"},
		"negative TTL":   {DNSName: "a.example.com", RecordType: "A", Targets: []string{"192.0.2.1"}, TTL: -5},
		"empty the name": {RecordType: "A", Targets: []string{"192.0.2.1"}},
	} {
		t.Run(name, func(t *testing.T) {
			framework.WantReason(t, p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{ep}}), kdns.ReasonInvalidRecord)
		})
	}
	tooMany := make([]*kdns.Endpoint, 0, externaldns.MaxEndpoints+1)
	for i := range externaldns.MaxEndpoints + 1 {
		tooMany = append(tooMany, &kdns.Endpoint{DNSName: fmt.Sprintf("n%d.example.com", i), RecordType: "A", Targets: []string{"192.0.2.1"}})
	}
	framework.WantReason(t, p.ApplyChanges(ctx, &kdns.Changes{Create: tooMany}), kdns.ReasonInvalidRecord)
	if _, err := getEndpoint(t, host.Client, "k8shserver"); !apierrors.IsNotFound(err) {
		t.Errorf("refused changes wrote the DNSEndpoint (%v)", err)
	}
}

func TestHostAPIServerDownIsUnreachable(t *testing.T) {
	host := startHost(t, true)
	p := newProvider(t, host, "k8shserver", nil)
	www := &kdns.Endpoint{DNSName: "www.example.com", RecordType: "A", Targets: []string{"192.0.2.1"}}
	if err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{www}}); err != nil {
		t.Fatal(err)
	}
	if err := host.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := p.Records(ctx)
	framework.WantReason(t, err, kdns.ReasonProviderUnreachable)
	t.Logf("%v", err)
	if err := host.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	got, err := p.Records(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*kdns.Endpoint{www.Normalize()}, got); diff != "" {
		t.Errorf("Records after the restart (-want +got):\n%s", diff)
	}
}

func TestHostWithoutTheCRDIsCRDMissing(t *testing.T) {
	host := startHost(t, false)
	p := newProvider(t, host, "k8shserver", nil)
	_, err := p.Records(t.Context())
	framework.WantReason(t, err, kdns.ReasonCRDMissing)
	if !strings.Contains(err.Error(), "default/k8shserver") || !strings.Contains(err.Error(), host.Host()) {
		t.Errorf("the message does not name the DNSEndpoint and the host: %v", err)
	}
	t.Logf("%v", err)
	err = p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{
		{DNSName: "a.example.com", RecordType: "A", Targets: []string{"192.0.2.1"}},
	}})
	framework.WantReason(t, err, kdns.ReasonCRDMissing)
}

func TestConfigIsChecked(t *testing.T) {
	var c client.Client = unusedClient{}
	for name, tc := range map[string]struct {
		cfg  externaldns.Config
		want string
	}{
		"no client":    {externaldns.Config{Namespace: "ns", Name: "n", Labels: managed}, "no client"},
		"no name":      {externaldns.Config{Client: c, Namespace: "ns", Labels: managed}, "namespace and a name"},
		"no namespace": {externaldns.Config{Client: c, Name: "n", Labels: managed}, "namespace and a name"},
		"no labels":    {externaldns.Config{Client: c, Namespace: "ns", Name: "n"}, "no labels"},
		"owner no uid": {externaldns.Config{Client: c, Namespace: "ns", Name: "n", Labels: managed,
			Owner: &metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x"}}, "owner reference"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := externaldns.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// unusedClient stands in for a client that New must not call (it panics if called).
type unusedClient struct{ client.Client }
